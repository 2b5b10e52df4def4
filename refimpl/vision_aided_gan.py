"""Ensembling Off-the-shelf Models for GAN Training (Vision-aided GAN).

Nupur Kumari, Richard Zhang, Eli Shechtman, Jun-Yan Zhu. CVPR 2022.
arXiv:2112.09130. Catalog id: ``vision-aided-gan``.

Implemented:

* Sec. 3.1, the vision-aided discriminator ``D_k = C_k ∘ F_k``: a frozen,
  pretrained feature extractor ``F_k`` (CLIP-ViT, DINO, Swin… any module
  mapping images to features) with a small trainable head ``C_k``.
  Gradients flow through ``F_k`` to the generator but never update ``F_k``.
  Two heads, as in the official code: ``VisionAidedDiscriminator`` on a pooled
  feature vector (``MLPD``) and ``MultiLevelVisionAidedDiscriminator`` for
  CLIP / DINO (``MultiLevelDViT``): a convolutional head on the token maps of
  two intermediate ViT blocks plus the MLP head on the pooled class token,
  one logit map per level, the levels' losses summed.
* DiffAugment (colour, translation, cutout) on the input of every frozen
  backbone, real and fake alike, drawn independently per model and per call.
* Sec. 3.1, the ensemble objective: the original discriminator's loss plus
  ``λ Σ_k`` the vision-aided discriminators' losses, for both D and G
  (non-saturating logistic losses; the vision-aided terms optionally with the
  official code's one-sided label smoothing, a real target of 0.8), with
  λ = 0 during a warm-up of plain adversarial training.
* Sec. 3.2, model selection by linear probing: fit a linear
  probe that separates real from generated images on each candidate's
  features, score it on held-out samples, and pick the candidate with the
  highest accuracy (the one the current generator fools least).
  Progressive ensembling (``ProgressiveSchedule``, ``select_next_backbone``)
  trains without vision-aided discriminators first, then adds the best unused
  candidate at the start of each stage, label-smoothing its loss when its probe
  accuracy exceeds 0.9.

Official code: nupurkmr9/vision-aided-gan (commit 95fc55b),
``vision_aided_loss/cv_discriminator.py``, ``cvmodel.py``, ``cv_losses.py``,
``DiffAugment_pytorch.py`` and ``blurpool.py``; ``stylegan2/training/`` and
``stylegan2/vision-aided-gan.py`` for the schedule. Its head on pooled
features (``MLPD``) is spectrally normalised Linear(d, 256) → LeakyReLU(0.2)
→ Linear(256, 1): 131,585 parameters on CLIP ViT-B/32's 512-d features and
197,121 on DINO's 768-d ones, which ``VisionAidedDiscriminator`` reproduces
exactly. Its multi-level heads (``CLIP_HEAD``, ``DINO_HEAD``) reproduce
``MultiLevelDViT``: 3,671,555 parameters for CLIP (token maps 768 × 7 × 7 after
blocks 4 and 8, the 512-d projected class token) and 1,868,547 for DINO
(768 × 14 × 14 after blocks 5 and 9, blurred stride-2 convolutions; the 768-d
class token), both giving 3 × 3 logit maps; with every weight set by a rule and
spectral norm off, their outputs match the official head's to 1e-7 (tested).
``diff_augment`` draws exactly the official ``DiffAugment``'s numbers from the
same seed (tested). Its training runs use the ``sigmoid_s`` /
``multilevel_sigmoid_s`` losses: binary cross-entropy with a real target of
0.8 for real images in D's loss and for generated ones in G's loss,
DiffAugment's full policy and a warm-up of 500k images (``OFFICIAL``). The
progressive script trains 500 kimg without vision-aided discriminators and
then 4000, 1000, 1000 kimg with one, two, three (``PROGRESSIVE_LARGE``:
8000, 2000, 2000). The backbones (CLIP ViT-B/32 etc.) are external and
frozen, so no backbone count is claimed.

Deviations from the paper and the official code:

* Pretrained CLIP/DINO/Swin weights cannot be downloaded here; backbones
  are arguments returning their features (for the multi-level head:
  ``[token map, token map, pooled]``, ``tokens_to_map`` turns ViT tokens into
  maps), and tests use small hand-made extractors. The official backbones'
  input resizing (area, to 224²) and normalisation are left to them.
* Swin/VGG's convolutional head (``SimpleD``) and the class-conditional
  projection term (``num_classes > 0``) are not implemented.
* The default loss is the paper's plain logistic loss (``real_label=1``)
  without DiffAugment or warm-up; ``OFFICIAL`` sets the official runs'
  values. The official StyleGAN2 runs mostly use ADA (``--augcv ada``) rather
  than DiffAugment on the vision-aided branch; ADA is not implemented.
* Spectral normalisation uses ``torch.nn.utils.parametrizations`` (one power
  iteration per training call, as the official ``spectral_norm``), from its
  own random start vector.
* The probe is a ridge-regularised least-squares linear classifier on
  standardised features, solved in closed form on a fixed split; the
  official one fits sklearn's LogisticRegression on random halves, 3 times.
* The schedule is data: the caller's training loop asks ``models_at`` and
  ``vision_loss_weight`` and resumes from its best snapshot between stages.
"""

