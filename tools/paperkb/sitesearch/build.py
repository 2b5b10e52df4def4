"""Run Pagefind over the entry records and write ``<site>/pagefind/``."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..catalog import Catalog
from .records import filter_values, records
from .vocabulary import vocabulary_files

# One index for the whole site, in no language Pagefind stems ("und", undetermined): the
# words stay as written. English stemming made "generator" match "generat…", most of a
# 10,000-entry catalog, and Pagefind's work for a word grows faster than the number of
# entries it matches (each matching entry is compared with every match of the word);
# the search box cuts each query word back to its root instead and
# lets Pagefind's prefix match find the other forms. The Chinese is cut into words
# before Pagefind sees it (records.spaced): Pagefind's own Chinese mode would cut every
# English word it does not know into letters.
LANGUAGE = "und"
OUTPUT = "pagefind"
ENTRY = "pagefind-entry.json"  # in OUTPUT
VOCABULARY = "pagefind-vocabulary"
FILTERS = "filters.json"  # in VOCABULARY: the filter values the search box lists


class SearchBuildError(RuntimeError):
    """The site's search index could not be written."""


async def _index(source: Path, out: Path) -> int:
    from pagefind.index import IndexConfig, PagefindIndex

    # One folder of record files, one request: the Python wrapper answers each request
    # after a fixed poll delay, so a request per record would cost ~0.1 s each.
    # The output path goes in the config: leaving the context writes the files there
    # (without it, Pagefind would write a second copy into the working directory).
    config = IndexConfig(force_language=LANGUAGE, write_playground=False, output_path=str(out))
    async with PagefindIndex(config=config) as index:
        added = await index.add_directory(path=str(source))
    return int(added.get("page_count", 0))


def _complete(index: Path) -> bool:
    """Whether the index's entry file, which the browser reads first, is whole. Pagefind
    has been seen to leave it empty on a loaded machine: a site whose search never
    starts is worse than a failed build."""
    try:
        entry = json.loads((index / ENTRY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(entry, dict) and bool(entry.get("languages"))


def build_search_index(
    catalog: Catalog, site_dir: Path, repo_root: Path, quiet: bool = False, timings: dict | None = None
) -> Path:
    """Index every entry of ``catalog`` into ``site_dir/pagefind``; returns that folder.

    ``timings``, when given, receives the seconds of each step: ``records`` (the HTML
    Pagefind reads), ``pagefind`` (writing the records out and indexing them) and
    ``words`` (the word lists).
    """
    try:
        import pagefind.index  # noqa: F401
    except ImportError as exc:
        raise SearchBuildError(
            "the site's search needs Pagefind: .venv/bin/python -m pip install -r requirements.txt"
        ) from exc
    start = time.perf_counter()
    recs = records(catalog, repo_root)
    steps = {"records": time.perf_counter() - start}
    out = Path(site_dir) / OUTPUT
    # Written beside, then moved into place: a server never sees half an index.
    tmp = Path(site_dir) / f".{OUTPUT}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="paperkb-search-") as source:
        for rec in recs:
            page = Path(source) / rec.url / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(rec.html, encoding="utf-8")
        try:
            count = asyncio.run(_index(Path(source), tmp))
        except Exception as exc:  # the Pagefind service reports errors as plain exceptions
            shutil.rmtree(tmp, ignore_errors=True)
            raise SearchBuildError(f"Pagefind failed to index the site: {exc}") from exc
    if count != len(recs):
        shutil.rmtree(tmp, ignore_errors=True)
        raise SearchBuildError(f"Pagefind indexed {count} of {len(recs)} entries")
    if not _complete(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
        raise SearchBuildError(f"Pagefind left an incomplete index (no readable {tmp / ENTRY}); build again")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    steps["pagefind"] = time.perf_counter() - start - steps["records"]
    words = Path(site_dir) / VOCABULARY
    shutil.rmtree(words, ignore_errors=True)
    words.mkdir(parents=True)
    files = {**vocabulary_files(catalog, recs), FILTERS: filter_values(catalog)}
    for name, listed in files.items():
        (words / name).write_text(json.dumps(listed, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    steps["words"] = time.perf_counter() - start - steps["records"] - steps["pagefind"]
    if timings is not None:
        timings.update(steps)
    if not quiet:
        detail = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())
        print(f"search: indexed {len(recs)} entries in {time.perf_counter() - start:.1f} s ({detail})", file=sys.stderr)
    return out
