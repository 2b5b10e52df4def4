"""Semantic Image Synthesis with Spatially-Adaptive Normalization (SPADE / GauGAN).

Taesung Park, Ming-Yu Liu, Ting-Chun Wang, Jun-Yan Zhu. CVPR 2019.
arXiv:1903.07291. Catalog id: ``spade``.

Implemented:

* Eq. 1, SPADE: parameter-free batch normalisation followed by a
  spatially-varying affine map learned from the segmentation mask ``m``,
  ``γ_{c,y,x}(m) · (h − μ_c) / σ_c + β_{c,y,x}(m)``; γ and β come from a
  two-layer conv net (shared 3×3 conv with ReLU, 128 hidden channels, then one
  3×3 conv each), on the mask resized (nearest) to the activation's size. As
  in the authors' code the scale is applied as ``1 + γ``.
* Fig. 4, the SPADE residual block: SPADE → LeakyReLU(0.2) → 3×3 conv, twice,
  with a learned shortcut (SPADE → 1×1 conv) when the widths differ.
* Sec. 3 / App. A, the generator: the down-sampled mask (instead of z) goes
  through a 3×3 conv to a 16·nf map at ``H/2^5``, then SPADE residual blocks
  interleaved with 2× nearest up-sampling to the output resolution; with the
  image encoder (Sec. 4 "multi-modal synthesis", App. B) a linear layer maps
  ``z`` to that first map instead.
* App. A / B, the multi-scale discriminator (``SPADEMultiscaleDiscriminator``,
  two scales of a four-layer PatchGAN: instance norm after bias-free,
  spectrally normalised convolutions, padding 2, widths capped at 512) with
  the hinge loss averaged over scales and the feature-matching loss
  (λ_feat / num_D per layer); the VGG loss is pix2pixHD's
  (``refimpl.pix2pixhd.vgg_loss``, λ = 10).
* App. B, the image encoder (``ConvEncoder``: six stride-2 3×3 convs with
  spectral and instance norm, then linear heads for μ and log σ²), the
  reparameterisation ``z = μ + ε · exp(½ log σ²)`` and the KL term
  ``−½ Σ (1 + log σ² − μ² − σ²)`` weighted 0.05.
* Sec. 3.2's point: a constant mask fed through conv → instance norm is washed
  out, while SPADE keeps it (tested).

Official preset: ``OFFICIAL`` is the authors' COCO-Stuff 256×256 setting
(NVlabs/SPADE, ``models/networks/{generator,discriminator,encoder,
normalization,architecture}.py`` and ``options/``, commit
fecacc920c1367a038995c45a39c15f6521ca64f: ngf = ndf = 64, 182 labels + "don't
care" + instance edge = 184 mask channels, ``spectralspadesyncbatch3x3`` G,
``spectralinstance`` D and E, ``--num_D 2 --n_layers_D 4``, z_dim = 256).
Instantiated from those files: G 97,480,899 parameters (with the encoder's z
input 112,626,883), D (187 channels in) 5,904,514, E 10,463,424; tested.

Deviations from the paper:

* Sec. 4 says spectral norm is applied to "all the layers in both generator
  and discriminator"; the authors' code applies it only to the residual
  blocks' convolutions in G and to the normalised middle convolutions in D
  (not to G's first and last convs, SPADE's own convs, or D's first and last
  convs). ``spectral_norm_all=True`` (the default) follows the paper;
  ``OFFICIAL`` uses the code's placement. Spectral norm adds no parameters.
* Synchronized batch norm is plain ``BatchNorm2d`` (one device).
* The encoder resizes its input to ``image_size`` (256 in the authors' code)
  and has ``log2(image_size / 4)`` layers, so tiny models can use 32×32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .losses_gan import hinge_discriminator_loss, hinge_generator_loss
from .pix2pixhd import downsample
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class SPADEConfig:
    label_nc: int = 184  # COCO-Stuff: 182 labels + "don't care" + instance edge (authors' code)
    nf: int = 64  # App. A: ngf = 64 (the first map has 16·nf = 1024 channels)
    hidden: int = 128  # App. A: SPADE's shared conv has 128 channels
    kernel_size: int = 3  # "spadesyncbatch3x3"
    num_up_layers: int = 5  # "normal" generator: 256 / 2^5 = 8 × 8 first map
    use_spectral_norm: bool = True  # Sec. 4: spectral norm in G and D
    spectral_norm_all: bool = True  # Sec. 4: on "all the layers" (authors' code: residual-block convs only)
    crop_size: int = 256  # Sec. 4: COCO-Stuff at 256×256
    use_vae: bool = False  # Sec. 4: the encoder is for multi-modal synthesis only
    z_dim: int = 256  # App. B: 256-dimensional style code
    ndf: int = 64  # App. A: C64 first discriminator layer
    n_layers_d: int = 4  # App. A (authors' code --n_layers_D 4)
    num_d: int = 2  # App. A (authors' code --num_D 2)
    lambda_feat: float = 10.0  # Sec. 4: feature matching λ = 10 (as pix2pixHD)
    lambda_vgg: float = 10.0  # authors' code --lambda_vgg 10
    lambda_kld: float = 0.05  # App. B: KL weight 0.05


OFFICIAL = SPADEConfig(spectral_norm_all=False)  # authors' code: spectral norm where the code puts it
TINY = SPADEConfig(label_nc=3, nf=1, hidden=4, num_up_layers=3, crop_size=16, z_dim=4, ndf=2, n_layers_d=3)


def _sn(module: nn.Module, on: bool) -> nn.Module:
    return spectral_norm(module) if on else module


# --------------------------------------------------------------------- normalisation
class SPADE(nn.Module):
    """(x (N, C, H, W), segmap (N, L, H', W')) → (N, C, H, W)."""

    def __init__(self, norm_nc: int, label_nc: int, *, hidden: int = 128, kernel_size: int = 3,
                 use_spectral_norm: bool = False) -> None:
        super().__init__()
        pad, sn = kernel_size // 2, use_spectral_norm
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)  # statistics only: no learned affine here
        self.shared = nn.Sequential(_sn(nn.Conv2d(label_nc, hidden, kernel_size, padding=pad), sn), nn.ReLU())
        self.gamma = _sn(nn.Conv2d(hidden, norm_nc, kernel_size, padding=pad), sn)
        self.beta = _sn(nn.Conv2d(hidden, norm_nc, kernel_size, padding=pad), sn)

    def modulation(self, segmap: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """γ(m), β(m) at the given spatial size, each (N, C, H, W)."""
        actv = self.shared(F.interpolate(segmap, size=size, mode="nearest"))
        return self.gamma(actv), self.beta(actv)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.modulation(segmap, x.shape[-2:])
        return self.param_free_norm(x) * (1 + gamma) + beta


class SPADEResBlock(nn.Module):
    """Fig. 4: (x (N, fin, H, W), segmap) → (N, fout, H, W)."""

    def __init__(self, fin: int, fout: int, label_nc: int, *, hidden: int = 128, use_spectral_norm: bool = True,
                 spectral_norm_spade: bool = False) -> None:
        super().__init__()
        fmiddle = min(fin, fout)
        sn, kw = use_spectral_norm, dict(hidden=hidden, use_spectral_norm=spectral_norm_spade)
        self.learned_shortcut = fin != fout
        self.conv_0 = _sn(nn.Conv2d(fin, fmiddle, 3, padding=1), sn)
        self.conv_1 = _sn(nn.Conv2d(fmiddle, fout, 3, padding=1), sn)
        self.norm_0 = SPADE(fin, label_nc, **kw)
        self.norm_1 = SPADE(fmiddle, label_nc, **kw)
        if self.learned_shortcut:
            self.conv_s = _sn(nn.Conv2d(fin, fout, 1, bias=False), sn)
            self.norm_s = SPADE(fin, label_nc, **kw)

    def shortcut(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        return self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return self.shortcut(x, segmap) + dx


class SPADEGenerator(nn.Module):
    """(segmap (N, label_nc, H, W)[, z (N, z_dim)]) → image (N, 3, H, W); H divisible by 2^num_up_layers.

    With ``use_vae`` the first map comes from z (sampled from N(0, I) when not given) and H = W = crop_size.
    """

    def __init__(self, config: SPADEConfig = SPADEConfig()) -> None:
        super().__init__()
        all_sn = config.use_spectral_norm and config.spectral_norm_all
        nf = config.nf
        kw = dict(hidden=config.hidden, use_spectral_norm=config.use_spectral_norm, spectral_norm_spade=all_sn)
        self.num_up_layers, self.use_vae, self.z_dim, self.nf = (config.num_up_layers, config.use_vae, config.z_dim,
                                                                  nf)
        self.sw = config.crop_size // 2**config.num_up_layers  # square images: sh = sw
        if config.use_vae:
            self.fc = _sn(nn.Linear(config.z_dim, 16 * nf * self.sw * self.sw), all_sn)
        else:
            self.fc = _sn(nn.Conv2d(config.label_nc, 16 * nf, 3, padding=1), all_sn)  # the down-sampled mask replaces z
        self.head = SPADEResBlock(16 * nf, 16 * nf, config.label_nc, **kw)
        self.middle = nn.ModuleList(SPADEResBlock(16 * nf, 16 * nf, config.label_nc, **kw) for _ in range(2))
        # After head and the first up-sampling, each remaining up-sampling halves the width: 16nf → 8nf → … → nf.
        self.ups = nn.ModuleList(
            SPADEResBlock(16 * nf // 2**i, 16 * nf // 2 ** (i + 1), config.label_nc, **kw)
            for i in range(config.num_up_layers - 1)
        )
        self.conv_img = _sn(nn.Conv2d(16 * nf // 2 ** (config.num_up_layers - 1), 3, 3, padding=1), all_sn)

    def forward(self, segmap: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.use_vae:
            if z is None:
                z = torch.randn(segmap.shape[0], self.z_dim, device=segmap.device, dtype=segmap.dtype)
            x = self.fc(z).view(-1, 16 * self.nf, self.sw, self.sw)
        else:
            h, w = segmap.shape[-2] // 2**self.num_up_layers, segmap.shape[-1] // 2**self.num_up_layers
            x = self.fc(F.interpolate(segmap, size=(h, w), mode="nearest"))  # (N, 16nf, H/32, W/32)
        x = F.interpolate(self.head(x, segmap), scale_factor=2, mode="nearest")
        for block in self.middle:
            x = block(x, segmap)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), segmap)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


# --------------------------------------------------------------------- discriminator
class SPADEPatchDiscriminator(nn.Module):
    """(N, in, H, W) → list of every stage's output, the logit map last.

    C64 (no norm) → C128 → C256 → C512 (stride 1), each after the first a bias-free
    (spectrally normalised) conv + instance norm; LeakyReLU(0.2); kernel 4, padding 2.
    """

    def __init__(self, in_channels: int, *, ndf: int = 64, n_layers: int = 4, use_spectral_norm: bool = True,
                 spectral_norm_all: bool = True) -> None:
        super().__init__()
        outer_sn = use_spectral_norm and spectral_norm_all
        stages = [nn.Sequential(_sn(nn.Conv2d(in_channels, ndf, 4, 2, 2), outer_sn), nn.LeakyReLU(0.2))]
        nf = ndf
        for n in range(1, n_layers):
            nf_prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            # The norm's mean subtraction cancels a bias, so the conv has none.
            stages.append(nn.Sequential(_sn(nn.Conv2d(nf_prev, nf, 4, stride, 2, bias=False), use_spectral_norm),
                                        nn.InstanceNorm2d(nf, affine=False), nn.LeakyReLU(0.2)))
        stages.append(nn.Sequential(_sn(nn.Conv2d(nf, 1, 4, 1, 2), outer_sn)))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class SPADEMultiscaleDiscriminator(nn.Module):
    """D_1..D_k on the (mask, image) pair and its 2×, 4×… average-pooled copies; finest first."""

    def __init__(self, config: SPADEConfig = SPADEConfig(), in_channels: int | None = None) -> None:
        super().__init__()
        in_channels = config.label_nc + 3 if in_channels is None else in_channels
        self.discriminators = nn.ModuleList(
            SPADEPatchDiscriminator(in_channels, ndf=config.ndf, n_layers=config.n_layers_d,
                                    use_spectral_norm=config.use_spectral_norm,
                                    spectral_norm_all=config.spectral_norm_all)
            for _ in range(config.num_d)
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for i, d in enumerate(self.discriminators):
            if i:
                x = downsample(x)
            results.append(d(x))
        return results


# --------------------------------------------------------------------- image encoder (VAE)
class ConvEncoder(nn.Module):
    """App. B: image (N, 3, H, W) → (μ, log σ²), each (N, z_dim); the image is resized to ``image_size``."""

    def __init__(self, *, ndf: int = 64, z_dim: int = 256, image_size: int = 256,
                 use_spectral_norm: bool = True) -> None:
        super().__init__()
        self.image_size = image_size
        n_layers = (image_size // 4).bit_length() - 1  # stride-2 layers down to a 4×4 map: 6 for 256
        widths = [ndf * min(2**i, 8) for i in range(n_layers)]
        layers, c_in = [], 3
        for w in widths:
            layers += [_sn(nn.Conv2d(c_in, w, 3, 2, 1, bias=False), use_spectral_norm),
                       nn.InstanceNorm2d(w, affine=False),
                       nn.LeakyReLU(0.2)]
            c_in = w
        self.layers = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(c_in * 4 * 4, z_dim)
        self.fc_var = nn.Linear(c_in * 4 * 4, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        h = self.layers(x).flatten(1)
        return self.fc_mu(h), self.fc_var(h)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
    """``z = μ + ε · exp(½ log σ²)``, ε ~ N(0, I) unless given."""
    noise = torch.randn_like(mu) if noise is None else noise
    return mu + noise * torch.exp(0.5 * logvar)


def kld_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over the batch and dimensions: ``−½ Σ (1 + log σ² − μ² − σ²)``."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


# --------------------------------------------------------------------- losses
def discriminator_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Hinge loss of D, averaged over scales; ``fake`` from D on the detached generator output."""
    return sum(hinge_discriminator_loss(r[-1], f[-1]) for r, f in zip(real, fake, strict=True)) / len(real)


