"""Run a module's tests against each of its mutants, in a scratch copy of the repository.

The repository's ``refimpl/`` and ``pyproject.toml`` are copied once into a temporary
folder; each mutant is written over its module there and the module's own tests run in a
forked child of a process that has already imported torch and pytest (start-up is most
of a small test run's time). The child never shares imported ``refimpl`` modules with
the parent, so each run imports the mutated file afresh. A child that outlives its
timeout counts as killed (the mutant made the tests hang), as does one that fails to
import.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .operators import Mutant


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # "killed", "survived", "timeout"
    seconds: float


@contextlib.contextmanager
def scratch_copy(repo: Path) -> Iterator[Path]:
    """A temporary copy of what the refimpl tests need."""
    with tempfile.TemporaryDirectory(prefix="paperkb-mutate-") as tmp:
        root = Path(tmp)
        shutil.copytree(
            repo / "refimpl", root / "refimpl", ignore=shutil.ignore_patterns("__pycache__", "mutation", "*.pyc")
        )
        shutil.copy2(repo / "pyproject.toml", root / "pyproject.toml")
        (root / "tools").mkdir()  # pyproject's pythonpath names it
        yield root


def _pytest_in_child(root: Path, args: list[str], timeout: float) -> tuple[int | None, float]:
    """Run pytest with ``args`` in a forked child; return (exit code or None on timeout, seconds)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.chdir(root)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.path[:0] = [str(root), str(root / "tools")]
            import pytest

            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "--no-header", "-p", "no:randomly", *args])
            os._exit(int(code))
        except BaseException:  # noqa: BLE001 - any failure in the child is a failed run
            os._exit(99)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.perf_counter() - start
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, time.perf_counter() - start
        time.sleep(0.02)


def collect(root: Path, args: list[str]) -> list[str]:
    """Node ids pytest would run for ``args`` (collected in a child, like the runs)."""
    out = root / ".collected"
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(root)
            sys.path[:0] = [str(root), str(root / "tools")]
            import pytest

            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
                pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *args])
            out.write_text(buf.getvalue(), encoding="utf-8")
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(99)
    os.waitpid(pid, 0)
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    return [line.strip() for line in text.splitlines() if "::" in line]


def run_mutants(
    root: Path,
    module_file: str,
    mutants: list[Mutant],
    test_args: list[str],
    timeout: float,
    progress: Callable[[int, int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Each mutant written over ``module_file`` in ``root``, the tests run, the file restored."""
    path = root / module_file
    original = path.read_text(encoding="utf-8")
    outcomes: list[Outcome] = []
    try:
        for i, mutant in enumerate(mutants, 1):
            path.write_text(mutant.apply(original), encoding="utf-8")
            code, seconds = _pytest_in_child(root, test_args, timeout)
            status = "timeout" if code is None else ("survived" if code == 0 else "killed")
            outcome = Outcome(mutant, status, seconds)
            outcomes.append(outcome)
            if progress:
                progress(i, len(mutants), outcome)
    finally:
        path.write_text(original, encoding="utf-8")
    return outcomes


def baseline(root: Path, test_args: list[str], timeout: float) -> tuple[int | None, float]:
    """The unmutated tests: they must pass, and their time sets the mutants' timeout."""
    return _pytest_in_child(root, test_args, timeout)
