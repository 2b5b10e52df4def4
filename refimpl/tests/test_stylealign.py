"""StyleAlign (arXiv:2110.11323): the structure aligned models rely on."""

from __future__ import annotations

import torch

from refimpl.stylealign import interpolate_models, latent_transfer, layer_swap, make_child
from refimpl.stylegan import TINY, StyleGANGenerator


def _pair() -> tuple[StyleGANGenerator, StyleGANGenerator]:
    torch.manual_seed(0)
    parent = StyleGANGenerator(TINY).eval()
    child = make_child(parent).eval()
    with torch.no_grad():  # "fine-tuning": perturb the child's synthesis network only
        for p in child.synthesis.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return parent, child


def _inputs(g: StyleGANGenerator, n: int = 2) -> tuple[torch.Tensor, list[torch.Tensor]]:
    ws = torch.randn(n, TINY.num_layers, TINY.w_dim)
    return ws, [torch.randn(s) for s in g.synthesis.noise_shapes(n)]


def test_child_shares_the_parent_mapping(device: torch.device) -> None:
    parent, child = _pair()
    parent, child = parent.to(device), child.to(device)
    assert child.mapping is parent.mapping
    assert not any(p.requires_grad for p in child.mapping.parameters())
    assert all(p.requires_grad for p in child.synthesis.parameters())
    z = torch.randn(3, TINY.z_dim, device=device)
    torch.testing.assert_close(child.mapping(z), parent.mapping(z))


def test_child_starts_identical_to_the_parent() -> None:
    torch.manual_seed(0)
    parent = StyleGANGenerator(TINY).eval()
    child = make_child(parent).eval()
    ws, noises = _inputs(parent)
    x_p, x_c = latent_transfer(parent, child, ws, noises)
    torch.testing.assert_close(x_p, x_c)
    assert child.synthesis.const is not parent.synthesis.const  # but owns its synthesis weights


def test_latent_transfer_renders_one_code_in_both_domains() -> None:
    parent, child = _pair()
    ws, noises = _inputs(parent)
    x_p, x_c = latent_transfer(parent, child, ws, noises)
    torch.testing.assert_close(x_p, parent.synthesis(ws, noises))
    torch.testing.assert_close(x_c, child.synthesis(ws, noises))
    assert not torch.allclose(x_p, x_c)


def test_layer_swap_endpoints_and_crossover() -> None:
    parent, child = _pair()
    ws, noises = _inputs(parent)
    n = TINY.num_layers
    # crossover 0: all layers from the fine model; crossover L with the parent as both: the parent.
    torch.testing.assert_close(layer_swap(parent, child, ws, noises, 0), child.synthesis(ws, noises))
    torch.testing.assert_close(layer_swap(parent, parent, ws, noises, n), parent.synthesis(ws, noises))
    # Changing the parent's fine layers does not affect a swap that takes them from the child.
    swapped = layer_swap(parent, child, ws, noises, 2)
    with torch.no_grad():
        parent.synthesis.layers[4].conv.weight.mul_(3.0)
    torch.testing.assert_close(layer_swap(parent, child, ws, noises, 2), swapped)
    assert not torch.allclose(layer_swap(parent, child, ws, noises, 5), swapped)


def test_model_interpolation_returns_each_model_at_the_ends() -> None:
    parent, child = _pair()
    for alpha, model in ((0.0, parent), (1.0, child)):
        theta = interpolate_models(parent.synthesis, child.synthesis, alpha)
        for k, v in model.synthesis.state_dict().items():
            assert torch.equal(theta[k], v), k


def test_layer_swap_takes_the_constant_and_coarse_layers_from_one_model_and_the_rest_from_the_other() -> None:
    parent, child = _pair()
    ws, noises = _inputs(parent)
    swapped = layer_swap(parent, child, ws, noises, 1)
    assert swapped.shape == (2, 3, 16, 16)
    # the child's constant input and first layer are not used at crossover 1, nor the parent's toRGB
    with torch.no_grad():
        child.synthesis.const.add_(5.0)
        for p in child.synthesis.layers[0].parameters():
            p.mul_(3.0)
        for p in parent.synthesis.to_rgb.parameters():
            p.mul_(-2.0)
    torch.testing.assert_close(layer_swap(parent, child, ws, noises, 1), swapped)
    # ...but the parent's first layer is, and so is the child's second
    with torch.no_grad():
        for p in parent.synthesis.layers[0].parameters():
            p.mul_(3.0)
    assert not torch.allclose(layer_swap(parent, child, ws, noises, 1), swapped)


def test_model_interpolation_midpoint_is_the_average() -> None:
    parent, child = _pair()
    theta = interpolate_models(parent.synthesis, child.synthesis, 0.25)
    p, c = parent.synthesis.state_dict(), child.synthesis.state_dict()
    for k, v in theta.items():
        if v.is_floating_point():
            torch.testing.assert_close(v, 0.75 * p[k] + 0.25 * c[k])
