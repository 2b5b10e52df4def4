#!/usr/bin/env python3
"""``make test-entry ID=...``: run the tests of one entry's reference implementation."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paperkb import paths  # noqa: E402
from paperkb.catalog import CatalogError, load_catalog, refimpl_scan  # noqa: E402
from paperkb.terminal import printable  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="test_entry.py", description=__doc__)
    parser.add_argument("id", help="catalog entry id, e.g. adain")
    parser.add_argument("--catalog", default=str(paths.DEFAULT_CATALOG), help="catalog file (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        catalog = load_catalog(args.catalog)
    except CatalogError as exc:
        for line in exc.problems:
            print(printable(line), file=sys.stderr)
        return 1
    entry = catalog.by_id().get(args.id)
    if entry is None:
        parser.error(printable(f"no entry '{args.id}' in {args.catalog}"))
    modules = list(dict.fromkeys(paths.REPO_ROOT / t.split(":", 1)[0] for t in entry.refimpl_targets))
    if not modules:
        print(printable(f"entry '{args.id}' has no reference implementation: {entry.refimpl_none_reason}"))
        return 0
    tests = [str(refimpl_scan.test_file_for(m).relative_to(paths.REPO_ROOT)) for m in modules]
    tests = [t for t in tests if (paths.REPO_ROOT / t).is_file()]
    # -k matches file names too: every test of the module's test file runs, and of the
    # shared forward/backward test only the module's registered examples.
    keyword = " or ".join(m.stem for m in modules)
    cmd = [sys.executable, "-m", "pytest", "-q", *tests, "refimpl/tests/test_examples.py", "-k", keyword]
    return subprocess.call(cmd, cwd=paths.REPO_ROOT)


if __name__ == "__main__":
    sys.exit(main())
