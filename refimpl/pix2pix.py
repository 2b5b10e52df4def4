"""Image-to-Image Translation with Conditional Adversarial Networks (pix2pix).

Phillip Isola, Jun-Yan Zhu, Tinghui Zhou, Alexei A. Efros. CVPR 2017.
arXiv:1611.07004. Catalog id: ``pix2pix``.

Implemented:

* Eq. 1–4, the objective ``G* = arg min_G max_D L_cGAN(G, D) + λ L_L1(G)``
  with ``λ = 100``; D sees the input image concatenated with the real or
  generated output (conditional GAN). As in the authors' code, D's loss is
  halved and G uses the non-saturating loss of ``refimpl.gan``.
* Sec. 3.2.1 / App. 6.1.1, the U-Net generator: an encoder–decoder where
  layer i is concatenated to layer n − i (``UNetGenerator``), with dropout
  (0.5) in the first three decoder blocks as the only noise source, kept on at
  test time (Sec. 3.2: "at both training and test time"), also under
  ``eval()`` unless ``dropout_at_test=False``.
* Sec. 3.2.2 / App. 6.1.2, the PatchGAN discriminator (``PatchDiscriminator``):
  C64-C128-C256-C512 → 1 channel, classifying each 70×70 patch; its output for
  a 256×256 input is 30×30. ``patchgan_receptive_field`` gives 1 + the
  receptive-field recursion (16, 34, 70, 142, 286 for 1…5 layers).
* Sec. 4.4, the 1×1 "PixelGAN" (``PixelDiscriminator``, the authors' ``--netD pixel``).

Official preset: ``OFFICIAL`` is the authors' default pix2pix run
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` and
``options/``, commit 78913853ab4a4f5eba717af8433809300c99f0bb: ``unet_256``,
``basic`` D, ngf = ndf = 64, batch norm, λ_L1 = 100, vanilla GAN loss). Its
layer definitions, instantiated in a scratch copy, give 54,413,955 (G),
2,768,705 (``basic`` D, 3 + 3 input channels) and 9,024 (``pixel`` D)
parameters; ``unet_128`` has 41,828,995; tested. With batch norm the
convolutions before a norm layer have no bias (nor does the pixel D's last conv).

Deviations from the paper:

* Training details (Adam 2e-4, β₁ = 0.5, batch size, jitter) are outside a
  reference implementation.
* Inference: the paper runs G "in exactly the same manner as during the
  training phase" (dropout on, batch norm with the test batch's statistics),
  and so does the authors' ``test.py`` unless ``--eval`` is given. Here
  dropout stays on under ``eval()`` (``dropout_at_test``), but ``eval()``
  batch norm uses running statistics; call ``.train()`` under ``no_grad`` for
  test-batch statistics. ``EVAL_MODE`` is the authors' ``--eval`` run
  (dropout off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .gan import discriminator_loss as gan_discriminator_loss
from .gan import generator_loss_nonsaturating
from .registry import Example, register_example, seeded

NormLayer = Callable[[int], nn.Module]


@dataclass(frozen=True)
class Pix2PixConfig:
    in_channels: int = 3
    out_channels: int = 3
    ngf: int = 64  # App. 6.1.1: encoder C64-C128-C256-C512-C512-C512-C512-C512
    ndf: int = 64  # App. 6.1.2: C64-C128-C256-C512
    num_downs: int = 8  # 256 = 2^8 → a 1×1 bottleneck ("unet_256")
    n_layers_d: int = 3  # 70×70 PatchGAN
    use_dropout: bool = True  # Sec. 3.2: noise only in the form of dropout
    dropout_at_test: bool = True  # Sec. 3.2: dropout "at both training and test time"
    lambda_l1: float = 100.0  # Sec. 3.3 / 4: λ = 100


OFFICIAL = Pix2PixConfig()  # authors' default pix2pix run (unet_256, basic D)
EVAL_MODE = Pix2PixConfig(dropout_at_test=False)  # the authors' test.py with --eval
TINY = Pix2PixConfig(ngf=4, ndf=4, num_downs=5, n_layers_d=2)


def _uses_bias(norm_layer: NormLayer) -> bool:
    # A conv followed by BatchNorm needs no bias: BN's shift absorbs it.
    return norm_layer is not nn.BatchNorm2d


# --------------------------------------------------------------------- generator
class InferenceDropout(nn.Dropout):
    """Dropout that also drops under ``eval()`` when ``at_test`` (the paper's noise at test time)."""

    def __init__(self, p: float = 0.5, *, at_test: bool = True) -> None:
        super().__init__(p)
        self.at_test = at_test

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, self.training or self.at_test)


