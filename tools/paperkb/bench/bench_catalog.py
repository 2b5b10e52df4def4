"""Catalog loading at scale: libyaml vs pure-Python PyYAML, and the summary cache."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from ..catalog import read_catalog, validate
from ..catalog.summary import load_summaries
from .synth import write_synthetic_catalog


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(sizes: tuple[int, ...] = (1000, 10000)) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = write_synthetic_catalog(Path(tmp) / f"catalog-{n}.yaml", n)
            text = path.read_text(encoding="utf-8")
            repeat = 3 if n <= 1000 else 1
            plain = _median(lambda t=text: yaml.load(t, Loader=yaml.CSafeLoader), repeat)  # noqa: S506
            ours = _median(lambda p=path: read_catalog(p), repeat)
            catalog = read_catalog(path)
            check = _median(lambda c=catalog: validate(c, check_refimpl=False), repeat)
            cache = Path(tmp) / f"cache-{n}"
            cold = _median(lambda p=path, c=cache: load_summaries(p, c), 1)
            warm = _median(lambda p=path, c=cache: load_summaries(p, c), 5)
            size_mb = path.stat().st_size / 1e6
            lines.append(f"{n} entries ({size_mb:.1f} MB): plain yaml.load(CSafeLoader) {plain:.2f} s (baseline)")
            if n <= 1000:  # the pure-Python loader takes ~10x longer: skip it at 10k
                pure = _median(lambda t=text: yaml.load(t, Loader=yaml.SafeLoader), 1)  # noqa: S506
                lines.append(f"{n} entries: pure-Python SafeLoader {pure:.2f} s = {pure / plain:.2f}x baseline")
            lines += [
                f"{n} entries: read_catalog (libyaml + line marks + duplicate keys) {ours:.2f} s"
                f" = {ours / plain:.2f}x baseline",
                f"{n} entries: validate (schema + cross-checks) {check:.2f} s",
                f"{n} entries: summaries cold {cold:.2f} s, warm (unchanged file) {warm * 1000:.1f} ms"
                f" = {warm / plain:.4f}x baseline",
            ]
    return lines
