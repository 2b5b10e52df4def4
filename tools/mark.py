#!/usr/bin/env python3
"""Mark catalog entries read, reading or unread (and set their priority or highlight)."""

import sys

from paperkb.marks import main

if __name__ == "__main__":
    sys.exit(main())
