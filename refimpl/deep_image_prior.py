"""Deep Image Prior.

Dmitry Ulyanov, Andrea Vedaldi, Victor Lempitsky. CVPR 2018. arXiv:1711.10925.
Catalog id: ``deep-image-prior``.

Implemented:

* Eq. 2, the parametrisation ``x = f_θ(z)``: a randomly initialised
  convolutional network mapping a **fixed** random code ``z`` (uniform noise
  × 0.1, 32 channels, the image's size) to an image; restoration optimises θ
  only: ``θ* = arg min_θ E(f_θ(z); x₀)``, ``x* = f_θ*(z)``.
* Sec. 3 / supplementary, the encoder–decoder "skip" architecture: at each of
  5 scales a stride-2 conv-BN-LeakyReLU ×2 going down, a 1×1 skip branch
  concatenated with the up-sampled deeper output, then conv 3×3 + conv 1×1
  going up; reflection padding, bilinear up-sampling, sigmoid output.
* Eq. 3–5, the data terms: ``‖x − x₀‖²`` (denoising, with the authors'
  input-noise regularisation ``z + σ_p ε`` at every step) and the masked
  ``‖(x − x₀) ⊙ m‖²`` (inpainting).

Parameter count: the authors' denoising configuration (input 32 channels,
128 down/up channels and 4 skip channels at 5 scales, 3 outputs) has
2,217,831 parameters, summed over the layers of their ``models/skip.py``; tested.

Deviations from the paper:

* The skip concatenation assumes sizes divisible by 2^scales (the authors
  crop mismatched maps); early stopping is left to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class DIPConfig:
    input_depth: int = 32  # supplementary: z has 32 channels
    out_channels: int = 3
    channels_down: tuple[int, ...] = (128,) * 5  # denoising: n_d = 128 at 5 scales
    channels_up: tuple[int, ...] = (128,) * 5  # n_u = 128
    channels_skip: tuple[int, ...] = (4,) * 5  # n_s = 4
    noise_scale: float = 0.1  # z ~ U(0, 1) · 1/10
    reg_noise_std: float = 1.0 / 30  # denoising: σ_p = 1/30
    lr: float = 0.01  # Adam, supplementary


TINY = DIPConfig(input_depth=4, channels_down=(4, 8), channels_up=(4, 8), channels_skip=(2, 2))


def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d((k - 1) // 2), nn.Conv2d(c_in, c_out, k, stride))


def _cba(c_in: int, c_out: int, k: int, stride: int = 1) -> list[nn.Module]:
    return [_conv(c_in, c_out, k, stride), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]


class SkipLevel(nn.Module):
    """One scale: (N, c_in, H, W) → (N, up[i], H, W), recursing into the next scale."""

    def __init__(self, config: DIPConfig, i: int, c_in: int) -> None:
        super().__init__()
        down, up, skip = config.channels_down[i], config.channels_up[i], config.channels_skip[i]
        last = i == len(config.channels_down) - 1
        self.skip = nn.Sequential(*_cba(c_in, skip, 1)) if skip else None
        deeper: list[nn.Module] = [*_cba(c_in, down, 3, 2), *_cba(down, down, 3)]
        if not last:
            deeper.append(SkipLevel(config, i + 1, down))
        deeper.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
        self.deeper = nn.Sequential(*deeper)
        k = down if last else config.channels_up[i + 1]
        self.merge = nn.Sequential(nn.BatchNorm2d(skip + k), *_cba(skip + k, up, 3), *_cba(up, up, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        deep = self.deeper(x)
        if self.skip is not None:
            deep = torch.cat([self.skip(x), deep], 1)
        return self.merge(deep)


class SkipNet(nn.Module):
    """The "skip" encoder–decoder: z (N, input_depth, H, W) → image (N, out, H, W) in (0, 1)."""

    def __init__(self, config: DIPConfig = DIPConfig()) -> None:
        super().__init__()
        self.body = SkipLevel(config, 0, config.input_depth)
        self.head = nn.Sequential(nn.Conv2d(config.channels_up[0], config.out_channels, 1), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(z))


class DeepImagePrior(nn.Module):
    """``f_θ(z)`` with the code z fixed at construction: ``forward()`` takes no image."""

    def __init__(self, size: tuple[int, int], config: DIPConfig = DIPConfig(),
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.net = SkipNet(config)
        z = torch.rand(1, config.input_depth, *size, generator=generator) * config.noise_scale
        self.register_buffer("z", z)  # a buffer: saved and moved with the model, never optimised

    def forward(self, perturbation: torch.Tensor | None = None) -> torch.Tensor:
        """x = f_θ(z + perturbation); pass ``σ_p · ε`` for the denoising regulariser."""
        z = self.z if perturbation is None else self.z + perturbation
        return self.net(z)


def denoising_loss(output: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    """Eq. 3: E(x; x₀) = ‖x − x₀‖² (mean)."""
    return F.mse_loss(output, noisy)


def inpainting_loss(output: torch.Tensor, corrupted: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 5: ‖(x − x₀) ⊙ m‖² with m = 1 on known pixels (mean over all pixels)."""
    return F.mse_loss(output * mask, corrupted * mask)


def fit_step(model: DeepImagePrior, optimizer: torch.optim.Optimizer, target: torch.Tensor,
             reg_noise_std: float = 0.0, generator: torch.Generator | None = None) -> float:
    """One optimisation step of θ on the denoising objective; returns the loss before the step."""
    optimizer.zero_grad()
    perturbation = None
    if reg_noise_std > 0:
        eps = torch.randn(model.z.shape, generator=generator).to(model.z.device)
        perturbation = reg_noise_std * eps
    with torch.enable_grad():  # a training step, whatever the caller's grad mode
        loss = denoising_loss(model(perturbation), target)
        loss.backward()
    optimizer.step()
    return loss.item()


# --------------------------------------------------------------------- examples
@register_example(covers=[DeepImagePrior, SkipNet, SkipLevel, denoising_loss, inpainting_loss])
def deep_image_prior_tiny() -> Example:
    g = seeded(0)
    model = DeepImagePrior((16, 16), TINY, generator=g)
    noisy = torch.rand(1, 3, 16, 16, generator=g)
    mask = (torch.rand(1, 1, 16, 16, generator=g) > 0.5).float()

    def run(m: DeepImagePrior, noisy: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = m()
        return x, denoising_loss(x, noisy) + inpainting_loss(x, noisy, mask)

    return Example(model=model, inputs=(noisy, mask), output_shapes=((1, 3, 16, 16), ()), run=run)


@register_example(covers=[fit_step])
def deep_image_prior_fit() -> Example:
    g = seeded(0)
    model = DeepImagePrior((8, 8), TINY, generator=g)
    target = torch.rand(1, 3, 8, 8, generator=g)

    def run(m: DeepImagePrior, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        snapshot = {k: v.detach().clone() for k, v in m.state_dict().items()}
        fit_step(m, torch.optim.SGD(m.parameters(), lr=0.0), target)  # lr 0: exercises the step, changes nothing
        m.load_state_dict(snapshot)
        return m(), torch.tensor(0.0)

    return Example(model=model, inputs=(target,), output_shapes=((1, 3, 8, 8), ()), run=run)
