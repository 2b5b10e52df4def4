#!/usr/bin/env python3
"""Check catalog.yaml and print every problem as PATH:LINE: entry 'ID': message."""

import sys

from paperkb.cli_validate import main

if __name__ == "__main__":
    sys.exit(main())
