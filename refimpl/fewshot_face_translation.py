"""Few-shot face translation GAN ("swap them all").

Shao-An Lu. GitHub project shaoanlu/fewshot-face-translation-GAN, 2019; no
paper or arXiv id. Catalog id: ``fewshot-face-translation-gan``.

Implemented, following the project's description and figures ("Introducing
AdaIN, SPADE"):

* An encoder–decoder generator conditioned on **identity embeddings** from a
  pre-trained face-recognition network: the K target faces' embeddings are
  averaged (few-shot, as in FUNIT's class code) and L2-normalised, and an MLP
  turns the result into AdaIN parameters (``refimpl.munit.adaptive_instance_norm``,
  built on ``refimpl.adain``).
* **SPADE** layers (``refimpl.spade.SPADE``) in the decoder, modulated by the
  source face's semantic map (face-parsing segmentation), to keep pose,
  expression and layout; identity comes only through AdaIN.
* The two losses the project's README names for training: reconstruction of
  the (blurred) input face and the cosine distance between latent
  embeddings; the weights 1 and 0.1 are this module's choice (the training
  code is not released).

Official code: shaoanlu/fewshot-face-translation-GAN (commit 7a285b7), Keras,
inference only. Its generator (``networks/generator.py``, ``networks/nn_blocks.py``)
is: an encoder on the concatenated source, reference and segmentation images
(3 + 3 + 3 channels, 224²) with four stride-2 convs 64 → 128 → 256 → 512 to 14²;
a decoder whose identity path is a 512 → 256 → 256 → 256 MLP feeding two
AdaIN residual blocks at 512 channels (separate 1 × 1 maps for σ and μ,
reflect padding, ReLU), then the embedding broadcast and concatenated,
nearest up-sampling stages 512 → 256 → 128 → 64 with SPADE residual blocks
(hidden width 128) at 28² and 56², down-sampled copies of the input
concatenated as skips, and a 4 × 4 tanh conv. Parameter count: none tested
(no PyTorch counterpart of those Keras layers is built here).

Deviations from the project:

* The generator is a simplified stand-in for the official one described
  above: SPADE and AdaIN are combined in each bottleneck block (the official
  code uses separate AdaIN blocks at the bottleneck and SPADE blocks while
  up-sampling), activations are LeakyReLU(0.2), the encoder sees only the
  masked source, and there are no input skips or embedding concatenation.
* The Res2Net variant of the SPADE blocks is replaced by plain residual
  blocks; the relativistic-distance, hair-consistency, cycle, perceptual and
  adversarial terms (two discriminators) are omitted.
* The face-recognition network is any module mapping images to embeddings;
  pre-trained weights (e.g. IR-50 or FaceNet) are optional and not bundled.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .munit import MLP, adaptive_instance_norm, conv_block, instance_norm
from .registry import Example, register_example, seeded
from .spade import SPADE


@dataclass(frozen=True)
class FaceTranslationConfig:
    latent_dim: int = 512  # models.py: LATENT_DIM = 512 (face-recognition embedding)
    input_size: int = 224  # models.py: INPUT_SIZE = 224
    nf: int = 64  # encoder base width (illustrative)
    n_down: int = 3  # encoder down-samplings (illustrative)
    n_blocks: int = 2  # SPADE-AdaIN residual blocks at the bottleneck (illustrative)
    seg_nc: int = 19  # face-parsing classes (e.g. CelebAMask-HQ)
    mlp_dim: int = 256  # nn_blocks.py: embddding_fc_block, Dense(256) × 3
    spade_hidden: int = 128  # nn_blocks.py: SPADE's shared conv has 128 channels
    w_recon: float = 1.0  # reconstruction weight (illustrative; no training code released)
    w_emb: float = 0.1  # embedding cosine-distance weight (illustrative)


TINY = FaceTranslationConfig(latent_dim=6, input_size=16, nf=2, n_down=2, n_blocks=1, seg_nc=3, mlp_dim=8,
                             spade_hidden=4)


# --------------------------------------------------------------------- blocks
class SPADEAdaINBlock(nn.Module):
    """Residual block: [SPADE(seg) → AdaIN(identity) → LeakyReLU → conv] × 2, added to x.

    x (N, C, H, W), seg (N, L, H', W'), params (N, 4C) = [β₁, γ₁, β₂, γ₂] → (N, C, H, W).
    """

    def __init__(self, dim: int, seg_nc: int, hidden: int = 128) -> None:
        super().__init__()
        self.dim = dim
        self.spade1 = SPADE(dim, seg_nc, hidden=hidden)
        self.spade2 = SPADE(dim, seg_nc, hidden=hidden)
        self.conv1 = nn.Conv2d(dim, dim, 3, padding=1)
        self.conv2 = nn.Conv2d(dim, dim, 3, padding=1)

    @property
    def num_adain_params(self) -> int:
        return 4 * self.dim

    def forward(self, x: torch.Tensor, seg: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        b1, g1, b2, g2 = params.split(self.dim, dim=1)
        # SPADE injects where things are; AdaIN re-normalises per channel and injects who it is.
        h = self.conv1(F.leaky_relu(adaptive_instance_norm(self.spade1(x, seg), g1, b1), 0.2))
        h = self.conv2(F.leaky_relu(adaptive_instance_norm(self.spade2(h, seg), g2, b2), 0.2))
        return x + h


def identity_code(embeddings: torch.Tensor) -> torch.Tensor:
    """K target embeddings (N, K, D) → one unit-norm identity code (N, D): mean over shots, then L2."""
    return F.normalize(embeddings.mean(dim=1), dim=1)


# --------------------------------------------------------------------- generator
class FaceTranslationGenerator(nn.Module):
    """(masked source face (N, 3, H, W), source semantic map (N, L, H, W), K target embeddings (N, K, D))
    → translated face (N, 3, H, W)."""

    def __init__(self, config: FaceTranslationConfig = FaceTranslationConfig()) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_block(3, config.nf, 7, 1, 3, instance_norm)]
        dim = config.nf
        for _ in range(config.n_down):
            layers.append(conv_block(dim, dim * 2, 4, 2, 1, instance_norm))
            dim *= 2
        self.encoder = nn.Sequential(*layers)
        self.blocks = nn.ModuleList(SPADEAdaINBlock(dim, config.seg_nc, config.spade_hidden)
                                    for _ in range(config.n_blocks))
        self.mlp = MLP(config.latent_dim, sum(b.num_adain_params for b in self.blocks), config.mlp_dim)
        ups: list[nn.Module] = []
        for _ in range(config.n_down):
            ups += [nn.Upsample(scale_factor=2, mode="nearest"), conv_block(dim, dim // 2, 5, 1, 2, instance_norm)]
            dim //= 2
        ups.append(conv_block(dim, 3, 7, 1, 3, None, nn.Tanh()))
        self.decoder = nn.Sequential(*ups)

    def forward(self, source: torch.Tensor, seg: torch.Tensor, target_embeddings: torch.Tensor) -> torch.Tensor:
        params = self.mlp(identity_code(target_embeddings))
        x = self.encoder(source)
        for block, p in zip(self.blocks, params.split([b.num_adain_params for b in self.blocks], dim=1),
                            strict=True):
            x = block(x, seg, p)
        return self.decoder(x)


# --------------------------------------------------------------------- losses
def embedding_loss(output_embedding: torch.Tensor, target_code: torch.Tensor) -> torch.Tensor:
    """1 − cos(emb(G(·)), identity code): 0 when the output has the target identity."""
    return (1 - F.cosine_similarity(output_embedding, target_code, dim=1)).mean()


def generator_loss(
    g: FaceTranslationGenerator, recognizer: nn.Module, source: torch.Tensor, seg: torch.Tensor,
    target: torch.Tensor, target_embeddings: torch.Tensor, config: FaceTranslationConfig = FaceTranslationConfig(),
) -> torch.Tensor:
    """w_recon · ‖G(x, m, e) − y‖₁ + w_emb · (1 − cos(R(G(x, m, e)), code)); y is the unmasked face."""
    out = g(source, seg, target_embeddings)
    return (config.w_recon * F.l1_loss(out, target)
            + config.w_emb * embedding_loss(recognizer(out), identity_code(target_embeddings)))


# --------------------------------------------------------------------- examples
@register_example(covers=[FaceTranslationGenerator, SPADEAdaINBlock, identity_code, embedding_loss, generator_loss])
def fewshot_face_translation_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({
        "G": FaceTranslationGenerator(TINY),
        # A stand-in face-recognition network; frozen, as a pre-trained one would be.
        "R": nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                           nn.Linear(4, TINY.latent_dim)).requires_grad_(False),
    })
    face = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    seg = F.one_hot(torch.randint(0, TINY.seg_nc, (2, 16, 16), generator=g), TINY.seg_nc).permute(0, 3, 1, 2).float()
    shots = torch.randn(2, 3, TINY.latent_dim, generator=g)  # K = 3 target embeddings

    def run(m: nn.ModuleDict, face: torch.Tensor, seg: torch.Tensor, shots: torch.Tensor):
        masked = face * (seg[:, :1] == 0)  # the face region hidden from the encoder, as in training
        return m["G"](masked, seg, shots), generator_loss(m["G"], m["R"], masked, seg, face, shots, TINY)

    return Example(model=model, inputs=(face, seg, shots), output_shapes=((2, 3, 16, 16), ()), run=run)
