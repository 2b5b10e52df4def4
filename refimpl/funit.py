"""Few-Shot Unsupervised Image-to-Image Translation (FUNIT).

Ming-Yu Liu, Xun Huang, Arun Mallya, Tero Karras, Timo Aila, Jaakko Lehtinen,
Jan Kautz. ICCV 2019. arXiv:1905.01723. Catalog id: ``funit``.

Implemented:

* Sec. 3 / Fig. 2, the few-shot generator ``x̄ = G(x, {y_1, …, y_K})``: a
  content encoder maps the content image to a spatial content code; a class
  encoder maps each of the K class images to a latent vector and **averages**
  them into the class code; the decoder's AdaIN residual blocks take their
  parameters from an MLP of the class code. The blocks are MUNIT's (same
  group; ``refimpl.munit``), with instance norm after the decoder's up-sampling
  convolutions as in the authors' FUNIT code.
* Sec. 3, the multi-task adversarial discriminator: one output map per source
  class, only the image's class output is used; hinge losses
  (``refimpl.losses_gan``).
* Eq. 1–3, the content reconstruction loss ``‖x − G(x, {x})‖₁`` and the
  feature matching loss ``‖D_f(x̄) − mean_k D_f(y_k)‖₁`` on spatially averaged
  discriminator features; weights λ_R = 0.1, λ_F = 1 (Sec. 4).
* App. A, the discriminator: a 7×7 conv and 10 activation-first residual
  blocks (Leaky ReLU 0.2, no normalisation, reflection padding), average
  pooling between pairs of blocks, a Leaky ReLU + 1×1 conv head with one map
  per source class.

Official preset: ``OFFICIAL`` is NVlabs/FUNIT at
198f430b6ef1abe940251b30f51d5cc68a476787, ``networks.py`` ``FewShotGen`` and
``GPPatchMcResDis`` with ``configs/funit_animals.yaml``. Parameter counts from
instantiating them: generator 29,866,435 (content encoder 12,202,112; class
encoder 2,779,328; decoder 13,749,891; MLP 1,135,104), discriminator
54,252,599 (features 54,130,624; head 121,975). At 128×128 the content code is
(512, 16, 16), the class code 64-d and the discriminator's features
(1024, 8, 8) with (119, 8, 8) class maps. Tested.

Deviations from the paper and the official code:

* The generator objective is the paper's Eq. 1 (adversarial and feature
  matching terms on the translation only). The authors' trainer also scores
  the reconstruction ``G(x, {x})`` with D (as x's own class), averages the two
  adversarial terms and adds the reconstruction's feature matching term.
* In the official ``ActFirstResBlock`` the first Leaky ReLU is in place, so an
  identity shortcut carries ``lrelu(x)`` instead of ``x``; here the shortcut
  is ``x``, as an activation-first residual block is defined.
* The R1 gradient penalty on real images (weight 10 in the authors' code) is
  omitted (``refimpl.stargan.gradient_penalty`` shows the WGAN-GP variant).
* Weights keep PyTorch's default initialisation (the authors use Kaiming).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .losses_gan import hinge_discriminator_loss, hinge_generator_loss
from .munit import MLP, ContentEncoder, Decoder, StyleEncoder, instance_norm
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class FUNITConfig:
    # Values from the authors' configs/funit_animals.yaml (App. A of the paper gives the same networks).
    nf: int = 64  # gen.nf: base width
    nf_mlp: int = 256  # gen.nf_mlp: MLP hidden width
    n_downs_class: int = 4  # gen.n_downs_class: class encoder down-samplings
    n_downs_content: int = 3  # gen.n_downs_content: content encoder down-samplings
    n_res_blocks: int = 2  # gen.n_res_blks: residual blocks in content encoder and decoder
    n_mlp_blocks: int = 3  # gen.n_mlp_blks
    latent_dim: int = 64  # gen.latent_dim: class code dimension
    num_classes: int = 119  # dis.num_classes: Animal Faces source classes (Sec. 4)
    nf_dis: int = 64  # dis.nf
    n_dis_res_blocks: int = 10  # dis.n_res_blks / App. A: 10 activation-first residual blocks
    lambda_rec: float = 0.1  # Sec. 4: λ_R = 0.1 (r_w)
    lambda_fm: float = 1.0  # Sec. 4: λ_F = 1 (fm_w)


OFFICIAL = FUNITConfig()  # NVlabs/FUNIT configs/funit_animals.yaml
TINY = FUNITConfig(nf=4, nf_mlp=8, n_downs_class=2, n_downs_content=2, n_res_blocks=1, n_mlp_blocks=2,
                   latent_dim=3, num_classes=3, nf_dis=4, n_dis_res_blocks=4)


# --------------------------------------------------------------------- generator
class FewShotGenerator(nn.Module):
    """content image (N, 3, H, W) + class images (N, K, 3, H, W) → translated image (N, 3, H, W)."""

    def __init__(self, config: FUNITConfig = FUNITConfig()) -> None:
        super().__init__()
        self.content_encoder = ContentEncoder(dim=config.nf, n_downsample=config.n_downs_content,
                                              n_res=config.n_res_blocks)
        self.class_encoder = StyleEncoder(dim=config.nf, style_dim=config.latent_dim,
                                          n_downsample=config.n_downs_class)
        self.decoder = Decoder(dim=self.content_encoder.out_dim, n_upsample=config.n_downs_content,
                               n_res=config.n_res_blocks, up_norm=instance_norm)
        self.mlp = MLP(config.latent_dim, self.decoder.num_adain_params, config.nf_mlp, config.n_mlp_blocks)

    def class_code(self, class_images: torch.Tensor) -> torch.Tensor:
        """(N, K, 3, H, W) → (N, latent_dim): the mean of the K shots' latent vectors."""
        n, k = class_images.shape[:2]
        codes = self.class_encoder(class_images.flatten(0, 1)).view(n, k, -1)
        return codes.mean(dim=1)

    def decode(self, content: torch.Tensor, class_code: torch.Tensor) -> torch.Tensor:
        return self.decoder(content, self.mlp(class_code))

    def forward(self, content_image: torch.Tensor, class_images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.content_encoder(content_image), self.class_code(class_images))