def generator_adversarial_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Hinge loss of G (``−E[D(G(s))]``), averaged over scales."""
    return sum(hinge_generator_loss(f[-1]) for f in fake) / len(fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]],
                          lambda_feat: float = 10.0) -> torch.Tensor:
    """L1 between D's intermediate features (logits excluded), each layer weighted λ / num_D."""
    loss = fake[0][0].new_zeros(())
    for r_feats, f_feats in zip(real, fake, strict=True):
        for r, f in zip(r_feats[:-1], f_feats[:-1], strict=True):
            loss = loss + F.l1_loss(f, r.detach()) * lambda_feat / len(real)
    return loss


# --------------------------------------------------------------------- examples
@register_example(covers=[SPADEPatchDiscriminator, SPADEMultiscaleDiscriminator, discriminator_loss,
                          generator_adversarial_loss, feature_matching_loss])
def spade_discriminator() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": SPADEGenerator(TINY), "D": SPADEMultiscaleDiscriminator(TINY)})
    labels = torch.randint(0, TINY.label_nc, (2, 16, 16), generator=g)
    segmap = F.one_hot(labels, TINY.label_nc).permute(0, 3, 1, 2).float()
    real = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, seg: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = m["G"](seg)
        pred_real = m["D"](torch.cat([seg, real], 1))
        d_loss = discriminator_loss(pred_real, m["D"](torch.cat([seg, fake.detach()], 1)))
        pred_fake = m["D"](torch.cat([seg, fake], 1))
        g_loss = generator_adversarial_loss(pred_fake) + feature_matching_loss(pred_real, pred_fake)
        return pred_fake[0][-1], d_loss, g_loss

    # 16 → 9 → 5 (stride 2, padding 2) → 6 (stride 1) → 7 (logits).
    return Example(model=model, inputs=(segmap, real), output_shapes=((2, 1, 7, 7), (), ()), run=run)


