"""Variational Approaches for Auto-Encoding Generative Adversarial Networks (α-GAN).

Mihaela Rosca, Balaji Lakshminarayanan, David Warde-Farley, Shakir Mohamed.
arXiv:1706.04987, 2017. Catalog id: ``alphagan``.

Implemented (Sec. 3–4 and Algorithm 1):

* Four networks: an encoder ``E`` (the implicit posterior q_η(z|x)), a
  generator ``G`` (p_θ(x|z)), an image discriminator ``D`` (the synthetic
  likelihood: real vs reconstructed or sampled images) and a code
  discriminator ``C`` (the density ratio q_η(z|x) / p(z): prior codes vs
  encoded codes).
* The density-ratio trick: a discriminator with output ``D = σ(ℓ)``
  estimates the ratio ``D / (1 − D) = e^ℓ``; the encoder and generator
  minimise ``−log(D / (1 − D)) = −ℓ`` (Algorithm 1), which combines the
  saturating and non-saturating GAN losses.
* Algorithm 1's four losses, with ``ẑ = E(x)``, ``x_rec = G(ẑ)``,
  ``x_gen = G(z)``, ``z ~ N(0, I)``:

  - encoder:   ``λ‖x − x_rec‖₁ − log(C(ẑ) / (1 − C(ẑ)))``
  - generator: ``λ‖x − x_rec‖₁ − log(D(x_rec)/(1 − D(x_rec))) − log(D(x_gen)/(1 − D(x_gen)))``
  - image discriminator: ``−log D(x) − log(1 − D(x_rec)) − log(1 − D(x_gen))``
  - code discriminator: ``−log C(z) − log(1 − C(ẑ))`` (prior codes are the
    "real" class; arXiv v1 prints these two terms swapped).

  The L1 term is the reconstruction log-likelihood under a Laplace
  distribution whose scale sets λ.

Parameter count: none claimed. The paper describes its CelebA/CIFAR
networks as DCGAN-like without a layer table to count from; the
networks here are DCGAN-style (64×64, 4×4 stride-2 convolutions, batch
norm in E, G and D, none in the code discriminator).

Deviations from the paper:

* The encoder is deterministic (q_η(z|x) a point mass); the paper allows an
  implicit posterior fed with noise.
* λ defaults to 1; the paper tunes it per dataset. Each network keeps its
  own loss (as in Algorithm 1); the optimiser loop is left to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class AlphaGANConfig:
    image_size: int = 64  # DCGAN-size images (a choice here)
    img_channels: int = 3
    latent_dim: int = 100  # DCGAN's code size (a choice here, not checked against the paper)
    width: int = 64  # DCGAN base width (64, 128, 256, 512)
    code_hidden: int = 750  # code discriminator MLP width (a choice here, not checked against the paper)
    code_layers: int = 3
    recon_weight: float = 1.0  # λ of Algorithm 1 (tuned per dataset in the paper)


TINY = AlphaGANConfig(image_size=16, latent_dim=6, width=4, code_hidden=8, code_layers=2)


def _n_down(image_size: int) -> int:
    # Stride-2 stages from image_size down to 4×4.
    return max(int(image_size).bit_length() - 3, 0)


# --------------------------------------------------------------------- networks
class AlphaEncoder(nn.Module):
    """x (N, C, S, S) → ẑ (N, latent): stride-2 convs down to 4×4, then a 4×4 valid conv."""

    def __init__(self, config: AlphaGANConfig = AlphaGANConfig()) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c = config.img_channels, config.width
        for i in range(_n_down(config.image_size)):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1, bias=i == 0)]
            if i > 0:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2))
            c_in, c = c, c * 2
        layers.append(nn.Conv2d(c_in, config.latent_dim, 4))  # 4×4 → 1×1
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)


class AlphaGenerator(nn.Module):
    """z (N, latent) → image (N, C, S, S) in [−1, 1]: the DCGAN generator."""

    def __init__(self, config: AlphaGANConfig = AlphaGANConfig()) -> None:
        super().__init__()
        n = _n_down(config.image_size)
        c = config.width * 2 ** (n - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(config.latent_dim, c, 4, bias=False), nn.BatchNorm2d(c),
                                   nn.ReLU()]  # 1×1 → 4×4
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, config.img_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class AlphaDiscriminator(nn.Module):
    """Image discriminator: (N, C, S, S) → logits (N,), D = σ(logit)."""

    def __init__(self, config: AlphaGANConfig = AlphaGANConfig()) -> None:
        super().__init__()
        self.features = AlphaEncoder(AlphaGANConfig(image_size=config.image_size, img_channels=config.img_channels,
                                                    latent_dim=1, width=config.width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).squeeze(1)


class CodeDiscriminator(nn.Module):
    """C: an MLP on codes, (N, latent) → logits (N,); no batch norm (it hurts C, per public reimplementations)."""

    def __init__(self, config: AlphaGANConfig = AlphaGANConfig()) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = config.latent_dim
        for _ in range(config.code_layers - 1):
            layers += [nn.Linear(d, config.code_hidden), nn.LeakyReLU(0.2)]
            d = config.code_hidden
        layers.append(nn.Linear(d, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(1)


# --------------------------------------------------------------------- losses (Algorithm 1)
def reconstruction_loss(x: torch.Tensor, x_rec: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """λ‖x − x_rec‖₁, averaged over pixels (a Laplace log-likelihood up to constants)."""
    return weight * (x - x_rec).abs().mean()


def density_ratio_loss(logits: torch.Tensor) -> torch.Tensor:
    """−log(D / (1 − D)) with D = σ(ℓ): exactly −ℓ, averaged over the batch."""
    return -logits.mean()


def encoder_loss(x: torch.Tensor, x_rec: torch.Tensor, code_logits: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """λ‖x − G(E(x))‖₁ − log(C(ẑ) / (1 − C(ẑ))): reconstruct, and make ẑ look like prior codes."""
    return reconstruction_loss(x, x_rec, weight) + density_ratio_loss(code_logits)


def generator_loss(x: torch.Tensor, x_rec: torch.Tensor, rec_logits: torch.Tensor, gen_logits: torch.Tensor,
                   weight: float = 1.0) -> torch.Tensor:
    """λ‖x − x_rec‖₁ plus the density-ratio loss on reconstructions and on samples."""
    return reconstruction_loss(x, x_rec, weight) + density_ratio_loss(rec_logits) + density_ratio_loss(gen_logits)


def discriminator_loss(real_logits: torch.Tensor, rec_logits: torch.Tensor, gen_logits: torch.Tensor) -> torch.Tensor:
    """−log D(x) − log(1 − D(x_rec)) − log(1 − D(x_gen)), from logits (softplus form)."""
    return F.softplus(-real_logits).mean() + F.softplus(rec_logits).mean() + F.softplus(gen_logits).mean()


def code_discriminator_loss(prior_logits: torch.Tensor, posterior_logits: torch.Tensor) -> torch.Tensor:
    """−log C(z) − log(1 − C(ẑ)): prior samples are labelled real, encoded codes fake."""
    return F.softplus(-prior_logits).mean() + F.softplus(posterior_logits).mean()


class AlphaGAN(nn.Module):
    """E, G, D, C and the four losses of one Algorithm 1 iteration."""

    def __init__(self, config: AlphaGANConfig = AlphaGANConfig()) -> None:
        super().__init__()
        self.config = config
        self.encoder = AlphaEncoder(config)
        self.generator = AlphaGenerator(config)
        self.discriminator = AlphaDiscriminator(config)
        self.code_discriminator = CodeDiscriminator(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction G(E(x))."""
        return self.generator(self.encoder(x))

    def losses(self, x: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: real images, z: prior samples N(0, I). Each loss is meant for its own network's optimiser;
        the discriminators' losses see detached inputs so they never push E or G."""
        lam = self.config.recon_weight
        z_hat = self.encoder(x)
        x_rec, x_gen = self.generator(z_hat), self.generator(z)
        return {
            "encoder": encoder_loss(x, x_rec, self.code_discriminator(z_hat), lam),
            "generator": generator_loss(x, x_rec, self.discriminator(x_rec), self.discriminator(x_gen), lam),
            "discriminator": discriminator_loss(self.discriminator(x), self.discriminator(x_rec.detach()),
                                                self.discriminator(x_gen.detach())),
            "code_discriminator": code_discriminator_loss(self.code_discriminator(z),
                                                          self.code_discriminator(z_hat.detach())),
        }


# --------------------------------------------------------------------- examples
@register_example(covers=[AlphaGAN, AlphaEncoder, AlphaGenerator, AlphaDiscriminator, CodeDiscriminator, encoder_loss,
                          generator_loss, discriminator_loss, code_discriminator_loss, reconstruction_loss,
                          density_ratio_loss])
def alphagan_losses() -> Example:
    g = seeded(0)
    model = AlphaGAN(TINY)
    x = torch.rand(4, 3, 16, 16, generator=g) * 2 - 1
    z = torch.randn(4, TINY.latent_dim, generator=g)

    def run(m: AlphaGAN, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        losses = m.losses(x, z)
        return (m(x), losses["encoder"], losses["generator"], losses["discriminator"], losses["code_discriminator"])

    return Example(model=model, inputs=(x, z), output_shapes=((4, 3, 16, 16), (), (), (), ()), run=run)
