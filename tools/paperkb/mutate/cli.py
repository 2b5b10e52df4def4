"""``make mutate [MODULE=name]``: mutation scores of the reference implementations."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import report
from .operators import find_mutants
from .runner import collect, dependents, line_map, run_mutants, scratch_copy, warm_up

REPO = Path(__file__).resolve().parents[3]
SKIP = {"__init__", "registry", "conftest"}


def _modules(repo: Path) -> list[str]:
    return sorted(p.stem for p in (repo / "refimpl").glob("*.py") if p.stem not in SKIP)


def test_args_for(root: Path, module: str) -> list[str]:
    """The module's own tests, plus the shared smoke and golden tests of its examples."""
    own = f"refimpl/tests/test_{module}.py"
    args = [own] if (root / own).exists() else []
    shared = [f for f in ("refimpl/tests/test_examples.py", "refimpl/tests/test_golden.py") if (root / f).exists()]
    if shared:
        # Parametrised ids start with the example name, "<module>.<builder>".
        args += [n for n in collect(root, shared) if f"[{module}." in n and "cuda" not in n]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mutate.py",
        description="Inject one-line bugs into refimpl modules and count how many their tests catch.",
    )
    parser.add_argument("modules", nargs="*", help="module names (default: all), e.g. adain cyclegan")
    parser.add_argument("--out", type=Path, default=REPO / "refimpl" / "mutation", help="where results go")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--timeout-factor", type=float, default=4.0, help="mutant timeout, × the baseline time")
    parser.add_argument(
        "-j", "--jobs", type=int, default=1, help="mutants tried at once (each in its own process; default 1)"
    )
    parser.add_argument(
        "--max", type=int, default=0, help="try only the first N mutants per module (0: all); nothing is recorded"
    )
    args = parser.parse_args(argv)

    known = _modules(REPO)
    unknown = [m for m in args.modules if m not in known]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}")
    modules = args.modules or known

    if args.list:
        for module in modules:
            for m in find_mutants((REPO / "refimpl" / f"{module}.py").read_text(encoding="utf-8")):
                print(f"refimpl/{module}.py:{m.line}: {m.operator}: {m.mutated_line.strip()}")
        return 0

    if args.jobs < 1:
        parser.error("--jobs must be at least 1")

    results = []
    with scratch_copy(REPO) as root:
        warm_up(root)  # imported once here, so every forked test run starts warm
        for module in modules:
            mutants = find_mutants((root / "refimpl" / f"{module}.py").read_text(encoding="utf-8"))
            if args.max:
                mutants = mutants[: args.max]
            tests = test_args_for(root, module)
            if not tests:
                print(f"{module}: no tests found; skipped", file=sys.stderr)
                continue
            closure = dependents(root, module)
            code, seconds, lines = line_map(root, closure, tests, timeout=900)
            if code != 0:
                print(f"{module}: its tests fail before any mutation (exit {code}); fix them first", file=sys.stderr)
                return 1
            timeout = max(10.0, args.timeout_factor * seconds)
            start = time.perf_counter()

            def progress(i: int, n: int, o, module: str = module) -> None:
                mark = {"killed": ".", "timeout": "T", "survived": "S"}[o.status]
                print(mark, end="" if i < n else f" {module}: {n} mutants\n", file=sys.stderr, flush=True)

            outcomes = run_mutants(root, closure, mutants, lines, timeout, args.jobs, progress)
            if any(o.status == "timeout" for o in outcomes):
                n = sum(o.status == "timeout" for o in outcomes)
                print(f"  {module}: {n} mutant(s) still timed out when retried alone; counted as killed",
                      file=sys.stderr)
            equivalents = report.load_equivalents(args.out / "equivalent" / f"{module}.yaml")
            result = report.summarise(module, outcomes, equivalents)
            result["seconds"] = round(time.perf_counter() - start, 1)
            result["jobs"] = args.jobs
            if not args.max:  # a partial run is a quick look, not a result
                report.write(result, args.out)
            results.append(result)
            for s in result["survivors"]:
                why = "  (no test executes this line)" if s.get("untested") else ""
                print(f"  survived refimpl/{module}.py:{s['line']}: - {s['original']}{why}\n"
                      f"  {' ' * (len(module) + 19)}+ {s['mutated']}", file=sys.stderr)
    print(report.table(results))
    return 0