from __future__ import annotations

import math
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
    diffaug_policy: str = ""  # DiffAugment before each frozen backbone; "" = none (official package: DIFFAUGMENT_POLICY)
    warmup_nimg: int = 0  # real images of plain adversarial training before λ switches on (official train.py --warmup)


# DiffAugment's policy in the official package (cvmodel.py CVBackbone, diffaug=True, its default).
DIFFAUGMENT_POLICY = "color,translation,cutout"
# The official runs (README: --cv-loss multilevel_sigmoid_s; cv_losses.py: alpha=0.8 for "_s"; the package's
# DiffAugment default; stylegan2/README: --warmup 5e5 when training from scratch).
OFFICIAL = VisionAidedConfig(real_label=0.8, diffaug_policy=DIFFAUGMENT_POLICY, warmup_nimg=500_000)
TINY = VisionAidedConfig(head_hidden=8)


# --------------------------------------------------------------------- DiffAugment
def brightness(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Adds one shift per sample (B,) to every pixel of (B, C, H, W)."""
    return x + shift.view(-1, 1, 1, 1)


def saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scales each pixel's deviation from the mean of its channels by a per-sample factor (B,)."""
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * factor.view(-1, 1, 1, 1) + grey


def contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scales the deviation from each sample's mean over all channels and pixels by a factor (B,)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor.view(-1, 1, 1, 1) + mean


def translate(x: torch.Tensor, shift_h: torch.Tensor, shift_w: torch.Tensor) -> torch.Tensor:
    """out[b, :, i, j] = x[b, :, i + shift_h[b], j + shift_w[b]], zero where that falls outside the image."""
    b, _, h, w = x.shape
    rows = torch.arange(h, device=x.device).view(1, h, 1) + shift_h.view(-1, 1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + shift_w.view(-1, 1, 1)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)  # (B, H, W)
    batch = torch.arange(b, device=x.device).view(-1, 1, 1)
    moved = x.permute(0, 2, 3, 1)[batch, rows.clamp(0, h - 1), cols.clamp(0, w - 1)].permute(0, 3, 1, 2)
    return torch.where(inside.unsqueeze(1), moved, torch.zeros((), dtype=x.dtype, device=x.device))


def cutout(x: torch.Tensor, center_h: torch.Tensor, center_w: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Zeroes a size[0] × size[1] box per sample, rows from center_h − size[0] // 2 (clipped to the image)."""
    _, _, h, w = x.shape
    top, left = center_h.view(-1, 1) - size[0] // 2, center_w.view(-1, 1) - size[1] // 2
    rows = torch.arange(h, device=x.device).view(1, h)
    cols = torch.arange(w, device=x.device).view(1, w)
    in_rows, in_cols = (rows >= top) & (rows < top + size[0]), (cols >= left) & (cols < left + size[1])
    box = in_rows[:, :, None] & in_cols[:, None, :]  # (B, H, W)
    return torch.where(box.unsqueeze(1), torch.zeros((), dtype=x.dtype, device=x.device), x)


def diff_augment(x: torch.Tensor, policy: str = DIFFAUGMENT_POLICY, *,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """DiffAugment (Zhao et al. 2020) as the official vision-aided code draws it, differentiable in x.

    ``color``: brightness + U(−0.5, 0.5), saturation × U(0, 2), contrast × U(0.5, 1.5); ``translation``: an integer
    shift per axis in [−r, r], r = round(size / 8), zero fill; ``cutout``: a zero box of half the size per axis,
    centred at an integer drawn from [0, size + 1 − box % 2). One draw per sample, in that order.
    """
    if not policy:
        return x
    b, _, h, w = x.shape

    def uniform() -> torch.Tensor:
        return torch.rand(b, 1, 1, 1, dtype=x.dtype, device=x.device, generator=generator).view(b)

    def integers(low: int, high: int) -> torch.Tensor:
        return torch.randint(low, high, (b, 1, 1), device=x.device, generator=generator).view(b)

    for op in policy.split(","):
        if op == "color":
            x = brightness(x, uniform() - 0.5)
            x = saturation(x, uniform() * 2)
            x = contrast(x, uniform() + 0.5)
        elif op == "translation":
            rh, rw = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
            shift_h = integers(-rh, rh + 1)
            x = translate(x, shift_h, integers(-rw, rw + 1))
        elif op == "cutout":
            size = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
            center_h = integers(0, h + 1 - size[0] % 2)
            x = cutout(x, center_h, integers(0, w + 1 - size[1] % 2), size)
        else:
            raise ValueError(f"unknown DiffAugment op {op!r} in policy {policy!r}")
    return x


# --------------------------------------------------------------------- discriminators
class _FrozenBackboneDiscriminator(nn.Module):
    """F frozen (no parameter updates, inference mode), optionally DiffAugment on its input."""

    def __init__(self, backbone: nn.Module, *, policy: str, real_label: float | None) -> None:
        super().__init__()
        self.backbone = backbone
        for p in backbone.parameters():
            p.requires_grad_(False)
        self.policy = policy
        self.real_label = real_label  # per-discriminator label smoothing (progressive ensembling); None: config's
        self.generator: torch.Generator | None = None  # DiffAugment's draws; None: torch's global generator

    def train(self, mode: bool = True) -> _FrozenBackboneDiscriminator:
        super().train(mode)
        self.backbone.eval()  # a frozen, pretrained network keeps its inference behaviour
        return self

    def features(self, images: torch.Tensor) -> object:
        """The backbone's features of (augmented) images; real and fake both pass through here."""
        return self.backbone(diff_augment(images, self.policy, generator=self.generator))


class VisionAidedDiscriminator(_FrozenBackboneDiscriminator):
    """C ∘ F with F frozen: images (B, 3, H, W) → logits (B,)."""

    def __init__(self, backbone: nn.Module, feature_dim: int, hidden: int = VisionAidedConfig.head_hidden, *,
                 spectral_norm: bool = VisionAidedConfig.spectral_norm, policy: str = VisionAidedConfig.diffaug_policy,
                 real_label: float | None = None) -> None:
        super().__init__(backbone, policy=policy, real_label=real_label)
        first, last = nn.Linear(feature_dim, hidden), nn.Linear(hidden, 1)
        if spectral_norm:
            first, last = nn.utils.parametrizations.spectral_norm(first), nn.utils.parametrizations.spectral_norm(last)
        self.head = nn.Sequential(first, nn.LeakyReLU(0.2), last)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images)).squeeze(-1)


class BlurPool(nn.Module):
    """Depthwise 4 × 4 binomial blur ([1, 3, 3, 1]ᵀ[1, 3, 3, 1] / 64), zero padding 1 + ``pad_off`` per side.

    The anti-aliasing filter of the official multi-level heads (Zhang 2019's BlurPool, ``pad_type='zero'``).
    """

    def __init__(self, channels: int, *, stride: int = 1, pad_off: int = 0) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
        kernel = taps[:, None] * taps[None, :] / 64.0
        self.register_buffer("kernel", kernel.expand(channels, 1, 4, 4).clone(), persistent=False)
        self.stride, self.pad = stride, 1 + pad_off

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, [self.pad] * 4), self.kernel.to(x.dtype), stride=self.stride, groups=x.shape[1])


