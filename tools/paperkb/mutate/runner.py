"""Run a module's tests against each of its mutants, in a scratch copy of the repository.

The repository's ``refimpl/`` and ``pyproject.toml`` are copied once into a temporary
folder, and a warm parent process imports torch, pytest and every refimpl module from
there once. Each mutant then runs in a forked child of that parent: the child drops the
mutated module and every refimpl module that imports it (directly or not) from
``sys.modules``, executes the mutated source in their place, re-imports the dependents,
and runs the tests. Nothing is written to disk per mutant, so several children can run
at once and no stale bytecode can stand in for a mutant.

Which tests run comes from one coverage run of the unmutated tests (``line_map``): a
mutant is tried against the tests that executed its line, quickest first, and against
all of them when the line runs at import time (defaults, class bodies, decorators). A
mutant on a line no test executes survives without running anything: no test can see
it. A child that outlives its timeout counts as killed (the mutant made the tests
hang), as does one whose source fails to compile or import.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .operators import Mutant

PACKAGE = "refimpl"
IMPORT_CONTEXT = "<import>"


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # "killed", "survived", "timeout"
    seconds: float
    tests_run: int = -1  # how many tests the mutant was tried against (0: no test executes its line)


@dataclass
class LineMap:
    """What one coverage run of the unmutated tests found."""

    tests_by_line: dict[int, list[str]]
    durations: dict[str, float]
    import_lines: set[int] = field(default_factory=set)

    def tests_for(self, line: int) -> list[str]:
        """Node ids to try against a mutant of ``line``, quickest first."""
        chosen = list(self.durations) if line in self.import_lines else self.tests_by_line.get(line, [])
        return sorted(chosen, key=lambda n: (self.durations.get(n, 0.0), n))


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


def warm_up(root: Path) -> None:
    """Import everything the children share from ``root``, once, in this process."""
    sys.dont_write_bytecode = True  # a child must never read a bytecode file of another mutant
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the refimpl tests use no third-party plugin
    os.chdir(root)
    sys.path[:0] = [str(root), str(root / "tools")]
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    import pytest  # noqa: F401
    import torch

    torch.set_num_threads(1)
    # The first call of torch.testing's comparison imports and builds its helpers (seconds
    # on a busy machine); made here, it is not paid again by every child.
    torch.testing.assert_close(torch.zeros(2), torch.zeros(2))
    importlib.import_module(PACKAGE)


def _imports_of(path: Path) -> set[str]:
    """The refimpl sibling modules a module imports (by name, without the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1 and not base:
                found.update(a.name for a in node.names)
            elif node.level == 1:
                found.add(base.split(".")[0])
            elif node.level == 0 and base == PACKAGE:
                found.update(a.name for a in node.names)
            elif node.level == 0 and base.startswith(PACKAGE + "."):
                found.add(base.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith(PACKAGE + "."))
    return found


def dependents(root: Path, module: str) -> list[str]:
    """``module`` and every refimpl module that imports it, directly or through others."""
    files = {p.stem: p for p in (root / PACKAGE).glob("*.py") if p.stem != "__init__"}
    imports = {name: _imports_of(path) & set(files) for name, path in files.items()}
    closure, changed = {module}, True
    while changed:
        changed = False
        for name, deps in imports.items():
            if name not in closure and deps & closure:
                closure.add(name)
                changed = True
    return [module, *sorted(closure - {module})]


def _reload(root: Path, closure: list[str], source: str | None) -> None:
    """In a child: replace ``closure[0]`` by ``source`` (or its file) and re-import its dependents."""
    from refimpl import registry

    package = sys.modules[PACKAGE]
    dotted = {f"{PACKAGE}.{name}" for name in closure}
    for name in closure:
        sys.modules.pop(f"{PACKAGE}.{name}", None)
        if hasattr(package, name):
            delattr(package, name)
    for key in [k for k, spec in registry.EXAMPLES.items() if spec.module in dotted]:
        del registry.EXAMPLES[key]
    target = closure[0]
    path = root / PACKAGE / f"{target}.py"
    if source is None:
        importlib.import_module(f"{PACKAGE}.{target}")
    else:
        spec = importlib.util.spec_from_file_location(f"{PACKAGE}.{target}", path)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        setattr(package, target, module)
        exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the mutant under test
    for name in closure[1:]:
        importlib.import_module(f"{PACKAGE}.{name}")


# Per child, pytest's own start-up is most of the cost: third-party plugins (hypothesis'
# import alone is ~1 s), assertion rewriting and the unraisable-exception plugin's forced
# garbage collections are left out; only pass/fail matters here, not the messages.
FAST = [
    "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:threadexception",
    "-p", "no:faulthandler", "--assert=plain", "--no-header", "-q",
]


def _pytest_args(args: list[str]) -> list[str]:
    return ["-x", *FAST, *args]


def _start_child(root: Path, closure: list[str], source: str, args: list[str]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            _reload(root, closure, source)
            import pytest

            code = int(pytest.main(_pytest_args(args)))
        except BaseException:  # noqa: BLE001 - a mutant that fails to compile or import is caught
            code = 99
        finally:
            os._exit(code)
    return pid


def _wait(pid: int, deadline: float) -> int | None:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.01)


def collect(root: Path, args: list[str]) -> list[str]:
    """Node ids pytest would run for ``args`` (collected in a child, like the runs)."""
    out = root / ".collected"
    pid = os.fork()
    if pid == 0:
        try:
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


class _Contexts:
    """A pytest plugin that labels coverage by test and times each test."""

    def __init__(self, cov: object) -> None:
        self.cov = cov
        self.durations: dict[str, float] = {}

    def pytest_runtest_setup(self, item: object) -> None:
        # From setup on, so fixtures that call the module count for the test that uses them.
        self.cov.switch_context(item.nodeid)  # type: ignore[attr-defined]

    def pytest_runtest_logreport(self, report: object) -> None:
        if report.when == "call" and report.passed:  # type: ignore[attr-defined]
            self.durations[report.nodeid] = report.duration  # type: ignore[attr-defined]


def line_map(root: Path, closure: list[str], args: list[str], timeout: float) -> tuple[int | None, float, LineMap]:
    """The unmutated tests under coverage: (exit code or None on timeout, seconds, line map)."""
    out = root / ".linemap.json"
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            import coverage
            import pytest

            target = str(root / PACKAGE / f"{closure[0]}.py")
            cov = coverage.Coverage(data_file=None, include=[target], branch=False)
            cov.start()
            cov.switch_context(IMPORT_CONTEXT)
            _reload(root, closure, None)
            plugin = _Contexts(cov)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = int(pytest.main([*FAST, *args], plugins=[plugin]))
            cov.stop()
            data = cov.get_data()
            by_line: dict[int, list[str]] = {}
            for line, contexts in data.contexts_by_lineno(target).items():
                by_line[line] = sorted(c for c in contexts if c)
            out.write_text(json.dumps({"by_line": by_line, "durations": plugin.durations}), encoding="utf-8")
        except BaseException:  # noqa: BLE001
            code = 99
        finally:
            os._exit(code)
    code = _wait(pid, start + timeout)
    seconds = time.perf_counter() - start
    raw = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {"by_line": {}, "durations": {}}
    durations = {k: float(v) for k, v in raw["durations"].items()}
    by_line, import_lines = {}, set()
    for key, contexts in raw["by_line"].items():
        tests = [c for c in contexts if c in durations]
        if IMPORT_CONTEXT in contexts:
            import_lines.add(int(key))
        if tests:
            by_line[int(key)] = tests
    return code, seconds, LineMap(by_line, durations, import_lines)


def run_mutants(
    root: Path,
    closure: list[str],
    mutants: list[Mutant],
    lines: LineMap,
    timeout: float,
    jobs: int = 1,
    progress: Callable[[int, int, Outcome], None] | None = None,
    retry_factor: float = 3.0,
) -> list[Outcome]:
    """Each mutant of ``closure[0]`` tried in a forked child, up to ``jobs`` at a time, in order.

    A mutant that times out is tried once more, alone, with ``retry_factor`` times the
    timeout: on a busy machine a slow run is not yet a hang, and a timeout counts as killed.
    """
    original = (root / PACKAGE / f"{closure[0]}.py").read_text(encoding="utf-8")
    total = len(mutants)

    def first(i: int, o: Outcome) -> None:
        if progress:
            progress(i + 1, total, o)

    results = _run_batch(root, closure, original, list(enumerate(mutants)), lines, timeout, jobs, first)
    again = [(i, mutants[i]) for i, o in results.items() if o.status == "timeout"]
    if again:
        results.update(_run_batch(root, closure, original, again, lines, timeout * retry_factor, 1))
    return [results[i] for i in range(total)]


def _run_batch(
    root: Path,
    closure: list[str],
    original: str,
    items: list[tuple[int, Mutant]],
    lines: LineMap,
    timeout: float,
    jobs: int,
    report: Callable[[int, Outcome], None] | None = None,
) -> dict[int, Outcome]:
    """Run ``items`` and return their outcomes by index; ``report`` sees them in index order."""
    results: dict[int, Outcome] = {}
    order = [i for i, _ in items]
    shown = 0

    def show() -> None:
        nonlocal shown
        while report and shown < len(order) and order[shown] in results:
            report(order[shown], results[order[shown]])
            shown += 1

    running: dict[int, tuple[int, float, int]] = {}  # pid -> (index, start, tests)
    pending = list(items)
    mutants = dict(items)
    while pending or running:
        while pending and len(running) < max(1, jobs):
            index, mutant = pending.pop(0)
            tests = lines.tests_for(mutant.line)
            if not tests:
                results[index] = Outcome(mutant, "survived", 0.0, 0)
                continue
            pid = _start_child(root, closure, mutant.apply(original), tests)
            running[pid] = (index, time.perf_counter(), len(tests))
        show()
        if not running:
            continue
        now = time.perf_counter()
        for pid, (index, started, n) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                verdict = "survived" if code == 0 else "killed"
            elif now - started > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                verdict = "timeout"
            else:
                continue
            del running[pid]
            results[index] = Outcome(mutants[index], verdict, time.perf_counter() - started, n)
        time.sleep(0.01)
    show()
    return results
