"""One-Shot Generative Domain Adaptation (GenDA).

Ceyuan Yang, Yujun Shen, Zhiyi Zhang, Yinghao Xu, Jiapeng Zhu, Zhirong Wu,
Bolei Zhou. ICCV 2023. arXiv:2111.09876. Catalog id:
``one-shot-generative-domain-adaptation``.

Implemented:

* Sec. 3.1, the attribute adaptor: a per-layer, per-channel affine map on the
  generator's latent codes, ``w' = γ ⊙ w + β``, inserted between the frozen
  mapping and synthesis networks. It starts as the identity (γ = 1, β = 0),
  so training begins from the source generator.
* Sec. 3.1, the attribute classifier: a light head on top of the frozen
  discriminator's backbone features, trained to tell the single target
  image from synthesised ones; it replaces the discriminator's own head.
* Sec. 3.2, the losses: non-saturating adversarial losses through the
  classifier, and the diversity-constraint training that samples latents
  with truncation ``w = w̄ + ψ (w − w̄)``.
* Only the adaptor and the classifier learn; generator and discriminator
  backbones stay frozen (``GenDA.trainable_parameters``).

Official code: none released. The project page points at genforce/genda,
which (at commit 32ad97c, Dec. 2021) holds only a README and figures. The
backbone the paper adapts is StyleGAN2 config F at 1024²; ``GenDAConfig()``
takes its latent layout from ``refimpl.stylegan2.OFFICIAL`` (18 style layers
of 512 channels, a 512-wide discriminator ``fc`` feeding the 1-logit ``out``
layer that the classifier replaces).

Parameter count: the adaptor has 2 × 18 × 512 = 18,432 parameters and the
linear classifier 512 + 1 = 513, against 30,370,060 in the frozen config-F
generator (``refimpl.stylegan2``): 0.06 %; tested.

Deviations from the paper:

* Any generator exposing ``mapping(z) -> w (B, num_ws, w_dim)`` and
  ``synthesis(w) -> image`` and any discriminator backbone returning a
  feature vector can be plugged in; tests use a tiny local style generator
  (``TinyStyleGenerator``) and a small convolutional backbone instead of
  pretrained StyleGAN2 weights, which cannot be downloaded here.
* The classifier is a single linear layer on pooled features.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class GenDAConfig:
    w_dim: int = 512  # StyleGAN2 latent width
    num_ws: int = 18  # style layers of the 1024² StyleGAN2 generator
    truncation_psi: float = 0.7  # Sec. 3.2, diversity-constraint sampling (truncation trick)
    feature_dim: int = 512  # width of the discriminator features fed to the classifier


TINY = GenDAConfig(w_dim=8, num_ws=3, feature_dim=16)


# --------------------------------------------------------------------- the two light modules
class AttributeAdaptor(nn.Module):
    """w' = γ ⊙ w + β per style layer and channel: (B, num_ws, w_dim) → same shape."""

    def __init__(self, num_ws: int, w_dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(num_ws, w_dim))  # identity at the start
        self.beta = nn.Parameter(torch.zeros(num_ws, w_dim))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.gamma * w + self.beta


class AttributeClassifier(nn.Module):
    """Linear head on frozen discriminator features: (B, F) → logits (B,)."""

    def __init__(self, feature_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(feature_dim, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features).squeeze(-1)


def truncate(w: torch.Tensor, w_avg: torch.Tensor, psi: float) -> torch.Tensor:
    """Truncation trick, ``w̄ + ψ (w − w̄)``: ψ = 1 keeps w, ψ = 0 collapses to the average."""
    return w_avg + psi * (w - w_avg)


# --------------------------------------------------------------------- stand-in backbones
class TinyStyleGenerator(nn.Module):
    """A minimal style-based generator: mapping z → w per layer, synthesis modulated by each w."""

    def __init__(self, z_dim: int = 8, w_dim: int = 8, num_ws: int = 3, size: int = 8) -> None:
        super().__init__()
        self.num_ws, self.size = num_ws, size
        self.map = nn.Sequential(nn.Linear(z_dim, w_dim), nn.LeakyReLU(0.2), nn.Linear(w_dim, w_dim))
        self.const = nn.Parameter(torch.randn(1, w_dim, size, size))
        self.styles = nn.ModuleList(nn.Linear(w_dim, w_dim) for _ in range(num_ws))
        self.convs = nn.ModuleList(nn.Conv2d(w_dim, w_dim, 3, padding=1) for _ in range(num_ws))
        self.to_rgb = nn.Conv2d(w_dim, 3, 1)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.map(z).unsqueeze(1).expand(-1, self.num_ws, -1)  # (B, num_ws, w_dim)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, (style, conv) in enumerate(zip(self.styles, self.convs, strict=True)):
            x = F.leaky_relu(conv(x * style(ws[:, i])[:, :, None, None]), 0.2)
        return torch.tanh(self.to_rgb(x))


class TinyDiscriminatorBackbone(nn.Module):
    """Image (B, 3, H, W) → features (B, F): stands in for StyleGAN2's discriminator trunk."""

    def __init__(self, feature_dim: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, feature_dim, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(feature_dim, feature_dim, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# --------------------------------------------------------------------- the model
class GenDA(nn.Module):
    """Frozen G and D backbone, trainable adaptor (on w) and classifier (on D features)."""

    def __init__(self, generator: nn.Module, disc_backbone: nn.Module, config: GenDAConfig = GenDAConfig()) -> None:
        super().__init__()
        self.config = config
        self.generator, self.disc_backbone = generator, disc_backbone
        for p in [*generator.parameters(), *disc_backbone.parameters()]:
            p.requires_grad_(False)  # Sec. 3.1: both pre-trained networks are frozen
        self.adaptor = AttributeAdaptor(config.num_ws, config.w_dim)
        self.classifier = AttributeClassifier(config.feature_dim)

    def synthesize(self, z: torch.Tensor, psi: float | None = None) -> torch.Tensor:
        w = self.generator.mapping(z)
        psi = self.config.truncation_psi if psi is None else psi
        w = truncate(w, self.generator.w_avg, psi)
        return self.generator.synthesis(self.adaptor(w))

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.disc_backbone(images))

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        yield from self.adaptor.parameters()
        yield from self.classifier.parameters()


def classifier_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating loss for the classifier: softplus(−C(x_target)) + softplus(C(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def adaptor_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating loss for the adaptor: softplus(−C(G(z)))."""
    return F.softplus(-fake_logits).mean()


# --------------------------------------------------------------------- examples
def _tiny_genda() -> GenDA:
    return GenDA(TinyStyleGenerator(w_dim=TINY.w_dim, num_ws=TINY.num_ws),
                 TinyDiscriminatorBackbone(TINY.feature_dim), TINY)


@register_example(covers=[GenDA, AttributeAdaptor, AttributeClassifier, truncate, classifier_loss, adaptor_loss,
                          TinyStyleGenerator, TinyDiscriminatorBackbone])
def genda_one_shot() -> Example:
    g = seeded(0)
    model = _tiny_genda()
    z = torch.randn(2, 8, generator=g)
    target = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1

    def run(m: GenDA, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = m.synthesize(z)
        return fake, classifier_loss(m.classify(x), m.classify(fake.detach())) + adaptor_loss(m.classify(fake))

    return Example(model=model, inputs=(z, target), output_shapes=((2, 3, 8, 8), ()), run=run)
