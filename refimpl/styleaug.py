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

* Style randomisation as the paper applies it (Jackson et al., "Style
  Augmentation", whose released augmenter it uses): the style transfer
  network of Ghiasi et al. (``StyleTransformer``: three conv–IN–ReLU layers,
  five residual blocks and two up-sampling convs whose instance norms take
  γ, β from linear maps of a 100-d style embedding, sigmoid output), a random
  embedding ``z ~ N(μ, Σ)`` drawn as ``A ε + μ`` with ``A = U diag(√s)`` from
  the SVD of Σ, blended with the image's own embedding as
  ``α z + (1 − α) e(x)`` (``StyleRandomizer``, α = 0.5 by default).

Official figures: philipjackson/style-augmentation at
0273e2e66a894d553c7466773802e09eae41f698, ``styleaug/ghiasi.py``: the
transformer has 1,954,593 parameters (layers 7,808 / 18,496 / 73,856, each
residual block 346,880, up-sampling layers 86,720 / 24,928 / 8,385); the
Inception-v3 style predictor of ``styleaug/stylePredictor.py`` has 9,042,756
(not implemented here). ``StyleAugmentor.forward`` defaults to α = 0.5.
Tested. The AdaIN variant (``StyleAug``) reuses ``refimpl.adain`` (3,505,219
decoder parameters in the standard configuration).

Deviations from the paper and the official code:

* Pretrained weights, the PBN embedding mean and covariance and the
  Inception-v3 style predictor cannot be loaded here: the image's own
  embedding ``e(x)`` is passed in (the official code can also use the mean
  ImageNet embedding instead of the predictor), and μ, Σ default to 0 and I.
* ``StyleAug`` is an AdaIN-based alternative taking the style from another
  image of the batch (or a given style set) with ``α ~ U(0, α_max)``; its
  weights are random unless loaded by the user.
* The official augmenter's optional down-sampling before the transfer is
  left out.
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
    embedding_dim: int = 100  # style embedding size of the Ghiasi et al. network (styleaug/ghiasi.py)
    alpha: float = 0.5  # StyleAugmentor.forward default: weight of the random embedding


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


# --------------------------------------------------------------------- style randomisation (Jackson et al.)
def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    # reflection padding of ⌊k/2⌋, no zero padding in the convolution
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(c_in, c_out, k, stride))


class ConvInReLU(nn.Module):
    """Unconditioned layer: conv → instance norm (no affine) → ReLU."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = _conv(c_in, c_out, k, stride)
        self.norm = nn.InstanceNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)))


class ConditionalInstanceNorm(nn.Module):
    """Instance norm with ``γ = W_γ e + b_γ`` and ``β = W_β e + b_β`` from the style embedding e (N, D)."""

    def __init__(self, channels: int, embedding_dim: int = 100) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels)
        self.gamma = nn.Linear(embedding_dim, channels)
        self.beta = nn.Linear(embedding_dim, channels)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        return self.gamma(embedding)[..., None, None] * self.norm(x) + self.beta(embedding)[..., None, None]


class ConditionalResidualBlock(nn.Module):
    """``x + CIN(conv(ReLU(CIN(conv(x)))))``, both norms conditioned on the embedding."""

    def __init__(self, channels: int, embedding_dim: int = 100) -> None:
        super().__init__()
        self.conv1, self.conv2 = _conv(channels, channels, 3), _conv(channels, channels, 3)
        self.norm1 = ConditionalInstanceNorm(channels, embedding_dim)
        self.norm2 = ConditionalInstanceNorm(channels, embedding_dim)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x), embedding))
        return x + self.norm2(self.conv2(y), embedding)


class UpConvCIN(nn.Module):
    """Optional nearest ×2 up-sampling → conv → conditional instance norm → optional ReLU."""

    def __init__(self, c_in: int, c_out: int, k: int, *, upsample: bool, relu: bool = True,
                 embedding_dim: int = 100) -> None:
        super().__init__()
        self.upsample, self.relu = upsample, relu
        self.conv = _conv(c_in, c_out, k)
        self.norm = ConditionalInstanceNorm(c_out, embedding_dim)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.norm(self.conv(x), embedding)
        return F.relu(x) if self.relu else x


class StyleTransformer(nn.Module):
    """Ghiasi et al.'s style transfer network: (image (N, 3, H, W) in [0, 1], embedding (N, D)) → (N, 3, H, W).

    ``width`` scales the channels (32 / 64 / 128 in the released network); H and W must be multiples of 4.
    """

    def __init__(self, width: int = 32, n_res: int = 5, embedding_dim: int = 100) -> None:
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        self.encoder = nn.Sequential(ConvInReLU(3, w1, 9), ConvInReLU(w1, w2, 3, 2), ConvInReLU(w2, w3, 3, 2))
        self.res_blocks = nn.ModuleList(ConditionalResidualBlock(w3, embedding_dim) for _ in range(n_res))
        self.up = nn.ModuleList([UpConvCIN(w3, w2, 3, upsample=True, embedding_dim=embedding_dim),
                                 UpConvCIN(w2, w1, 3, upsample=True, embedding_dim=embedding_dim),
                                 UpConvCIN(w1, 3, 9, upsample=False, relu=False, embedding_dim=embedding_dim)])

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        # the first three layers are not conditioned on the style (as in Ghiasi et al.'s model)
        x = self.encoder(x)
        for layer in [*self.res_blocks, *self.up]:
            x = layer(x, embedding)
        return torch.sigmoid(x)


def sample_style_embedding(n: int, mean: torch.Tensor, cov: torch.Tensor,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` draws of N(mean, cov) as ``ε Aᵀ + mean`` with ``A = U diag(√s)`` from the SVD ``cov = U diag(s) Vᵀ``."""
    u, s, _ = torch.linalg.svd(cov)
    factor = u * s.sqrt()
    eps = torch.randn(n, mean.numel(), generator=generator, dtype=cov.dtype)
    return eps @ factor.t() + mean.reshape(1, -1)


