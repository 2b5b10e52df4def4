"""FSGAN (arXiv:1908.05932): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from refimpl.fsgan import (
    TINY,
    FSGANConfig,
    ReenactmentGenerator,
    barycentric_weights,
    landmarks_to_disk_heatmaps,
    landmarks_to_heatmaps,
    mask_blend,
    poisson_blend,
)


def test_heatmap_peaks_at_its_landmark(device: torch.device) -> None:
    lms = torch.tensor([[[3.0, 7.0], [12.0, 1.0], [0.0, 15.0]]], device=device)  # (x, y)
    maps = landmarks_to_heatmaps(lms, 16, sigma=1.5)
    assert maps.shape == (1, 3, 16, 16)
    for k, (x, y) in enumerate(lms[0].tolist()):
        flat = maps[0, k].argmax().item()
        assert (flat % 16, flat // 16) == (int(x), int(y))  # column = x, row = y
        assert maps[0, k, int(y), int(x)].item() == 1.0
    # one σ away along x the value is exp(−1/2)
    torch.testing.assert_close(landmarks_to_heatmaps(torch.tensor([[[4.0, 4.0]]]), 16, 2.0)[0, 0, 4, 6],
                               torch.exp(torch.tensor(-0.5)))


def test_subpixel_landmark_is_between_pixels() -> None:
    maps = landmarks_to_heatmaps(torch.tensor([[[5.5, 2.0]]]), 8, 1.0)
    torch.testing.assert_close(maps[0, 0, 2, 5], maps[0, 0, 2, 6])


def test_reenactment_generator_shapes_and_pose_conditioning() -> None:
    g = ReenactmentGenerator(TINY).eval()
    face = torch.rand(2, 3, 16, 16) * 2 - 1
    lms = torch.rand(2, TINY.num_landmarks, 2) * 15
    out, seg = g(face, landmarks_to_heatmaps(lms, 16, TINY.sigma))
    assert out.shape == (2, 3, 16, 16) and seg.shape == (2, FSGANConfig().num_classes, 16, 16)
    out2, _ = g(face, landmarks_to_heatmaps(lms.flip(-1), 16, TINY.sigma))
    assert (out - out2).abs().max() > 1e-4  # the target pose changes the output


def test_mask_blend_endpoints() -> None:
    a, b = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    torch.testing.assert_close(mask_blend(a, b, torch.ones(1, 1, 4, 4)), a)
    torch.testing.assert_close(mask_blend(a, b, torch.zeros(1, 1, 4, 4)), b)


def _mask() -> torch.Tensor:
    m = torch.zeros(1, 1, 10, 10)
    m[..., 3:8, 2:7] = 1
    return m


def test_poisson_blend_keeps_the_target_outside_the_mask(device: torch.device) -> None:
    s, t, m = torch.rand(1, 3, 10, 10, device=device), torch.rand(1, 3, 10, 10, device=device), _mask().to(device)
    out = poisson_blend(s, t, m, iters=TINY.poisson_iters)
    torch.testing.assert_close(out * (1 - m), t * (1 - m), rtol=0, atol=0)


def test_poisson_blend_ignores_a_constant_colour_offset_of_the_source() -> None:
    # only gradients are copied: a source that is the target plus a constant blends into the target itself
    t = torch.rand(1, 3, 10, 10)
    s = t + torch.tensor([0.5, -0.3, 0.2]).view(1, 3, 1, 1)
    torch.testing.assert_close(poisson_blend(s, t, _mask(), iters=TINY.poisson_iters), t, atol=1e-5, rtol=0)


def _border_mask() -> torch.Tensor:
    m = torch.zeros(1, 1, 10, 10)
    m[..., 0:4, 0:5] = 1  # touches the top and left edges
    return m


@pytest.mark.parametrize("mask", [_mask(), _border_mask()], ids=["interior", "border"])
def test_poisson_blend_matches_a_direct_solve_of_the_discrete_poisson_equation(mask: torch.Tensor) -> None:
    # independent check: assemble 4f_p − Σ_{q inside} f_q = (4s_p − Σ_q s_q) + Σ_{q outside} t_q and solve it;
    # a neighbour beyond the image edge is the pixel itself (replicated border, a Neumann boundary)
    g = torch.Generator().manual_seed(0)
    s, t, m = torch.rand(1, 1, 10, 10, generator=g), torch.rand(1, 1, 10, 10, generator=g), mask
    inside = [(r, c) for r in range(10) for c in range(10) if m[0, 0, r, c] == 1]
    index = {p: i for i, p in enumerate(inside)}
    a = torch.zeros(len(inside), len(inside), dtype=torch.float64)
    b = torch.zeros(len(inside), dtype=torch.float64)
    for (r, c), i in index.items():
        a[i, i] = 4
        b[i] = 4 * s[0, 0, r, c]
        for q in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if not (0 <= q[0] < 10 and 0 <= q[1] < 10):
                q = (r, c)
            b[i] -= s[0, 0, q[0], q[1]]
            if q in index:
                a[i, index[q]] -= 1
            else:
                b[i] += t[0, 0, q[0], q[1]]
    f = torch.linalg.solve(a, b).float()
    out = poisson_blend(s, t, m, iters=400)
    torch.testing.assert_close(torch.stack([out[0, 0, r, c] for r, c in inside]), f, atol=1e-4, rtol=0)


def test_barycentric_weights_reproduce_the_point() -> None:
    tri = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 2.0]])
    w = barycentric_weights(torch.tensor([1.0, 0.5]), tri)
    torch.testing.assert_close(w, torch.tensor([0.5, 0.25, 0.25]))
    torch.testing.assert_close(barycentric_weights(tri[1], tri), torch.tensor([0.0, 1.0, 0.0]))


def test_config_defaults_are_the_papers() -> None:
    c = FSGANConfig()
    assert c.num_landmarks == 70  # Sec. 3.2: 70 landmark heatmaps
    assert c.image_size == 256  # Sec. 4: 256 × 256 crops
    assert c.sigma == 2.0  # the module's heatmap width (the paper gives none)
    assert c.width == 64
    assert c.num_classes == 3  # background, face, hair
    assert c.poisson_iters == 500


# Facts from the official decoder: YuvalNirkin/fsgan @ 05237f4d42a7d3483f83be860adf5c22cc56815e,
# fsgan/utils/landmarks_utils.py, LandmarksHeatMapDecoder(64)(torch.tensor([[[0.3, 0.6], [0.71, 0.2]]])):
# 20 non-zero pixels per map; (row, column, value) of some of them.
OFFICIAL_DISKS = {0: [(36, 18, 0.17215371131896973), (37, 21, 0.0072324275970458984), (38, 19, 0.8619454503059387),
                      (38, 20, 0.45200854539871216), (40, 18, 0.10148763656616211)],
                  1: [(10, 44, 0.0018277764320373535), (12, 45, 0.8663815259933472), (13, 47, 0.11559635400772095),
                      (14, 46, 0.18025368452072144), (11, 43, 0.056479573249816895)]}


def test_disk_heatmaps_match_the_official_decoder() -> None:
    maps = landmarks_to_disk_heatmaps(torch.tensor([[[0.3, 0.6], [0.71, 0.2]]]), 64)
    assert maps.shape == (1, 2, 64, 64)
    for k, pixels in OFFICIAL_DISKS.items():
        assert (maps[0, k] > 0).sum().item() == 20
        for r, c, v in pixels:
            assert maps[0, k, r, c].item() == pytest.approx(v, abs=2e-6), (k, r, c)
    # closed form at a landmark on a pixel centre: d = 0 → 1; the threshold is a parameter
    centre = torch.tensor([[[10.5 / 32, 3.5 / 32]]])
    assert landmarks_to_disk_heatmaps(centre, 32)[0, 0, 3, 10].item() == pytest.approx(1.0)
    d = 1 / 32  # one pixel to the right
    expected = (((math.sqrt(2) - d) / math.sqrt(2)) ** 8 - 0.5) / 0.5
    assert landmarks_to_disk_heatmaps(centre, 32, 0.5)[0, 0, 3, 11].item() == pytest.approx(expected, rel=1e-5)


def test_gaussian_heatmap_at_an_offset_in_both_axes() -> None:
    # landmark (x, y) = (3, 5), σ = 1.5: pixel row 7, column 4 is (dx, dy) = (1, 2) away
    maps = landmarks_to_heatmaps(torch.tensor([[[3.0, 5.0]]]), 10, 1.5)
    assert maps[0, 0, 7, 4].item() == pytest.approx(math.exp(-(1 + 4) / (2 * 1.5**2)), rel=1e-6)
    assert maps[0, 0, 4, 7].item() == pytest.approx(math.exp(-(16 + 1) / (2 * 1.5**2)), rel=1e-5)


def test_mask_blend_with_a_soft_mask() -> None:
    face, target = torch.full((1, 1, 2, 2), 2.0), torch.full((1, 1, 2, 2), -1.0)
    out = mask_blend(face, target, torch.tensor([0.25, 0.5, 0.75, 1.0]).view(1, 1, 2, 2))
    torch.testing.assert_close(out.flatten(), torch.tensor([-0.25, 0.5, 1.25, 2.0]))


def test_poisson_blend_default_iterations() -> None:
    # a 40 × 40 region is far from converged after 500 Jacobi sweeps, so the count shows
    g = torch.Generator().manual_seed(1)
    s, t = torch.rand(1, 1, 48, 48, generator=g), torch.rand(1, 1, 48, 48, generator=g)
    m = torch.zeros(1, 1, 48, 48)
    m[..., 4:44, 4:44] = 1
    out = poisson_blend(s, t, m)
    torch.testing.assert_close(out, poisson_blend(s, t, m, 500), rtol=0, atol=0)
    assert (out - poisson_blend(s, t, m, 501)).abs().max() > 1e-7


def _count(c: FSGANConfig) -> int:
    def block(i: int, o: int) -> int:
        return i * o * 9 + o + 2 * o  # 3 × 3 conv with bias, BatchNorm γ and β

    w = c.width
    return (block(3 + c.num_landmarks, w) + block(w, 2 * w) + block(2 * w, w) + block(2 * w, w)
            + w * 3 + 3 + w * c.num_classes + c.num_classes)


def test_reenactment_generator_architecture() -> None:
    g = ReenactmentGenerator(TINY)
    assert sum(p.numel() for p in g.parameters()) == _count(TINY) == 4_206
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size, m.padding) for m in convs] == [((3, 3), (1, 1))] * 4 + [((1, 1), (0, 0))] * 2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 4
    assert sum(type(m) is nn.ReLU for m in g.modules()) == 4
    assert isinstance(g.down2[0], nn.MaxPool2d) and g.down2[0].kernel_size == 2
    up = g.up[0]
    assert (up.scale_factor, up.mode, up.align_corners) == (2, "bilinear", False)
    face, _ = g(torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, TINY.num_landmarks, 16, 16))
    assert face.min() < 0 < face.max() and face.abs().max() < 1  # tanh range


def test_poisson_blend_starts_from_the_composite_and_takes_jacobi_steps() -> None:
    g = torch.Generator().manual_seed(2)
    s, t, m = torch.rand(1, 1, 10, 10, generator=g), torch.rand(1, 1, 10, 10, generator=g), _mask()
    torch.testing.assert_close(poisson_blend(s, t, m, iters=0), m * s + (1 - m) * t, rtol=0, atol=0)
    # one sweep at the mask's top-left pixel (3, 2): outside neighbours (2, 2), (3, 1) come from t, inside from s
    one = poisson_blend(s, t, m, iters=1)
    s_, t_ = s[0, 0].double(), t[0, 0].double()
    guidance = 4 * s_[3, 2] - (s_[2, 2] + s_[4, 2] + s_[3, 1] + s_[3, 3])
    expected = (t_[2, 2] + s_[4, 2] + t_[3, 1] + s_[3, 3] + guidance) / 4
    assert one[0, 0, 3, 2].item() == pytest.approx(expected.item(), rel=1e-5)
