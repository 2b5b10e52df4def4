"""faceswap-GAN: a denoising autoencoder with adversarial losses for face swapping.

Shao-An Lu (shaoanlu/faceswap-GAN), 2018; experiment notes in the seed
notes (``004``). No paper/arXiv id: an open-source project. Catalog id:
``faceswap-gan``.

Implemented, the pieces the project adds to the autoencoder face swap:

* The shared-encoder / per-identity-decoder autoencoder: one encoder for
  faces A and B, one decoder per identity; swapping = encoding a face of A
  and decoding it with B's decoder.
* Self-attention (SAGAN, Zhang et al. 2019, arXiv:1805.08318) in encoder and
  decoder: ``f = W_f x``, ``g = W_g x``, ``h = W_h x`` (1 × 1 convs, C/8,
  C/8, C channels), ``β_{i,j} = softmax_j(g_iᵀ f_j)`` (SAGAN's
  ``β_{j,i} ∝ exp(f(x_i)ᵀ g(x_j))``: g is the query, f the key),
  ``o_i = Σ_j β_{i,j} h_j``, ``y = γ · o + x`` with ``γ`` initialised to 0, so
  the block starts as the identity and learns how much non-local evidence to
  add (``networks/nn_blocks.py``, ``self_attn_block``, and the ``Scale`` layer
  with ``gamma_init='zero'``).
* The masked output: each decoder predicts an RGB face and an alpha mask;
  ``output = mask · generated + (1 − mask) · input``, so only the face region
  the mask selects is replaced.
* Video smoothing: a 1-D constant-position Kalman filter run on each
  coordinate of the per-frame face boxes to remove detector jitter
  (predict ``x⁻ = x``, ``P⁻ = P + Q``; update ``K = P⁻/(P⁻ + R)``,
  ``x = x⁻ + K (z − x⁻)``, ``P = (1 − K) P⁻``).
* Least-squares GAN losses (the notes: "least squares loss function"), as the
  project's ``networks/losses.py`` computes them for ``gan_training="LSGAN"``:
  ``L_D = ½·mean((D(x) − 1)²) + ½·mean(D(G(x))²)``,
  ``L_G = mean((D(G(x)) − 1)²)`` (before its weight ``w_D``).

Official code: shaoanlu/faceswap-GAN (commit 17219d0), Keras. Its models
have no PyTorch counterpart to count against; the standard widths are kept
in ``FaceSwapConfig`` but no count is claimed.

Deviations from the project:

* Channel widths, the up-sampling (nearest + conv instead of pixel shuffle)
  and the discriminator are simplified; perceptual, edge and eye-region
  losses, mixup and landmark inputs are left out.
* Video smoothing: the project's ``converter/kalman_filter.py`` runs OpenCV's
  constant-velocity filter (state x, y, vx, vy; process noise ``noise_coef · I``)
  on box centres; here a constant-position filter runs on each coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class FaceSwapConfig:
    image_size: int = 64  # faceswap-GAN v2 works on 64 × 64 crops (128 in its later variant)
    widths: tuple[int, ...] = (128, 256, 512)  # encoder widths after the stem (v2 encoder)
    latent_channels: int = 512
    kalman_q: float = 1e-2  # process noise: how fast the true box may drift, per frame
    kalman_r: float = 1.0  # measurement noise of the detector, in the same units


TINY = FaceSwapConfig(image_size=16, widths=(8, 16), latent_channels=16)


# --------------------------------------------------------------------- self-attention
class SelfAttention(nn.Module):
    """SAGAN block: (B, C, H, W) → (B, C, H, W), identity at initialisation (γ = 0)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(channels // 8, 1)
        self.f = nn.Conv2d(channels, inner, 1)  # key
        self.g = nn.Conv2d(channels, inner, 1)  # query
        self.h = nn.Conv2d(channels, channels, 1)  # value
        self.gamma = nn.Parameter(torch.zeros(()))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """β (B, HW, HW): β[i, j] = softmax_j(g_i · f_j), the weight output position i gives position j."""
        f, g = self.f(x).flatten(2), self.g(x).flatten(2)  # (B, C/8, HW)
        return torch.softmax(g.transpose(1, 2) @ f, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        o = (self.h(x).flatten(2) @ self.attention(x).transpose(1, 2)).view(b, c, h, w)
        return self.gamma * o + x


# --------------------------------------------------------------------- autoencoder
def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.LeakyReLU(0.1))


class FaceEncoder(nn.Module):
    """Face (B, 3, S, S) → latent (B, L, S/2^(n+1), S/2^(n+1)) for n = len(widths)."""

    def __init__(self, config: FaceSwapConfig = FaceSwapConfig()) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(3, config.widths[0] // 2, stride=2)]
        c = config.widths[0] // 2
        for i, width in enumerate(config.widths):
            layers.append(_conv(c, width, stride=2))
            if i == len(config.widths) - 2:
                layers.append(SelfAttention(width))
            c = width
        layers.append(_conv(c, config.latent_channels))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FaceDecoder(nn.Module):
    """Latent → (RGB face in [−1, 1], alpha mask in [0, 1]) at the input size."""

    def __init__(self, config: FaceSwapConfig = FaceSwapConfig()) -> None:
        super().__init__()
        widths = list(reversed(config.widths))
        layers: list[nn.Module] = []
        c = config.latent_channels
        for i, width in enumerate([*widths, widths[-1] // 2]):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), _conv(c, width)]
            if i == 1:
                layers.append(SelfAttention(width))
            c = width
        self.net = nn.Sequential(*layers)
        self.to_rgb = nn.Conv2d(c, 3, 3, padding=1)
        self.to_mask = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.net(z)
        return torch.tanh(self.to_rgb(x)), torch.sigmoid(self.to_mask(x))


def masked_output(generated: torch.Tensor, mask: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """mask · generated + (1 − mask) · source: keep the source where the mask is 0."""
    return mask * generated + (1 - mask) * source


class FaceSwapGenerator(nn.Module):
    """Shared encoder, decoder per identity; ``forward(x, "B")`` renders x's face as identity B."""

    def __init__(self, config: FaceSwapConfig = FaceSwapConfig(), identities: tuple[str, ...] = ("A", "B")) -> None:
        super().__init__()
        self.encoder = FaceEncoder(config)
        self.decoders = nn.ModuleDict({name: FaceDecoder(config) for name in identities})

    def forward(self, x: torch.Tensor, identity: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rgb, mask = self.decoders[identity](self.encoder(x))
        return masked_output(rgb, mask, x), rgb, mask


def lsgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """½·mean((D(x) − 1)²) + ½·mean(D(G(x))²), the project's LSGAN discriminator loss."""
    return ((real - 1) ** 2).mean() / 2 + (fake**2).mean() / 2


def lsgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """(D(G(x)) − 1)², averaged."""
    return ((fake - 1) ** 2).mean()


# --------------------------------------------------------------------- Kalman smoothing
def kalman_smooth(measurements: torch.Tensor, q: float = 1e-2, r: float = 1.0, p0: float = 1.0) -> torch.Tensor:
    """Constant-position Kalman filter along time, independently per column.

    measurements (T,) or (T, K) (e.g. K = 4 box coordinates per frame) → filtered, same shape.
    The state starts at the first measurement with variance ``p0``.
    """
    z = measurements.unsqueeze(-1) if measurements.dim() == 1 else measurements
    x = z[0].clone()
    p = torch.full_like(x, p0)
    out = [x]
    for t in range(1, z.shape[0]):
        p_pred = p + q  # predict: the position stays, uncertainty grows
        k = p_pred / (p_pred + r)  # gain: trust in the new measurement
        x = x + k * (z[t] - x)
        p = (1 - k) * p_pred
        out.append(x)
    result = torch.stack(out)
    return result.squeeze(-1) if measurements.dim() == 1 else result


# --------------------------------------------------------------------- examples
@register_example(covers=[FaceSwapGenerator, FaceEncoder, FaceDecoder, SelfAttention, masked_output, lsgan_g_loss,
                          lsgan_d_loss])
def faceswap_generator() -> Example:
    g = seeded(0)
    model = FaceSwapGenerator(TINY)
    with torch.no_grad():  # a non-zero γ so the smoke test sees the attention path
        for m in model.modules():
            if isinstance(m, SelfAttention):
                m.gamma.fill_(0.5)
    face_a = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1

    def run(m: FaceSwapGenerator, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        swapped, rgb, mask = m(x, "B")
        recon, _, _ = m(x, "A")
        return swapped, mask, lsgan_g_loss(swapped.mean((1, 2, 3))) + F.l1_loss(recon, x)

    return Example(model=model, inputs=(face_a,), output_shapes=((2, 3, 16, 16), (2, 1, 16, 16), ()), run=run)


@register_example(covers=[kalman_smooth])
def faceswap_kalman() -> Example:
    g = seeded(0)
    boxes = (torch.tensor([10.0, 20.0, 50.0, 60.0]) + torch.randn(12, 4, generator=g)).requires_grad_(True)
    return Example(model=nn.Module(), inputs=(boxes,), output_shapes=((12, 4),),
                   run=lambda _m, b: kalman_smooth(b, TINY.kalman_q, TINY.kalman_r))
