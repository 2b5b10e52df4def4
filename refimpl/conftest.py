"""Shared fixtures for the reference-implementation tests, and the GPU report.

``pytest refimpl -m gpu --gpu-report refimpl/gpu_smoke_results.json`` (what
``make gpu-test`` runs) records each GPU test's outcome and the CUDA
forward+backward time per example; the site renders that file as a table.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from pathlib import Path

import pytest
import torch

# The examples are tiny: one intra-op thread avoids thread start-up and
# oversubscription costs that dominate at this size on a 2-core machine.
torch.set_num_threads(1)

CUDA = torch.cuda.is_available()
NO_CUDA_REASON = "no CUDA device: GPU smoke tests run only where torch.cuda.is_available()"

_report: dict[str, dict] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--gpu-report", default=None, help="write GPU smoke results (JSON) to this path")


@pytest.fixture(
    params=[
        "cpu",
        pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason=NO_CUDA_REASON)]),
    ]
)
def device(request: pytest.FixtureRequest) -> torch.device:
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _seed() -> None:
    if CUDA:
        torch.manual_seed(0)
    else:
        # The same seed without the lazy queueing: torch.manual_seed also queues a seed
        # for every accelerator not initialised yet (CUDA, XPU, MTIA), formatting a stack
        # trace for each, which cost ~3 ms a test, ~5 s of the run.
        torch.default_generator.manual_seed(0)


@pytest.fixture
def gpu_timing() -> dict[str, dict]:
    """Where a GPU test stores per-example figures for the report."""
    return _report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "gpu" not in report.keywords or (report.when != "call" and not (report.when == "setup" and report.skipped)):
        return
    row = _report.setdefault(report.nodeid, {})
    row["outcome"] = report.outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.getoption("--gpu-report", default=None)
    if not path or not _report or not CUDA:
        return  # never overwrite recorded results with a run that had no GPU
    payload = {
        "device": torch.cuda.get_device_name(0) if CUDA else "none",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "date": _dt.date.today().isoformat(),
        "results": [{"test": k, **v} for k, v in sorted(_report.items())],
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
