"""Domain Intersection and Domain Difference.

Sagie Benaim, Michael Khaitov, Tomer Galanti, Lior Wolf. ICCV 2019.
arXiv:1908.11628. Catalog id: ``domain-intersection-difference``.

Implemented:

* Sec. 3, the disentangled encoding: for two domains A and B, a common
  encoder ``E_c`` captures what both share (the intersection), and two
  separate encoders ``E_A``, ``E_B`` capture what only A (resp. only B)
  has; one decoder ``G(E_c(x), E_A(x), E_B(x))`` reconstructs either domain.
* The zero loss, which makes the separate codes domain-specific: an image
  of A holds nothing specific to B and vice versa,
  ``L_zero = ‖E_B(a)‖₁ + ‖E_A(b)‖₁``.
* The reconstruction loss ``‖G(E_c(x), E_A(x), E_B(x)) − x‖₁`` for x in A
  and B, and the domain-confusion loss on the common code: a small
  discriminator tells ``E_c(a)`` from ``E_c(b)``, the common encoder is
  trained to fool it, so the common code carries no domain information.
* Sec. 3, the applications: transferring a's A-specific content onto b,
  ``G(E_c(b), E_A(a), E_B(b))``, and removing both specific parts,
  ``G(E_c(x), 0, 0)`` (the pure intersection).

Parameter count: no standard configuration is reproduced; none is claimed.

Deviations from the paper:

* Encoders/decoder are a few convolutions instead of the paper's
  DRIT-style networks; the code is a spatial map.
* The domain-confusion loss is the non-saturating logistic loss with
  flipped labels for the encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class DomainIntersectionConfig:
    image_size: int = 128  # Sec. 4: 128 × 128 images (CelebA attributes)
    width: int = 64
    common_dim: int = 512 - 2 * 100  # channels of E_c's code
    separate_dim: int = 100  # channels of each separate code (small: it holds one attribute)
    zero_weight: float = 1.0  # λ_zero
    confusion_weight: float = 1.0  # λ on the common-code domain confusion


TINY = DomainIntersectionConfig(image_size=8, width=8, common_dim=6, separate_dim=2)


# --------------------------------------------------------------------- networks
class CodeEncoder(nn.Module):
    """Image (B, 3, S, S) → code (B, D, S/4, S/4)."""

    def __init__(self, width: int, code_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, code_dim, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CodeDecoder(nn.Module):
    """[common ‖ A-specific ‖ B-specific] codes (B, Dc + 2Ds, S/4, S/4) → image (B, 3, S, S)."""

    def __init__(self, width: int, code_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(code_dim, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 3, 3, padding=1), nn.Tanh(),
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code)


class DomainIntersectionModel(nn.Module):
    """E_c, E_A, E_B and one decoder G."""

    def __init__(self, config: DomainIntersectionConfig = DomainIntersectionConfig()) -> None:
        super().__init__()
        self.config = config
        self.common = CodeEncoder(config.width, config.common_dim)
        self.separate_a = CodeEncoder(config.width, config.separate_dim)
        self.separate_b = CodeEncoder(config.width, config.separate_dim)
        self.decoder = CodeDecoder(config.width, config.common_dim + 2 * config.separate_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x → (E_c(x), E_A(x), E_B(x))."""
        return self.common(x), self.separate_a(x), self.separate_b(x)

    def decode(self, common: torch.Tensor, specific_a: torch.Tensor, specific_b: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([common, specific_a, specific_b], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction G(E_c(x), E_A(x), E_B(x))."""
        return self.decode(*self.encode(x))

    def transfer_a_to_b(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """G(E_c(b), E_A(a), E_B(b)): b with a's A-specific content added."""
        return self.decode(self.common(b), self.separate_a(a), self.separate_b(b))

    def intersection(self, x: torch.Tensor) -> torch.Tensor:
        """G(E_c(x), 0, 0): x with both domain-specific parts removed."""
        c = self.common(x)
        zeros = c.new_zeros(c.shape[0], self.config.separate_dim, *c.shape[2:])
        return self.decode(c, zeros, zeros)


class CommonCodeDiscriminator(nn.Module):
    """Common code (B, Dc, h, w) → logit (B,) that it came from domain A."""

    def __init__(self, code_dim: int, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(code_dim, width, 3, padding=1), nn.LeakyReLU(0.2),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 1))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code).squeeze(-1)


# --------------------------------------------------------------------- losses
def zero_loss(specific_b_of_a: torch.Tensor, specific_a_of_b: torch.Tensor) -> torch.Tensor:
    """L_zero = mean|E_B(a)| + mean|E_A(b)|: no B-specific content in A, no A-specific content in B."""
    return specific_b_of_a.abs().mean() + specific_a_of_b.abs().mean()


def reconstruction_loss(model: DomainIntersectionModel, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(model(a), a) + F.l1_loss(model(b), b)


def confusion_losses(disc: Callable[[torch.Tensor], torch.Tensor], common_a: torch.Tensor,
                     common_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(discriminator loss, encoder loss): D labels A as 1 and B as 0; E_c is trained on flipped labels."""
    # the discriminator sees detached codes: its loss must not move the encoder
    d_loss = F.softplus(-disc(common_a.detach())).mean() + F.softplus(disc(common_b.detach())).mean()
    e_loss = F.softplus(disc(common_a)).mean() + F.softplus(-disc(common_b)).mean()
    return d_loss, e_loss


def total_encoder_loss(model: DomainIntersectionModel, disc: CommonCodeDiscriminator, a: torch.Tensor,
                       b: torch.Tensor) -> torch.Tensor:
    """Reconstruction + λ_zero·L_zero + λ_conf·(encoder confusion loss) for one batch of A and one of B."""
    ca, _, sb_a = model.encode(a)
    cb, sa_b, _ = model.encode(b)
    _, e_conf = confusion_losses(disc, ca, cb)
    cfg = model.config
    return reconstruction_loss(model, a, b) + cfg.zero_weight * zero_loss(sb_a, sa_b) + cfg.confusion_weight * e_conf


# --------------------------------------------------------------------- examples
@register_example(covers=[DomainIntersectionModel, CodeEncoder, CodeDecoder, CommonCodeDiscriminator, zero_loss,
                          reconstruction_loss, confusion_losses, total_encoder_loss])
def domain_intersection_step() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"m": DomainIntersectionModel(TINY), "d": CommonCodeDiscriminator(TINY.common_dim, 8)})
    a = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    b = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        d_loss, _ = confusion_losses(m["d"], m["m"].common(a), m["m"].common(b))
        return (m["m"].transfer_a_to_b(a, b), m["m"].intersection(a),
                total_encoder_loss(m["m"], m["d"], a, b) + d_loss)

    return Example(model=model, inputs=(a, b), output_shapes=((2, 3, 8, 8), (2, 3, 8, 8), ()), run=run)
