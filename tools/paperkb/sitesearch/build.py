"""Run Pagefind over the entry records and write ``<site>/pagefind/``."""

from __future__ import annotations

import json
import shutil
import subprocess
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
# Entries per Pagefind index. Pagefind's work for a word grows faster than the entries
# it matches (each matching entry is compared with every match of the word), so a large
# catalog is split into indexes of SHARD entries that the search box searches together
# (Pagefind's merged indexes): at 10,000 entries, four indexes do about a quarter of it.
SHARD = 2_500
SHARDS = "shards"  # in OUTPUT: the indexes after the first
INDEXES = "indexes.json"  # in VOCABULARY: the paths of the indexes after the first


class SearchBuildError(RuntimeError):
    """The site's search index could not be written."""


def _pagefind(sources: list[Path], outs: list[Path]) -> None:
    """Run Pagefind's command line (the binary the ``pagefind[extended]`` package ships)
    over each folder of record files, all at once: one index per folder.

    The command line, not the package's Python service: for 1,000 records it took half
    the time (3 s against 6-8 s on a loaded two-core machine), the service answering
    each request after a poll delay and writing the files through it.
    """
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "pagefind", "--site", str(source), "--output-path", str(out),
             "--force-language", LANGUAGE, "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for source, out in zip(sources, outs, strict=True)
    ]
    failed = []
    for run in runs:
        output, _ = run.communicate()
        if run.returncode != 0:
            failed.append((output.strip().splitlines() or [f"exit status {run.returncode}"])[-1])
    if failed:
        raise SearchBuildError(f"Pagefind failed to index the site: {failed[0]}")


def _page_count(index: Path) -> int:
    entry = json.loads((index / ENTRY).read_text(encoding="utf-8"))
    return sum(int(lang.get("page_count", 0)) for lang in entry["languages"].values())


def shard_count(entries: int) -> int:
    """How many Pagefind indexes hold ``entries`` entries (``SHARD`` entries each at most)."""
    return max(1, -(-entries // SHARD))


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
    # Written beside, then moved into place: a server never sees half an index. The
    # first index is pagefind/, the others pagefind/shards/<n>/ (listed in INDEXES);
    # entry i goes to index i % shards, so each index is a sample of the whole catalog
    # (Pagefind ranks by word statistics within an index).
    tmp = Path(site_dir) / f".{OUTPUT}.tmp"
    outs = [tmp] + [Path(site_dir) / f".{OUTPUT}.tmp-{n}" for n in range(1, shard_count(len(recs)))]
    for folder in outs:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        with tempfile.TemporaryDirectory(prefix="paperkb-search-") as source:
            sources = [Path(source) / str(n) for n in range(len(outs))]
            for i, rec in enumerate(recs):
                page = sources[i % len(outs)] / rec.url / "index.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(rec.html, encoding="utf-8")
            _pagefind(sources, outs)
        for folder in outs:
            if not _complete(folder):
                raise SearchBuildError(f"Pagefind left an incomplete index (no readable {folder / ENTRY}); build again")
        count = sum(_page_count(folder) for folder in outs)
        if count != len(recs):
            raise SearchBuildError(f"Pagefind indexed {count} of {len(recs)} entries")
        for n, folder in enumerate(outs[1:], start=1):
            (tmp / SHARDS).mkdir(exist_ok=True)
            folder.rename(tmp / SHARDS / str(n))
    except SearchBuildError:
        for folder in outs:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    shards = [f"{OUTPUT}/{SHARDS}/{n}/" for n in range(1, len(outs))]
    steps["pagefind"] = time.perf_counter() - start - steps["records"]
    words = Path(site_dir) / VOCABULARY
    shutil.rmtree(words, ignore_errors=True)
    words.mkdir(parents=True)
    files = {**vocabulary_files(catalog, recs), FILTERS: filter_values(catalog), INDEXES: shards}
    for name, listed in files.items():
        (words / name).write_text(json.dumps(listed, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    steps["words"] = time.perf_counter() - start - steps["records"] - steps["pagefind"]
    if timings is not None:
        timings.update(steps)
    if not quiet:
        detail = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())
        print(f"search: indexed {len(recs)} entries in {time.perf_counter() - start:.1f} s ({detail})", file=sys.stderr)
    return out
