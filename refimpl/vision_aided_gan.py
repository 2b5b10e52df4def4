"""Ensembling Off-the-shelf Models for GAN Training (Vision-aided GAN).

Nupur Kumari, Richard Zhang, Eli Shechtman, Jun-Yan Zhu. CVPR 2022.
arXiv:2112.09130. Catalog id: ``vision-aided-gan``.

Implemented:

* Sec. 3.1, the vision-aided discriminator ``D_k = C_k ∘ F_k``: a frozen,
  pretrained feature extractor ``F_k`` (CLIP-ViT, DINO, Swin… any module
  mapping images to a feature vector) with a small trainable head ``C_k``.
  Gradients flow through ``F_k`` to the generator but never update ``F_k``.
* Sec. 3.1, the ensemble objective: the original discriminator's loss plus
  ``λ Σ_k`` the vision-aided discriminators' losses, for both D and G
  (non-saturating logistic losses; the vision-aided terms optionally with the
  official code's one-sided label smoothing, a real target of 0.8).
* Sec. 3.2, model selection by linear probing: fit a linear
  probe that separates real from generated images on each candidate's
  features, score it on held-out samples, and pick the candidate with the
  highest accuracy (the one the current generator fools least).
  Progressive ensembling repeats this to add one model at a time.

Official code: nupurkmr9/vision-aided-gan (commit 95fc55b),
``vision_aided_loss/cv_discriminator.py`` and ``cv_losses.py``. Its head on
pooled features (``MLPD``) is spectrally normalised Linear(d, 256) →
LeakyReLU(0.2) → Linear(256, 1): 131,585 parameters on CLIP ViT-B/32's
512-d features and 197,121 on DINO's 768-d ones, which ``VisionAidedDiscriminator``
reproduces exactly. Its training runs use the ``sigmoid_s`` /
``multilevel_sigmoid_s`` losses: binary cross-entropy with a real target of
0.8 for real images in D's loss and for generated ones in G's loss
(``OFFICIAL``). λ is 0 during a warm-up and 1 afterwards
(``stylegan2/training/training_loop.py``). The backbones (CLIP ViT-B/32 etc.)
are external and frozen, so no backbone count is claimed.

Deviations from the paper and the official code:

* Pretrained CLIP/DINO/Swin weights cannot be downloaded here; backbones
  are arguments, and tests use small random or hand-made extractors.
* The official heads on CLIP and DINO are multi-level (convolutional heads on
  intermediate token maps plus the pooled head) and Swin/VGG get a conv head;
  only the pooled-feature head ``MLPD`` is implemented, for every backbone.
* The default loss is the paper's plain logistic loss (``real_label=1``);
  ``OFFICIAL`` sets the official runs' one-sided label smoothing. DiffAugment
  on the vision-aided branch and the warm-up schedule are left to the caller.
* The probe is a ridge-regularised least-squares linear classifier on
  standardised features, solved in closed form on a fixed split; the
  official one fits sklearn's LogisticRegression on random halves, 3 times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class VisionAidedConfig:
    vision_weight: float = 1.0  # λ on the vision-aided losses (Sec. 3.1; official: 1 after the warm-up)
    head_hidden: int = 256  # width of the trainable head (official MLPD: out_ch=256)
    real_label: float = 1.0  # target for "real" in the vision-aided BCE (official sigmoid_s: 0.8)
    spectral_norm: bool = True  # official MLPD wraps both Linear layers in spectral_norm
    probe_ridge: float = 1e-3  # ridge term of the least-squares probe (features are standardised)
    probe_train_fraction: float = 0.5  # share of samples the probe is fitted on; the rest score it


# The official runs (README: --cv-loss multilevel_sigmoid_s; cv_losses.py: alpha=0.8 for "_s").
OFFICIAL = VisionAidedConfig(real_label=0.8)
TINY = VisionAidedConfig(head_hidden=8)


# --------------------------------------------------------------------- discriminators
class VisionAidedDiscriminator(nn.Module):
    """C ∘ F with F frozen: images (B, 3, H, W) → logits (B,)."""

    def __init__(self, backbone: nn.Module, feature_dim: int, hidden: int = VisionAidedConfig.head_hidden, *,
                 spectral_norm: bool = VisionAidedConfig.spectral_norm) -> None:
        super().__init__()
        self.backbone = backbone
        for p in backbone.parameters():
            p.requires_grad_(False)
        first, last = nn.Linear(feature_dim, hidden), nn.Linear(hidden, 1)
        if spectral_norm:
            first, last = nn.utils.parametrizations.spectral_norm(first), nn.utils.parametrizations.spectral_norm(last)
        self.head = nn.Sequential(first, nn.LeakyReLU(0.2), last)

    def train(self, mode: bool = True) -> VisionAidedDiscriminator:
        super().train(mode)
        self.backbone.eval()  # a frozen, pretrained network keeps its inference behaviour
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images)).squeeze(-1)


class DiscriminatorEnsemble(nn.Module):
    """The original discriminator plus K vision-aided ones."""

    def __init__(self, base: nn.Module, vision: list[VisionAidedDiscriminator], config: VisionAidedConfig) -> None:
        super().__init__()
        self.base = base
        self.vision = nn.ModuleList(vision)
        self.config = config

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """L_D = L(D_0) + λ Σ_k L(D_k), each ``softplus(−D(x)) + softplus(D(G(z)))``.

        With ``real_label`` α < 1 the vision-aided terms are ``BCE(D_k(x), α) + BCE(D_k(G(z)), 0)``.
        """
        base = F.softplus(-self.base(real)).mean() + F.softplus(self.base(fake)).mean()
        vision = sum((_bce(d(real), self.config.real_label) + _bce(d(fake), 0.0) for d in self.vision),
                     real.new_zeros(()))
        return base + self.config.vision_weight * vision

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """L_G = softplus(−D_0(G(z))) + λ Σ_k BCE(D_k(G(z)), α); α = 1 gives softplus(−D_k(G(z)))."""
        total = F.softplus(-self.base(fake)).mean()
        for d in self.vision:
            total = total + self.config.vision_weight * _bce(d(fake), self.config.real_label)
        return total


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy of logits against a constant target: softplus(−x) at 1, softplus(x) at 0."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


# --------------------------------------------------------------------- model selection
def linear_probe_accuracy(real_features: torch.Tensor, fake_features: torch.Tensor,
                          config: VisionAidedConfig = VisionAidedConfig()) -> float:
    """Held-out accuracy of a linear probe separating real (+1) from fake (−1) features.

    The probe is fitted on the first ``probe_train_fraction`` of the (interleaved) samples and
    scored on the rest.
    """
    x = torch.cat([real_features, fake_features]).detach().double().flatten(1)
    y = torch.cat([torch.ones(len(real_features)), -torch.ones(len(fake_features))]).to(x)
    if len(real_features) == len(fake_features):  # interleave so both splits hold both classes
        order = torch.stack([torch.arange(len(real_features)), len(real_features) + torch.arange(len(fake_features))],
                            dim=1).flatten()
        x, y = x[order], y[order]
    n_train = int(len(x) * config.probe_train_fraction)
    mean, std = x[:n_train].mean(0), x[:n_train].std(0) + 1e-6
    x = torch.cat([(x - mean) / std, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)  # bias column
    a = x[:n_train]
    # ridge-regularised least squares: (AᵀA + λI) β = Aᵀy, a linear classifier in closed form
    beta = torch.linalg.solve(a.T @ a + config.probe_ridge * torch.eye(a.shape[1], dtype=x.dtype, device=x.device),
                              a.T @ y[:n_train])
    pred = torch.where(x[n_train:] @ beta > 0, 1.0, -1.0).to(x)
    return (pred == y[n_train:]).double().mean().item()


@torch.no_grad()
def select_backbone(candidates: Mapping[str, nn.Module], real: torch.Tensor, fake: torch.Tensor,
                    config: VisionAidedConfig = VisionAidedConfig()) -> tuple[str, dict[str, float]]:
    """Sec. 3.2: the candidate whose features best separate real from fake, and every candidate's accuracy."""
    scores = {name: linear_probe_accuracy(f(real), f(fake), config) for name, f in candidates.items()}
    return max(scores, key=scores.__getitem__), scores


