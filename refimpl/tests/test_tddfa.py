"""3DDFA (arXiv:1511.07212): parameter layout, regression target and the PDC / VDC / WPDC costs."""

from __future__ import annotations

import pytest
import torch

from refimpl.morphable_model import MorphableModelConfig, euler_rotation, synthetic_model
from refimpl.tddfa import (
    OFFICIAL,
    TINY,
    TDDFAConfig,
    pdc_loss,
    reconstruct,
    regression_target,
    vdc_loss,
    wpdc_loss,
    wpdc_weights,
)

D = torch.float64
CFG = TDDFAConfig(n_shape=3, n_exp=2)


@pytest.fixture
def face():
    cfg = MorphableModelConfig(n_vertices=16, n_id=3, n_exp=2, n_tex=1, n_landmarks=4)
    return synthetic_model(cfg, torch.Generator().manual_seed(0)).double()


def _params() -> torch.Tensor:
    return torch.tensor([[1.3, 0.2, -0.3, 0.1, 0.5, -0.25, 0.8, -0.4, 0.3, 1.1, -0.6]], dtype=D)


def test_config_defaults_are_the_paper_and_official_is_62() -> None:
    assert TDDFAConfig() == TDDFAConfig(n_pose=6, n_shape=199, n_exp=29)  # Sec. 3
    assert TDDFAConfig().n_params == 234
    assert OFFICIAL.n_params == 62  # cleardusk/3DDFA @ 3545f35, wpdc_loss.py _parse_param_batch
    assert (TINY.n_shape, TINY.n_exp) == (4, 3)


def test_reconstruct_is_eq_1_by_hand(face) -> None:
    p = _params()
    verts = face.mean_shape + (p[:, 6:9] @ face.id_basis.T + p[:, 9:11] @ face.exp_basis.T).reshape(1, -1, 3)
    rot = euler_rotation(p[:, 1:4])[0]
    expected = 1.3 * (verts[0] @ rot.T)[:, :2] + torch.tensor([0.5, -0.25], dtype=D)
    torch.testing.assert_close(reconstruct(p, face, CFG)[0], expected)
    with pytest.raises(ValueError, match="6 pose"):
        reconstruct(torch.zeros(1, 62), face, OFFICIAL)
    with pytest.raises(ValueError, match="12 entries; the config expects 11"):
        reconstruct(torch.zeros(1, 12, dtype=D), face, CFG)


def test_regression_target_and_pdc_by_hand() -> None:
    p_gt = torch.tensor([[1.0, 2.0, 3.0]], dtype=D)
    p_k = torch.tensor([[0.5, 2.0, 4.0]], dtype=D)
    torch.testing.assert_close(regression_target(p_gt, p_k), torch.tensor([[0.5, 0.0, -1.0]], dtype=D))
    delta = torch.tensor([[0.5, 1.0, 0.0]], dtype=D)  # errors (0, 1, 1)
    torch.testing.assert_close(pdc_loss(delta, p_gt, p_k), torch.tensor(2.0, dtype=D))
    assert pdc_loss(regression_target(p_gt, p_k), p_gt, p_k) == 0


def test_wpdc_weights_follow_the_papers_definition(face) -> None:
    p_gt = _params()
    p_pred = p_gt + torch.tensor([[0.1, 0.05, 0.0, -0.2, 0.3, 0.0, 0.4, 0.0, -0.1, 0.2, 0.0]], dtype=D)
    w = wpdc_weights(p_pred, p_gt, face, CFG)
    # Independently: replace one entry at a time, rebuild, and measure the vertex displacement.
    raw = []
    for i in range(11):
        p_d = p_gt.clone()
        p_d[0, i] = p_pred[0, i]
        raw.append((reconstruct(p_d, face, CFG) - reconstruct(p_gt, face, CFG)).norm())
    raw = torch.stack(raw)
    torch.testing.assert_close(w[0], raw / raw.sum())
    assert (w[0, [2, 5, 7, 10]] < 1e-12).all()  # unchanged entries carry no weight
    assert w[0, 4] > 0 and w[0, 0] > 0
    # Translating by 0.3 moves every vertex by 0.3: the weight's numerator is 0.3 · √N.
    torch.testing.assert_close(raw[4], torch.tensor(0.3 * 16 ** 0.5, dtype=D))


def test_wpdc_is_zero_at_the_truth_grows_with_error_and_has_constant_weights(face) -> None:
    p_gt = _params()
    p_k = p_gt + 0.3
    target = regression_target(p_gt, p_k)
    assert wpdc_loss(target, p_gt, p_k, face, CFG) == 0
    err = torch.linspace(-0.1, 0.2, 11, dtype=D)[None]  # unequal errors: a gradient through w would show
    delta = (target + err).requires_grad_(True)
    bigger = target + 2 * err
    small = wpdc_loss(delta, p_gt, p_k, face, CFG)
    assert 0 < small < wpdc_loss(bigger, p_gt, p_k, face, CFG)
    small.backward()
    # With w constant, ∂E/∂Δp_i = 2 w_i (Δp_i − target_i).
    w = wpdc_weights(p_k + delta.detach(), p_gt, face, CFG)
    torch.testing.assert_close(delta.grad, 2 * w * err)


def test_wpdc_emphasises_parameters_that_move_the_face(face) -> None:
    # The same parameter error costs more on the scale f than on an expression coefficient,
    # because a scale error moves every vertex further (the point of the weighting).
    p_gt = _params()
    err = torch.zeros(1, 11, dtype=D)
    err[0, 0] = err[0, 10] = 0.2
    w = wpdc_weights(p_gt + err, p_gt, face, CFG)
    assert w[0, 0] > w[0, 10] > 0


def test_vdc_is_the_squared_vertex_distance(face) -> None:
    p_gt = _params()
    p_k = p_gt.clone()
    delta = torch.zeros_like(p_gt)
    delta[0, 4] = 0.5  # x translation: every one of 16 vertices moves by 0.5
    torch.testing.assert_close(vdc_loss(delta, p_gt, p_k, face, CFG), torch.tensor(16 * 0.25, dtype=D))
    assert vdc_loss(torch.zeros_like(p_gt), p_gt, p_k, face, CFG) == 0


def test_costs_average_over_a_batch_of_unequal_samples(face) -> None:
    # Two samples with different errors: each cost is the mean of the per-sample costs, and the WPDC
    # weights of each sample are those it gets alone (weights are normalised per sample, not per batch).
    p_gt = torch.cat([_params(), _params() * 0.5])
    p_k = p_gt + torch.tensor([[0.2], [-0.1]], dtype=D)
    delta = regression_target(p_gt, p_k) + torch.linspace(-0.1, 0.3, 22, dtype=D).reshape(2, 11)
    w = wpdc_weights(p_k + delta, p_gt, face, CFG)
    for i in range(2):
        one = slice(i, i + 1)
        torch.testing.assert_close(w[one], wpdc_weights(p_k[one] + delta[one], p_gt[one], face, CFG))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, dtype=D))
    for loss in (pdc_loss, lambda *a: vdc_loss(*a, face, CFG), lambda *a: wpdc_loss(*a, face, CFG)):
        singles = [loss(delta[i:i + 1], p_gt[i:i + 1], p_k[i:i + 1]) for i in range(2)]
        assert abs(singles[0] - singles[1]) > 1e-3
        torch.testing.assert_close(loss(delta, p_gt, p_k), (singles[0] + singles[1]) / 2)
