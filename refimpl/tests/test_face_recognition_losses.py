"""NormFace, SphereFace, CosFace, ArcFace, center loss, FaceNet: the defining claims."""

from __future__ import annotations

import math

import pytest
import torch

from refimpl.face_recognition_losses import (
    OFFICIAL_FACENET,
    OFFICIAL_INSIGHTFACE,
    ArcMarginHead,
    CenterLoss,
    CosFaceHead,
    FaceLossConfig,
    NormFaceHead,
    SphereFaceHead,
    arc_margin_target,
    cosine_logits,
    semi_hard_negatives,
    sphereface_lambda,
    sphereface_psi,
    triplet_loss,
)

LABELS = torch.tensor([0, 3, 1, 3, 2, 0])


def _feats() -> torch.Tensor:
    return torch.randn(6, 16) * 3


def test_arcface_margin_lowers_only_the_target_logit(device: torch.device) -> None:
    head = ArcMarginHead(16, 4).to(device)
    x, y = _feats().to(device), LABELS.to(device)
    logits = head(x, y)
    plain = 64.0 * cosine_logits(x, head.weight)
    target = y[:, None] == torch.arange(4, device=device)[None, :]
    torch.testing.assert_close(logits[~target], plain[~target], atol=1e-4, rtol=1e-5)
    assert (logits[target] < plain[target]).all()


def test_arcface_target_is_s_cos_theta_plus_m_in_range() -> None:
    # θ + m ≤ π: the target logit is exactly s cos(θ + m) (Eq. 3).
    theta = torch.tensor([0.0, 0.3, 1.0, 2.0, math.pi - 0.5 - 1e-3])
    target = arc_margin_target(theta.cos(), 0.5)
    torch.testing.assert_close(target, (theta + 0.5).cos(), atol=1e-5, rtol=1e-5)
    head = ArcMarginHead(2, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    x = torch.tensor([[math.cos(0.7), math.sin(0.7)]]) * 5  # θ_0 = 0.7 rad from class 0
    torch.testing.assert_close(head(x, torch.tensor([0]))[0, 0], torch.tensor(64.0 * math.cos(1.2)))


def test_arcface_fallback_keeps_the_target_decreasing_in_theta() -> None:
    # Beyond θ = π − m, cos(θ + m) would rise again; the fallback cos θ − m sin m keeps it falling.
    theta = torch.linspace(0, math.pi, 200)
    target = arc_margin_target(theta.cos(), 0.5)
    assert (target[1:] <= target[:-1] + 1e-6).all()
    raw = (theta + 0.5).cos()
    assert not (raw[1:] <= raw[:-1] + 1e-6).all()
    torch.testing.assert_close(arc_margin_target(torch.tensor([-1.0]), 0.5), torch.tensor([-1 - 0.5 * math.sin(0.5)]))
    easy = arc_margin_target(torch.tensor([-0.3, 0.6]), 0.5, easy_margin=True)
    torch.testing.assert_close(easy, torch.tensor([-0.3, math.cos(math.acos(0.6) + 0.5)]))


def test_cosface_subtracts_exactly_s_times_m_from_the_target() -> None:
    torch.manual_seed(1)
    cos_head = CosFaceHead(16, 4)
    norm_head = NormFaceHead(16, 4, scale=64.0, learn_scale=False)
    norm_head.weight = cos_head.weight
    x = _feats()
    diff = norm_head(x) - cos_head(x, LABELS)
    expected = torch.zeros(6, 4)
    expected[torch.arange(6), LABELS] = 64.0 * 0.35
    torch.testing.assert_close(diff, expected, atol=1e-4, rtol=0)


def test_normalised_logits_are_bounded_by_the_scale() -> None:
    head = NormFaceHead(16, 4, scale=10.0)
    x = _feats() * 1000  # feature norm does not matter after normalisation
    logits = head(x)
    assert logits.abs().max() <= 10.0 + 1e-4
    torch.testing.assert_close(logits, head(x / 1000))
    assert isinstance(head.scale, torch.nn.Parameter)  # s is learned


def test_sphereface_psi_is_the_monotone_extension_of_cos_m_theta() -> None:
    theta = torch.linspace(0, math.pi, 401)
    psi = sphereface_psi(theta.cos(), 4)
    assert (psi[1:] <= psi[:-1] + 1e-4).all()
    small = theta < math.pi / 4
    torch.testing.assert_close(psi[small], (4 * theta[small]).cos(), atol=1e-4, rtol=0)
    torch.testing.assert_close(psi[[0, -1]], torch.tensor([1.0, -7.0]), atol=1e-4, rtol=0)  # ψ(π) = 1 − 2m


def test_sphereface_scales_by_the_feature_norm_and_lambda_recovers_softmax() -> None:
    head = SphereFaceHead(16, 4)
    x = _feats()
    cos = cosine_logits(x, head.weight)
    logits = head(x, LABELS)
    non_target = torch.ones(6, 4, dtype=torch.bool)
    non_target[torch.arange(6), LABELS] = False
    torch.testing.assert_close(logits[non_target], (x.norm(dim=1)[:, None] * cos)[non_target], atol=1e-4, rtol=1e-5)
    # λ → ∞ anneals A-Softmax back to the (weight-normalised) softmax.
    torch.testing.assert_close(head(x, LABELS, lam=1e7), x.norm(dim=1)[:, None] * cos, atol=1e-4, rtol=1e-4)


def test_center_loss_is_zero_at_the_centres_and_update_follows_the_rule() -> None:
    loss = CenterLoss(3, 2, alpha=0.5)
    loss.centers.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]]))
    labels = torch.tensor([2, 0, 2])
    assert loss(loss.centers[labels], labels).item() == 0.0
    x = torch.tensor([[4.0, -1.0], [0.0, 2.0], [2.0, 1.0]])
    # ½ mean(‖x − c‖²) = ½ (4 + 4 + 4) / 3 = 2
    assert loss(x, labels).item() == 2.0
    loss.update(x, labels)
    # class 2: Δ = ((c − x0) + (c − x2)) / (1 + 2) = ((−2, 0) + (0, −2)) / 3; c ← c − 0.5 Δ
    torch.testing.assert_close(loss.centers[2], torch.tensor([2 + 1 / 3, -1 + 1 / 3]))
    torch.testing.assert_close(loss.centers[0], torch.tensor([0.0, 0.5]))  # Δ = (0, −2)/2
    torch.testing.assert_close(loss.centers[1], torch.tensor([1.0, 1.0]))  # no sample: unchanged


