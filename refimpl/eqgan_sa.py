"""Improving GAN Equilibrium by Raising Spatial Awareness (EqGAN-SA).

Jianyuan Wang, Ceyuan Yang, Yinghao Xu, Yujun Shen, Hongdong Li, Bolei
Zhou. CVPR 2022. arXiv:2112.00718. Catalog id: ``eqgan-sa``.

The paper's idea: the discriminator looks at particular regions when it
judges an image (its spatial attention), while the generator has no
notion of where D looks. EqGAN-SA computes D's attention with Grad-CAM and
feeds it back to G, aligning G's spatial awareness with D's, which keeps
the two players closer to equilibrium.

Implemented:

* D's Grad-CAM heatmap on a feature layer F (K channels):
  ``α_k = mean_{h,w} ∂D(x)/∂F_k``, ``H = ReLU(Σ_k α_k F_k)``, then
  normalised per image to [0, 1] (divided by its maximum after removing
  the minimum), as Grad-CAM heatmaps are.
* G's spatial attention on one of its feature maps: the channel-averaged
  activation, normalised the same way.
* An alignment loss between the two maps at G's resolution (MSE after
  resizing D's heatmap), zero when the maps coincide.

Parameter count: none (the method adds no trainable parameters to the
networks here).

Deviations from the paper:

* The paper injects sampled heatmaps into G through a spatial encoding
  layer; here the heatmap drives a loss on G's channel-mean attention
  instead. Heatmap computation and normalisation follow Grad-CAM.
* The paper builds on StyleGAN2; the example uses tiny conv nets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


def normalize_heatmap(heat: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per-image min–max normalisation of (N, 1, H, W) maps to [0, 1]."""
    flat = heat.flatten(1)
    lo = flat.min(dim=1).values.view(-1, 1, 1, 1)
    hi = flat.max(dim=1).values.view(-1, 1, 1, 1)
    return (heat - lo) / (hi - lo + eps)


def grad_cam(features: torch.Tensor, score: torch.Tensor, *, create_graph: bool = False) -> torch.Tensor:
    """Grad-CAM of D: features (N, K, H, W) on the path to score (N,) or (N, 1) → normalised (N, 1, H, W)."""
    (grads,) = torch.autograd.grad(score.sum(), features, create_graph=create_graph)
    alpha = grads.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1): channel importance
    heat = F.relu((alpha * features).sum(dim=1, keepdim=True))
    return normalize_heatmap(heat)


def generator_attention(features: torch.Tensor) -> torch.Tensor:
    """G's spatial awareness: channel mean of a feature map, normalised → (N, 1, H, W)."""
    return normalize_heatmap(features.mean(dim=1, keepdim=True))


def alignment_loss(g_attention: torch.Tensor, d_heatmap: torch.Tensor) -> torch.Tensor:
    """MSE between G's attention and D's heatmap resized to G's resolution; D's map is a fixed target."""
    target = F.interpolate(d_heatmap.detach(), size=g_attention.shape[-2:], mode="bilinear", align_corners=False)
    return F.mse_loss(g_attention, target)


# --------------------------------------------------------------------- tiny networks for the example
class TinyGenerator(nn.Module):
    """z (N, Z) → (image (N, 3, 16, 16), 8×8 feature map)."""

    def __init__(self, latent_dim: int = 8, channels: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(latent_dim, channels * 16)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.to_rgb = nn.Conv2d(channels, 3, 3, padding=1)
        self.channels = channels

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.fc(z).view(-1, self.channels, 4, 4)
        feat = F.leaky_relu(self.conv(F.interpolate(x, scale_factor=2)), 0.2)
        return torch.tanh(self.to_rgb(F.interpolate(feat, scale_factor=2))), feat


class TinyDiscriminator(nn.Module):
    """image (N, 3, 16, 16) → (logit (N, 1), 8×8 feature map used for Grad-CAM)."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, stride=2, padding=1)
        self.head = nn.Linear(channels * 64, 1)

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = F.leaky_relu(self.conv(img), 0.2)
        return self.head(feat.flatten(1)), feat


@register_example(covers=[grad_cam, normalize_heatmap, generator_attention, alignment_loss])
def eqgan_sa_alignment() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": TinyGenerator(), "D": TinyDiscriminator()})
    z = torch.randn(2, 8, generator=g)

    def run(m: nn.ModuleDict, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        img, g_feat = m["G"](z)
        score, d_feat = m["D"](img)
        heat = grad_cam(d_feat, score, create_graph=True)
        loss = alignment_loss(generator_attention(g_feat), heat)
        return heat, loss, F.softplus(-score).mean()  # G's adversarial term keeps D in the graph

    return Example(model=model, inputs=(z,), output_shapes=((2, 1, 8, 8), (), ()), run=run)
