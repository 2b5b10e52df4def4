"""Domain Intersection and Domain Difference.

Sagie Benaim, Michael Khaitov, Tomer Galanti, Lior Wolf. ICCV 2019.
arXiv:1908.11628. Catalog id: ``domain-intersection-difference``.

Implemented:

* Sec. 3, the disentangled encoding: for two domains A and B, a common
  encoder ``E_c`` captures what both share (the intersection), and two
  separate encoders ``E_A``, ``E_B`` capture what only A (resp. only B)
  has; one decoder reads ``[E_c ‖ A-specific ‖ B-specific]``. An image of A
  is reconstructed as ``G(E_c(a), E_A(a), 0)``, one of B as
  ``G(E_c(b), 0, E_B(b))``.
* The zero loss, which makes the separate codes domain-specific: an image
  of A holds nothing specific to B and vice versa,
  ``L_zero = mean|E_B(a)| + mean|E_A(b)|``.
* The L1 reconstruction loss, and the domain-confusion loss on the common
  code: a discriminator tells ``E_c(a)`` (label 1) from ``E_c(b)`` (label 0)
  with binary cross-entropy, and the encoders are trained to make both
  codes look like B's, ``BCE(D(E_c(a)), 0) + BCE(D(E_c(b)), 0)``.
* Sec. 3, the applications: transferring a's A-specific content onto b,
  ``G(E_c(b), E_A(a), 0)``, and removing both specific parts,
  ``G(E_c(x), 0, 0)`` (the pure intersection).

Official code: sagiebenaim/DomainIntersectionDifference @ 13a492d
(``models/models.py``, ``train/train.py``). ``OFFICIAL`` is its default
setting for 128² CelebA (``--resize 128 --sep 25``, λ_recon = λ_zero = 1,
λ_disc = 0.001): six 4×4 stride-2 convolutions per encoder (spectral norm,
instance norm, LReLU 0.2) down to 2×2 codes, 462 common channels and 25 per
separate code (25 × 2 × 2 = 100 values); a mirrored decoder of transposed
convolutions (ReLU, tanh output); an MLP discriminator on the flattened
common code. Trainable parameters: E_c 6,285,749, E_A = E_B 2,992,633,
decoder 6,982,115 (19,253,130 in the auto-encoder), discriminator 947,201,
counted by instantiating the official modules; tested on the meta device.

Deviations from the paper and the official code:

* Every encoder block is instance-normalised; the official ``E_common``
  appends its second block's instance norm to the first block's list after
  that block was built, so its second block has none.
* Spectral norm is PyTorch's parametrisation: one power iteration per
  forward in training mode only (the official module iterates in eval mode
  too), along the weight's first dimension as the official code does, also
  for transposed convolutions; ``u``, ``v`` are buffers here, non-trainable
  parameters there (the trainable counts agree).
* Adam (2e-4, β = (0.5, 0.999)) and gradient-norm clipping at 5 of the
  training script are left to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class DomainIntersectionConfig:
    image_size: int = 128  # Sec. 4 / train.py --resize 128: 128 × 128 CelebA images
    widths: tuple[int, ...] = (32, 64, 128, 256, 512)  # models.py: encoder widths; the code has widths[-1] channels
    separate_channels: int = 25  # train.py --sep 25: channels of each separate code
    disc_width: int = 512  # models.py Disc: Linear(common → 512) → LReLU → Linear(512 → 1)
    spectral_norm: bool = True  # models.py: SpectralNorm on every conv except the decoder's last
    recon_weight: float = 1.0  # train.py --reconweight
    zero_weight: float = 1.0  # train.py --zeroweight: λ_zero
    confusion_weight: float = 0.001  # train.py --discweight: λ on the common-code domain confusion

    @property
    def code_channels(self) -> int:
        return self.widths[-1]

    @property
    def common_channels(self) -> int:
        return self.code_channels - 2 * self.separate_channels

    @property
    def code_size(self) -> int:
        return self.image_size // 2 ** (len(self.widths) + 1)


OFFICIAL = DomainIntersectionConfig()
TINY = DomainIntersectionConfig(image_size=16, widths=(4, 8), separate_channels=2, disc_width=8)


# --------------------------------------------------------------------- networks
def _down(c_in: int, c_out: int, sn: bool) -> nn.Sequential:
    conv = nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)
    return nn.Sequential(spectral_norm(conv, dim=0) if sn else conv, nn.InstanceNorm2d(c_out), nn.LeakyReLU(0.2))


class CodeEncoder(nn.Module):
    """Image (B, 3, S, S) → code (B, D, S/64, S/64) with six 4×4 stride-2 conv–IN–LReLU blocks (official S = 128).

    The widths run through ``widths[:-1]`` and then ``last``: the common encoder ends in
    (512 − sep, 512 − 2 sep), a separate encoder in (512, sep)."""

    def __init__(self, widths: tuple[int, ...], last: tuple[int, int], sn: bool = True) -> None:
        super().__init__()
        chans = [3, *widths[:-1], *last]
        self.net = nn.Sequential(*(_down(a, b, sn) for a, b in zip(chans[:-1], chans[1:], strict=True)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CodeDecoder(nn.Module):
    """[common ‖ A-specific ‖ B-specific] codes (B, 512, s, s) → image (B, 3, 64 s, 64 s): transposed
    4×4 stride-2 convs mirroring the encoder widths (IN, ReLU), the last one to RGB with tanh."""

    def __init__(self, widths: tuple[int, ...], sn: bool = True) -> None:
        super().__init__()
        chans = [widths[-1], *reversed(widths)]
        blocks: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            conv = nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)
            blocks.append(nn.Sequential(spectral_norm(conv, dim=0) if sn else conv, nn.InstanceNorm2d(b), nn.ReLU()))
        self.blocks = nn.Sequential(*blocks)
        self.to_rgb = nn.ConvTranspose2d(chans[-1], 3, 4, stride=2, padding=1)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.to_rgb(self.blocks(code)))


class DomainIntersectionModel(nn.Module):
    """E_c, E_A, E_B and one decoder G."""

    def __init__(self, config: DomainIntersectionConfig = OFFICIAL) -> None:
        super().__init__()
        self.config = config
        top, sep, sn = config.widths[-1], config.separate_channels, config.spectral_norm
        self.common = CodeEncoder(config.widths, (top - sep, top - 2 * sep), sn)
        self.separate_a = CodeEncoder(config.widths, (top, sep), sn)
        self.separate_b = CodeEncoder(config.widths, (top, sep), sn)
        self.decoder = CodeDecoder(config.widths, sn)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x → (E_c(x), E_A(x), E_B(x))."""
        return self.common(x), self.separate_a(x), self.separate_b(x)

    def decode(self, common: torch.Tensor, specific_a: torch.Tensor | None,
               specific_b: torch.Tensor | None) -> torch.Tensor:
        """G(common, A-specific, B-specific); ``None`` stands for the zero code."""
        zeros = common.new_zeros(common.shape[0], self.config.separate_channels, *common.shape[2:])
        parts = [common, zeros if specific_a is None else specific_a, zeros if specific_b is None else specific_b]
        return self.decoder(torch.cat(parts, dim=1))

    def reconstruct_a(self, a: torch.Tensor) -> torch.Tensor:
        """G(E_c(a), E_A(a), 0)."""
        return self.decode(self.common(a), self.separate_a(a), None)

    def reconstruct_b(self, b: torch.Tensor) -> torch.Tensor:
        """G(E_c(b), 0, E_B(b))."""
        return self.decode(self.common(b), None, self.separate_b(b))

    def transfer_a_to_b(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """G(E_c(b), E_A(a), 0): b with a's A-specific content."""
        return self.decode(self.common(b), self.separate_a(a), None)

    def intersection(self, x: torch.Tensor) -> torch.Tensor:
        """G(E_c(x), 0, 0): x with both domain-specific parts removed."""
        return self.decode(self.common(x), None, None)


class CommonCodeDiscriminator(nn.Module):
    """Flattened common code (B, Dc, s, s) → logit (B,) that it came from domain A."""

    def __init__(self, code_numel: int, width: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(code_numel, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code).squeeze(-1)


def build_discriminator(config: DomainIntersectionConfig = OFFICIAL) -> CommonCodeDiscriminator:
    return CommonCodeDiscriminator(config.common_channels * config.code_size**2, config.disc_width)


# --------------------------------------------------------------------- losses
def zero_loss(specific_b_of_a: torch.Tensor, specific_a_of_b: torch.Tensor) -> torch.Tensor:
    """L_zero = mean|E_B(a)| + mean|E_A(b)|: no B-specific content in A, no A-specific content in B."""
    return specific_b_of_a.abs().mean() + specific_a_of_b.abs().mean()


def reconstruction_loss(model: DomainIntersectionModel, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """mean|G(E_c(a), E_A(a), 0) − a| + mean|G(E_c(b), 0, E_B(b)) − b|."""
    return F.l1_loss(model.reconstruct_a(a), a) + F.l1_loss(model.reconstruct_b(b), b)


def confusion_losses(disc: Callable[[torch.Tensor], torch.Tensor], common_a: torch.Tensor,
                     common_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(discriminator loss, encoder loss) as binary cross-entropies on logits: D labels A as 1 and B as 0;
    the encoders push both domains' codes to B's label 0 (official training script)."""
    # the discriminator sees detached codes: its loss must not move the encoder
    d_loss = F.softplus(-disc(common_a.detach())).mean() + F.softplus(disc(common_b.detach())).mean()
    e_loss = F.softplus(disc(common_a)).mean() + F.softplus(disc(common_b)).mean()
    return d_loss, e_loss


def total_encoder_loss(model: DomainIntersectionModel, disc: CommonCodeDiscriminator, a: torch.Tensor,
                       b: torch.Tensor) -> torch.Tensor:
    """λ_recon·reconstruction + λ_zero·L_zero + λ_disc·(encoder confusion loss) for one batch of A and one of B."""
    ca, _, sb_a = model.encode(a)
    cb, sa_b, _ = model.encode(b)
    _, e_conf = confusion_losses(disc, ca, cb)
    cfg = model.config
    return (cfg.recon_weight * reconstruction_loss(model, a, b) + cfg.zero_weight * zero_loss(sb_a, sa_b)
            + cfg.confusion_weight * e_conf)


# --------------------------------------------------------------------- examples
@register_example(covers=[DomainIntersectionModel, CodeEncoder, CodeDecoder, CommonCodeDiscriminator, build_discriminator, zero_loss,
                          reconstruction_loss, confusion_losses, total_encoder_loss])
def domain_intersection_step() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"m": DomainIntersectionModel(TINY), "d": build_discriminator(TINY)})
    a = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    b = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        d_loss, _ = confusion_losses(m["d"], m["m"].common(a), m["m"].common(b))
        return (m["m"].transfer_a_to_b(a, b), m["m"].intersection(a),
                total_encoder_loss(m["m"], m["d"], a, b) + d_loss)

    return Example(model=model, inputs=(a, b), output_shapes=((2, 3, 16, 16), (2, 3, 16, 16), ()), run=run)
