"""Shared fixtures for the reference-implementation tests."""

from __future__ import annotations

import pytest
import torch

CUDA = torch.cuda.is_available()
NO_CUDA_REASON = "no CUDA device: GPU smoke tests run only where torch.cuda.is_available()"


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
    torch.manual_seed(0)
