"""Thin-plate splines (Bookstein 1989): the properties that define the interpolant."""

from __future__ import annotations

import math

import torch

from refimpl.thin_plate_spline import (
    TPSConfig,
    TPSParams,
    TPSWarp,
    bending_energy,
    fit_tps,
    pixel_grid,
    regular_grid,
    tps_kernel,
    tps_sampling_grid,
    tps_transform,
    tps_warp_image,
)

D = torch.float64
# Five control points, one of them inside the square, and targets that bend the square.
CONTROL = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.3]], dtype=D)
TARGET = CONTROL.clone()
TARGET[4] = torch.tensor([0.6, 0.2], dtype=D)
TARGET[3] = torch.tensor([1.1, 1.0], dtype=D)


def test_config_defaults() -> None:
    assert TPSConfig() == TPSConfig(grid_size=3, regularization=0.0)


def test_kernel_is_r2_log_r2_and_zero_at_zero() -> None:
    r2 = torch.tensor([0.0, 0.25, 1.0, 4.0], dtype=D)
    expected = torch.tensor([0.0, 0.25 * math.log(0.25), 0.0, 4 * math.log(4.0)], dtype=D)
    torch.testing.assert_close(tps_kernel(r2), expected)


def test_control_points_map_exactly() -> None:
    params = fit_tps(CONTROL, TARGET)
    torch.testing.assert_close(tps_transform(CONTROL, params), TARGET)


def test_side_conditions_hold() -> None:
    # Pᵀ w = 0: the weights sum to zero and have no first moment.
    w = fit_tps(CONTROL, TARGET).w
    torch.testing.assert_close(w.sum(0), torch.zeros(2, dtype=D))
    torch.testing.assert_close(CONTROL.T @ w, torch.zeros(2, 2, dtype=D))


def test_interpolant_between_control_points_matches_a_hand_solved_system() -> None:
    # Coefficients from an independent NumPy solve of the bordered system (float64):
    # affine a[1] = (1.05, 0), a[2] = (0.0620735, 0.9857958) (NumPy, /tmp scratch); w[4] = (0.0906, -0.1066).
    params = fit_tps(CONTROL, TARGET)
    torch.testing.assert_close(params.a[1], torch.tensor([1.05, 0.0], dtype=D), atol=1e-9, rtol=0)
    torch.testing.assert_close(params.a[2], torch.tensor([0.06207354, 0.98579584], dtype=D), atol=1e-7, rtol=0)
    torch.testing.assert_close(params.w[4], torch.tensor([0.0906, -0.1066], dtype=D), atol=1e-4, rtol=0)
    # At a point off the controls the bending part contributes (an affine fit would not reproduce it).
    x = torch.tensor([[0.25, 0.75]], dtype=D)
    k = tps_kernel(((x[:, None] - CONTROL[None]) ** 2).sum(-1))
    by_hand = params.a[0] + x @ params.a[1:] + k @ params.w
    torch.testing.assert_close(tps_transform(x, params), by_hand)
    assert (k @ params.w).abs().max() > 1e-3


def test_affine_targets_give_zero_bending_and_an_affine_map() -> None:
    a = torch.tensor([[0.3, -0.2], [1.2, 0.4], [-0.5, 0.9]], dtype=D)  # rows: offset, x, y
    target = a[0] + CONTROL @ a[1:]
    params = fit_tps(CONTROL, target)
    torch.testing.assert_close(params.w, torch.zeros_like(params.w), atol=1e-10, rtol=0)
    torch.testing.assert_close(params.a, a)
    x = torch.rand(7, 2, dtype=D) * 3 - 1  # also far outside the controls
    torch.testing.assert_close(tps_transform(x, params), a[0] + x @ a[1:])
    assert bending_energy(params).abs() < 1e-12


def test_bending_energy_equals_the_integral_of_squared_second_derivatives() -> None:
    # ∬ f_xx² + 2f_xy² + f_yy² for both coordinate functions, by midpoint quadrature of the
    # analytic second derivatives on [-40, 40]², 8000² cells (NumPy, float64): 1.012983.
    # (Truncating the domain loses a little: [-20, 20]² gives 1.012749.)
    energy = bending_energy(fit_tps(CONTROL, TARGET))
    assert abs(energy.item() - 1.012983) / 1.012983 < 1e-3


def test_bending_energy_is_invariant_to_an_affine_change_of_targets() -> None:
    shifted = TARGET @ torch.tensor([[1.3, 0.2], [-0.1, 0.8]], dtype=D) + 0.7
    # The energy of x' = A x + t is the quadratic form of the transformed weights; a rotation keeps it.
    angle = 0.6
    rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=D)
    e = bending_energy(fit_tps(CONTROL, TARGET))
    torch.testing.assert_close(bending_energy(fit_tps(CONTROL, TARGET @ rot.T + 0.5)), e)
    assert not torch.isclose(bending_energy(fit_tps(CONTROL, shifted)), e)  # a shear changes it


def test_regularisation_trades_exactness_for_smoothness() -> None:
    exact = fit_tps(CONTROL, TARGET)
    smooth = fit_tps(CONTROL, TARGET, regularization=1.0)
    assert bending_energy(smooth) < bending_energy(exact)
    assert not torch.allclose(tps_transform(CONTROL, smooth), TARGET, atol=1e-3)


