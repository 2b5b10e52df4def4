"""Active Appearance Models (Cootes et al. 1998): Procrustes, PCA models, and the regression search."""

from __future__ import annotations

import math

import torch

from refimpl.active_appearance_model import (
    AAMConfig,
    AppearanceModel,
    PCAModel,
    aam_search,
    build_appearance_model,
    fit_pca,
    learn_update_matrix,
    procrustes_align,
)

D = torch.float64
BASE = torch.tensor([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0], [1.0, 1.6]], dtype=D)


def _similar(shape: torch.Tensor, angle: float, scale: float, shift: tuple[float, float]) -> torch.Tensor:
    rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=D)
    return scale * shape @ rot.T + torch.tensor(shift, dtype=D)


def test_config_defaults() -> None:
    assert AAMConfig() == AAMConfig(variance_kept=0.98, procrustes_iterations=10,
                                    step_scales=(1.0, 0.5, 0.25, 0.125), search_iterations=30)


def test_procrustes_removes_translation_scale_and_rotation() -> None:
    shapes = torch.stack([_similar(BASE, a, s, t) for a, s, t in
                          [(0.0, 1.0, (0, 0)), (0.7, 2.5, (3, -1)), (-1.2, 0.4, (-2, 5))]])
    aligned, mean = procrustes_align(shapes)
    torch.testing.assert_close(aligned[1], aligned[0])
    torch.testing.assert_close(aligned[2], aligned[0])
    torch.testing.assert_close(mean.norm(), torch.tensor(1.0, dtype=D))
    torch.testing.assert_close(aligned.mean(-2), torch.zeros(3, 2, dtype=D), atol=1e-12, rtol=0)


def test_procrustes_does_not_reflect() -> None:
    mirrored = BASE * torch.tensor([-1.0, 1.0], dtype=D)
    aligned, _ = procrustes_align(torch.stack([BASE, mirrored]))
    assert not torch.allclose(aligned[0], aligned[1], atol=1e-3)  # a mirror image is a different shape


def test_pca_keeps_the_modes_for_the_variance_fraction() -> None:
    g = torch.Generator().manual_seed(0)
    # Variances 9, 1, 0.01 along three axes: 98% needs two modes, 90% one.
    data = torch.randn(4000, 3, generator=g, dtype=D) * torch.tensor([3.0, 1.0, 0.1], dtype=D)
    two, one = fit_pca(data, 0.98), fit_pca(data, 0.8)
    assert two.components.shape == (3, 2) and one.components.shape == (3, 1)
    assert abs(two.variances[0].item() - 9) < 0.5 and abs(two.variances[1].item() - 1) < 0.1
    x = data[:5]
    full = fit_pca(data, 1.0)
    torch.testing.assert_close(full.from_params(full.to_params(x)), x)


def _training_set(n: int = 40) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # Two hidden appearance modes move the shape and the texture together (correlated, as in faces).
    g = torch.Generator().manual_seed(1)
    hidden = torch.randn(n, 2, generator=g, dtype=D)
    shape_modes = torch.randn(2, 5, 2, generator=g, dtype=D) * 0.1
    tex_modes = torch.randn(2, 8, generator=g, dtype=D)
    shapes = BASE + torch.einsum("nk,kij->nij", hidden, shape_modes)
    shapes = torch.stack([_similar(s, 0.3 * i, 1 + 0.1 * i, (i, -i)) for i, s in enumerate(shapes)])
    textures = 0.5 + hidden @ tex_modes
    return shapes, textures, hidden


def test_combined_model_finds_the_shared_modes_and_weights_shape_by_r() -> None:
    shapes, textures, _ = _training_set()
    model = build_appearance_model(shapes, textures)
    assert isinstance(model, AppearanceModel) and isinstance(model.shape, PCAModel)
    assert model.combined.components.shape[1] == 2  # two hidden modes drive everything
    r2 = model.texture.variances.sum() / model.shape.variances.sum()
    torch.testing.assert_close(torch.tensor(model.shape_weight ** 2, dtype=D), r2)
    # c = 0 is the mean shape and texture.
    s, t = model.instance(torch.zeros(2, dtype=D))
    torch.testing.assert_close(s, model.shape.mean)
    torch.testing.assert_close(t, model.texture.mean)


def test_regression_search_recovers_known_parameters() -> None:
    shapes, textures, _ = _training_set()
    model = build_appearance_model(shapes, textures)
    sd = model.combined.variances.sqrt()
    c_true = torch.tensor([1.2, -0.8], dtype=D) * sd
    # A smooth, nonlinear appearance: the sampled texture saturates (tanh), as image sampling is nonlinear.
    target = torch.tanh(0.3 * model.instance(c_true)[1])

    def residual(c: torch.Tensor) -> torch.Tensor:
        return torch.tanh(0.3 * model.instance(c)[1]) - target

    # R is learnt on a training image with known parameters (here the mean, c = 0), then reused.
    train_target = torch.tanh(0.3 * model.instance(torch.zeros(2, dtype=D))[1])

    def train_residual(c: torch.Tensor) -> torch.Tensor:
        return torch.tanh(0.3 * model.instance(c)[1]) - train_target

    g = torch.Generator().manual_seed(2)
    update = learn_update_matrix(train_residual, torch.zeros(2, dtype=D),
                                 0.5 * sd * torch.randn(60, 2, generator=g, dtype=D))
    fitted, errors = aam_search(residual, torch.zeros(2, dtype=D), update)
    torch.testing.assert_close(fitted, c_true, atol=1e-3 * sd.max().item(), rtol=0)
    assert errors[-1] < 1e-6 * errors[0]
    assert all(b <= a for a, b in zip(errors, errors[1:], strict=False))  # each accepted step lowers the error


def test_learned_update_is_the_inverse_jacobian_for_a_linear_residual() -> None:
    a = torch.tensor([[2.0, 0.0], [0.0, 0.5], [1.0, 1.0]], dtype=D)

    def residual(c: torch.Tensor) -> torch.Tensor:
        return a @ c

    g = torch.Generator().manual_seed(0)
    r = learn_update_matrix(residual, torch.zeros(2, dtype=D), torch.randn(10, 2, generator=g, dtype=D))
    torch.testing.assert_close(r @ a, torch.eye(2, dtype=D))
    fitted, _ = aam_search(residual, torch.tensor([3.0, -2.0], dtype=D), r)
    torch.testing.assert_close(fitted, torch.zeros(2, dtype=D), atol=1e-10, rtol=0)


def test_search_error_is_the_sum_of_squared_residuals_and_stops_when_no_step_helps() -> None:
    # Sec. 4: the search keeps a step only if it lowers E = ‖δg‖² (a sum of squares over the pixels).
    a = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)

    def residual(c: torch.Tensor) -> torch.Tensor:
        return a @ c - y

    c0 = torch.tensor([3.0, 3.0], dtype=torch.float64)
    update = 0.5 * torch.linalg.pinv(a)  # half the Gauss-Newton step: the error falls over several iterations
    c, history = aam_search(residual, c0, update)
    assert history[0] == float(((a @ c0 - y) ** 2).sum())
    assert history[-1] == float(((a @ c - y) ** 2).sum())
    assert len(history) > 2 and all(later < earlier for earlier, later in zip(history, history[1:], strict=False))

    flat = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64)
    c, history = aam_search(lambda c: flat, c0, update)  # no step changes the error: stop at once
    assert history == [2.0] and torch.equal(c, c0)