@dataclass(frozen=True)
class MultiLevelHeadConfig:
    """The official ``MultiLevelDViT`` head: conv heads on ViT token maps plus an MLP on the pooled feature."""

    levels: int = 3  # token-map heads + the pooled head (level=3)
    token_dim: int = 768  # channels of the intermediate token maps (in_ch1; ViT-B width)
    pooled_dim: int = 512  # width of the pooled feature (in_ch2; CLIP ViT-B/32's projected CLS token)
    hidden: int = 256  # out_ch
    down: int = 1  # 2: blur + stride-2 conv on the 14 × 14 maps of a /16 ViT (DINO); 1: 3 × 3 conv on 7 × 7 (CLIP)
    blocks: tuple[int, ...] = (4, 8, 12)  # transformer blocks whose outputs feed the levels (cvmodel.py)


# vision_aided_loss/cv_discriminator.py get_decoder and cvmodel.py CLIP / DINO (conv_multi_level)
CLIP_HEAD = MultiLevelHeadConfig()
DINO_HEAD = MultiLevelHeadConfig(pooled_dim=768, hidden=128, down=2, blocks=(5, 9, 12))


class MultiLevelHead(nn.Module):
    """C_k on [token map, …, pooled]: maps (B, token_dim, S, S) and pooled (B, pooled_dim) → one logit tensor each.

    A map head: (blur, stride-2 3 × 3 conv, no padding | 3 × 3 conv, padding 1) → LeakyReLU(0.2) → blur →
    stride-2 1 × 1 conv to one channel, so 7 × 7 (CLIP) and 14 × 14 (DINO) maps both give 3 × 3 logits; the
    pooled head is Linear → LeakyReLU(0.2) → Linear. Every conv and linear layer is spectrally normalised.
    """

    def __init__(self, config: MultiLevelHeadConfig = CLIP_HEAD, *,
                 spectral_norm: bool = VisionAidedConfig.spectral_norm) -> None:
        super().__init__()

        def sn(layer: nn.Module) -> nn.Module:
            return nn.utils.parametrizations.spectral_norm(layer) if spectral_norm else layer

        c, k, strided = config.token_dim, config.hidden, config.down > 1
        self.maps = nn.ModuleList(
            nn.Sequential(BlurPool(c, pad_off=1) if strided else nn.Identity(),
                          sn(nn.Conv2d(c, k, 3, stride=2 if strided else 1, padding=0 if strided else 1)),
                          nn.LeakyReLU(0.2), BlurPool(k), sn(nn.Conv2d(k, 1, 1, stride=2)))
            for _ in range(config.levels - 1)
        )
        self.pooled = nn.Sequential(sn(nn.Linear(config.pooled_dim, k)), nn.LeakyReLU(0.2), sn(nn.Linear(k, 1)))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        *maps, pooled = features
        return [head(f).squeeze(1) for head, f in zip(self.maps, maps, strict=True)] + [self.pooled(pooled).squeeze(-1)]


