"""StarGAN: Unified Generative Adversarial Networks for Multi-Domain Image-to-Image Translation.

Yunjey Choi, Minje Choi, Munyoung Kim, Jung-Woo Ha, Sunghun Kim, Jaegul Choo.
CVPR 2018. arXiv:1711.09020. Catalog id: ``stargan``.

Implemented:

* Sec. 3.1, one generator ``G(x, c)`` conditioned on the target domain label
  ``c``, spatially replicated and concatenated to the image; a discriminator
  ``D: x → {D_src(x), D_cls(x)}`` with an auxiliary classifier.
* Eq. 2–3, the domain classification losses on real images (for D) and on
  translated images (for G); multi-label binary cross-entropy as for CelebA
  attributes, summed over attributes and averaged over the batch (authors' code).
* Eq. 4, the reconstruction loss ``‖x − G(G(x, c), c')‖₁``.
* Sec. 3.1 / Eq. 8, the Wasserstein objective with gradient penalty
  ``λ_gp E[(‖∇_x̂ D_src(x̂)‖₂ − 1)²]`` on ``x̂ = α x + (1 − α) G(x, c)``.
* App. 7.2 (Tables 4–5), the 128×128 networks: G with two stride-2 convs,
  six residual blocks and two transposed convs, instance norm; D a six-layer
  PatchGAN (LeakyReLU 0.01) with a 3×3 source head and a (H/64)-sized
  classification head.

Official preset: ``OFFICIAL`` is the authors' CelebA default (yunjey/stargan,
``model.py`` and ``main.py``, commit 94dd002e93a2863d9b987a937b85925b80f7a19f:
conv_dim = 64, c_dim = 5, repeat_num = 6, image_size = 128; bias-free G
convolutions, affine instance norm with running statistics; biased D
convolutions except the two heads). Instantiating that ``model.py`` gives
8,430,528 (G) and 44,762,048 (D) parameters; tested.

Deviations from the paper:

* None in the networks or losses. For single-label datasets (RaFD) the authors
  use softmax cross-entropy instead; ``domain_classification_loss`` implements
  the CelebA (multi-label) case only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class StarGANConfig:
    image_size: int = 128  # Sec. 4: CelebA images resized to 128×128
    c_dim: int = 5  # Sec. 4: five CelebA attributes (hair colours, gender, age)
    g_conv_dim: int = 64  # Table 4
    d_conv_dim: int = 64  # Table 5
    g_repeat_num: int = 6  # Table 4: six residual blocks
    d_repeat_num: int = 6  # Table 5: six stride-2 layers
    lambda_cls: float = 1.0  # Sec. 3.1
    lambda_rec: float = 10.0  # Sec. 3.1
    lambda_gp: float = 10.0  # Sec. 3.1 / Eq. 8


OFFICIAL = StarGANConfig()  # authors' main.py defaults (CelebA)
TINY = StarGANConfig(image_size=32, c_dim=3, g_conv_dim=4, d_conv_dim=4, g_repeat_num=1, d_repeat_num=4)


def _inorm(c: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(c, affine=True, track_running_stats=True)


# --------------------------------------------------------------------- networks
class ResidualBlock(nn.Module):
    """(N, C, H, W) → same: x + IN(conv(ReLU(IN(conv(x)))))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), _inorm(dim), nn.ReLU(True),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), _inorm(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class Generator(nn.Module):
    """G(x, c): image (N, 3, H, W) and target labels (N, c_dim) → image (N, 3, H, W)."""

    def __init__(self, *, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3 + c_dim, conv_dim, 7, 1, 3, bias=False), _inorm(conv_dim),
                                   nn.ReLU(True)]
        dim = conv_dim
        for _ in range(2):  # down-sampling
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1, bias=False), _inorm(dim * 2), nn.ReLU(True)]
            dim *= 2
        layers += [ResidualBlock(dim) for _ in range(repeat_num)]  # bottleneck
        for _ in range(2):  # up-sampling
            layers += [nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False), _inorm(dim // 2), nn.ReLU(True)]
            dim //= 2
        layers += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c = c.view(c.size(0), c.size(1), 1, 1).expand(-1, -1, x.size(2), x.size(3))  # label as extra channels
        return self.main(torch.cat([x, c], 1))


class Discriminator(nn.Module):
    """x (N, 3, S, S) → (D_src (N, 1, S/2^r, S/2^r), D_cls logits (N, c_dim))."""

    def __init__(self, *, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        dim = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim *= 2
        self.main = nn.Sequential(*layers)
        self.src_head = nn.Conv2d(dim, 1, 3, 1, 1, bias=False)  # PatchGAN real/fake scores
        self.cls_head = nn.Conv2d(dim, c_dim, image_size // 2**repeat_num, bias=False)  # one vector per image

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.src_head(h), self.cls_head(h).flatten(1)


# --------------------------------------------------------------------- losses
def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP: ``E[(‖∇_x̂ critic(x̂)‖₂ − 1)²]`` at ``x̂ = α real + (1 − α) fake``, α of shape (N, 1, 1, 1)."""
    with torch.enable_grad():  # the penalty is a gradient: it needs autograd even under no_grad
        x_hat = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
        out = critic(x_hat)
        (grad,) = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)
    norm = grad.flatten(1).norm(2, dim=1)
    return ((norm - 1) ** 2).mean()


def domain_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 2–3 (multi-label): BCE summed over attributes, averaged over the batch."""
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="sum") / logits.size(0)


def reconstruction_loss(g: nn.Module, x: torch.Tensor, c_target: torch.Tensor, c_original: torch.Tensor) -> torch.Tensor:
    """Eq. 4: translate to c_target and back to c_original; L1 to the input."""
    return F.l1_loss(g(g(x, c_target), c_original), x)


def discriminator_objective(
    d: Discriminator, g: Generator, x: torch.Tensor, c_org: torch.Tensor, c_trg: torch.Tensor, alpha: torch.Tensor,
    config: StarGANConfig = StarGANConfig(),
) -> torch.Tensor:
    """Eq. 6 with the WGAN-GP adversarial term: −D_src(x) + D_src(G(x, c)) + λ_cls L_cls^r + λ_gp GP."""
    src_real, cls_real = d(x)
    fake = g(x, c_trg).detach()
    src_fake, _ = d(fake)
    gp = gradient_penalty(lambda t: d(t)[0], x, fake, alpha)
    return (-src_real.mean() + src_fake.mean() + config.lambda_cls * domain_classification_loss(cls_real, c_org)
            + config.lambda_gp * gp)


def generator_objective(
    d: Discriminator, g: Generator, x: torch.Tensor, c_org: torch.Tensor, c_trg: torch.Tensor,
    config: StarGANConfig = StarGANConfig(),
) -> torch.Tensor:
    """Eq. 7: −D_src(G(x, c)) + λ_cls L_cls^f + λ_rec L_rec."""
    src_fake, cls_fake = d(g(x, c_trg))
    return (-src_fake.mean() + config.lambda_cls * domain_classification_loss(cls_fake, c_trg)
            + config.lambda_rec * reconstruction_loss(g, x, c_trg, c_org))


# --------------------------------------------------------------------- examples
@register_example(covers=[Generator, Discriminator, ResidualBlock, gradient_penalty, domain_classification_loss,
                          reconstruction_loss, discriminator_objective, generator_objective])
def stargan_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({
        "G": Generator(conv_dim=TINY.g_conv_dim, c_dim=TINY.c_dim, repeat_num=TINY.g_repeat_num),
        "D": Discriminator(image_size=TINY.image_size, conv_dim=TINY.d_conv_dim, c_dim=TINY.c_dim,
                           repeat_num=TINY.d_repeat_num),
    })
    x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    c_org = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    c_trg = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    alpha = torch.rand(2, 1, 1, 1, generator=g)

    def run(m: nn.ModuleDict, x: torch.Tensor, c_org: torch.Tensor, c_trg: torch.Tensor, alpha: torch.Tensor):
        src, cls = m["D"](x)
        return (m["G"](x, c_trg), src, cls, discriminator_objective(m["D"], m["G"], x, c_org, c_trg, alpha, TINY),
                generator_objective(m["D"], m["G"], x, c_org, c_trg, TINY))

    return Example(model=model, inputs=(x, c_org, c_trg, alpha),
                   output_shapes=((2, 3, 32, 32), (2, 1, 2, 2), (2, 3), (), ()), run=run)