def test_batched_fit_matches_per_item_fits() -> None:
    targets = torch.stack([TARGET, CONTROL * 0.5 + 0.1])
    params = fit_tps(CONTROL.expand(2, -1, -1), targets)
    for i in range(2):
        one = fit_tps(CONTROL, targets[i])
        torch.testing.assert_close(params.w[i], one.w)
        torch.testing.assert_close(params.a[i], one.a)


def test_grids_are_in_grid_sample_coordinates() -> None:
    torch.testing.assert_close(regular_grid(3)[:4], torch.tensor([[-1.0, -1.0], [0.0, -1.0], [1.0, -1.0],
                                                                   [-1.0, 0.0]]))
    # 2 × 4 pixels: centres at x = ±1/4, ±3/4 and y = ±1/2, x fastest.
    pix = pixel_grid(2, 4)
    torch.testing.assert_close(pix[:4, 0], torch.tensor([-0.75, -0.25, 0.25, 0.75]))
    torch.testing.assert_close(pix[[0, 4], 1], torch.tensor([-0.5, 0.5]))


def test_identity_warp_returns_the_image() -> None:
    image = torch.rand(1, 2, 6, 5, dtype=D)
    source = regular_grid(3, dtype=D)[None]
    torch.testing.assert_close(tps_warp_image(image, source, source), image)


def test_translation_moves_content_towards_the_targets() -> None:
    # Targets one pixel (2/8 in grid units) to the right of the sources: the bright column moves right.
    image = torch.zeros(1, 1, 8, 8, dtype=D)
    image[..., 3] = 1.0
    image[..., 0] = 0.5
    source = regular_grid(3, dtype=D)[None]
    target = source + torch.tensor([2 / 8, 0.0], dtype=D)
    out = tps_warp_image(image, source, target)
    torch.testing.assert_close(out[0, 0, :, 4], torch.ones(8, dtype=D))
    torch.testing.assert_close(out[0, 0, :, 3], torch.zeros(8, dtype=D))
    # Column 0 reads from outside the image: border padding repeats the edge (zeros would give 0.25).
    torch.testing.assert_close(out[0, 0, :, 0], torch.full((8,), 0.5, dtype=D))
    grid = tps_sampling_grid(source, target, 8, 8)
    torch.testing.assert_close(grid, pixel_grid(8, 8, dtype=D).reshape(1, 8, 8, 2) - target[0, 0] + source[0, 0])


def test_warp_module_starts_at_identity_and_learns_offsets() -> None:
    warp = TPSWarp()
    image = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(warp(image), image)
    assert warp.offsets.shape == (9, 2) and warp.control.shape == (9, 2)
    with torch.no_grad():
        warp.offsets[4] = torch.tensor([0.3, 0.0])  # push the centre to the right
    assert not torch.allclose(warp(image), image)
    assert isinstance(fit_tps(warp.control, warp.control + warp.offsets), TPSParams)


def test_the_smoothing_spline_misses_each_target_by_lambda_times_its_weight() -> None:
    # From the system's first block row, (K + λI) w + P a = v: f(p_i) = (K w + P a)_i = v_i − λ w_i.
    lam = 0.3
    params = fit_tps(CONTROL, TARGET, regularization=lam)
    torch.testing.assert_close(TARGET - tps_transform(CONTROL, params), lam * params.w)
    assert params.w.abs().max() > 1e-3


def test_gradients_reach_the_control_points_and_stay_finite() -> None:
    # A learned warp moves its control points (TPSWarp fits from source + offsets): the kernel's
    # zero diagonal (r = 0) must not poison the gradient.
    control = CONTROL.clone().requires_grad_(True)
    params = fit_tps(control, TARGET)
    tps_transform(torch.tensor([[0.25, 0.75], [0.5, 0.3]], dtype=D), params).sum().backward()
    assert torch.isfinite(control.grad).all() and control.grad.abs().sum() > 0
    r2 = torch.tensor([0.0, 0.5], dtype=D, requires_grad=True)
    tps_kernel(r2).sum().backward()
    torch.testing.assert_close(r2.grad, torch.tensor([0.0, math.log(0.5) + 1], dtype=D))  # d(r² log r²)/d(r²)


def test_a_half_pixel_shift_interpolates_bilinearly() -> None:
    # Targets half a pixel (1/8 in grid units on 8 columns) right of the sources: each output pixel reads
    # halfway between two input columns, so a single bright column spreads over two at half strength.
    image = torch.zeros(1, 1, 8, 8, dtype=D)
    image[..., 3] = 1.0
    source = regular_grid(3, dtype=D)[None]
    out = tps_warp_image(image, source, source + torch.tensor([1 / 8, 0.0], dtype=D))
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0, 0, 0, 0.5, 0.5, 0, 0, 0], dtype=D))


def test_warp_module_moves_content_along_its_offsets() -> None:
    # Every offset one pixel (2/8) to the right: what was at a control point lands one pixel right of it.
    warp = TPSWarp()
    with torch.no_grad():
        warp.offsets[:, 0] = 2 / 8
    image = torch.zeros(1, 1, 8, 8)
    image[..., 3] = 1.0
    out = warp(image)
    torch.testing.assert_close(out[0, 0, :, 4], torch.ones(8))
    torch.testing.assert_close(out[0, 0, :, 3], torch.zeros(8))
