#!/usr/bin/env python3
"""``make bench``: run every ``paperkb.bench.bench_*`` module and print its figures."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import paperkb.bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.py", description="Speed figures (medians, ratios to baselines).")
    parser.add_argument("only", nargs="*", help="run only these benchmarks (e.g. catalog search add)")
    args = parser.parse_args(argv)
    names = sorted(m.name for m in pkgutil.iter_modules(paperkb.bench.__path__) if m.name.startswith("bench_"))
    if args.only:
        unknown = [n for n in args.only if f"bench_{n}" not in names]
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from "
                         + ", ".join(n.removeprefix("bench_") for n in names))
        names = [f"bench_{n}" for n in args.only]
    for name in names:
        start = time.perf_counter()
        print(f"== {name.removeprefix('bench_')} ==", flush=True)
        module = importlib.import_module(f"paperkb.bench.{name}")
        for line in module.run():
            print(f"  {line}", flush=True)
        print(f"  ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
