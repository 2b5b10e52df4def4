#!/usr/bin/env python3
"""Import markdown note files and BibTeX exports into catalog.yaml (add, merge, or skip each entry)."""

import sys

from paperkb.importers.cli import main

if __name__ == "__main__":
    sys.exit(main())
