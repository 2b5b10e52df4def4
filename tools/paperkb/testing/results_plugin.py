"""pytest plugin: record each test's outcome in ``.cache/test-results.json``.

Enabled from ``pyproject.toml`` (``-p paperkb.testing.results_plugin``). A run updates the
tests it ran and keeps the others, so ``make test-entry ID=...`` refreshes one entry's
status without forgetting the rest. The site build reads the file (:mod:`.results`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import pytest

RESULTS = Path(".cache") / "test-results.json"
_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _outcomes[report.nodeid] = report.outcome
    elif report.failed:  # a broken fixture or teardown fails the test
        _outcomes[report.nodeid] = "error"
    elif report.skipped:  # skipped in setup (a mark or a missing dependency)
        _outcomes[report.nodeid] = "skipped"


def _device() -> tuple[str, str | None]:
    torch = sys.modules.get("torch")  # only if the tests imported it: never import it here
    if torch is None:
        return "cpu", None
    cuda = torch.cuda.is_available()
    return (torch.cuda.get_device_name(0) if cuda else "cpu"), torch.__version__


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _outcomes or hasattr(session.config, "workerinput"):
        return
    path = Path(session.config.rootpath) / RESULTS
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        tests = old.get("tests", {}) if isinstance(old, dict) else {}
    except (OSError, ValueError):
        tests = {}
    device, torch_version = _device()
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for nodeid, outcome in _outcomes.items():
        tests[nodeid] = {"outcome": outcome, "date": now}
    data = {
        "date": now,
        "python": platform.python_version(),
        "torch": torch_version,
        "device": device,
        "tests": dict(sorted(tests.items())),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".test-results-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)