def test_triplet_loss_sums_over_triplets_as_eq_3_official_code_averages() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # d_ap = 0, 0, 2
    n = torch.tensor([[0.0, 1.0], [0.0, 0.9], [1.0, 0.0]])  # d_an = 2, 0.01, 0
    # hinges [d_ap − d_an + 0.2]₊ = 0, 0.19, 2.2
    torch.testing.assert_close(triplet_loss(a, p, n), torch.tensor(2.39))
    torch.testing.assert_close(triplet_loss(a, p, n, reduction=OFFICIAL_FACENET.triplet_reduction),
                               torch.tensor(2.39 / 3))
    with pytest.raises(ValueError, match="reduction"):
        triplet_loss(a, p, n, reduction="max")


def test_triplet_loss_is_zero_once_the_margin_is_satisfied() -> None:
    a = torch.tensor([[1.0, 0.0]])
    p = torch.tensor([[0.9, 0.1]])  # ‖a − p‖² = 0.02
    far = torch.tensor([[0.0, 1.0]])  # ‖a − n‖² = 2 > 0.02 + 0.2
    near = torch.tensor([[0.95, 0.0]])  # ‖a − n‖² = 0.0025
    assert triplet_loss(a, p, far, FaceLossConfig().triplet_margin).item() == 0.0
    torch.testing.assert_close(triplet_loss(a, p, near), torch.tensor(0.02 - 0.0025 + 0.2))


