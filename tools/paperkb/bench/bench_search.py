"""Search speed on synthetic catalogs (1,000 and 10,000 entries, ~400-word bilingual notes).

Every baseline is measured in the same run on the same files: ``grep -ri`` for
the command line, a linear scan and whoosh's own collector for in-process queries.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .. import paths
from . import synth

ENGLISH = [
    "generator", "cycle consistency", "perceptual losses", "discriminators", "style transfer attention",
    "spectral normalization", "latent mapping noise", "face swap", "radiance field rendering", "gradient penalty",
    "segmentation", "super resolution", "training stability", "feature pyramid", "identity reconstruction",
]
CHINESE = ["判别器", "循环一致性", "感知损失", "风格 迁移", "梯度惩罚", "人脸 关键点", "上采样 卷积", "扩散 引导"]
OTHER = ["discrimnator", "perceptaul loss", "GAN 判别器", '"cycle consistency"', "style 风格"]
CLI_RUNS = 5


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class _Times:
    """Wall-clock and CPU seconds of repeated calls. The CPU time of this process
    barely moves when other processes share the cores; wall time does."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def add(self, fn: Callable[[], object], repeat: int = 1) -> None:
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            self.cpu.append(time.process_time() - cpu)
            self.wall.append(time.perf_counter() - wall)

    def summary(self) -> str:
        return (
            f"p50 {_ms(statistics.median(self.wall))}, p95 {_ms(_percentile(self.wall, 0.95))} "
            f"(CPU p50 {_ms(statistics.median(self.cpu))}, p95 {_ms(_percentile(self.cpu, 0.95))})"
        )


def _edit_one_entry(catalog: Path, index: int, word: str) -> None:
    text = catalog.read_text(encoding="utf-8")
    marker = f"- id: synth-{index:05d}\n"
    at = text.index(marker)
    notes = text.index("      en: |\n", at) + len("      en: |\n")
    catalog.write_text(f"{text[:notes]}        {word}\n{text[notes:]}", encoding="utf-8")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(catalog: Path, index_dir: Path, query: str, cpu: list[float] | None = None) -> float:
    command = [sys.executable, str(paths.REPO_ROOT / "tools" / "search.py"), query, "--catalog", str(catalog),
               "--index-dir", str(index_dir), "--limit", "10"]
    start, start_cpu = time.perf_counter(), _children_cpu()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    if cpu is not None:
        cpu.append(_children_cpu() - start_cpu)
    return time.perf_counter() - start


def _grep(catalog: Path, query: str) -> float:
    start = time.perf_counter()
    subprocess.run(["grep", "-ri", "--", query, str(catalog)], stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _cli_lines(work: Path) -> list[str]:
    from ..search import index

    catalog = synth.write_synthetic_catalog(work / "catalog-1k.yaml", 1000, seed=1)
    index_dir = work / "index-1k"
    index.ensure_fresh(catalog, index_dir)
    _cli(catalog, index_dir, "判别器")  # the Chinese dictionary's cache exists from here on
    lines = []
    for label, queries, limit in (("English", ENGLISH[:6], 0.3), ("Chinese", CHINESE[:6], 0.8)):
        ours, grep, cpu = [], [], []
        for query in queries:
            ours += [_cli(catalog, index_dir, query, cpu) for _ in range(CLI_RUNS)]
            grep += [_grep(catalog, query.split()[0]) for _ in range(CLI_RUNS)]
        median, base = statistics.median(ours), statistics.median(grep)
        lines.append(
            f"  CLI, warm, 1,000 entries, {label}: median {median:.3f} s, p95 {_percentile(ours, 0.95):.3f} s, "
            f"CPU median {statistics.median(cpu):.3f} s (target <= {limit} s) = {median / base:.0f}x grep -ri "
            f"({base * 1000:.1f} ms)"
        )
    return lines


def _in_process_lines(work: Path) -> list[str]:
    from whoosh.qparser import MultifieldParser

    from ..catalog.scan import scan
    from ..search import Searcher, index
    from ..search.engine import PROSE_FIELDS

    catalog = synth.write_synthetic_catalog(work / "catalog-10k.yaml", 10_000, seed=2)
    index_dir = work / "index-10k"
    start = time.perf_counter()
    built = index.ensure_fresh(catalog, index_dir)
    build_s = time.perf_counter() - start
    lines = [f"  full index build, {built.total:,} entries: {build_s:.1f} s"]

    queries = ENGLISH + CHINESE + OTHER
    with Searcher(catalog, index_dir) as searcher:
        searcher.search("warm up", limit=10)
        ranking, full = _Times(), _Times()
        for _ in range(3):
            for query in queries:
                ranking.add(lambda q=query: searcher.search(q, limit=10, snippets=False))
                full.add(lambda q=query: searcher.search(q, limit=10))
        lines.append(f"  query in process, 10,000 entries ({len(queries)} queries x3), target p95 <= 20 ms:")
        lines.append(f"    ranking:       {ranking.summary()}")
        lines.append(f"    with snippets: {full.summary()}")
        whoosh_searcher = searcher.engine.searcher
        parser = MultifieldParser([*PROSE_FIELDS, "authors"], whoosh_searcher.schema)
        native = _Times()
        for query in queries[:12]:
            parsed = parser.parse(query.replace('"', ""))
            native.add(lambda p=parsed: whoosh_searcher.search(p, limit=10), repeat=2)
        lines.append(f"    baseline, whoosh's own collector on the same index: {native.summary()}")

    scanned = scan(catalog.read_bytes())
    texts = [scanned.data[b.start : b.end].decode("utf-8").casefold() for b in scanned.blocks]
    linear = _Times()
    for query in queries[:12]:
        needle = query.casefold().replace('"', "")
        linear.add(lambda n=needle: [i for i, t in enumerate(texts) if n in t], repeat=2)
    lines.append(f"    baseline, linear substring scan of the entry texts in memory: {linear.summary()}")

    updates = []
    for i, entry in enumerate((17, 4242, 9001, 123, 7777)):
        _edit_one_entry(catalog, entry, f"benchmarkword{i}")
        start = time.perf_counter()
        report = index.ensure_fresh(catalog, index_dir)
        updates.append(time.perf_counter() - start)
        assert report.added == 1 and not report.rebuilt, report
    with Searcher(catalog, index_dir) as searcher:
        assert searcher.search("benchmarkword2").hits[0].id == "synth-09001"  # the edit is searchable
    lines.append(
        f"  incremental update after editing one entry of 10,000: median {statistics.median(updates):.3f} s, "
        f"max {max(updates):.3f} s (target <= 0.5 s)"
    )
    fresh = _Times()
    fresh.add(lambda: index.ensure_fresh(catalog, index_dir), repeat=20)
    lines.append(f"  freshness check when nothing changed: median {_ms(statistics.median(fresh.wall))}")
    return lines


def run() -> list[str]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"search (tools/search.py; {os.cpu_count()} CPUs, load average {load:.1f} at start):"]
    work = Path(tempfile.mkdtemp(prefix="paperkb-bench-search-"))
    try:
        lines += _cli_lines(work)
        lines += _in_process_lines(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return lines
