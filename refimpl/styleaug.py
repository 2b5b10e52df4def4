"""How to augment your ViTs? Consistency loss and StyleAug, a random style transfer augmentation.

Akash Umakantha, Joao D. Semedo, S. Alireza Golestaneh, Wan-Yi S. Lin.
arXiv:2112.09260 (2021). Catalog id: ``styleaug``.

Implemented:

* Sec. 3.1, the losses compared: "classic" cross-entropy on augmented
  images, and the consistency (AugMix-style) loss
  ``L = CE(f(x), y) + λ · JSD(p_orig ‖ p_aug1 ‖ p_aug2)`` with
  ``JSD(p₁, p₂, p₃) = 1/3 Σᵢ KL(pᵢ ‖ M)``, ``M = 1/3 Σᵢ pᵢ``; the JSD is 0
  for identical predictions and at most log 3.
* Sec. 3.2, StyleAug: random style transfer as an augmentation. The style
  transfer network is AdaIN (``refimpl.adain``): each image gets the style
  of a randomly chosen image, with a random strength
  ``α ~ U(0, α_max)`` through the content–style trade-off
  ``g((1 − α) f(c) + α AdaIN(f(c), f(s)))``.

Parameter count: StyleAug reuses AdaIN's network (3,505,219 decoder
parameters in the standard configuration, see ``refimpl.adain``); the
losses add none.

Deviations from the paper:

* The paper samples style embeddings for a pretrained arbitrary-style
  network (Ghiasi et al. / Jackson et al.); here the style statistics come
  from another image of the batch (or a given style set) through AdaIN,
  whose weights are random unless loaded by the user.
* The classifier is any module; tests use a tiny one, not a ViT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .adain import TINY as ADAIN_TINY
from .adain import AdaINConfig, AdaINStyleTransfer
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class StyleAugConfig:
    jsd_weight: float = 12.0  # λ on the JSD term (AugMix's value, used for the consistency loss)
    max_alpha: float = 1.0  # style strength α ~ U(0, α_max)
    eps: float = 1e-7  # clamp before log in the KL terms


TINY = StyleAugConfig()


# --------------------------------------------------------------------- losses
def jensen_shannon(*probs: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """JSD of n distributions (each (B, K), rows sum to 1) → (B,): 1/n Σᵢ KL(pᵢ ‖ M)."""
    mixture = torch.stack(probs).mean(0).clamp_min(eps)
    kls = [(p * (p.clamp_min(eps).log() - mixture.log())).sum(-1) for p in probs]
    return torch.stack(kls).mean(0)


def classic_ce_loss(logits: list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the given (original and/or augmented) views."""
    return torch.stack([F.cross_entropy(lg, labels) for lg in logits]).mean()


def consistency_loss(logits_orig: torch.Tensor, logits_aug1: torch.Tensor, logits_aug2: torch.Tensor,
                     labels: torch.Tensor, jsd_weight: float = StyleAugConfig.jsd_weight) -> torch.Tensor:
    """CE(f(x), y) + λ · mean JSD(p_orig ‖ p_aug1 ‖ p_aug2)."""
    probs = [lg.softmax(-1) for lg in (logits_orig, logits_aug1, logits_aug2)]
    return F.cross_entropy(logits_orig, labels) + jsd_weight * jensen_shannon(*probs).mean()


JSD_UPPER_BOUND_3 = math.log(3.0)  # reached by three distributions with disjoint support


# --------------------------------------------------------------------- StyleAug
class StyleAug(nn.Module):
    """Random AdaIN style transfer: images (B, 3, H, W) → stylised images (B, 3, H, W)."""

    def __init__(self, transfer: AdaINStyleTransfer | None = None, config: StyleAugConfig = StyleAugConfig(),
                 adain_config: AdaINConfig | None = None) -> None:
        super().__init__()
        self.transfer = transfer if transfer is not None else AdaINStyleTransfer(adain_config or AdaINConfig())
        self.config = config
        self.transfer.decoder.requires_grad_(False)  # a fixed, pretrained augmentation network

    def forward(self, images: torch.Tensor, styles: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """Each image takes its style image's statistics with its own strength α (B,)."""
        out = [self.transfer(c[None], s[None], alpha=float(a)) for c, s, a in zip(images, styles, alpha, strict=True)]
        return torch.cat(out)

    def random(self, images: torch.Tensor, generator: torch.Generator | None = None,
               style_bank: torch.Tensor | None = None) -> torch.Tensor:
        """Sample a style per image (a random other image of the batch, or of ``style_bank``) and α."""
        bank = images if style_bank is None else style_bank
        idx = torch.randint(len(bank), (len(images),), generator=generator)
        alpha = torch.rand(len(images), generator=generator) * self.config.max_alpha
        return self(images, bank[idx.to(bank.device)], alpha)


# --------------------------------------------------------------------- examples
@register_example(covers=[consistency_loss, jensen_shannon, classic_ce_loss, StyleAug])
def styleaug_consistency_step() -> Example:
    g = seeded(0)
    augment = StyleAug(config=TINY, adain_config=ADAIN_TINY)
    classifier = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                               nn.Flatten(), nn.Linear(4, 5))
    model = nn.ModuleDict({"aug": augment, "f": classifier})
    x = torch.rand(2, 3, 16, 16, generator=g)
    labels = torch.tensor([1, 3])
    styles = torch.rand(2, 2, 3, 16, 16, generator=g)
    alphas = torch.tensor([[0.3, 1.0], [0.7, 0.5]])

    def run(m: nn.ModuleDict, x: torch.Tensor, labels: torch.Tensor, styles: torch.Tensor,
            alphas: torch.Tensor) -> tuple[torch.Tensor, ...]:
        aug1, aug2 = (m["aug"](x, styles[i], alphas[i]) for i in range(2))
        logits = [m["f"](v) for v in (x, aug1, aug2)]
        return aug1, consistency_loss(*logits, labels, TINY.jsd_weight) + classic_ce_loss(logits[1:], labels)

    return Example(model=model, inputs=(x, labels, styles, alphas), output_shapes=((2, 3, 16, 16), ()), run=run)
