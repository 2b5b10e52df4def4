"""XGAN: Unsupervised Image-to-Image Translation for Many-to-Many Mappings.

Amélie Royer, Konstantinos Bousmalis, Stephan Gouws, Fred Bertsch, Inbar
Mosseri, Forrester Cole, Kevin Murphy. arXiv:1711.05139, 2017. Catalog id:
``xgan``.

Implemented (Sec. 3):

* A dual auto-encoder with a shared embedding: encoders e₁, e₂ have
  domain-specific low-level layers and share their high-level layers;
  decoders d₁, d₂ share their first (high-level) layers and have
  domain-specific output layers. Translation is ``g₁→₂ = d₂ ∘ e₁`` and
  ``g₂→₁ = d₁ ∘ e₂``.
* L_rec: each domain's auto-encoder reconstructs its input.
* L_dann, the domain-adversarial loss (Ganin et al. 2016): a binary
  classifier c_dann predicts the domain of an embedding; a gradient reversal
  layer (identity forward, ``−λ ·`` gradient backward) sits between the
  encoders and c_dann, so one backward pass trains c_dann to separate the
  domains and the encoders to make them indistinguishable.
* L_sem, semantic consistency: the embedding survives translation,
  ``‖e₁(x) − e₂(g₁→₂(x))‖`` and symmetrically for domain 2.
* L_gan on translated images, with a discriminator on domain 2 (the
  paper's faces → cartoons direction), non-saturating logistic loss.
* The total ``ω_rec L_rec + ω_d L_dann + ω_s L_sem + ω_g L_gan``.

Parameter count: no official code was available to count against; the
layer plan (64×64 inputs, 4×4 stride-2 convolutions, which layers are
shared, a 1024-d embedding) is a choice here in the spirit of the paper's
description, not a reproduction of it. The standard configuration has
10,605,032 parameters (encoders 4,921,024; decoders 4,923,142; image
discriminator 695,201; c_dann 65,665), tested against a count by hand.

Deviations from the paper:

* The optional teacher loss L_teach (distilling a pretrained FaceNet
  embedding) is left out.
* Reconstruction is mean squared error and L_sem the batch-mean Euclidean
  distance between embeddings; loss weights default to 1 (the paper tunes
  them).
* Only domain 2 has a GAN discriminator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class XGANConfig:
    image_size: int = 64  # 64×64 faces and cartoons
    img_channels: int = 3
    private_widths: tuple[int, ...] = (32, 64)  # domain-specific encoder convs (low level; widths a choice here)
    shared_widths: tuple[int, ...] = (128, 256)  # shared encoder convs (high level)
    embedding_dim: int = 1024  # the shared embedding
    grl_lambda: float = 1.0  # gradient reversal scale
    w_rec: float = 1.0  # ω_rec
    w_dann: float = 1.0  # ω_d
    w_sem: float = 1.0  # ω_s
    w_gan: float = 1.0  # ω_g


TINY = XGANConfig(image_size=16, private_widths=(4,), shared_widths=(8,), embedding_dim=12)


# --------------------------------------------------------------------- gradient reversal
class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by −scale in the backward pass."""
    return _GradientReversal.apply(x, scale)


class GradientReversal(nn.Module):
    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.scale)


# --------------------------------------------------------------------- encoders / decoders
def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), nn.InstanceNorm2d(c_out, affine=True), nn.LeakyReLU(0.2))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.InstanceNorm2d(c_out, affine=True), nn.ReLU())


class XGANEncoders(nn.Module):
    """e₁, e₂: private low-level convs per domain, then shared convs and a shared linear layer.

    (N, C, S, S), domain ∈ {0, 1} → embedding (N, embedding_dim).
    """

    def __init__(self, config: XGANConfig = XGANConfig()) -> None:
        super().__init__()
        widths = (config.img_channels, *config.private_widths)
        self.private = nn.ModuleList(
            nn.Sequential(*(_down(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))) for _ in range(2)
        )
        widths = (config.private_widths[-1], *config.shared_widths)
        side = config.image_size // 2 ** (len(config.private_widths) + len(config.shared_widths))
        self.shared = nn.Sequential(*(_down(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)),
                                    nn.Flatten(), nn.Linear(widths[-1] * side * side, config.embedding_dim))

    def forward(self, x: torch.Tensor, domain: int) -> torch.Tensor:
        return self.shared(self.private[domain](x))


class XGANDecoders(nn.Module):
    """d₁, d₂: a shared linear layer and shared up-convs, then private up-convs per domain.

    embedding (N, embedding_dim), domain → image (N, C, S, S) in [−1, 1].
    """

    def __init__(self, config: XGANConfig = XGANConfig()) -> None:
        super().__init__()
        shared = tuple(reversed(config.shared_widths))
        private = (*reversed(config.private_widths), config.img_channels)
        self.side = config.image_size // 2 ** (len(config.private_widths) + len(config.shared_widths))
        self.c0 = shared[0]
        self.fc = nn.Linear(config.embedding_dim, shared[0] * self.side * self.side)
        self.shared = nn.Sequential(*(_up(a, b) for a, b in zip(shared, (*shared[1:], private[0]), strict=True)))

        def head() -> nn.Sequential:
            layers: list[nn.Module] = [_up(a, b) for a, b in zip(private[:-2], private[1:-1], strict=True)]
            layers += [nn.ConvTranspose2d(private[-2], private[-1], 4, 2, 1), nn.Tanh()]
            return nn.Sequential(*layers)

        self.private = nn.ModuleList(head() for _ in range(2))

    def forward(self, e: torch.Tensor, domain: int) -> torch.Tensor:
        x = F.relu(self.fc(e)).view(-1, self.c0, self.side, self.side)
        return self.private[domain](self.shared(x))


