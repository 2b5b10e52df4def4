"""Improving GAN Equilibrium by Raising Spatial Awareness (EqGAN-SA).

Jianyuan Wang, Ceyuan Yang, Yinghao Xu, Yujun Shen, Hongdong Li, Bolei
Zhou. CVPR 2022. arXiv:2112.00718. Catalog id: ``eqgan-sa``.

The paper's idea: the discriminator looks at particular regions when it
judges an image (its spatial attention), while the generator has no
notion of where D looks. EqGAN-SA gives G randomly sampled multi-level
heatmaps as an inductive bias (Sec. 3.1) and aligns them with D's Grad-CAM
attention on the generated image (Sec. 3.2), which keeps the two players
closer to equilibrium.

Implemented (following the official code, genforce/eqgan-sa @ a74ddd8,
``training/networks.py`` and ``training/loss.py``):

* Sec. 3.1, heatmap sampling (``sample_heatmaps``): three levels of
  Gaussian maps ``exp(−‖p − c‖² / σ) + 0.01`` on the grid ``p ∈ [−1, 1]²``:
  one centre ``c ~ N(0, 0.33²)`` clamped to ±0.75 with ``σ ~ U(0.5, 1)``
  (shared by the batch); 2 sub-centres offset by ``U(−0.4, 0.4)`` with
  ``σ = (U(0, 1) + 0.1) / 1.4``; 4 sub-centres offset by ``U(−0.8, 0.8)``
  with ``σ = (U(0, 1) + 0.1) / 2``.
* Sec. 3.1, the heatmap encoder (two 3×3 convs per level, 1/2/4 → 16 → 32
  channels; the three levels concatenated, 96 channels, feed every layer
  from 32² up) and the spatial encoding layer (``SpatialEncodingLayer``):
  ``x + 0.1 · conv(LReLU(IN(x) ⊙ (1 + σ(h)) + μ(h)))`` with ``σ``, ``μ``
  3×3 convs on a 64-channel embedding of the heatmap, one before every
  synthesis conv and tRGB.
* Sec. 3.2, D's attention (``grad_cam``): ``α_k = mean_{h,w} ∂L/∂F_k`` of
  the generator's loss ``L = softplus(−D(G(z)))`` (``cam_objective``) at D's
  4², 8² and 16² block outputs, the weights detached;
  ``CAM = Σ_k ReLU(α_k F_k)`` (ReLU per channel, then the channel sum).
* Sec. 3.2, Eq. 4, the alignment loss (``alignment_loss``): D's CAM,
  upsampled bilinearly (corners aligned) to the heatmap's resolution and
  min–max normalised, against G's heatmap (multi-channel levels averaged
  over channels and min–max normalised); L1, averaged over the entries
  above 0.25 when there are at least two, summed over the levels with
  weight 1. The gradient reaches G through D's features; both heatmaps'
  normalising statistics are constants.

Official preset (``OFFICIAL``, ``train.py --cfg=paper256 --use_sel=True
--align_loss=True``, LSUN Cat / FFHQ at 256²): the SELs add 31,439,912
parameters (20 layers, 2,379,458 each at 512 channels with the 32-channel
heatmap features) and the heatmap encoder 14,976 to StyleGAN2's 24,767,458,
so G has 56,222,346 parameters, counted by instantiating the official
``Generator`` (channel_base 16384, channel_max 512, 8 mapping layers);
``sel_parameter_count`` reproduces the SEL and encoder figures; tested.

Deviations from the paper and the official code:

* The paper's text is followed where it and the code agree; where only the
  code gives a number (all of the above), the code's value is the default.
  The README notes the released code differs slightly from the version
  behind the paper's tables.
* StyleGAN2's equalised learning rate, bias_act gains other than the
  LReLU's √2, fp16 and the custom CUDA ops are not reproduced; the SEL's
  convolutions are plain ``nn.Conv2d`` (the parameter count is unaffected).
* The official code computes the CAM weights in a second D forward pass in
  eval mode on the detached image; ``grad_cam`` takes the gradient of the
  same forward pass (identical for StyleGAN2's D, which has no
  train-mode-only layers).
* The example uses tiny conv nets instead of StyleGAN2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class EqGANSAConfig:
    resolution: int = 256  # README: LSUN Cat / FFHQ at 256² (train.py --cfg=paper256)
    channel_base: int = 16384  # paper256: fmaps 0.5 × 32768 (StyleGAN2-ADA train.py)
    channel_max: int = 512  # StyleGAN2 default
    sel_hidden: int = 64  # networks.py: SEL(nhidden=64)
    sel_residual_scale: float = 0.1  # networks.py SEL.forward: "0.1 is an empirical parameter for stability"
    heat_channels: int = 32  # networks.py: hm_conv1_* output width; 3 levels concatenated = 96
    level_centres: tuple[int, ...] = (1, 2, 4)  # networks.py generate_heatmap_multi: 1, 2 and 4 Gaussians
    centre_std: float = 0.33  # generate_heatmap_multi: centres ~ N(0, 0.33²)
    centre_clamp: float = 0.75  # generate_heatmap_multi: centres clamped to ±0.75
    heat_eps: float = 0.01  # generate_heatmap_multi: eps added to every map
    align_threshold: float = 0.25  # loss.py: self.align_thres = 0.25

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)


OFFICIAL = EqGANSAConfig()
TINY = EqGANSAConfig(resolution=16, channel_base=64, channel_max=8, sel_hidden=4, heat_channels=4)

_LRELU_GAIN = math.sqrt(2.0)  # StyleGAN2 bias_act: lrelu's default gain


# --------------------------------------------------------------------- Sec. 3.1: heatmaps for G
def gaussian_heatmaps(centres: torch.Tensor, sigma: torch.Tensor | float, resolution: int,
                      eps: float = 0.01) -> torch.Tensor:
    """``exp(−‖p − c_k‖² / σ_k) + eps`` on the grid p ∈ [−1, 1]² (row, column order):
    centres (N, 2, K) as (y, x), sigma broadcastable to (N, K) → (N, K, R, R)."""
    axis = torch.linspace(-1.0, 1.0, resolution, dtype=centres.dtype, device=centres.device)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"))  # (2, R, R): (y, x)
    d2 = (grid[None, :, None] - centres[..., None, None]).square().sum(dim=1)  # (N, K, R, R)
    sigma = torch.as_tensor(sigma, dtype=centres.dtype, device=centres.device)
    return torch.exp(-d2 / sigma.reshape(*sigma.shape, 1, 1)) + eps


def sample_heatmaps(batch: int, resolution: int, generator: torch.Generator | None = None,
                    config: EqGANSAConfig = OFFICIAL) -> list[torch.Tensor]:
    """The three levels of random heatmaps G is conditioned on: (N, 1|2|4, R, R)."""
    n2, n3 = config.level_centres[1], config.level_centres[2]
    centre = (torch.randn(batch, 2, 1, generator=generator) * config.centre_std).clamp(
        -config.centre_clamp, config.centre_clamp)
    sigma1 = (torch.rand((), generator=generator) + 1.0) * 0.5  # one σ ∈ [0.5, 1) for the whole batch
    offsets2 = (torch.rand(batch, 2, n2, generator=generator) - 0.5) * 0.8
    offsets3 = (torch.rand(batch, 2, n3, generator=generator) - 0.5) * 1.6
    sigma2 = (torch.rand(batch, n2, generator=generator) + 0.1) / 1.4  # smaller areas level by level
    sigma3 = (torch.rand(batch, n3, generator=generator) + 0.1) / 2.0
    return [gaussian_heatmaps(centre, sigma1, resolution, config.heat_eps),
            gaussian_heatmaps(centre + offsets2, sigma2, resolution, config.heat_eps),
            gaussian_heatmaps(centre + offsets3, sigma3, resolution, config.heat_eps)]


class HeatmapEncoder(nn.Module):
    """Per level two 3×3 convs (K → C/2 → C, LReLU); returns the levels and their concatenation."""

    def __init__(self, level_centres: Sequence[int] = (1, 2, 4), channels: int = 32) -> None:
        super().__init__()
        self.levels = nn.ModuleList(
            nn.ModuleList([nn.Conv2d(k, channels // 2, 3, padding=1), nn.Conv2d(channels // 2, channels, 3, padding=1)])
            for k in level_centres)

    def forward(self, heatmaps: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        feats = []
        for (conv0, conv1), heat in zip(self.levels, heatmaps, strict=True):
            h = F.leaky_relu(conv0(heat), 0.2) * _LRELU_GAIN
            feats.append(F.leaky_relu(conv1(h), 0.2) * _LRELU_GAIN * math.sqrt(0.5))  # official gain √0.5
        return [*feats, torch.cat(feats, dim=1)]


class SpatialEncodingLayer(nn.Module):
    """SEL: ``x + s · conv(LReLU(IN(x) ⊙ (1 + σ(h)) + μ(h)))``, h = LReLU(conv(heatmap features))."""

    def __init__(self, channels: int, map_channels: int, hidden: int = 64, residual_scale: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.shared = nn.Conv2d(map_channels, hidden, 3, padding=1)
        self.sigma = nn.Conv2d(hidden, 1, 3, padding=1)
        self.mu = nn.Conv2d(hidden, 1, 3, padding=1)
        self.out = nn.Conv2d(channels, channels, 3, padding=1)
        self.residual_scale = residual_scale

    def forward(self, x: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
        heat = F.interpolate(heat, size=x.shape[-2:], mode="bilinear", align_corners=True)
        h = F.leaky_relu(self.shared(heat), 0.2) * _LRELU_GAIN
        dx = self.norm(x) * (1 + self.sigma(h)) + self.mu(h)
        return x + self.out(F.leaky_relu(dx, 0.2)) * self.residual_scale


def sel_parameter_count(config: EqGANSAConfig = OFFICIAL) -> tuple[int, int]:
    """(SEL parameters, heatmap-encoder parameters) of the official StyleGAN2 layout: per resolution r,
    a SEL before the up-sampling conv (C(r/2) channels, from 8² up), the conv (C(r)) and the tRGB (C(r));
    32-channel heatmap features up to 16², the 96-channel concatenation above."""
    def count(module: nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    total = 0
    with torch.device("meta"):
        for log_r in range(2, int(math.log2(config.resolution)) + 1):
            r = 2**log_r
            maps = config.heat_channels * (1 if r <= 16 else len(config.level_centres))
            inputs = ([config.channels(r // 2)] if r > 4 else []) + [config.channels(r)] * 2
            total += sum(count(SpatialEncodingLayer(c, maps, config.sel_hidden)) for c in inputs)
        encoder = count(HeatmapEncoder(config.level_centres, config.heat_channels))
    return total, encoder


# --------------------------------------------------------------------- Sec. 3.2: D's attention and Eq. 4
def normalize_heatmap(heat: torch.Tensor) -> torch.Tensor:
    """Per-image min–max normalisation of (N, C, H, W) maps to [0, 1]; the statistics are constants, and a
    constant map (0 / 0) gives 0, as ``nan_to_num`` makes it in the official code."""
    flat = heat.detach().flatten(1)
    lo = flat.min(dim=1).values.view(-1, 1, 1, 1)
    hi = flat.max(dim=1).values.view(-1, 1, 1, 1)
    return torch.nan_to_num((heat - lo) / (hi - lo), nan=0.0, posinf=1.0)


def cam_objective(logits: torch.Tensor) -> torch.Tensor:
    """The scalar per image whose gradient weighs D's channels: G's loss ``softplus(−D(G(z)))``."""
    return F.softplus(-logits)


def grad_cam(features: torch.Tensor, objective: torch.Tensor) -> torch.Tensor:
    """``Σ_k ReLU(α_k F_k)`` with ``α_k = mean_{h,w} ∂objective/∂F_k`` (detached): (N, K, H, W) → (N, 1, H, W),
    unnormalised; the map keeps the features' graph so the alignment loss reaches G."""
    (grads,) = torch.autograd.grad(objective.sum(), features, retain_graph=True)
    alpha = grads.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1): channel importance
    return F.relu(alpha * features).sum(dim=1, keepdim=True)


