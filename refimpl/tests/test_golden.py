"""Golden outputs: every registered example, seeded, against its expected-output file.

Each ``expect/<example>.json`` holds, per output tensor, its shape, the first values
and the mean and standard deviation (float64) of a seeded run. A change that moves any
of them fails here; when the change is meant, regenerate the file on purpose and review
it in the diff::

    PAPERKB_ACCEPT=1 .venv/bin/python -m pytest refimpl/tests/test_golden.py -k <module>
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import refimpl  # noqa: F401  (fills the registry)
from refimpl.registry import EXAMPLES
from refimpl.tests.test_examples import _tensors

EXPECT = Path(__file__).parent / "expect"
ACCEPT = os.environ.get("PAPERKB_ACCEPT") == "1"
FIRST = 6
# Seeded float32 runs on one CPU thread repeat exactly; the tolerance covers other
# CPUs' vector widths changing the summation order.
RTOL, ATOL = 1e-4, 1e-5


def _record(name: str) -> dict:
    torch.manual_seed(0)
    example = EXAMPLES[name].build()
    example.model.train()
    torch.manual_seed(1)  # dropout, noise and sampling inside the run
    # Not under no_grad: some runs differentiate inside (penalties, path lengths).
    outputs = _tensors(example())
    rows = []
    for o in outputs:
        d = o.detach().to(torch.float64).flatten()
        rows.append({
            "shape": list(o.shape),
            "dtype": str(o.dtype).removeprefix("torch."),
            "first": [round(float(v), 7) for v in d[:FIRST]],
            "mean": float(d.mean()) if d.numel() else 0.0,
            "std": float(d.std()) if d.numel() > 1 else 0.0,
        })
    return {"example": name, "outputs": rows}


@pytest.mark.parametrize("name", sorted(n for n, s in EXAMPLES.items() if not s.pending))
def test_golden(name: str) -> None:
    path = EXPECT / f"{name}.json"
    got = _record(name)
    if ACCEPT:
        EXPECT.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1) + "\n", encoding="utf-8")
        return
    assert path.exists(), f"no expected outputs for {name}: run with PAPERKB_ACCEPT=1 and review {path}"
    want = json.loads(path.read_text(encoding="utf-8"))
    assert len(got["outputs"]) == len(want["outputs"]), f"{name}: number of outputs changed"
    for i, (g, w) in enumerate(zip(got["outputs"], want["outputs"], strict=True)):
        where = f"{name} output {i}"
        assert g["shape"] == w["shape"], f"{where}: shape {g['shape']} != expected {w['shape']}"
        assert g["dtype"] == w["dtype"], f"{where}: dtype {g['dtype']} != expected {w['dtype']}"
        assert g["first"] == pytest.approx(w["first"], rel=RTOL, abs=ATOL), f"{where}: first values changed"
        assert g["mean"] == pytest.approx(w["mean"], rel=RTOL, abs=ATOL), f"{where}: mean changed"
        assert g["std"] == pytest.approx(w["std"], rel=RTOL, abs=ATOL), f"{where}: std changed"


def test_no_stale_expect_files() -> None:
    """An expected-output file whose example no longer exists is removed, not kept silently."""
    names = {p.stem for p in EXPECT.glob("*.json")}
    stale = sorted(names - set(EXAMPLES))
    assert not stale, f"expected-output files without an example: {stale}"