def tokens_to_map(tokens: torch.Tensor) -> torch.Tensor:
    """ViT tokens (B, 1 + S², C), class token first → its patch grid (B, C, S, S), as the official backbones do."""
    b, n, c = tokens.shape
    side = math.isqrt(n - 1)
    if n < 2 or side * side != n - 1:
        raise ValueError(f"expected a class token and a square grid of patch tokens, got {n} tokens")
    # contiguous: the transposed view's strides (channels innermost, a batch stride one token longer than the
    # grid) make some CPU convolution backward kernels read out of bounds
    return tokens[:, 1:].transpose(1, 2).reshape(b, c, side, side).contiguous()


class MultiLevelVisionAidedDiscriminator(_FrozenBackboneDiscriminator):
    """C ∘ F for CLIP / DINO: the frozen backbone returns [token maps…, pooled], the head one logit tensor per level."""

    def __init__(self, backbone: nn.Module, config: MultiLevelHeadConfig = CLIP_HEAD, *,
                 spectral_norm: bool = VisionAidedConfig.spectral_norm, policy: str = VisionAidedConfig.diffaug_policy,
                 real_label: float | None = None) -> None:
        super().__init__(backbone, policy=policy, real_label=real_label)
        self.head = MultiLevelHead(config, spectral_norm=spectral_norm)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.head(self.features(images))


