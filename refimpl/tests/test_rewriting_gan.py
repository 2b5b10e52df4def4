"""Rewriting a deep generative model (arXiv:2007.15646): the rank-one edit's claims."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.rewriting_gan import (
    RankOneEdit,
    edit_layer,
    key_covariance,
    rank_one_update,
    rank_r_update,
    update_direction,
)


def _setup(device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    keys = torch.randn(200, 5, device=device, dtype=torch.float64) * torch.tensor(
        [3.0, 1.0, 0.5, 2.0, 1.0], device=device, dtype=torch.float64)
    w = torch.randn(4, 5, device=device, dtype=torch.float64)
    return w, key_covariance(keys)


def test_edited_layer_maps_the_key_to_the_value_exactly(device: torch.device) -> None:
    w, cov = _setup(device)
    k, v = torch.randn(5, device=device, dtype=w.dtype), torch.randn(4, device=device, dtype=w.dtype)
    w_new = rank_one_update(w, cov, k, v)
    torch.testing.assert_close(w_new @ k, v)
    assert torch.linalg.matrix_rank(w_new - w).item() == 1


def test_keys_orthogonal_in_the_inverse_covariance_metric_are_unchanged() -> None:
    w, cov = _setup()
    k_star, v_star = torch.randn(5, dtype=w.dtype), torch.randn(4, dtype=w.dtype)
    d = update_direction(cov, k_star)
    k = torch.randn(5, dtype=w.dtype)
    k = k - (d @ k) / (d @ d) * d  # project out d: k*ᵀ C⁻¹ k = dᵀ k = 0
    assert abs((k_star @ torch.linalg.solve(cov, k)).item()) < 1e-10
    torch.testing.assert_close(rank_one_update(w, cov, k_star, v_star) @ k, w @ k)


def test_update_is_the_smallest_change_in_the_covariance_metric() -> None:
    # Among all ΔW with (W + ΔW) k* = v*, the rank-one update minimises tr(ΔW C ΔWᵀ),
    # the mean squared change over the old keys.
    w, cov = _setup()
    k, v = torch.randn(5, dtype=w.dtype), torch.randn(4, dtype=w.dtype)
    delta = rank_one_update(w, cov, k, v) - w
    cost = torch.trace(delta @ cov @ delta.T)
    for _ in range(5):
        e = torch.randn(4, 5, dtype=w.dtype)
        e = e - torch.outer(e @ k, k) / (k @ k)  # E k* = 0 keeps the constraint
        other = delta + 0.1 * e
        torch.testing.assert_close((w + other) @ k, v)
        assert torch.trace(other @ cov @ other.T) > cost


def test_rank_r_update_writes_several_rules() -> None:
    w, cov = _setup()
    keys, values = torch.randn(2, 5, dtype=w.dtype), torch.randn(2, 4, dtype=w.dtype)
    w_new = rank_r_update(w, cov, keys, values)
    torch.testing.assert_close(keys @ w_new.T, values)
    assert torch.linalg.matrix_rank(w_new - w).item() == 2
    torch.testing.assert_close(rank_r_update(w, cov, keys[:1], values[:1]), rank_one_update(w, cov, keys[0], values[0]))


def test_key_covariance_is_the_uncentered_second_moment() -> None:
    keys = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    torch.testing.assert_close(key_covariance(keys), torch.tensor([[5.0, 1.0], [1.0, 2.0]]))


def test_edit_layer_accounts_for_the_bias() -> None:
    layer = nn.Linear(5, 4).double()
    _, cov = _setup()
    k, v = torch.randn(1, 5, dtype=torch.float64), torch.randn(1, 4, dtype=torch.float64)
    edit_layer(layer, cov, k, v)
    torch.testing.assert_close(layer(k), v)


def test_learned_lambda_edit_leaves_orthogonal_keys_alone() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(5, 3)
    d = torch.randn(5)
    edit = RankOneEdit(layer, d)
    assert [n for n, p in edit.named_parameters() if p.requires_grad] == ["lam"]
    with torch.no_grad():
        edit.lam.copy_(torch.randn(3))
    k = torch.randn(5)
    k = k - (d @ k) / (d @ d) * d
    torch.testing.assert_close(edit(k[None]), layer(k[None]))
    # A few gradient steps on Λ alone reach a new value for a key along d.
    target = torch.tensor([[1.0, -1.0, 2.0]])
    x = d[None] / (d @ d)  # dᵀx = 1: each gradient step of size 0.25 halves the error
    for _ in range(20):
        (grad,) = torch.autograd.grad(((edit(x) - target) ** 2).sum(), edit.lam)
        with torch.no_grad():
            edit.lam -= 0.25 * grad
    torch.testing.assert_close(edit(x), target, atol=1e-4, rtol=1e-4)


def test_key_covariance_divides_by_the_number_of_keys() -> None:
    # Three 2-d keys: KᵀK = [[1+9+0, 2+0+0], [2+0+0, 4+0+16]] = [[10, 2], [2, 20]], over N = 3.
    keys = torch.tensor([[1.0, 2.0], [3.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    torch.testing.assert_close(key_covariance(keys), torch.tensor([[10.0, 2.0], [2.0, 20.0]],
                                                                  dtype=torch.float64) / 3)


def test_update_direction_by_hand_for_one_key_and_for_rows() -> None:
    cov = torch.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    torch.testing.assert_close(update_direction(cov, torch.tensor([2.0, 2.0], dtype=torch.float64)),
                               torch.tensor([1.0, 0.5], dtype=torch.float64))
    rows = torch.tensor([[2.0, 2.0], [4.0, -8.0], [0.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(update_direction(cov, rows),
                               torch.tensor([[1.0, 0.5], [2.0, -2.0], [0.0, 0.25]], dtype=torch.float64))


def test_rank_one_edit_weight_is_w_plus_lambda_d_transposed() -> None:
    layer = nn.Linear(2, 2).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        layer.bias.copy_(torch.tensor([0.5, -0.5]))
    edit = RankOneEdit(layer, torch.tensor([1.0, -1.0], dtype=torch.float64))
    with torch.no_grad():
        edit.lam.copy_(torch.tensor([2.0, -1.0]))
    # W + Λ dᵀ = [[1 + 2, 2 − 2], [3 − 1, 4 + 1]]
    expected = torch.tensor([[3.0, 0.0], [2.0, 5.0]], dtype=torch.float64)
    torch.testing.assert_close(edit.edited_weight(), expected)
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(edit(x), torch.tensor([[3.5, 11.5]], dtype=torch.float64))


def test_the_direction_is_fixed_and_gets_no_gradient() -> None:
    d = torch.randn(4, requires_grad=True)
    edit = RankOneEdit(nn.Linear(4, 3), d * 2)
    assert not edit.direction.requires_grad
    edit(torch.randn(2, 4)).sum().backward()
    assert d.grad is None and edit.lam.grad is not None
    assert "direction" in dict(edit.named_buffers())


def test_edit_layer_without_a_bias() -> None:
    layer = nn.Linear(5, 4, bias=False).double()
    _, cov = _setup()
    keys, values = torch.randn(2, 5, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    edit_layer(layer, cov, keys, values)
    torch.testing.assert_close(layer(keys), values)