# --------------------------------------------------------------------- discriminator
class ActFirstResBlock(nn.Module):
    """Activation-first residual block: ``S(x) + conv(lrelu(conv(lrelu(x))))``, no normalisation.

    The hidden width is min(C_in, C_out); the shortcut S is a bias-free 1×1 conv when the width changes.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        hidden = min(c_in, c_out)
        self.conv_0 = nn.Sequential(nn.LeakyReLU(0.2), nn.ReflectionPad2d(1), nn.Conv2d(c_in, hidden, 3))
        self.conv_1 = nn.Sequential(nn.LeakyReLU(0.2), nn.ReflectionPad2d(1), nn.Conv2d(hidden, c_out, 3))
        self.shortcut = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_1(self.conv_0(x))


class MultiTaskDiscriminator(nn.Module):
    """x (N, 3, H, W), labels (N,) → (score of the labelled class (N, h, w), features (N, C, h, w)).

    A 7×7 conv, then pairs of activation-first residual blocks (the second doubling the width, capped at
    1024), with a 3×3 stride-2 average pooling between pairs; h = H / 2^(n_res_blocks/2 − 1).
    """

    def __init__(self, *, nf: int = 64, n_res_blocks: int = 10, num_classes: int = 119) -> None:
        super().__init__()
        if n_res_blocks % 2:
            raise ValueError(f"n_res_blocks must be even, got {n_res_blocks}")
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, nf, 7)]
        n_pairs = n_res_blocks // 2
        for i in range(n_pairs):
            nf_out = min(nf * 2, 1024)
            layers += [ActFirstResBlock(nf, nf), ActFirstResBlock(nf, nf_out)]
            if i < n_pairs - 1:
                layers += [nn.ReflectionPad2d(1), nn.AvgPool2d(3, 2)]
            nf = nf_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(nf, num_classes, 1))  # one output per class

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.features(x)
        out = self.head(feat)
        return out[torch.arange(x.size(0), device=x.device), labels], feat


# --------------------------------------------------------------------- losses
def content_reconstruction_loss(g: FewShotGenerator, x: torch.Tensor) -> torch.Tensor:
    """Eq. 2: translating x with itself as the only class image reproduces x."""
    return F.l1_loss(g(x, x.unsqueeze(1)), x)


def feature_matching_loss(fake_features: torch.Tensor, class_features: torch.Tensor) -> torch.Tensor:
    """Eq. 3: fake (N, C, h, w) vs the K class images' (N, K, C, h, w), spatially averaged, mean over K."""
    return F.l1_loss(fake_features.mean(dim=(2, 3)), class_features.mean(dim=(3, 4)).mean(dim=1))


def generator_objective(
    g: FewShotGenerator, d: MultiTaskDiscriminator, x: torch.Tensor, class_images: torch.Tensor,
    class_labels: torch.Tensor, config: FUNITConfig = FUNITConfig(),
) -> torch.Tensor:
    """Eq. 1: hinge GAN + λ_R L_R + λ_F L_F, with D judging x̄ as the class of the shots."""
    fake = g(x, class_images)
    score, fake_feat = d(fake, class_labels)
    n, k = class_images.shape[:2]
    _, class_feat = d(class_images.flatten(0, 1), class_labels.repeat_interleave(k))
    class_feat = class_feat.view(n, k, *class_feat.shape[1:])
    return (hinge_generator_loss(score) + config.lambda_rec * content_reconstruction_loss(g, x)
            + config.lambda_fm * feature_matching_loss(fake_feat, class_feat))


def discriminator_objective(
    d: MultiTaskDiscriminator, real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor,
    fake_labels: torch.Tensor,
) -> torch.Tensor:
    """Hinge loss on the labelled class outputs only."""
    return hinge_discriminator_loss(d(real, real_labels)[0], d(fake.detach(), fake_labels)[0])


# --------------------------------------------------------------------- examples
@register_example(covers=[FewShotGenerator, MultiTaskDiscriminator, ActFirstResBlock, content_reconstruction_loss,
                          feature_matching_loss, generator_objective, discriminator_objective])
def funit_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": FewShotGenerator(TINY),
                           "D": MultiTaskDiscriminator(nf=TINY.nf_dis, n_res_blocks=TINY.n_dis_res_blocks,
                                                       num_classes=TINY.num_classes)})
    x = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    shots = torch.rand(2, 3, 3, 16, 16, generator=g) * 2 - 1  # K = 3 images of the target class
    x_labels, shot_labels = torch.tensor([0, 1]), torch.tensor([2, 0])

    def run(m: nn.ModuleDict, x: torch.Tensor, shots: torch.Tensor, x_labels: torch.Tensor, shot_labels):
        fake = m["G"](x, shots)
        d_loss = discriminator_objective(m["D"], x, x_labels, fake, shot_labels)
        return fake, d_loss, generator_objective(m["G"], m["D"], x, shots, shot_labels, TINY)

    return Example(model=model, inputs=(x, shots, x_labels, shot_labels), output_shapes=((2, 3, 16, 16), (), ()),
                   run=run)