class DiscriminatorEnsemble(nn.Module):
    """The original discriminator plus K vision-aided ones."""

    def __init__(self, base: nn.Module, vision: list[nn.Module], config: VisionAidedConfig) -> None:
        super().__init__()
        self.base = base
        self.vision = nn.ModuleList(vision)
        self.config = config

    def _real_label(self, d: nn.Module) -> float:
        label = getattr(d, "real_label", None)
        return self.config.real_label if label is None else label

    def _weight(self, vision_weight: float | None) -> float:
        return self.config.vision_weight if vision_weight is None else vision_weight

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor, *,
                           vision_weight: float | None = None) -> torch.Tensor:
        """L_D = L(D_0) + λ Σ_k L(D_k), each ``softplus(−D(x)) + softplus(D(G(z)))``.

        With ``real_label`` α < 1 the vision-aided terms are ``BCE(D_k(x), α) + BCE(D_k(G(z)), 0)``; a multi-level
        D_k adds one such term per level (each averaged over its logits). ``vision_weight`` overrides λ (the
        warm-up: :func:`vision_loss_weight`).
        """
        base = F.softplus(-self.base(real)).mean() + F.softplus(self.base(fake)).mean()
        vision = sum((_bce(d(real), self._real_label(d)) + _bce(d(fake), 0.0) for d in self.vision),
                     real.new_zeros(()))
        return base + self._weight(vision_weight) * vision

    def generator_loss(self, fake: torch.Tensor, *, vision_weight: float | None = None) -> torch.Tensor:
        """L_G = softplus(−D_0(G(z))) + λ Σ_k BCE(D_k(G(z)), α); α = 1 gives softplus(−D_k(G(z)))."""
        total = F.softplus(-self.base(fake)).mean()
        for d in self.vision:
            total = total + self._weight(vision_weight) * _bce(d(fake), self._real_label(d))
        return total


def _bce(logits: torch.Tensor | list[torch.Tensor], target: float) -> torch.Tensor:
    """Mean binary cross-entropy of logits against a constant target: softplus(−x) at 1, softplus(x) at 0.

    A list (multi-level logits) sums the per-level means (official ``multilevel_loss``).
    """
    if isinstance(logits, list):
        return sum((_bce(level, target) for level in logits), logits[0].new_zeros(()))
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def vision_loss_weight(cur_nimg: int, config: VisionAidedConfig = VisionAidedConfig()) -> float:
    """λ after ``cur_nimg`` real images: 0 during the warm-up (plain adversarial training), then ``vision_weight``."""
    return 0.0 if cur_nimg < config.warmup_nimg else config.vision_weight


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


@dataclass(frozen=True)
class ProgressiveSchedule:
    """Progressive ensembling as the official ``vision-aided-gan.py`` runs it (Sec. 3.2).

    Plain adversarial training for ``baseline_kimg``, then stages of ``stage_kimg[k]`` thousand real images, each
    starting by selecting one more backbone (highest probe accuracy among those not yet used) and adding it.
    """

    baseline_kimg: int = 500  # the first run without vision-aided discriminators (args.kimg = 500)
    stage_kimg: tuple[int, ...] = (4000, 1000, 1000)  # --kimgs-list default (README: for ~1k training images)
    smoothing_above: float = 0.9  # probe accuracy above which the new model's loss is label-smoothed ("_s")
    smoothed_real_label: float = 0.8  # cv_losses.py: "_s" is alpha = 0.8

    def models_at(self, kimg: float) -> int:
        """Vision-aided discriminators in the ensemble after ``kimg`` thousand real images."""
        end = self.baseline_kimg
        if kimg < end:
            return 0
        for k, length in enumerate(self.stage_kimg):
            end += length
            if kimg < end:
                return k + 1
        return len(self.stage_kimg)


