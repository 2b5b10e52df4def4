#!/usr/bin/env python3
"""Add a paper to catalog.yaml: python tools/add_paper.py 1703.06868 [--tags a,b] [--scaffold]."""

import sys

from paperkb.addpaper.cli import main

if __name__ == "__main__":
    sys.exit(main())