@register_example(covers=[ConvEncoder, reparameterize, kld_loss])
def spade_vae() -> Example:
    g = seeded(0)
    vae_cfg = SPADEConfig(label_nc=3, nf=1, hidden=4, num_up_layers=3, crop_size=16, z_dim=4, use_vae=True)
    model = nn.ModuleDict({"E": ConvEncoder(ndf=2, z_dim=4, image_size=32), "G": SPADEGenerator(vae_cfg)})
    labels = torch.randint(0, 3, (2, 16, 16), generator=g)
    segmap = F.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    image = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    noise = torch.randn(2, 4, generator=g)

    def run(m: nn.ModuleDict, seg: torch.Tensor, image: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mu, logvar = m["E"](image)
        z = reparameterize(mu, logvar, noise)
        return m["G"](seg, z), vae_cfg.lambda_kld * kld_loss(mu, logvar)

    return Example(model=model, inputs=(segmap, image, noise), output_shapes=((2, 3, 16, 16), ()), run=run)


@register_example(covers=[SPADE, SPADEResBlock, SPADEGenerator])
def spade_generator() -> Example:
    g = seeded(0)
    model = SPADEGenerator(TINY)
    labels = torch.randint(0, TINY.label_nc, (2, 16, 16), generator=g)
    segmap = F.one_hot(labels, TINY.label_nc).permute(0, 3, 1, 2).float()
    return Example(model=model, inputs=(segmap,), output_shapes=((2, 3, 16, 16),))