PROGRESSIVE_LARGE = ProgressiveSchedule(stage_kimg=(8000, 2000, 2000))  # README: datasets of more than 1k images


@torch.no_grad()
def select_next_backbone(candidates: Mapping[str, nn.Module], used: list[str], real: torch.Tensor,
                         fake: torch.Tensor, config: VisionAidedConfig = VisionAidedConfig(),
                         schedule: ProgressiveSchedule = ProgressiveSchedule(), *,
                         diffaugment: bool = False) -> tuple[str, float, float]:
    """One progressive step: the best unused candidate, its probe accuracy and the real label for its loss.

    The label is ``smoothed_real_label`` when the accuracy exceeds ``smoothing_above`` (the generator is far
    from fooling it) or whenever DiffAugment is on the vision-aided branch, else 1.
    """
    remaining = {name: f for name, f in candidates.items() if name not in used}
    name, scores = select_backbone(remaining, real, fake, config)
    smooth = diffaugment or scores[name] > schedule.smoothing_above
    return name, scores[name], schedule.smoothed_real_label if smooth else 1.0


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


class _TinyViT(nn.Module):
    """Stands in for CLIP / DINO: 2 × 2 patches → tokens with a class token, features after blocks 1 and 2 and
    the pooled class token of block 3 (a linear map per block)."""

    def __init__(self, dim: int = 4) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 2, stride=2)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(nn.Linear(dim, dim) for _ in range(3))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1)
        levels = []
        for block in self.blocks:
            tokens = tokens + torch.tanh(block(tokens))
            levels.append(tokens)
        return [tokens_to_map(levels[0]), tokens_to_map(levels[1]), levels[2][:, 0]]


@register_example(covers=[MultiLevelVisionAidedDiscriminator, MultiLevelHead, BlurPool, tokens_to_map, diff_augment,
                          brightness, saturation, contrast, translate, cutout])
def vision_aided_multilevel() -> Example:
    g = seeded(0)
    head = MultiLevelHeadConfig(token_dim=4, pooled_dim=4, hidden=3, down=2)
    d = MultiLevelVisionAidedDiscriminator(_TinyViT(), head, policy=DIFFAUGMENT_POLICY)
    d.generator = seeded(1)
    base = nn.Sequential(nn.Conv2d(3, 1, 28), nn.Flatten(0))
    ensemble = DiscriminatorEnsemble(base, [d], TINY)
    real = torch.rand(3, 3, 28, 28, generator=g)
    fake = torch.rand(3, 3, 28, 28, generator=g, requires_grad=True)
    return Example(model=ensemble, inputs=(real, fake), output_shapes=((), ()),
                   run=lambda m, r, f: (m.discriminator_loss(r, f), m.generator_loss(f)))


@register_example(covers=[ProgressiveSchedule, select_next_backbone, vision_loss_weight])
def vision_aided_progressive() -> Example:
    g = seeded(0)
    real = torch.rand(8, 3, 8, 8, generator=g) + 0.5
    fake = torch.rand(8, 3, 8, 8, generator=g, requires_grad=True)
    schedule = ProgressiveSchedule()

    def run(_m: nn.Module, r: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        candidates = {"mean": lambda x: x.mean(dim=(2, 3)), "red": lambda x: x[:, :1].mean(dim=(2, 3))}
        name, accuracy, label = select_next_backbone(candidates, ["mean"], r, f, TINY, schedule)
        weight = vision_loss_weight(600_000, OFFICIAL) * schedule.models_at(600)
        return weight * label * accuracy * (r.mean() - f.mean())

    return Example(model=nn.Module(), inputs=(real, fake), output_shapes=((),), run=run)
