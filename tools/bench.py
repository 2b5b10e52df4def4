#!/usr/bin/env python3
"""Print speed figures: every ``paperkb.bench.bench_*`` module's ``run()`` lines."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paperkb.bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    wanted = set(argv if argv is not None else sys.argv[1:])  # optional names: search, ...
    for module in sorted(pkgutil.iter_modules(paperkb.bench.__path__), key=lambda m: m.name):
        if not module.name.startswith("bench_"):
            continue
        if wanted and module.name.removeprefix("bench_") not in wanted:
            continue
        bench = importlib.import_module(f"paperkb.bench.{module.name}")
        for line in bench.run():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
