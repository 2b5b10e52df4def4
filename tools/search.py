"""Search the catalog: ranked, bilingual, typo-tolerant.

    python tools/search.py "perceptual loss"
    python tools/search.py 判别器 --status read --year 2016-2020
    python tools/search.py "cycle consistency" --json

The index is kept in .cache/ and updated by itself when the catalog changes
(only the entries that changed are re-indexed); --rebuild starts it afresh.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperkb import paths  # noqa: E402

STATUSES = ("unread", "reading", "read")  # as paperkb.catalog.model, without importing the validator
KINDS = ("paper", "trick")


def _years(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a year or a range like 2015-2020, got {text!r}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if high < low:
        raise argparse.ArgumentTypeError(f"empty year range {text!r}")
    return low, high


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="search.py",
        description="Search the paper and trick notes (English and Chinese).",
    )
    parser.add_argument("query", nargs="+", help='words, "a phrase", 中文; typos are tolerated')
    parser.add_argument("--tag", action="append", default=[], metavar="T", help="only entries with this tag")
    parser.add_argument("--status", choices=STATUSES, help="only entries with this reading status")
    parser.add_argument("--kind", choices=KINDS, help="only papers or only tricks")
    parser.add_argument("--year", type=_years, metavar="Y|Y1-Y2", help="only entries from this year or range")
    parser.add_argument("--limit", type=_limit, default=10, metavar="N", help="at most N results (default 10)")
    parser.add_argument("--json", action="store_true", help="print a JSON array, nothing else")
    parser.add_argument("--catalog", type=Path, default=paths.DEFAULT_CATALOG, metavar="PATH")
    parser.add_argument("--index-dir", type=Path, default=None, metavar="DIR", help="where the index lives")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch first")
    return parser


def _colour(stream: object) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _progress_printer(stream: object) -> Callable[[int, int], None]:
    """Index progress on stderr (stdout stays clean for --json), only for long work."""

    def report(done: int, total: int) -> None:
        if total < 500:
            return
        end = "\n" if done == total else ""
        print(f"\rindexing the catalog: {done}/{total} entries", end=end, file=stream, flush=True)

    return report


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from paperkb.search import Filters, Searcher, render
    from paperkb.search.index import SearchIndexError

    query = " ".join(args.query)
    if not args.catalog.is_file():
        print(f"{args.catalog}: catalog file not found", file=sys.stderr)
        return 1
    try:
        searcher = Searcher(args.catalog, args.index_dir, rebuild=args.rebuild, progress=_progress_printer(sys.stderr))
    except SearchIndexError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    with searcher:
        slugs = []
        for name in args.tag:
            slug = searcher.tag_slug(name)
            if slug is None:
                known = ", ".join(sorted(searcher.tags)) or "none"
                print(f"search.py: unknown tag {name!r} (known: {known})", file=sys.stderr)
                return 2
            slugs.append(slug)
        filters = Filters(tuple(slugs), args.status, args.kind, args.year)
        results = searcher.search(query, filters, limit=args.limit)
    if args.json:
        sys.stdout.write(render.to_json(results.hits))
        return 0
    note = ""
    if results.fuzzy_terms:
        near = "; ".join(f"{word} → {', '.join(terms[:3])}" for word, terms in results.fuzzy_terms.items())
        note = f"(also searched near spellings: {near})"
    sys.stdout.write(render.to_text(results.hits, query, results.total, _colour(sys.stdout), note))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
