#!/usr/bin/env python3
"""Export the catalog as BibTeX, JSON or CSV, optionally one tag or one status."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperkb import paths  # noqa: E402
from paperkb.catalog import CatalogError, load_catalog  # noqa: E402
from paperkb.catalog.atomic import atomic_write_text  # noqa: E402
from paperkb.catalog.model import STATUSES  # noqa: E402
from paperkb.export import select, to_bibtex, to_csv, to_json  # noqa: E402

WRITERS = {"bib": to_bibtex, "json": to_json, "csv": to_csv}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="export.py", description=__doc__)
    parser.add_argument("--format", choices=sorted(WRITERS), required=True)
    parser.add_argument("--tag", help="only entries with this tag slug")
    parser.add_argument("--status", choices=STATUSES, help="only entries with this reading status")
    parser.add_argument("--output", "-o", help="write here (atomically) instead of standard output")
    parser.add_argument("--catalog", default=str(paths.DEFAULT_CATALOG))
    args = parser.parse_args(argv)
    try:
        catalog = load_catalog(args.catalog)
    except CatalogError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    if args.tag and args.tag not in catalog.tags:
        parser.error(f"unknown tag '{args.tag}' (not in the tags of {args.catalog})")
    text = WRITERS[args.format](select(catalog.entries, tag=args.tag, status=args.status))
    if args.output:
        atomic_write_text(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