class DomainClassifier(nn.Module):
    """c_dann behind a gradient reversal layer: embedding → domain logit (N,), 1 = domain 2."""

    def __init__(self, embedding_dim: int, hidden: int = 64, grl_lambda: float = 1.0) -> None:
        super().__init__()
        self.reverse = GradientReversal(grl_lambda)
        self.net = nn.Sequential(nn.Linear(embedding_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.net(self.reverse(e)).squeeze(1)


class XGANDiscriminator(nn.Module):
    """Image discriminator on domain 2: (N, C, S, S) → logits (N,)."""

    def __init__(self, config: XGANConfig = XGANConfig()) -> None:
        super().__init__()
        widths = (config.img_channels, *config.private_widths, *config.shared_widths)
        side = config.image_size // 2 ** (len(widths) - 1)
        self.net = nn.Sequential(*(_down(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)),
                                 nn.Flatten(), nn.Linear(widths[-1] * side * side, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


# --------------------------------------------------------------------- losses
def reconstruction_loss(x: torch.Tensor, x_rec: torch.Tensor) -> torch.Tensor:
    """L_rec for one domain: ‖x − d(e(x))‖² averaged over pixels."""
    return F.mse_loss(x_rec, x)


def domain_adversarial_loss(logits_1: torch.Tensor, logits_2: torch.Tensor) -> torch.Tensor:
    """L_dann: cross-entropy of c_dann on embeddings of domain 1 (label 0) and domain 2 (label 1)."""
    return (F.binary_cross_entropy_with_logits(logits_1, torch.zeros_like(logits_1))
            + F.binary_cross_entropy_with_logits(logits_2, torch.ones_like(logits_2)))


def semantic_consistency_loss(embedding: torch.Tensor, embedding_of_translation: torch.Tensor) -> torch.Tensor:
    """L_sem for one direction: ‖e₁(x) − e₂(g₁→₂(x))‖₂, averaged over the batch."""
    return (embedding - embedding_of_translation).norm(dim=1).mean()


class XGAN(nn.Module):
    """Encoders, decoders, c_dann and the domain-2 discriminator, with the paper's losses."""

    def __init__(self, config: XGANConfig = XGANConfig()) -> None:
        super().__init__()
        self.config = config
        self.encoders = XGANEncoders(config)
        self.decoders = XGANDecoders(config)
        self.domain_classifier = DomainClassifier(config.embedding_dim, grl_lambda=config.grl_lambda)
        self.discriminator = XGANDiscriminator(config)

    def translate(self, x: torch.Tensor, source: int, target: int) -> torch.Tensor:
        """g_{source→target} = d_target ∘ e_source."""
        return self.decoders(self.encoders(x, source), target)

    def forward(self, x1: torch.Tensor) -> torch.Tensor:
        return self.translate(x1, 0, 1)

    def losses(self, x1: torch.Tensor, x2: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encoder/decoder objective (``total``) and the discriminator's own loss (``discriminator``).

        ``total`` includes L_dann: thanks to the reversal layer, minimising it
        trains c_dann to classify and the encoders to confuse it.
        """
        cfg = self.config
        e1, e2 = self.encoders(x1, 0), self.encoders(x2, 1)
        x12, x21 = self.decoders(e1, 1), self.decoders(e2, 0)
        rec = reconstruction_loss(x1, self.decoders(e1, 0)) + reconstruction_loss(x2, self.decoders(e2, 1))
        dann = domain_adversarial_loss(self.domain_classifier(e1), self.domain_classifier(e2))
        sem = (semantic_consistency_loss(e1, self.encoders(x12, 1))
               + semantic_consistency_loss(e2, self.encoders(x21, 0)))
        gan = F.softplus(-self.discriminator(x12)).mean()  # non-saturating: −log D(g₁→₂(x))
        disc = F.softplus(-self.discriminator(x2)).mean() + F.softplus(self.discriminator(x12.detach())).mean()
        total = cfg.w_rec * rec + cfg.w_dann * dann + cfg.w_sem * sem + cfg.w_gan * gan
        return {"rec": rec, "dann": dann, "sem": sem, "gan": gan, "total": total, "discriminator": disc}


# --------------------------------------------------------------------- examples
@register_example(covers=[grad_reverse, GradientReversal, DomainClassifier, domain_adversarial_loss])
def xgan_gradient_reversal() -> Example:
    g = seeded(0)
    model = DomainClassifier(6, hidden=5, grl_lambda=0.5)
    e1 = torch.randn(3, 6, generator=g, requires_grad=True)
    e2 = torch.randn(3, 6, generator=g, requires_grad=True) + 1

    def run(m: DomainClassifier, e1: torch.Tensor, e2: torch.Tensor) -> tuple[torch.Tensor, ...]:
        l1, l2 = m(e1), m(e2)
        return l1, domain_adversarial_loss(l1, l2)

    return Example(model=model, inputs=(e1, e2), output_shapes=((3,), ()), run=run)


@register_example(covers=[XGAN, XGANEncoders, XGANDecoders, XGANDiscriminator, reconstruction_loss,
                          semantic_consistency_loss])
def xgan_losses() -> Example:
    g = seeded(0)
    model = XGAN(TINY)
    x1 = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    x2 = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1

    def run(m: XGAN, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, ...]:
        losses = m.losses(x1, x2)
        return m(x1), losses["total"], losses["discriminator"]

    return Example(model=model, inputs=(x1, x2), output_shapes=((2, 3, 16, 16), (), ()), run=run)
