"""Write the site's search index, ``<site>/search-index/``, from the entry records.

``build_pagefind_index`` writes the same records as a Pagefind index instead
(``<site>/pagefind/``): the benchmark's baseline, measured beside the site's own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..catalog import Catalog
from . import postings
from .records import Record, filter_values, records
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
PAGEFIND_OUTPUT = "pagefind"
ENTRY = "pagefind-entry.json"  # in PAGEFIND_OUTPUT
OUTPUT = postings.FOLDER
VOCABULARY = "words"  # in OUTPUT: the search box's word lists
FILTERS = "filters.json"  # in VOCABULARY: the filter values the search box lists


class SearchBuildError(RuntimeError):
    """The site's search index could not be written."""


def _pagefind(source: Path, out: Path) -> None:
    """Run Pagefind's command line (the binary the ``pagefind[extended]`` package ships)
    over a folder of record files.

    The command line, not the package's Python service: the service stops the binary
    right after its last answer, and on a loaded machine it has left
    pagefind-entry.json empty; the command line writes every file before it exits.
    """
    done = subprocess.run(
        [sys.executable, "-m", "pagefind", "--site", str(source), "--output-path", str(out),
         "--force-language", LANGUAGE, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )
    if done.returncode != 0:
        last = (done.stdout.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise SearchBuildError(f"Pagefind failed to index the site: {last}")


def _page_count(index: Path) -> int:
    entry = json.loads((index / ENTRY).read_text(encoding="utf-8"))
    return sum(int(lang.get("page_count", 0)) for lang in entry["languages"].values())


def _complete(index: Path) -> bool:
    """Whether the index's entry file, which the browser reads first, is whole. Pagefind
    has been seen to leave it empty on a loaded machine: a site whose search never
    starts is worse than a failed build."""
    try:
        entry = json.loads((index / ENTRY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(entry, dict) and bool(entry.get("languages"))


def _check_pagefind() -> None:
    try:
        import pagefind.index  # noqa: F401
    except ImportError as exc:
        raise SearchBuildError(
            "the Pagefind baseline needs Pagefind: .venv/bin/python -m pip install -r requirements.txt"
        ) from exc


def build_pagefind_index(recs: list[Record], site_dir: Path) -> Path:
    """Index ``recs`` with Pagefind into ``site_dir/pagefind``; returns that folder."""
    _check_pagefind()
    out = Path(site_dir) / PAGEFIND_OUTPUT
    tmp = Path(site_dir) / f".{PAGEFIND_OUTPUT}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tempfile.TemporaryDirectory(prefix="paperkb-search-") as source:
            for rec in recs:
                page = Path(source) / rec.url / "index.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(rec.html, encoding="utf-8")
            _pagefind(Path(source), tmp)
        if not _complete(tmp):
            raise SearchBuildError(f"Pagefind left an incomplete index (no readable {tmp / ENTRY}); build again")
        count = _page_count(tmp)
        if count != len(recs):
            raise SearchBuildError(f"Pagefind indexed {count} of {len(recs)} entries")
    except SearchBuildError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def build_search_index(
    catalog: Catalog, site_dir: Path, repo_root: Path, quiet: bool = False, timings: dict | None = None
) -> Path:
    """Index every entry of ``catalog`` into ``site_dir/search-index``; returns that folder.

    ``timings``, when given, receives the seconds of each step: ``records`` (each
    entry's weighted words), ``postings`` (the term chunks and entry files) and
    ``words`` (the word lists).
    """
    start = time.perf_counter()
    recs = records(catalog, repo_root)
    steps = {"records": time.perf_counter() - start}
    out = Path(site_dir) / OUTPUT
    # Written beside, then moved into place: a server never sees half an index.
    tmp = Path(site_dir) / f".{OUTPUT}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        postings.write_index(recs, tmp)
        steps["postings"] = time.perf_counter() - start - steps["records"]
        words = tmp / VOCABULARY
        words.mkdir()
        files = {**vocabulary_files(catalog, recs), FILTERS: filter_values(catalog)}
        for name, listed in files.items():
            (words / name).write_text(json.dumps(listed, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        steps["words"] = time.perf_counter() - start - steps["records"] - steps["postings"]
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # The previous index goes after the new one is whole (removing 10,000 files takes
    # seconds on a busy disk; it is no step of building the index).
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    if timings is not None:
        timings.update(steps)
    if not quiet:
        detail = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())
        print(f"search: indexed {len(recs)} entries in {time.perf_counter() - start:.1f} s ({detail})", file=sys.stderr)
    return out
