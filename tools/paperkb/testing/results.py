"""Read ``.cache/test-results.json`` (written by :mod:`.results_plugin`) per refimpl module."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .results_plugin import RESULTS


@dataclass(frozen=True)
class TestStatus:
    passed: int
    failed: int
    skipped: int
    date: str
    torch: str | None
    device: str

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0


def load_results(repo_root: Path) -> dict | None:
    try:
        data = json.loads((repo_root / RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("tests"), dict) else None


def module_status(results: dict | None, module: str) -> TestStatus | None:
    """Outcomes of ``refimpl/tests/test_<module>.py`` and the module's registered examples."""
    if not results:
        return None
    own = f"refimpl/tests/test_{module}.py::"
    counts: Counter[str] = Counter()
    dates = []
    for nodeid, row in results["tests"].items():
        if nodeid.startswith(own) or (
            nodeid.startswith("refimpl/tests/test_examples.py::")
            and (f"[{module}." in nodeid or f"-{module}." in nodeid)
        ):
            outcome = row.get("outcome") if isinstance(row, dict) else None
            counts["failed" if outcome in ("failed", "error") else outcome or "unknown"] += 1
            dates.append(str(row.get("date", "")))
    if not counts:
        return None
    return TestStatus(
        passed=counts["passed"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        date=max(dates)[:10],
        torch=results.get("torch"),
        device=str(results.get("device", "")),
    )
