"""One parametrized smoke test over every registered example.

For each example: forward on the fixture's device, declared output shapes,
finite values, and a backward pass that reaches every learnable parameter.
The ``gpu`` tests add CUDA float32 vs CPU agreement and bf16 autocast.
"""

from __future__ import annotations

import copy
import statistics
import time

import pytest
import torch

import refimpl  # noqa: F401  (fills the registry)
from refimpl.conftest import CUDA, NO_CUDA_REASON
from refimpl.registry import EXAMPLES, Example

NAMES = sorted(EXAMPLES)
# CUDA and CPU kernels differ in summation order (and TF32 is off below):
# float32 outputs of these small nets agree to this tolerance.
CUDA_ATOL = 1e-3
CUDA_RTOL = 1e-3


def _tensors(out: object) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _tensors(item)]
    if isinstance(out, dict):
        return [t for item in out.values() for t in _tensors(item)]
    raise TypeError(f"example returned {type(out).__name__}, expected tensors")


def _build(name: str) -> Example:
    spec = EXAMPLES[name]
    if spec.pending:
        pytest.skip("not implemented yet")
    return spec.build()


def _moved(example: Example, device: torch.device) -> tuple[torch.nn.Module, list[torch.Tensor]]:
    model = copy.deepcopy(example.model).to(device)
    inputs = [x.detach().to(device).requires_grad_(x.requires_grad) for x in example.inputs]
    return model, inputs


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward(name: str, device: torch.device) -> None:
    example = _build(name)
    model, inputs = _moved(example, device)
    model.train()
    outputs = _tensors(example(model, inputs))

    assert [tuple(o.shape) for o in outputs] == [tuple(s) for s in example.output_shapes]
    for o in outputs:
        assert torch.isfinite(o).all(), f"{name}: non-finite output"

    loss = sum(o.float().mean() for o in outputs if o.is_floating_point())
    loss.backward()

    learnable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    for n, p in learnable:
        if n.startswith(example.no_grad):
            continue
        assert p.grad is not None, f"{name}: parameter {n} received no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient in {n}"
    grads = [p.grad for n, p in learnable if p.grad is not None] + [x.grad for x in inputs if x.requires_grad]
    assert grads, f"{name}: nothing learnable and no input requires grad"
    assert any(g is not None and g.abs().sum() > 0 for g in grads), f"{name}: all gradients are zero"


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason=NO_CUDA_REASON)
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu(name: str) -> None:
    example = _build(name)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cpu_model, cpu_inputs = _moved(example, torch.device("cpu"))
    gpu_model, gpu_inputs = _moved(example, torch.device("cuda"))
    # eval(): dropout and batch statistics would make the two runs differ by design
    cpu_model.eval()
    gpu_model.eval()
    with torch.no_grad():
        torch.manual_seed(0)
        cpu_out = _tensors(example(cpu_model, cpu_inputs))
        torch.manual_seed(0)
        gpu_out = _tensors(example(gpu_model, gpu_inputs))
    for c, g in zip(cpu_out, gpu_out, strict=True):
        torch.testing.assert_close(g.cpu(), c, atol=CUDA_ATOL, rtol=CUDA_RTOL)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason=NO_CUDA_REASON)
@pytest.mark.parametrize("name", NAMES)
def test_cuda_bf16_autocast(name: str) -> None:
    example = _build(name)
    model, inputs = _moved(example, torch.device("cuda"))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        outputs = _tensors(example(model, inputs))
    for o in outputs:
        assert torch.isfinite(o.float()).all(), f"{name}: non-finite output under bf16 autocast"


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason=NO_CUDA_REASON)
@pytest.mark.parametrize("name", NAMES)
def test_cuda_step_time(name: str, request: pytest.FixtureRequest, gpu_timing: dict) -> None:
    """Forward+backward on CUDA: finite, and timed (median of 10 steps) for the report."""
    example = _build(name)
    model, inputs = _moved(example, torch.device("cuda"))
    times = []
    for _ in range(12):
        model.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        start = time.perf_counter()
        outputs = _tensors(example(model, inputs))
        loss = sum(o.float().mean() for o in outputs if o.is_floating_point())
        if loss.requires_grad:
            loss.backward()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        assert torch.isfinite(loss), f"{name}: non-finite loss on CUDA"
    gpu_timing.setdefault(request.node.nodeid, {})["ms_per_step"] = round(statistics.median(times[2:]) * 1000, 3)