class StyleRandomizer(nn.Module):
    """Style augmentation: restyle each image with ``α z + (1 − α) e(x)``, z a random style embedding."""

    def __init__(self, transformer: StyleTransformer | None = None, config: StyleAugConfig = StyleAugConfig(),
                 mean: torch.Tensor | None = None, cov: torch.Tensor | None = None) -> None:
        super().__init__()
        d = config.embedding_dim
        self.transformer = transformer if transformer is not None else StyleTransformer(embedding_dim=d)
        self.transformer.requires_grad_(False)  # a fixed, pretrained augmentation network
        self.config = config
        self.register_buffer("mean", torch.zeros(d) if mean is None else mean.reshape(-1))
        self.register_buffer("cov", torch.eye(d) if cov is None else cov)

    def forward(self, images: torch.Tensor, base_embedding: torch.Tensor, alpha: float | None = None,
                embedding: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """images (N, 3, H, W), base_embedding (N, D) or (1, D) → restyled images, detached."""
        alpha = self.config.alpha if alpha is None else alpha
        if embedding is None:
            embedding = sample_style_embedding(images.size(0), self.mean, self.cov, generator)
        mixed = alpha * embedding + (1 - alpha) * base_embedding
        return self.transformer(images, mixed).detach()


# --------------------------------------------------------------------- examples
@register_example(covers=[StyleRandomizer, StyleTransformer, ConvInReLU, ConditionalInstanceNorm,
                          ConditionalResidualBlock, UpConvCIN, sample_style_embedding])
def styleaug_randomizer() -> Example:
    g = seeded(0)
    augment = StyleRandomizer(StyleTransformer(width=2, n_res=1, embedding_dim=6), StyleAugConfig(embedding_dim=6))
    classifier = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                               nn.Flatten(), nn.Linear(4, 5))
    model = nn.ModuleDict({"aug": augment, "f": classifier})
    x = torch.rand(2, 3, 12, 16, generator=g)
    base = torch.randn(2, 6, generator=g)
    z1, z2 = torch.randn(2, 6, generator=g), torch.randn(2, 6, generator=g)
    labels = torch.tensor([4, 0])

    def run(m: nn.ModuleDict, x: torch.Tensor, base: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # the augmenter is fixed and its output detached: only the classifier learns from the restyled views
        aug1, aug2 = m["aug"](x, base, embedding=z1), m["aug"](x, base, embedding=z2)
        logits = [m["f"](v) for v in (x, aug1, aug2)]
        return aug1, consistency_loss(*logits, labels)

    return Example(model=model, inputs=(x, base, labels), output_shapes=((2, 3, 12, 16), ()), run=run)


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
