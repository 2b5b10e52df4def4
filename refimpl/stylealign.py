"""StyleAlign: Analysis and Applications of Aligned StyleGAN Models.

Zongze Wu, Yotam Nitzan, Eli Shechtman, Dani Lischinski. ICLR 2022.
arXiv:2110.11323. Catalog id: ``stylealign``.

The paper is an analysis: a child StyleGAN fine-tuned from a parent on a
new domain stays *aligned* with it — the two share the latent spaces (Z, W
and, largely, the style space), so one latent code gives semantically
corresponding images in both domains. Its findings are empirical
(measured on trained models); what this module implements are the
operations the paper defines and uses on aligned models:

* Making a child: a copy of the parent whose mapping network is
  frozen (shared), so the child's W is, by construction, the parent's.
* Cross-domain translation by latent transfer: a code found for
  a parent-domain image (e.g. by inversion) is rendered by the child.
* Layer swapping (after Pinkney & Adler): coarse synthesis
  layers from one model and fine layers from the other, and model
  interpolation ``θ(α) = (1 − α) θ_parent + α θ_child``, both meaningful
  only because the models are aligned.

Parameter count: none tested (the models are StyleGAN's, see
``refimpl.stylegan``).

Deviations from the paper:

* No fine-tuning, inversion or zero-shot classification experiments:
  they need trained models and data. The tests check the structural
  properties the applications rely on.
* StyleGAN (v1, ``refimpl.stylegan``) stands in for StyleGAN2, which the
  paper uses; the operations are the same on both.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .esrgan import interpolate_networks
from .registry import Example, register_example, seeded
from .stylegan import TINY, StyleGANGenerator


def make_child(parent: StyleGANGenerator, *, freeze_mapping: bool = True) -> StyleGANGenerator:
    """The child starts as a copy of the parent; the mapping network is shared (frozen)."""
    child = copy.deepcopy(parent)
    if freeze_mapping:
        child.mapping = parent.mapping  # one module: W is shared exactly, not just initialised equal
        for p in parent.mapping.parameters():
            p.requires_grad_(False)
    return child


def latent_transfer(parent: StyleGANGenerator, child: StyleGANGenerator, ws: torch.Tensor,
                    noises: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-domain translation: render one W⁺ code (N, L, D) in both domains → (parent image, child image)."""
    return parent.synthesis(ws, noises), child.synthesis(ws, noises)


def layer_swap(coarse: StyleGANGenerator, fine: StyleGANGenerator, ws: torch.Tensor, noises: list[torch.Tensor],
               crossover: int) -> torch.Tensor:
    """Synthesis layers < crossover from ``coarse``, the rest and toRGB from ``fine``, on one W⁺ code."""
    syn_c, syn_f = coarse.synthesis, fine.synthesis
    x = syn_c.const.expand(ws.shape[0], -1, -1, -1) if crossover > 0 else syn_f.const.expand(ws.shape[0], -1, -1, -1)
    for i, noise in enumerate(noises):
        if i >= 2 and i % 2 == 0:
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        layer = syn_c.layers[i] if i < crossover else syn_f.layers[i]
        x = layer(x, ws[:, i], noise)
    return syn_f.to_rgb(x)


def interpolate_models(parent: nn.Module, child: nn.Module, alpha: float) -> dict[str, torch.Tensor]:
    """θ(α) = (1 − α) θ_parent + α θ_child, as ESRGAN's network interpolation."""
    return interpolate_networks(parent, child, alpha)


# --------------------------------------------------------------------- examples
@register_example(covers=[make_child, latent_transfer, layer_swap, interpolate_models])
def stylealign_aligned_pair() -> Example:
    g = seeded(0)
    parent = StyleGANGenerator(TINY)
    child = make_child(parent)
    with torch.no_grad():  # stand-in for fine-tuning on another domain
        for p in child.synthesis.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    model = nn.ModuleDict({"parent": parent, "child": child})
    z = torch.randn(2, TINY.z_dim, generator=g)
    noises = [torch.randn(s, generator=g) for s in parent.synthesis.noise_shapes(2)]

    def run(m: nn.ModuleDict, z: torch.Tensor, *noises: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ws = m["parent"].mapping(z)[:, None].expand(-1, TINY.num_layers, -1)
        x_parent, x_child = latent_transfer(m["parent"], m["child"], ws, list(noises))
        swapped = layer_swap(m["parent"], m["child"], ws, list(noises), crossover=2)
        theta = interpolate_models(m["parent"].synthesis, m["child"].synthesis, 0.5)
        morphed = torch.func.functional_call(m["parent"].synthesis, theta, (ws, list(noises)))
        return x_parent, x_child, swapped, morphed

    shape = (2, 3, 16, 16)
    return Example(model=model, inputs=(z, *noises), output_shapes=(shape,) * 4, run=run)
