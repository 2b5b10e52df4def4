"""``python tools/import_notes.py``: import note files and BibTeX exports into the catalog."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

from .. import paths
from ..catalog import yamlsafe
from ..catalog.load import CatalogError, catalog_from_text
from ..catalog.validate import validate
from ..catalog.writer import WriteFailed, open_catalog
from ..terminal import printable
from . import bibtex, markdown_notes
from .merge import Plan, plan_import
from .write import WriteError, write_plan


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="import_notes.py",
        description="Add or merge the papers and tricks in markdown note files (and BibTeX exports) into the catalog.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="markdown note files")
    parser.add_argument(
        "--bibtex", action="append", default=[], metavar="FILE.bib", help="a BibTeX export (repeatable)"
    )
    parser.add_argument("--catalog", default=str(paths.DEFAULT_CATALOG), help="catalog file (default: %(default)s)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be added, merged or skipped; change nothing"
    )
    parser.add_argument("--date", help="the 'added' date of new entries, YYYY-MM-DD (default: today)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")
    return parser


def _records(args: argparse.Namespace) -> tuple[list, list, dict]:
    records, skipped, file_subpages = [], [], {}
    for name in args.files:
        result = markdown_notes.parse_file(name)
        records += result.records
        skipped += result.skipped
        if result.subpages:
            file_subpages.setdefault(Path(name).name, []).extend(result.subpages)
    for name in args.bibtex:
        result = bibtex.parse_file(name)
        records += result.records
        skipped += result.skipped
    return records, skipped, file_subpages


def _report(plan: Plan, skipped: list, quiet: bool, dry_run: bool) -> None:
    if not quiet:
        for action in plan.actions:
            print(printable(action))
        for item in skipped:
            print(f"skip  {printable(item)}")
        for warning in plan.warnings:
            print(f"warning: {printable(warning)}")
    verb = "would add" if dry_run else "added"
    print(
        f"{verb} {plan.count('add')}, merged {plan.count('merge')}, skipped {plan.count('skip') + len(skipped)}"
        f"{', new tags ' + str(len(plan.new_tags)) if plan.new_tags else ''}"
        f"{', file sub-pages ' + str(plan.note_file_pages_added) if plan.note_file_pages_added else ''}"
        f"{', default status for ' + str(plan.defaulted) if plan.defaulted else ''}"
        f"{' (dry run: nothing written)' if dry_run else ''}"
    )


def _is_utf8(name: str) -> bool:
    try:
        Path(name).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.files and not args.bibtex:
        parser.error("give at least one note FILE or --bibtex FILE.bib")
    today = args.date or _dt.date.today().isoformat()
    try:
        _dt.date.fromisoformat(today)
    except ValueError:
        parser.error(f"--date {args.date!r} is not YYYY-MM-DD")
    try:
        records, skipped, file_subpages = _records(args)
    except UnicodeDecodeError as exc:
        name = next((n for n in [*args.files, *args.bibtex] if not _is_utf8(n)), "a note file")
        line = exc.object.count(b"\n", 0, exc.start) + 1 if isinstance(exc.object, bytes) else 1
        print(printable(f"error: {name}:{line}: not UTF-8 text"), file=sys.stderr)
        return 1
    except OSError as exc:
        print(printable(f"error: cannot read {exc.filename or ''}: {exc.strerror or exc}"), file=sys.stderr)
        return 1
    except bibtex.BibtexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    path = Path(args.catalog)
    try:
        with open_catalog(path, dry_run=args.dry_run) as session:
            try:
                yamlsafe.decode(session.read_bytes())  # a bad byte: name its line
            except yamlsafe.YamlSyntaxError as exc:
                print(printable(f"{path}:{exc.line}: {exc.message}"), file=sys.stderr)
                return 1
            original = session.read_text()
            catalog = catalog_from_text(original, path)
            problems = validate(catalog, check_refimpl=False).errors
            if problems:  # merging into entries of the wrong shape would guess; fix them first
                raise CatalogError([str(p) for p in problems])
            plan = plan_import(catalog, records, today=today, file_subpages=file_subpages)
            _report(plan, skipped, args.quiet, args.dry_run)
            if args.dry_run or not plan.has_changes:
                return 0
            write_plan(session, plan, original)
    except (CatalogError, WriteError) as exc:
        for line in exc.problems:
            print(printable(line), file=sys.stderr)
        print(f"{path}: not written", file=sys.stderr)
        return 1
    except WriteFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0
