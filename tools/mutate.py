#!/usr/bin/env python3
"""Mutation testing of refimpl/: ``python tools/mutate.py [MODULE ...]`` (``make mutate``)."""

import sys

from paperkb.mutate.cli import main

if __name__ == "__main__":
    sys.exit(main())
