"""Validating a 100,000-entry catalog: the blockwise parse and the compiled-schema
prefilter against the whole-document parse and jsonschema alone, in the same run."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from .synth import write_synthetic_catalog

_MEASURE = """
import sys, time, resource
sys.path.insert(0, {tools!r})
from paperkb.catalog import load
v = sys.modules["paperkb.catalog.validate"]
if {old!r}:
    load.BLOCKWISE_MIN_BYTES = 10**15  # one parse of the whole document
    v._entry_validators.cache_clear()
    slow, _ = v._entry_validators()
    v._entry_validators = lambda: (slow, None)  # jsonschema for every entry
start = time.perf_counter()
catalog = load.read_catalog({path!r})
report = v.validate(catalog, check_refimpl=False)
assert not report.errors, report.errors[:3]
usage = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
"""


def _run(path: Path, old: bool) -> tuple[float, float, float]:
    tools = str(Path(__file__).resolve().parents[2])
    code = _MEASURE.format(tools=tools, path=str(path), old=old)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]) / 1024  # wall s, CPU s, MB


def run(n: int = 100_000) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_synthetic_catalog(Path(tmp) / "catalog.yaml", n)
        size_mb = path.stat().st_size / 1e6
        old_s, old_cpu, old_mb = _run(path, old=True)
        new_s, new_cpu, new_mb = _run(path, old=False)
    return [
        f"{n:,} entries ({size_mb:.0f} MB): whole-document parse + jsonschema {old_s:.1f} s "
        f"(CPU {old_cpu:.1f} s), {old_mb:.0f} MB (baseline)",
        f"{n:,} entries: blockwise parse + compiled-schema prefilter {new_s:.1f} s (CPU {new_cpu:.1f} s), "
        f"{new_mb:.0f} MB = {new_cpu / old_cpu:.2f}x baseline CPU time",
    ]
