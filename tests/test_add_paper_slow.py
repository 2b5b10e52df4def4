"""add_paper.py across processes: concurrent writers, writers killed mid-write, and a
scaffold run through pytest. Each test starts real subprocesses (a few seconds in all)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_minimal_repo
from paperkb import paths
from paperkb.bench.synth import write_synthetic_catalog
from paperkb.catalog import read_catalog, validate

pytestmark = pytest.mark.slow

REPO = paths.REPO_ROOT
# Imports first, then "ready", then wait for a line on stdin before running main():
# the interesting moments (lock, write) then happen at a time the test controls.
# With pause_mid_write, the writer stops half-way through writing the new file and says
# "writing": a kill then lands mid-write for certain (the test's hook, in the child only).
RUNNER = """
import os, sys, time
sys.path.insert(0, {tools!r})
from paperkb.catalog import writer as catalog_writer
from paperkb.addpaper.cli import main
if {pause_mid_write!r}:
    copy = catalog_writer._copy_range
    def paused(src, dst, start, length):
        copy(src, dst, start, length // 2)
        os.fsync(dst)
        print("writing", flush=True)
        time.sleep(60)
    catalog_writer._copy_range = paused
print("ready", flush=True)
start = sys.stdin.readline()
sys.exit(main(sys.argv[1:]))
"""


def writer(catalog: Path, title: str, *extra: str, pause_mid_write: bool = False) -> subprocess.Popen:
    code = RUNNER.format(tools=str(REPO / "tools"), pause_mid_write=pause_mid_write)
    argv = [sys.executable, "-c", code, "--catalog", str(catalog), "--no-input", "--offline", "--title", title, *extra]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def go(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def test_concurrent_writers_all_land(tmp_path: Path) -> None:
    catalog = write_synthetic_catalog(tmp_path / "catalog.yaml", 200)
    procs = [writer(catalog, f"Concurrent writer {k}", "--tags", "gan") for k in range(4)]
    for proc in procs:
        go(proc)
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], results
    loaded = read_catalog(catalog)
    ids = [e.id for e in loaded.entries]
    assert len(ids) == 204 and len(set(ids)) == 204
    assert {f"concurrent-writer-{k}" for k in range(4)} <= set(ids)
    assert validate(loaded, repo_root=tmp_path).errors == []


def test_two_writers_adding_the_same_paper_land_it_once(tmp_path: Path) -> None:
    catalog = write_synthetic_catalog(tmp_path / "catalog.yaml", 50)
    procs = [writer(catalog, "The Same Paper Twice") for _ in range(2)]
    for proc in procs:
        go(proc)
    results = [proc.communicate(timeout=60) for proc in procs]
    assert sorted(proc.returncode for proc in procs) == [0, 1], results
    assert any("already has title" in err for _, err in results)
    assert [e.id for e in read_catalog(catalog).entries].count("same-paper-twice") == 1


def test_bench_runs_on_a_small_catalog() -> None:
    """The bench runs end to end; whether it meets its target is for `make bench` to say
    (a timed assertion fails on a loaded machine, not on slow code)."""
    from paperkb.bench import bench_add

    lines = bench_add.run(entries=50, adds=1)
    assert len(lines) == 4 and lines[0].endswith((": ok", ": TOO SLOW")) and "53 entries" in lines[-1]


def test_a_writer_killed_at_any_moment_leaves_the_old_or_the_new_catalog(tmp_path: Path) -> None:
    catalog = write_synthetic_catalog(tmp_path / "catalog.yaml", 400)
    # How long one add takes here, from "go" to exit: the kills are spread over it.
    proc = writer(catalog, "Calibration run")
    started = time.perf_counter()
    go(proc)
    assert proc.wait(timeout=60) == 0
    duration = time.perf_counter() - started
    rng = random.Random(0)
    count = 401
    landed = killed_before = 0
    for i in range(12):
        before = catalog.read_bytes()
        proc = writer(catalog, f"Killed writer {i}")
        go(proc)
        time.sleep(rng.uniform(0.3, 1.1) * duration)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        after = catalog.read_bytes()
        entries = read_catalog(catalog).entries  # always parses
        assert len(entries) in (count, count + 1)
        if len(entries) == count + 1:
            assert after.startswith(before) and entries[-1].id == f"killed-writer-{i}"
            landed += 1
        else:
            assert after == before
            killed_before += 1
        count = len(entries)
    # The next writer cleans up what killed writers left and still lands.
    proc = writer(catalog, "After the kills")
    go(proc)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert read_catalog(catalog).entries[-1].id == "after-kills"
    assert list(tmp_path.glob(".catalog.yaml.*.tmp")) == []
    assert landed + killed_before == 12


def test_a_writer_killed_mid_write_leaves_the_old_catalog(tmp_path: Path) -> None:
    catalog = write_synthetic_catalog(tmp_path / "catalog.yaml", 100)
    before = catalog.read_bytes()
    proc = writer(catalog, "Killed mid-write", pause_mid_write=True)
    go(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    half = list(tmp_path.glob(".catalog.yaml.*.tmp"))
    assert len(half) == 1 and 0 < half[0].stat().st_size < len(before)  # the new file, half written
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert catalog.read_bytes() == before and len(read_catalog(catalog).entries) == 100
    proc = writer(catalog, "Next writer")
    go(proc)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(read_catalog(catalog).entries) == 101 and list(tmp_path.glob(".catalog.yaml.*.tmp")) == []


def test_a_scaffold_keeps_pytest_refimpl_green(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    make_minimal_repo(root)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    from paperkb.addpaper import cli

    rc = cli.main(["--catalog", str(root / "catalog.yaml"), "--no-input", "--offline", "--scaffold",
                   "--title", "NeRF: Representing Scenes as Neural Radiance Fields", "--year", "2020"])
    assert rc == 0
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "refimpl", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{REPO / 'tools'}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed" not in result.stdout and "not implemented yet" in result.stdout
    assert "test_nerf.py" in result.stdout  # the scaffold's own test was collected (and skipped)
