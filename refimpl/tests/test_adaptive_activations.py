"""Adaptive activations (arXiv:2112.09442): learnable scale and shift around sigmoid, tanh, ReLU."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from refimpl.adaptive_activations import AReLU, ASigmoid, ATanh


def test_identity_initialisation_reproduces_the_plain_functions() -> None:
    z = torch.linspace(-4, 4, 33)
    torch.testing.assert_close(ASigmoid()(z), torch.sigmoid(z))
    torch.testing.assert_close(ATanh()(z), torch.tanh(z))
    torch.testing.assert_close(AReLU()(z), F.relu(z))
    s, t, r = ASigmoid(), ATanh(), AReLU()
    assert [p.item() for p in (s.a, s.b, s.c, s.d)] == [1.0, 1.0, 0.0, 0.0]
    assert [p.item() for p in (t.a, t.b, t.c, t.d)] == [1.0, 1.0, 0.0, 0.0]
    assert [p.item() for p in (r.a, r.b, r.c, r.d)] == [1.0, 0.0, 0.0, 0.0]


def _set(m: torch.nn.Module, a: float, b: float, c: float, d: float) -> None:
    with torch.no_grad():
        for name, v in zip("abcd", (a, b, c, d), strict=True):
            getattr(m, name).fill_(v)


def test_formulas_by_hand() -> None:
    a, b, c, d = 2.0, 3.0, -0.5, 0.25
    z = 0.7
    s, t, r = ASigmoid(), ATanh(), AReLU()
    for m in (s, t, r):
        _set(m, a, b, c, d)
    x = torch.tensor([z], dtype=torch.float32)
    assert math.isclose(s(x).item(), b / (1 + math.exp(-(a * z + c))) + d, rel_tol=1e-6)
    assert math.isclose(t(x).item(), b * math.tanh(a * z + c) + d, rel_tol=1e-6)
    assert math.isclose(r(x).item(), max(a * z + c, b * z + d), rel_tol=1e-6)  # 2.35 vs 0.9 → 2.35
    x = torch.tensor([-1.0])
    assert math.isclose(r(x).item(), max(-a + c, -b + d), rel_tol=1e-6)  # the second line: −2.5 vs −2.75


def test_gradients_reach_a_b_c_d() -> None:
    z = torch.randn(64) * 2
    for m in (ASigmoid(), ATanh(), AReLU()):
        if isinstance(m, AReLU):
            _set(m, 1.0, 0.3, 0.0, 0.2)  # both lines win somewhere
        m(z).sum().backward()
        for name in "abcd":
            g = getattr(m, name).grad
            assert g is not None and g.abs() > 0, f"{type(m).__name__}.{name}"


def test_parameters_are_per_layer() -> None:
    one, two = ATanh(), ATanh()
    _set(one, 2.0, 1.0, 0.0, 0.0)
    z = torch.tensor([0.5])
    assert one(z) != two(z)
    assert sum(p.numel() for p in one.parameters()) == 4
