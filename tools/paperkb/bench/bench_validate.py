"""``validate.py`` on a 100,000-entry catalog, each way in a fresh interpreter, in the same run:

* ``general`` (the baseline): PyYAML's general path (duplicate-key walk, then its
  resolver and constructor), the collector on, jsonschema for every entry, the marker
  pattern on every line; one process;
* ``one process``: the one-walk loader, the tag memo, collections paused, the compiled
  schema, the marker screen;
* ``two processes`` (what ``validate.py`` does with a file this large): the same, with
  the entries after the middle parsed and checked in a second process
  (``catalog/validate_split.py``).

``PAPERKB_BENCH_VALIDATE_N`` sets the size; ``PAPERKB_BENCH_REPEAT`` how many times the
two fast ways run, alternately (their medians are quoted; the general path, minutes
long, runs once). CPU time and peak memory count the second process too."""

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
from paperkb.catalog import markers, validate_split, yamlsafe
import paperkb.catalog.validate
from paperkb.cli_validate import main
v = sys.modules["paperkb.catalog.validate"]
if {mode!r} != "two":
    validate_split.MIN_BYTES = 1 << 62  # one process
if {mode!r} == "general":
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
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
    code = main(["--catalog", {path!r}, "--no-refimpl"])
wall = time.perf_counter() - start
assert code == 0, err.getvalue()[-2000:]
me, child = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + child.ru_utime + child.ru_stime
progress = sum(1 for line in err.getvalue().splitlines() if line.startswith("validate.py: "))
print(wall, cpu, max(me.ru_maxrss, child.ru_maxrss), progress, os.getloadavg()[0])
"""

_LABELS = {
    "general": "general path (PyYAML resolver and constructor, collector on, jsonschema, every line), one process",
    "one": "one-walk loader, tag memo, collections paused, compiled schema, marker screen, one process",
    "two": "the same in two processes (validate.py's way for a file this large)",
}


def _run(path: Path, mode: str) -> tuple[float, float, float, int, float, float]:
    tools = str(Path(__file__).resolve().parents[2])
    code = _MEASURE.format(tools=tools, path=str(path), mode=mode)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    command = time.perf_counter() - start  # with the interpreter's start and exit
    # s, CPU s (both processes), MB, progress lines, load, s of the whole command
    return float(out[0]), float(out[1]), int(out[2]) / 1024, int(out[3]), float(out[4]), command


def run(n: int | None = None) -> list[str]:
    n = n or int(os.environ.get("PAPERKB_BENCH_VALIDATE_N", "100000"))
    repeat = max(1, int(os.environ.get("PAPERKB_BENCH_REPEAT", "1")))
    with tempfile.TemporaryDirectory() as tmp:
        path = write_synthetic_catalog(Path(tmp) / "catalog.yaml", n)
        size_mb = path.stat().st_size / 1e6
        runs: dict[str, list[tuple]] = {"general": [_run(path, "general")], "one": [], "two": []}
        for _ in range(repeat):  # alternately, so that load on the machine hits both alike
            runs["one"].append(_run(path, "one"))
            runs["two"].append(_run(path, "two"))
    loads = [r[4] for rs in runs.values() for r in rs]
    lines = [
        f"{n:,} entries ({size_mb:.0f} MB), validate.py --no-refimpl; 1-minute load average "
        f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs; median of {repeat} (general: 1 run)"
    ]
    base = statistics.median(r[0] for r in runs["general"])
    for mode, label in _LABELS.items():
        rs = runs[mode]
        wall, cpu = statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)
        command, mb = statistics.median(r[5] for r in rs), max(r[2] for r in rs)
        each = ", ".join(f"{r[0]:.1f}" for r in rs)
        ratio = "baseline" if mode == "general" else f"{wall / base:.2f}x baseline"
        lines.append(
            f"{label}: {wall:.1f} s ({each}; {command:.1f} s with start and exit; CPU {cpu:.1f} s), "
            f"{mb:.0f} MB peak per process, {rs[-1][3]} progress lines = {ratio}"
        )
    return lines
