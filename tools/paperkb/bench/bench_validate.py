"""``validate.py`` on a 100,000-entry catalog: the one-walk loader with collections
paused against PyYAML's general path (duplicate-key walk, then its constructor, the
collector on, jsonschema for every entry, the marker pattern on every line), in the
same run, each in a fresh interpreter. ``PAPERKB_BENCH_VALIDATE_N`` sets the size;
``PAPERKB_BENCH_REPEAT`` how many times the fast path runs (its median is quoted; the
general path, minutes long, runs once)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .synth import write_synthetic_catalog

_MEASURE = """
import contextlib, io, os, resource, sys, time
sys.path.insert(0, {tools!r})
from paperkb.catalog import markers, yamlsafe
import paperkb.catalog.validate
from paperkb.cli_validate import main
v = sys.modules["paperkb.catalog.validate"]
if {general!r}:
    yamlsafe.construct_plain = lambda *args, **kwargs: None  # find_duplicate_keys, then PyYAML's constructor
    yamlsafe.paused_gc = contextlib.nullcontext
    yamlsafe._Loader.resolve = yamlsafe._BaseLoader.resolve  # PyYAML's resolver, no tag memo
    slow, _ = v._entry_validators()
    v._entry_validators = lambda: (slow, None)  # jsonschema for every entry

    def every_line(text):
        for number, line in enumerate(text.splitlines()):
            match = markers._MARKER.search(line)
            if match:
                return number, match.group(0)
        return None

    markers.find_marker = every_line
err = io.StringIO()
start, cpu = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
    code = main(["--catalog", {path!r}, "--no-refimpl"])
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
assert code == 0, err.getvalue()[-2000:]
progress = sum(1 for line in err.getvalue().splitlines() if line.startswith("validate.py: "))
print(wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, progress, os.getloadavg()[0])
"""


def _run(path: Path, general: bool) -> tuple[float, float, float, int, float, float]:
    tools = str(Path(__file__).resolve().parents[2])
    code = _MEASURE.format(tools=tools, path=str(path), general=general)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    command = time.perf_counter() - start  # with the interpreter's start and exit
    # s, CPU s, MB, progress lines, load, s of the whole command
    return float(out[0]), float(out[1]), int(out[2]) / 1024, int(out[3]), float(out[4]), command


def run(n: int | None = None) -> list[str]:
    n = n or int(os.environ.get("PAPERKB_BENCH_VALIDATE_N", "100000"))
    with tempfile.TemporaryDirectory() as tmp:
        path = write_synthetic_catalog(Path(tmp) / "catalog.yaml", n)
        size_mb = path.stat().st_size / 1e6
        old_s, old_cpu, old_mb, _, old_load, old_command = _run(path, general=True)
        runs = [_run(path, general=False) for _ in range(max(1, int(os.environ.get("PAPERKB_BENCH_REPEAT", "1"))))]
    new_s, new_cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    new_mb, progress, new_load = max(r[2] for r in runs), runs[-1][3], max(r[4] for r in runs)
    walls = ", ".join(f"{r[0]:.1f}" for r in runs)
    new_command = statistics.median(r[5] for r in runs)
    return [
        f"{n:,} entries ({size_mb:.0f} MB), validate.py --no-refimpl; 1-minute load average {old_load:.1f} "
        f"then {new_load:.1f} on {os.cpu_count()} CPUs",
        f"general path (PyYAML resolver and constructor, collector on, jsonschema, every line): {old_s:.1f} s "
        f"(CPU {old_cpu:.1f} s; {old_command:.1f} s with start and exit), {old_mb:.0f} MB (baseline)",
        f"one-walk loader, tag memo, collections paused, compiled schema, marker screen: median {new_s:.1f} s "
        f"of {len(runs)} ({walls}; CPU {new_cpu:.1f} s; {new_command:.1f} s with start and exit), "
        f"{new_mb:.0f} MB = {new_cpu / old_cpu:.2f}x baseline CPU time, "
        f"{progress} progress lines on stderr",
    ]
