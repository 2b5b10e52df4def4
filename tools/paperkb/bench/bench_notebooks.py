"""The notebooks: each one's cold execution (wall and kernel CPU seconds) beside a kernel
that only imports torch and refimpl, and what a warm cache adds to ``mkdocs build``."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import paths
from ..notebooks import execute_notebook, find_notebooks
from ..notebooks.site import OFF_ENV
from ..notebooks.sources import Notebook

BASELINE = """\
# %%
import torch

import refimpl  # noqa: F401
"""


def _build(site: Path, notebooks: bool) -> float:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", OFF_ENV: "on" if notebooks else "off"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
                   cwd=paths.REPO_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def run(repeat: int = 2) -> list[str]:
    root = paths.REPO_ROOT
    lines = []
    with tempfile.TemporaryDirectory(prefix="paperkb-bench-nb-") as tmp:
        cache = Path(tmp) / "cache"
        base_src = Path(tmp) / "import_only.py"
        base_src.write_text(BASELINE, encoding="utf-8")
        base = execute_notebook(Notebook(base_src, "import_only", "import only", None), root, cache, force=True)
        lines.append(f"{'baseline: import torch, refimpl':34s} wall {base.wall_s:6.1f} s  cpu {base.cpu_s:5.1f} s")
        total_wall = total_cpu = 0.0
        for nb in find_notebooks(root):
            e = execute_notebook(nb, root, cache, force=True)
            total_wall, total_cpu = total_wall + e.wall_s, total_cpu + e.cpu_s
            lines.append(f"{nb.stem:34s} wall {e.wall_s:6.1f} s  cpu {e.cpu_s:5.1f} s  "
                         f"(cpu {e.cpu_s / base.cpu_s:.1f}× the baseline)")
        lines.append(f"{'all notebooks, cold':34s} wall {total_wall:6.1f} s  cpu {total_cpu:5.1f} s")
        # Warm cache: fill the build's own cache once, then builds with and without notebooks, interleaved.
        for nb in find_notebooks(root):
            execute_notebook(nb, root)
        _build(Path(tmp) / "site-warmup", True)  # fills mkdocs-jupyter's HTML cache
        without, with_nb = [], []
        for i in range(repeat):
            without.append(_build(Path(tmp) / f"site-off-{i}", False))
            with_nb.append(_build(Path(tmp) / f"site-on-{i}", True))
        off, on = statistics.median(without), statistics.median(with_nb)
        lines.append(f"mkdocs build without notebooks: {off:.1f} s; with notebooks, warm cache: {on:.1f} s "
                     f"(+{on - off:.1f} s, {on / off:.2f}×; median of {repeat})")
    return lines