class UNetSkipBlock(nn.Module):
    """One U-Net level: down-conv → (inner levels) → up-conv, output concatenated with the input.

    x (N, outer, H, W) → (N, 2·outer, H, W) for inner levels; the outermost level
    returns the image (N, out_channels, H, W) without concatenation.
    """

    def __init__(
        self,
        outer: int,
        inner: int,
        *,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm_layer: NormLayer = nn.BatchNorm2d,
        use_dropout: bool = False,
        dropout_at_test: bool = True,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        bias = _uses_bias(norm_layer)
        in_channels = outer if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner, 4, 2, 1, bias=bias)
        down_act, up_act = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        if outermost:
            up_conv = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            layers = [down_conv, submodule, up_act, up_conv, nn.Tanh()]
        elif innermost:  # the bottleneck: no norm after the last down-conv, nothing to concatenate
            up_conv = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias)
            layers = [down_act, down_conv, up_act, up_conv, norm_layer(outer)]
        else:
            up_conv = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias)
            layers = [down_act, down_conv, norm_layer(inner), submodule, up_act, up_conv, norm_layer(outer)]
            if use_dropout:
                layers.append(InferenceDropout(0.5, at_test=dropout_at_test))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)  # the skip connection


class UNetGenerator(nn.Module):
    """U-Net with ``num_downs`` levels: (N, in, H, W) → (N, out, H, W), H divisible by 2^num_downs."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        *,
        num_downs: int = 8,
        ngf: int = 64,
        norm_layer: NormLayer = nn.BatchNorm2d,
        use_dropout: bool = True,
        dropout_at_test: bool = True,
    ) -> None:
        super().__init__()
        block = UNetSkipBlock(ngf * 8, ngf * 8, innermost=True, norm_layer=norm_layer)
        for _ in range(num_downs - 5):  # the extra 512-channel levels carry the dropout
            block = UNetSkipBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer, use_dropout=use_dropout,
                                  dropout_at_test=dropout_at_test)
        for mult in (4, 2, 1):
            block = UNetSkipBlock(ngf * mult, ngf * mult * 2, submodule=block, norm_layer=norm_layer)
        self.model = UNetSkipBlock(out_channels, ngf, in_channels=in_channels, submodule=block, outermost=True,
                                   norm_layer=norm_layer)

    @classmethod
    def from_config(cls, config: Pix2PixConfig) -> UNetGenerator:
        return cls(config.in_channels, config.out_channels, num_downs=config.num_downs, ngf=config.ngf,
                   use_dropout=config.use_dropout, dropout_at_test=config.dropout_at_test)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


# --------------------------------------------------------------------- discriminator
class PatchDiscriminator(nn.Module):
    """PatchGAN: (N, in, H, W) → (N, 1, H', W'), one real/fake logit per overlapping patch.

    ``padding`` is 1 in pix2pix/CycleGAN and 2 in pix2pixHD; ``use_bias=None``
    follows the authors' rule (no bias before BatchNorm). With
    ``return_features=True`` the forward pass returns every stage's output
    (pix2pixHD's feature-matching loss needs them), the logits last.
    """

    def __init__(
        self,
        in_channels: int = 6,
        *,
        ndf: int = 64,
        n_layers: int = 3,
        norm_layer: NormLayer = nn.BatchNorm2d,
        padding: int = 1,
        use_bias: bool | None = None,
    ) -> None:
        super().__init__()
        bias = _uses_bias(norm_layer) if use_bias is None else use_bias
        stages = [nn.Sequential(nn.Conv2d(in_channels, ndf, 4, 2, padding), nn.LeakyReLU(0.2, True))]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last C512 layer keeps the resolution
            stages.append(nn.Sequential(
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride, padding, bias=bias),
                norm_layer(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ))
        stages.append(nn.Sequential(nn.Conv2d(ndf * mult, 1, 4, 1, padding)))  # one logit per patch
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor | list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats if return_features else x


class PixelDiscriminator(nn.Module):
    """1×1 PixelGAN (Sec. 4.4): (N, in, H, W) → (N, 1, H, W), one logit per pixel from its colour alone.

    C64 (1×1, no norm) → C128 (1×1, norm, no bias before batch norm) → 1 channel (1×1, same bias rule).
    """

    def __init__(self, in_channels: int = 6, *, ndf: int = 64, norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        bias = _uses_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), norm_layer(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def patchgan_receptive_field(n_layers: int) -> int:
    """Receptive field of ``PatchDiscriminator`` (k = 4): 70 for n_layers = 3."""
    r = 1
    strides = [1, 1] + [2] * n_layers  # output conv, stride-1 conv, then the stride-2 convs, back to front
    for s in strides:
        r = (r - 1) * s + 4
    return r


# --------------------------------------------------------------------- objective
def discriminator_loss(d: nn.Module, source: torch.Tensor, target: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Eq. 1 for D, halved as in the authors' code; D sees (x, y) and (x, G(x)) pairs."""
    real_logits = d(torch.cat([source, target], 1))
    fake_logits = d(torch.cat([source, fake.detach()], 1))  # no gradient into G from D's step
    return 0.5 * gan_discriminator_loss(real_logits, fake_logits)


def generator_loss(
    d: nn.Module, source: torch.Tensor, target: torch.Tensor, fake: torch.Tensor, lambda_l1: float = 100.0
) -> torch.Tensor:
    """Eq. 4: non-saturating cGAN term + λ · ‖y − G(x)‖₁ (mean absolute error)."""
    fake_logits = d(torch.cat([source, fake], 1))
    return generator_loss_nonsaturating(fake_logits) + lambda_l1 * F.l1_loss(fake, target)


# --------------------------------------------------------------------- examples
@register_example(covers=[UNetGenerator, UNetSkipBlock, PatchDiscriminator, discriminator_loss, generator_loss])
def pix2pix_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": UNetGenerator.from_config(TINY),
                           "D": PatchDiscriminator(6, ndf=TINY.ndf, n_layers=TINY.n_layers_d)})
    source = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    target = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = m["G"](x)
        return (fake, m["D"](torch.cat([x, fake], 1)), discriminator_loss(m["D"], x, y, fake),
                generator_loss(m["D"], x, y, fake, TINY.lambda_l1))

    # 32×32, two stride-2 convs → 8×8, two stride-1 k4 p1 convs → 6×6.
    return Example(model=model, inputs=(source, target), output_shapes=((2, 3, 32, 32), (2, 1, 6, 6), (), ()),
                   run=run)


@register_example(covers=[PixelDiscriminator, InferenceDropout])
def pix2pix_pixelgan() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": UNetGenerator.from_config(TINY), "D": PixelDiscriminator(6, ndf=TINY.ndf)})
    source = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    target = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = m["G"](x)
        return m["D"](torch.cat([x, fake], 1)), generator_loss(m["D"], x, y, fake, TINY.lambda_l1)

    return Example(model=model, inputs=(source, target), output_shapes=((2, 1, 32, 32), ()), run=run)


@register_example(covers=[patchgan_receptive_field])
def pix2pix_patch_70() -> Example:
    seeded(0)
    d = PatchDiscriminator(3, ndf=2, n_layers=3)
    x = torch.rand(2, 3, 70, 70, generator=torch.Generator().manual_seed(0))

    def run(m: PatchDiscriminator, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return m(x), torch.tensor(float(patchgan_receptive_field(3)))

    # Zero padding lets border patches overhang: 70 → 35 → 17 → 8 → 7 → 6.
    return Example(model=d, inputs=(x,), output_shapes=((2, 1, 6, 6), ()), run=run)