def generator_attention(heatmap: torch.Tensor) -> torch.Tensor:
    """G's spatial awareness at one level: a multi-channel heatmap averaged over channels and normalised;
    a single-channel one is used as sampled (official code)."""
    if heatmap.shape[1] == 1:
        return heatmap
    return normalize_heatmap(heatmap.mean(dim=1, keepdim=True))


def alignment_loss(cams: Sequence[torch.Tensor], heatmaps: Sequence[torch.Tensor],
                   threshold: float = 0.25) -> torch.Tensor:
    """Eq. 4: Σ_levels mean |norm(up(CAM)) − G's attention|, over the entries above ``threshold`` when at
    least two are, else over all."""
    total = torch.zeros((), device=cams[0].device)
    for cam, heat in zip(cams, heatmaps, strict=True):
        acts = normalize_heatmap(F.interpolate(cam, size=heat.shape[-2:], mode="bilinear", align_corners=True))
        diff = (acts - generator_attention(heat)).abs()
        diff = diff[torch.isfinite(diff)]
        large = diff[diff > threshold]
        total = total + (large.mean() if large.numel() > 1 else diff.mean())
    return total


# --------------------------------------------------------------------- tiny networks for the example
class TinyGenerator(nn.Module):
    """(z (N, Z), heatmaps at 16²) → image (N, 3, 16, 16): a SEL before each conv, heatmap levels as in G."""

    def __init__(self, latent_dim: int = 8, config: EqGANSAConfig = TINY) -> None:
        super().__init__()
        c, k = config.channel_max, config.heat_channels
        self.channels = c
        self.encoder = HeatmapEncoder(config.level_centres, k)
        self.fc = nn.Linear(latent_dim, c * 16)
        self.sels = nn.ModuleList([SpatialEncodingLayer(c, k, config.sel_hidden), SpatialEncodingLayer(c, k, config.sel_hidden),
                                   SpatialEncodingLayer(c, 3 * k, config.sel_hidden)])
        self.convs = nn.ModuleList([nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)])
        self.to_rgb = nn.Conv2d(c, 3, 1)

    def forward(self, z: torch.Tensor, heatmaps: Sequence[torch.Tensor]) -> torch.Tensor:
        feats = self.encoder(heatmaps)  # levels 1–3 and their concatenation
        x = self.fc(z).view(-1, self.channels, 4, 4)
        for sel, conv, heat in zip(self.sels[:2], self.convs, feats[:2], strict=True):  # 4² → 8² → 16²
            x = F.leaky_relu(conv(F.interpolate(sel(x, heat), scale_factor=2)), 0.2)
        return torch.tanh(self.to_rgb(self.sels[2](x, feats[3])))


