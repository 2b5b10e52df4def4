"""FSGAN (arXiv:1908.05932): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.fsgan import (
    TINY,
    FSGANConfig,
    ReenactmentGenerator,
    barycentric_weights,
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


def test_poisson_blend_matches_a_direct_solve_of_the_discrete_poisson_equation() -> None:
    # independent check: assemble 4f_p − Σ_{q inside} f_q = (4s_p − Σ_q s_q) + Σ_{q outside} t_q and solve it
    g = torch.Generator().manual_seed(0)
    s, t, m = torch.rand(1, 1, 10, 10, generator=g), torch.rand(1, 1, 10, 10, generator=g), _mask()
    inside = [(r, c) for r in range(10) for c in range(10) if m[0, 0, r, c] == 1]
    index = {p: i for i, p in enumerate(inside)}
    a = torch.zeros(len(inside), len(inside), dtype=torch.float64)
    b = torch.zeros(len(inside), dtype=torch.float64)
    for (r, c), i in index.items():
        a[i, i] = 4
        b[i] = 4 * s[0, 0, r, c]
        for q in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            b[i] -= s[0, 0, q[0], q[1]]
            if q in index:
                a[i, index[q]] = -1
            else:
                b[i] += t[0, 0, q[0], q[1]]
    f = torch.linalg.solve(a, b).float()
    out = poisson_blend(s, t, m, iters=400)
    torch.testing.assert_close(torch.stack([out[0, 0, r, c] for r, c in inside]), f, atol=1e-5, rtol=0)


def test_barycentric_weights_reproduce_the_point() -> None:
    tri = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 2.0]])
    w = barycentric_weights(torch.tensor([1.0, 0.5]), tri)
    torch.testing.assert_close(w, torch.tensor([0.5, 0.25, 0.25]))
    torch.testing.assert_close(barycentric_weights(tri[1], tri), torch.tensor([0.0, 1.0, 0.0]))
