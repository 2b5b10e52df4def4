"""High-Resolution Image Synthesis and Semantic Manipulation with Conditional GANs (pix2pixHD).

Ting-Chun Wang, Ming-Yu Liu, Jun-Yan Zhu, Andrew Tao, Jan Kautz, Bryan Catanzaro.
CVPR 2018. arXiv:1711.11585. Catalog id: ``pix2pixhd``.

Implemented:

* Sec. 3.2 "Coarse-to-fine generator": the global generator G1
  (``GlobalGenerator``: c7s1-64, 4 stride-2 downsamplings, 9 residual blocks,
  4 upsamplings, c7s1-3) and the local enhancer G2 (``LocalEnhancer``): G2's
  front-end runs on the full-resolution input and its features are summed
  element-wise with G1's last feature map (G1 run on the 2×-downsampled input)
  before G2's residual blocks and upsampling.
* Sec. 3.2 "Multi-scale discriminators": three (``num_d``) PatchGAN discriminators
  (pix2pix's ``PatchDiscriminator``, here with padding 2 and biased convolutions
  as in the authors' code) on the image and its 2× and 4× average-pooled copies.
* Eq. 4, the feature-matching loss
  ``L_FM = Σ_k Σ_i 1/N_i ‖D_k^(i)(s, x) − D_k^(i)(s, G(s))‖₁``, weighted as the
  authors' code does (``4 / (n_layers + 1)`` per layer, ``1 / num_D`` per scale,
  ``λ = 10``), and the LSGAN adversarial term summed over scales.
* Sec. 3.2 / Eq. 5's "perceptual loss" term, on by default in the authors'
  code (``VGGLoss``): ``Σᵢ wᵢ ‖F⁽ⁱ⁾(x) − F⁽ⁱ⁾(G(s))‖₁`` over VGG-19 relu1_1,
  relu2_1, relu3_1, relu4_1, relu5_1 with ``wᵢ = 1/32, 1/16, 1/8, 1/4, 1``,
  times λ = 10 (``vgg_loss``, ``VGG19Features``).
* Sec. 3.3, the instance boundary map: a pixel is 1 iff one of its
  4-neighbours belongs to a different instance; concatenated with the one-hot
  label map as the generator input.
* Sec. 3.4, the feature encoder E (``FeatureEncoder``: an encoder–decoder
  on the real image, followed by instance-wise average pooling, so each
  object gets one low-dimensional feature vector that can be edited).

Official presets (NVIDIA/pix2pixHD, ``models/networks.py`` and ``options/``,
commit 14b3b3c7fff413086e3b58df52096f16b6891172): ``OFFICIAL`` is the
default training options (``--num_D 2``, G1 alone, ngf = 64); ``OFFICIAL_1024``
the 1024×2048 Cityscapes scripts (``--netG local --ngf 32 --num_D 3``).
Instantiated from the official layer definitions (Cityscapes: 35 labels + 1
boundary channel): G1 182,546,755; G1 + G2 182,857,059; with the 3 encoded
feature channels as extra input 182,556,163 and 182,871,171; D (39 channels
in) 8,404,803 for three scales and 5,603,202 for two; E (nef = 16, 3
features) 788,803; tested. VGG-19 up to relu5_1 (torchvision layout) has
12,944,960 parameters (counted from its layer list).

Deviations from the paper:

* ``num_d`` defaults to the paper's three discriminators; the authors'
  default options use two (``OFFICIAL``).
* The VGG-19 of the perceptual loss is randomly initialised (no download);
  its layer layout matches torchvision's ``vgg19().features`` so ImageNet
  weights can be loaded into ``VGG19Features.features``.
* pix2pixHD caps discriminator widths at 512 channels and pix2pix at 8·ndf;
  they agree for the standard ndf = 64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cyclegan import ResnetBlock
from .losses_gan import lsgan_discriminator_loss, lsgan_generator_loss
from .pix2pix import NormLayer, PatchDiscriminator
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class Pix2PixHDConfig:
    label_nc: int = 35  # Cityscapes labels (Sec. 4); +1 channel for the boundary map
    out_channels: int = 3
    ngf: int = 32  # local enhancer width; G1 uses 2·ngf = 64 (authors' code, "--ngf 64" global)
    n_downsample_global: int = 4  # Sec. 3.2 / authors' code
    n_blocks_global: int = 9  # Sec. 3.2: 9 residual blocks in G1
    n_blocks_local: int = 3  # Sec. 3.2: 3 residual blocks in G2
    ndf: int = 64  # authors' code: --ndf 64
    n_layers_d: int = 3  # authors' code: --n_layers_D 3 (70×70 PatchGAN, as pix2pix)
    num_d: int = 3  # Sec. 3.2: D1, D2, D3
    lambda_feat: float = 10.0  # Eq. 5: λ = 10 (also weights the VGG loss in the authors' code)
    feat_num: int = 3  # Sec. 3.4: low-dimensional instance features (authors' code: --feat_num 3)
    nef: int = 16  # authors' code: --nef 16
    n_downsample_e: int = 4  # authors' code: --n_downsample_E 4


OFFICIAL = Pix2PixHDConfig(num_d=2)  # authors' default options: --num_D 2
OFFICIAL_1024 = Pix2PixHDConfig()  # authors' 1024p scripts: --netG local --ngf 32 --num_D 3
TINY = Pix2PixHDConfig(label_nc=3, ngf=2, n_downsample_global=2, n_blocks_global=1, n_blocks_local=1, ndf=2,
                       n_layers_d=2, num_d=2, feat_num=2, nef=2, n_downsample_e=2)


def _c7(c_in: int, c_out: int, norm_layer: NormLayer) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(c_in, c_out, 7), norm_layer(c_out), nn.ReLU(True)]


def _down(c_in: int, c_out: int, norm_layer: NormLayer) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, 2, 1), norm_layer(c_out), nn.ReLU(True)]


def _up(c_in: int, c_out: int, norm_layer: NormLayer) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1), norm_layer(c_out), nn.ReLU(True)]


def _output(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(c_in, c_out, 7), nn.Tanh()]


# --------------------------------------------------------------------- generators
class GlobalGenerator(nn.Module):
    """G1: (N, in, H, W) → (N, out, H, W), H divisible by 2^n_downsampling."""

    def __init__(self, in_channels: int, out_channels: int = 3, *, ngf: int = 64, n_downsampling: int = 4,
                 n_blocks: int = 9, norm_layer: NormLayer = nn.InstanceNorm2d) -> None:
        super().__init__()
        layers = _c7(in_channels, ngf, norm_layer)
        for i in range(n_downsampling):
            layers += _down(ngf * 2**i, ngf * 2 ** (i + 1), norm_layer)
        width = ngf * 2**n_downsampling
        layers += [ResnetBlock(width, norm_layer=norm_layer) for _ in range(n_blocks)]
        for i in range(n_downsampling, 0, -1):
            layers += _up(ngf * 2**i, ngf * 2 ** (i - 1), norm_layer)
        self.features = nn.Sequential(*layers)  # ends with the ngf-channel map G2 adds to
        self.output = nn.Sequential(*_output(ngf, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x))


def downsample(x: torch.Tensor) -> torch.Tensor:
    """2× average pooling used between scales (3×3, stride 2, padding excluded from the mean)."""
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


class LocalEnhancer(nn.Module):
    """G = {G1, G2}: (N, in, H, W) → (N, out, H, W); G1 runs at H/2 × W/2."""

    def __init__(self, in_channels: int, out_channels: int = 3, *, ngf: int = 32, n_downsample_global: int = 4,
                 n_blocks_global: int = 9, n_blocks_local: int = 3,
                 norm_layer: NormLayer = nn.InstanceNorm2d) -> None:
        super().__init__()
        ngf_global = ngf * 2
        self.global_generator = GlobalGenerator(in_channels, out_channels, ngf=ngf_global,
                                                n_downsampling=n_downsample_global, n_blocks=n_blocks_global,
                                                norm_layer=norm_layer)
        # G1's output head is dropped: its last feature map is what G2 receives (Sec. 3.2).
        self.global_generator.output = nn.Identity()
        self.front = nn.Sequential(*_c7(in_channels, ngf, norm_layer), *_down(ngf, ngf_global, norm_layer))
        self.back = nn.Sequential(
            *[ResnetBlock(ngf_global, norm_layer=norm_layer) for _ in range(n_blocks_local)],
            *_up(ngf_global, ngf, norm_layer),
            *_output(ngf, out_channels),
        )

    @classmethod
    def from_config(cls, config: Pix2PixHDConfig) -> LocalEnhancer:
        return cls(config.label_nc + 1, config.out_channels, ngf=config.ngf,
                   n_downsample_global=config.n_downsample_global, n_blocks_global=config.n_blocks_global,
                   n_blocks_local=config.n_blocks_local)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        global_features = self.global_generator(downsample(x))  # (N, 2ngf, H/2, W/2)
        return self.back(self.front(x) + global_features)  # element-wise sum, then G2's back-end


class FeatureEncoder(nn.Module):
    """E (Sec. 3.4): image (N, 3, H, W) and instance ids (N, 1, H, W) → features (N, feat_num, H, W),
    constant within each instance (instance-wise average pooling of an encoder–decoder's output)."""

    def __init__(self, in_channels: int = 3, feat_num: int = 3, *, nef: int = 16, n_downsampling: int = 4,
                 norm_layer: NormLayer = nn.InstanceNorm2d) -> None:
        super().__init__()
        layers = _c7(in_channels, nef, norm_layer)
        for i in range(n_downsampling):
            layers += _down(nef * 2**i, nef * 2 ** (i + 1), norm_layer)
        for i in range(n_downsampling, 0, -1):
            layers += _up(nef * 2**i, nef * 2 ** (i - 1), norm_layer)
        self.model = nn.Sequential(*layers, *_output(nef, feat_num))

    @classmethod
    def from_config(cls, config: Pix2PixHDConfig) -> FeatureEncoder:
        return cls(config.out_channels, config.feat_num, nef=config.nef, n_downsampling=config.n_downsample_e)

    def forward(self, image: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        return instance_average_pool(self.model(image), instances)


# --------------------------------------------------------------------- discriminators
class MultiscaleDiscriminator(nn.Module):
    """D1..Dk on the input and its 2×, 4×… downsampled copies.

    (N, in, H, W) → list over scales (finest first) of lists of stage outputs,
    each list ending with that scale's logit map.
    """

    def __init__(self, in_channels: int, *, ndf: int = 64, n_layers: int = 3, num_d: int = 3,
                 norm_layer: NormLayer = nn.InstanceNorm2d) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            PatchDiscriminator(in_channels, ndf=ndf, n_layers=n_layers, norm_layer=norm_layer, padding=2,
                               use_bias=True)
            for _ in range(num_d)
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for i, d in enumerate(self.discriminators):
            if i:
                x = downsample(x)
            results.append(d(x, return_features=True))
        return results


# --------------------------------------------------------------------- losses
def multiscale_discriminator_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """LSGAN loss of D summed over scales; ``fake`` must come from D run on the detached G output."""
    return sum(lsgan_discriminator_loss(r[-1], f[-1]) for r, f in zip(real, fake, strict=True))


def multiscale_generator_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """LSGAN loss of G summed over scales."""
    return sum(lsgan_generator_loss(f[-1]) for f in fake)


def feature_matching_loss(
    real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]], n_layers: int = 3, lambda_feat: float = 10.0
) -> torch.Tensor:
    """Eq. 4: L1 between D's intermediate features on real and generated pairs (logits excluded)."""
    num_d = len(real)
    feat_weight, d_weight = 4.0 / (n_layers + 1), 1.0 / num_d
    loss = real[0][0].new_zeros(())
    for r_feats, f_feats in zip(real, fake, strict=True):
        for r, f in zip(r_feats[:-1], f_feats[:-1], strict=True):
            loss = loss + d_weight * feat_weight * lambda_feat * F.l1_loss(f, r.detach())
    return loss