class TinyDiscriminator(nn.Module):
    """image (N, 3, 16, 16) → (logit (N, 1), block outputs at 8² and 4² used for Grad-CAM)."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.conv8 = nn.Conv2d(3, channels, 3, stride=2, padding=1)
        self.conv4 = nn.Conv2d(channels, channels, 3, stride=2, padding=1)
        self.head = nn.Linear(channels * 16, 1)

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        f8 = F.leaky_relu(self.conv8(img), 0.2)
        f4 = F.leaky_relu(self.conv4(f8), 0.2)
        return self.head(f4.flatten(1)), [f4, f8]


@register_example(covers=[grad_cam, cam_objective, normalize_heatmap, generator_attention, alignment_loss,
                          sample_heatmaps, gaussian_heatmaps, HeatmapEncoder, SpatialEncodingLayer])
def eqgan_sa_alignment() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": TinyGenerator(), "D": TinyDiscriminator()})
    z = torch.randn(2, 8, generator=g)
    heatmaps = sample_heatmaps(2, 16, g, TINY)

    def run(m: nn.ModuleDict, z: torch.Tensor, *heatmaps: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits, d_feats = m["D"](m["G"](z, heatmaps))
        cams = [grad_cam(f, cam_objective(logits)) for f in d_feats]
        loss = alignment_loss(cams, heatmaps[:2], TINY.align_threshold)  # D's 4² ↔ level 1, 8² ↔ level 2
        return cams[1], loss, cam_objective(logits).mean()

    return Example(model=model, inputs=(z, *heatmaps), output_shapes=((2, 1, 8, 8), (), ()), run=run)
