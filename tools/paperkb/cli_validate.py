"""``python tools/validate.py``: check the catalog, print every problem."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import paths
from .catalog import CatalogError, read_catalog, validate, validate_split, yamlsafe
from .catalog.writer import WriteFailed, recover
from .terminal import printable

LARGE_BYTES = 4_000_000  # above this, progress lines on stderr (stdout keeps the result)


def _progress(stage: str) -> None:
    print(f"validate.py: {stage}…", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="validate.py",
        description="Check catalog.yaml: schema, unique ids, tags, links, years, refimpl targets.",
    )
    parser.add_argument("--catalog", default=str(paths.DEFAULT_CATALOG), help="catalog file (default: %(default)s)")
    parser.add_argument("--warnings", action="store_true", help="also list warnings (missing metadata)")
    parser.add_argument("--no-refimpl", action="store_true", help="skip the checks against refimpl/")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Loading builds millions of objects; a collection between loading and checking
    # (or while printing) would walk them all again, for nothing: they hold no cycles.
    with yamlsafe.paused_gc():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        recover(args.catalog)  # a write interrupted by a kill is finished or rolled back first
    except WriteFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        size = os.path.getsize(args.catalog)
    except OSError:
        size = 0
    if size >= LARGE_BYTES:
        _progress(f"reading {args.catalog} ({size / 1e6:.0f} MB)")
    split = None
    if size >= validate_split.MIN_BYTES and validate_split.can_fork():
        split = validate_split.validate_file(
            Path(args.catalog), check_refimpl=not args.no_refimpl, progress=_progress
        )
    if split is not None:
        report, summary = split
    else:
        try:
            catalog = read_catalog(args.catalog)
        except CatalogError as exc:
            for line in exc.problems:
                print(printable(line), file=sys.stderr)
            return 1
        report = validate(catalog, check_refimpl=not args.no_refimpl, progress=_progress)
        summary = validate_split.Summary.of(catalog, pending=bool(report.pending))
    for problem in report.errors:
        print(printable(problem), file=sys.stderr)
    if args.warnings:
        for problem in report.warnings:
            print(f"warning: {printable(problem)}", file=sys.stderr)
    if report.errors:
        print(f"{args.catalog}: {len(report.errors)} problem(s) in {summary.entries} entries", file=sys.stderr)
        return 1
    pending = f", {len(report.pending)} refimpl pending" if report.pending else ""
    kinds = summary.kinds
    questions = f", {kinds['question']} questions" if kinds.get("question") else ""
    print(
        f"{args.catalog}: ok, {summary.entries} entries ({kinds.get('paper', 0)} papers, "
        f"{kinds.get('trick', 0)} tricks{questions}), {summary.tags} tags, "
        f"{len(report.warnings)} warning(s){pending}"
    )
    if report.pending:
        # Scaffolded entries: listed, not errors, so they stay visible until implemented.
        print(f"refimpl pending (not implemented yet): {printable(', '.join(summary.pending_ids))}")
    return 0