# --------------------------------------------------------------------- examples
class _TinyBackbone(nn.Module):
    """Stands in for a pretrained extractor: image → pooled conv features."""

    def __init__(self, dim: int = 6) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, dim, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_example(covers=[DiscriminatorEnsemble, VisionAidedDiscriminator])
def vision_aided_ensemble() -> Example:
    g = seeded(0)
    base = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(64, 1),
                         nn.Flatten(0))
    ensemble = DiscriminatorEnsemble(base, [VisionAidedDiscriminator(_TinyBackbone(), 6, TINY.head_hidden)], TINY)
    real = torch.rand(2, 3, 8, 8, generator=g)
    fake = torch.rand(2, 3, 8, 8, generator=g, requires_grad=True)
    return Example(model=ensemble, inputs=(real, fake), output_shapes=((), ()),
                   run=lambda m, r, f: (m.discriminator_loss(r, f), m.generator_loss(f)))


@register_example(covers=[select_backbone, linear_probe_accuracy])
def vision_aided_selection() -> Example:
    g = seeded(0)
    real = torch.rand(8, 3, 8, 8, generator=g) + 0.5
    fake = torch.rand(8, 3, 8, 8, generator=g, requires_grad=True)

    def run(_m: nn.Module, r: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        name, scores = select_backbone({"mean": lambda x: x.mean(dim=(2, 3)), "zero": lambda x: x[:, :, 0, 0] * 0},
                                       r, f, TINY)
        # a differentiable output for the smoke test: the chosen extractor's feature gap, scaled by its score
        return scores[name] * (r.mean() - f.mean())

    return Example(model=nn.Module(), inputs=(real, fake), output_shapes=((),), run=run)
