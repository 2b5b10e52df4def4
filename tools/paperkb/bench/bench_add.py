"""Speed of ``tools/add_paper.py`` on a 10,000-entry catalog, against a full parse.

Target: adding one entry takes at most 1 s end to end (a fresh Python process,
as a user runs it). The baseline, measured in the same run on the same file, is
what any approach that parses the whole catalog pays before writing anything:
one parse with libyaml.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import paths
from ..catalog import summary, yamlsafe
from .synth import write_synthetic_catalog

ENTRIES = 10_000
ADDS = 5
TARGET_S = 1.0


def _add(catalog: Path, title: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(paths.REPO_ROOT / "tools" / "add_paper.py"), "--catalog", str(catalog),
         "--no-input", "--offline", "--title", title, "--year", "2024", "--authors", "A. Author",
         "--venue", "arXiv preprint", "--tags", "gan"],
        capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"add_paper.py failed: {result.stderr.strip()}")
    return elapsed


def run(entries: int = ENTRIES, adds: int = ADDS) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = write_synthetic_catalog(Path(tmp) / "catalog.yaml", entries)
        megabytes = catalog.stat().st_size / 1e6
        started = time.perf_counter()
        yamlsafe.parse(catalog.read_text(encoding="utf-8"))
        parse_s = time.perf_counter() - started
        cold_s = _add(catalog, "Bench cold cache paper")  # builds the summary cache once
        times = [_add(catalog, f"Bench paper number {i}") for i in range(adds)]
        # A hand edit elsewhere in the file makes the cache stale: the next add re-splits the
        # text and re-parses only the edited entry's block.
        text = catalog.read_text(encoding="utf-8")
        catalog.write_text(text.replace("status: unread", "status: reading", 1), encoding="utf-8")
        edited_s = _add(catalog, "Bench after a hand edit")
        count = len(summary.load_summaries(catalog, Path(tmp) / ".cache" / "paperkb"))
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET_S else "TOO SLOW"
    return [
        f"add_paper: {entries:,}-entry catalog ({megabytes:.1f} MB): median {median:.2f} s end to end "
        f"over {adds} adds (min {min(times):.2f}, max {max(times):.2f}); target <= {TARGET_S:g} s: {verdict}",
        f"add_paper: after a hand edit of the catalog {edited_s:.2f} s; first add with no summary cache "
        f"{cold_s:.2f} s (once: each add then updates the cache)",
        f"baseline: one full parse of the same catalog (libyaml) {parse_s:.2f} s; "
        f"add / parse = {median / parse_s:.3f} (the add is {parse_s / median:.1f}x faster)",
        f"catalog after the adds: {count:,} entries",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