# torchvision's vgg19().features up to relu5_1 (index 29), and the ends of the five slices the loss reads.
_VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
VGG_LOSS_LAYERS = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
VGG_LOSS_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)  # authors' VGGLoss: deeper layers weigh more


class VGG19Features(nn.Module):
    """Fixed VGG-19 (zero-padded 3×3 convs, 2×2 max pooling): image → the five relu_1 feature maps.

    Weights are random unless loaded (``features`` has torchvision's indices); they never train.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for v in _VGG19_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU(inplace=False)]
                c_in = v
        self.features = nn.Sequential(*layers)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG_LOSS_LAYERS:
                outs.append(x)
        return outs


def vgg_loss(vgg: nn.Module, fake: torch.Tensor, real: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """Perceptual term: ``λ Σᵢ wᵢ ‖F⁽ⁱ⁾(G(s)) − F⁽ⁱ⁾(x)‖₁`` (mean absolute error), the real features detached."""
    loss = fake.new_zeros(())
    for w, f, r in zip(VGG_LOSS_WEIGHTS, vgg(fake), vgg(real), strict=True):
        loss = loss + w * F.l1_loss(f, r.detach())
    return weight * loss


# --------------------------------------------------------------------- instance maps
def instance_boundary_map(instances: torch.Tensor) -> torch.Tensor:
    """Sec. 3.3: (N, 1, H, W) integer ids → float map, 1 where a 4-neighbour has another id."""
    edge = torch.zeros_like(instances, dtype=torch.bool)
    horizontal = instances[..., :, 1:] != instances[..., :, :-1]
    vertical = instances[..., 1:, :] != instances[..., :-1, :]
    edge[..., :, 1:] |= horizontal  # the right pixel of a differing pair
    edge[..., :, :-1] |= horizontal  # and the left one
    edge[..., 1:, :] |= vertical
    edge[..., :-1, :] |= vertical
    return edge.float()


def generator_input(labels: torch.Tensor, instances: torch.Tensor, num_classes: int) -> torch.Tensor:
    """One-hot semantic labels (N, H, W) + boundary map of (N, 1, H, W) ids → (N, num_classes + 1, H, W)."""
    one_hot = F.one_hot(labels.long(), num_classes).permute(0, 3, 1, 2).float()
    return torch.cat([one_hot, instance_boundary_map(instances)], 1)


def instance_average_pool(features: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """Sec. 3.4: replace features (N, C, H, W) by their mean over each instance of (N, 1, H, W)."""
    n, c = features.shape[:2]
    ids = instances.reshape(n, -1).long()
    _, inverse = torch.unique(ids, return_inverse=True)  # compact ids shared across the batch
    k = int(inverse.max()) + 1
    flat = features.reshape(n, c, -1)
    index = inverse.unsqueeze(1).expand(n, c, -1)
    sums = flat.new_zeros(n, c, k).scatter_add(2, index, flat)
    counts = flat.new_zeros(n, 1, k).scatter_add(2, inverse.unsqueeze(1), torch.ones_like(flat[:, :1]))
    means = sums / counts.clamp(min=1)
    return means.gather(2, index).reshape_as(features)


# --------------------------------------------------------------------- examples
@register_example(covers=[LocalEnhancer, GlobalGenerator, MultiscaleDiscriminator, multiscale_discriminator_loss,
                          multiscale_generator_loss,
                          feature_matching_loss, generator_input, instance_boundary_map, downsample])
def pix2pixhd_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({
        "G": LocalEnhancer.from_config(TINY),
        "D": MultiscaleDiscriminator(TINY.label_nc + 1 + 3, ndf=TINY.ndf, n_layers=TINY.n_layers_d,
                                     num_d=TINY.num_d),
    })
    labels = torch.randint(0, TINY.label_nc, (2, 32, 32), generator=g)
    instances = torch.randint(0, 4, (2, 1, 32, 32), generator=g)
    real = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, labels: torch.Tensor, instances: torch.Tensor, real: torch.Tensor) -> tuple:
        s = generator_input(labels, instances, TINY.label_nc)
        fake = m["G"](s)
        pred_real = m["D"](torch.cat([s, real], 1))
        d_loss = multiscale_discriminator_loss(pred_real, m["D"](torch.cat([s, fake.detach()], 1)))
        pred_fake = m["D"](torch.cat([s, fake], 1))
        g_loss = multiscale_generator_loss(pred_fake)
        return fake, d_loss, g_loss + feature_matching_loss(pred_real, pred_fake, TINY.n_layers_d, TINY.lambda_feat)

    return Example(model=model, inputs=(labels, instances, real), output_shapes=((2, 3, 32, 32), (), ()), run=run)


@register_example(covers=[FeatureEncoder])
def pix2pixhd_feature_encoder() -> Example:
    g = seeded(0)
    model = FeatureEncoder.from_config(TINY)
    image = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    instances = torch.randint(0, 3, (2, 1, 16, 16), generator=g)
    return Example(model=model, inputs=(image, instances), output_shapes=((2, TINY.feat_num, 16, 16),))


@register_example(covers=[VGG19Features, vgg_loss])
def pix2pixhd_vgg_loss() -> Example:
    g = seeded(0)
    fake = torch.rand(1, 3, 16, 16, generator=g, requires_grad=True)
    real = torch.rand(1, 3, 16, 16, generator=g)
    return Example(model=VGG19Features(), inputs=(fake, real), output_shapes=((),),
                   run=lambda m, f, r: vgg_loss(m, f, r), no_grad=("features",))


@register_example(covers=[instance_average_pool])
def pix2pixhd_instance_pool() -> Example:
    g = seeded(0)
    feats = torch.randn(2, 3, 8, 8, generator=g, requires_grad=True)
    instances = torch.randint(0, 3, (2, 1, 8, 8), generator=g)
    return Example(model=nn.Module(), inputs=(feats, instances), output_shapes=((2, 3, 8, 8),),
                   run=lambda _m, f, i: instance_average_pool(f, i))