def test_semi_hard_negative_is_the_closest_one_farther_than_the_positive() -> None:
    a = torch.tensor([[0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0]])  # d_ap = 1
    cands = torch.tensor([[0.5, 0.0], [1.2, 0.0], [2.0, 0.0], [1.1, 0.0]])  # d² = 0.25, 1.44, 4, 1.21
    cand_labels = torch.tensor([1, 1, 1, 0])  # the last one shares the anchor's identity
    assert semi_hard_negatives(a, p, cands, cand_labels, torch.tensor([0])).tolist() == [1]
    # No negative beyond the positive: fall back to the farthest negative.
    assert semi_hard_negatives(a, p * 10, cands, cand_labels, torch.tensor([0])).tolist() == [2]


def _unit_head(head: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    return head


def _at(theta_deg: float, norm: float = 1.0) -> torch.Tensor:
    t = math.radians(theta_deg)
    return torch.tensor([[math.cos(t), math.sin(t)]], dtype=torch.float64) * norm  # θ from class 0, 90° − θ from 1


def test_exact_logits_at_sixty_degrees() -> None:
    y = torch.tensor([0])
    # ArcFace: s cos(θ + m) = 64 cos(π/3 + 0.5) on the target, s cos θ elsewhere (64 cos 30°).
    arc = _unit_head(ArcMarginHead(2, 2)).double()(_at(60.0, 3.0), y)
    torch.testing.assert_close(arc[0], torch.tensor([64 * math.cos(math.pi / 3 + 0.5), 64 * math.cos(math.pi / 6)],
                                                    dtype=torch.float64))
    # CosFace: s (cos θ − m) = 64 (0.5 − 0.35) = 9.6.
    cos = _unit_head(CosFaceHead(2, 2)).double()(_at(60.0, 3.0), y)
    torch.testing.assert_close(cos[0], torch.tensor([9.6, 64 * math.cos(math.pi / 6)], dtype=torch.float64))
    # SphereFace, ‖x‖ = 5, m = 4: k = ⌊4 · 60° / 180°⌋ = 1, ψ = −cos 240° − 2 = −1.5;
    # blended with λ = 5: 5 (5 · 0.5 − 1.5) / 6 = 5/6.
    sph = _unit_head(SphereFaceHead(2, 2)).double()(_at(60.0, 5.0), y, lam=5.0)
    torch.testing.assert_close(sph[0], torch.tensor([5 / 6, 5 * math.cos(math.pi / 6)], dtype=torch.float64))
    torch.testing.assert_close(sphereface_psi(torch.tensor([0.5], dtype=torch.float64)),
                               torch.tensor([-1.5], dtype=torch.float64))


def test_arcface_official_fallback_and_easy_margin_beyond_pi_minus_m() -> None:
    # θ = 160° > π − m (151.4°): insightface uses cos θ − sin(π − m) · m, not cos(θ + m).
    y = torch.tensor([0])
    head = _unit_head(ArcMarginHead(2, 2)).double()
    c = math.cos(math.radians(160))
    torch.testing.assert_close(head(_at(160.0), y)[0, 0],
                               torch.tensor(64 * (c - math.sin(math.pi - 0.5) * 0.5), dtype=torch.float64))
    # Just inside (θ = 150°) the exact margin still applies.
    torch.testing.assert_close(head(_at(150.0), y)[0, 0],
                               torch.tensor(64 * math.cos(math.radians(150) + 0.5), dtype=torch.float64))
    # easy_margin: no margin once cos θ ≤ 0 (θ = 100°), the margin below 90° (θ = 80°).
    easy = _unit_head(ArcMarginHead(2, 2, easy_margin=True)).double()
    torch.testing.assert_close(easy(_at(100.0), y)[0, 0], torch.tensor(64 * math.cos(math.radians(100)),
                                                                       dtype=torch.float64))
    torch.testing.assert_close(easy(_at(80.0), y)[0, 0], torch.tensor(64 * math.cos(math.radians(80) + 0.5),
                                                                      dtype=torch.float64))


def test_sphereface_lambda_anneals_from_base_to_lambda_min() -> None:
    # wy1iu/sphereface margin_inner_product_layer.cpp: iter_ += 1, then λ = max(λ_min, base (1 + γ iter_)^−power).
    assert sphereface_lambda(1) == pytest.approx(1000 / 1.12)
    assert sphereface_lambda(100) == pytest.approx(1000 / 13)
    assert sphereface_lambda(1658) == pytest.approx(1000 / (1 + 0.12 * 1658))  # 5.0013, just above λ_min
    assert sphereface_lambda(1659) == 5.0 and sphereface_lambda(100_000) == 5.0
    assert sphereface_lambda(9, base=10.0, gamma=1.0, power=2.0, lambda_min=0.0) == pytest.approx(0.1)


def test_config_defaults_are_the_papers_and_presets_the_official_code() -> None:
    c = FaceLossConfig()
    assert (c.arcface_scale, c.arcface_margin) == (64.0, 0.5)  # ArcFace experiments
    assert (c.cosface_scale, c.cosface_margin) == (64.0, 0.35)  # CosFace experiments
    assert c.sphereface_margin == 4 and c.normface_scale == 16.0
    assert (c.center_alpha, c.center_weight) == (0.5, 0.003)  # center loss experiments
    assert (c.triplet_margin, c.triplet_reduction, c.facenet_dim, c.embedding_dim) == (0.2, "sum", 128, 512)
    assert (c.sphereface_lambda_base, c.sphereface_lambda_gamma, c.sphereface_lambda_power,
            c.sphereface_lambda_min) == (1000.0, 0.12, 1.0, 5.0)  # sphereface_model.prototxt
    assert OFFICIAL_INSIGHTFACE.cosface_margin == 0.40 and OFFICIAL_INSIGHTFACE.arcface_margin == 0.5
    assert OFFICIAL_FACENET.triplet_reduction == "mean"
    # The functions' own defaults: m = 0.5 for the angular margin, m = 4 for ψ (cos 60° → −1.5).
    torch.testing.assert_close(arc_margin_target(torch.tensor([0.5])), torch.tensor([math.cos(math.pi / 3 + 0.5)]))
    torch.testing.assert_close(sphereface_psi(torch.tensor([0.5])), torch.tensor([-1.5]))
    head = CosFaceHead(2, 2)
    assert (head.scale, head.margin) == (64.0, 0.35)
    arc = ArcMarginHead(2, 2)
    assert (arc.scale, arc.margin, arc.easy_margin) == (64.0, 0.5, False)


def test_margin_switches_exactly_at_the_official_boundaries() -> None:
    # insightface: where(cos > th, phi, cos − mm) with th = cos(π − m): at cos = th the fallback applies.
    th = torch.tensor([math.cos(math.pi - 0.5)], dtype=torch.float64)
    torch.testing.assert_close(arc_margin_target(th, 0.5), th - math.sin(math.pi - 0.5) * 0.5)
    # easy margin: where(cos > 0, phi, cos): at cos = 0 no margin.
    zero = torch.zeros(1, dtype=torch.float64)
    torch.testing.assert_close(arc_margin_target(zero, 0.5, easy_margin=True), zero)


def test_sphereface_psi_clamps_its_input_and_the_head_defaults_to_pure_a_softmax() -> None:
    torch.testing.assert_close(sphereface_psi(torch.tensor([1.2, -1.3])), torch.tensor([1.0, -7.0]))
    # Default λ = 0: the target logit is ‖x‖ ψ(θ) = 5 · (−1.5) at θ = 60°.
    head = _unit_head(SphereFaceHead(2, 2)).double()
    torch.testing.assert_close(head(_at(60.0, 5.0), torch.tensor([0]))[0, 0], torch.tensor(-7.5, dtype=torch.float64))


def test_center_update_when_the_batch_misses_the_last_classes() -> None:
    loss = CenterLoss(3, 2, alpha=1.0)
    loss.update(torch.tensor([[2.0, 4.0], [4.0, 2.0]]), torch.tensor([0, 0]))
    # Δ_0 = (2 c_0 − (6, 6)) / 3 = (−2, −2); c_0 ← (2, 2); classes 1, 2 untouched.
    torch.testing.assert_close(loss.centers, torch.tensor([[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]))
