"""Two ways to squeeze a face encoder to a 1×1 code: a Dense(1024) bottleneck, or stride-2 convs.

An experiment finding of the face-swap notes. Catalog id:
``dense-bottleneck-encoder``. The notes first held that flattening the conv
features into ``Dense(1024)`` is crucial for learning a face representation
(citing arXiv:1706.02932, Sec. 3.1), then struck that out: "similar results
can be achieved by replacing the Dense layer with Conv2D strides 2 layers
(shrinking feature map to 1x1)".

Implemented:

* ``DenseBottleneckEncoder``: the deepfakes / faceswap autoencoder's encoder:
  stride-2 5×5 convs (LeakyReLU 0.1), flatten, ``Dense(1024)``, then
  ``Dense(4·4·1024)`` reshaped to a 4×4 map and upscaled for the decoder.
  The 1024-d vector is the code.
* ``StridedBottleneckEncoder``: the same conv trunk followed by further
  stride-2 convs until the map is 1×1 with 1024 channels: the same code size
  without a fully connected layer.
* ``bottleneck_code``: the code (N, 1024) either encoder produces.

Official preset: the original faceswap ``Model.py`` (64×64 input, convs of
128/256/512/1024 channels, ``Dense(1024)``, ``Dense(4·4·1024)``) is
``FACESWAP``; without the final upscale block its encoder has 50,786,560
parameters (convs 17,214,720, ``Dense(1024)`` 16,778,240, ``Dense(16384)``
16,793,600, counted by hand from the layer shapes).

Deviations: the upscale block (conv + pixel shuffle) after the reshape is
left to the decoder; the strided variant's kernel sizes are 4×4 with
padding 1 (exact halving), the notes give no sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class BottleneckConfig:
    image_size: int = 64  # faceswap Model.py: IMAGE_SHAPE = (64, 64, 3)
    widths: tuple[int, ...] = (128, 256, 512, 1024)  # faceswap Model.py: conv(128) … conv(1024)
    code_dim: int = 1024  # faceswap Model.py: ENCODER_DIM = 1024, the Dense(1024) of the notes
    reshape_size: int = 4  # faceswap Model.py: Dense(4 * 4 * 1024), Reshape((4, 4, 1024))


FACESWAP = BottleneckConfig()
TINY = BottleneckConfig(image_size=16, widths=(4, 8), code_dim=16, reshape_size=2)


def _down(c_in: int, c_out: int, kernel: int = 5) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride=2, padding=(kernel - 1) // 2), nn.LeakyReLU(0.1))


def _trunk(config: BottleneckConfig) -> tuple[nn.Sequential, int, int]:
    layers, c = [], 3
    for w in config.widths:
        layers.append(_down(c, w))
        c = w
    return nn.Sequential(*layers), c, config.image_size // 2 ** len(config.widths)


class DenseBottleneckEncoder(nn.Module):
    """Convs -> flatten -> Dense(code) (the code) -> Dense(r·r·code) -> (N, code, r, r)."""

    def __init__(self, config: BottleneckConfig = FACESWAP) -> None:
        super().__init__()
        self.config = config
        self.trunk, c, side = _trunk(config)
        self.to_code = nn.Linear(c * side * side, config.code_dim)
        self.from_code = nn.Linear(config.code_dim, config.reshape_size ** 2 * config.code_dim)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.trunk(x).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.config.reshape_size
        return self.from_code(self.code(x)).view(x.shape[0], self.config.code_dim, r, r)


class StridedBottleneckEncoder(nn.Module):
    """Convs -> more stride-2 convs until 1×1 with ``code`` channels: (N, code, 1, 1)."""

    def __init__(self, config: BottleneckConfig = FACESWAP) -> None:
        super().__init__()
        self.trunk, c, side = _trunk(config)
        steps = int(math.log2(side))
        if 2 ** steps != side:
            raise ValueError(f"the trunk leaves a {side}×{side} map; stride-2 convs need a power of two")
        layers = []
        for _ in range(steps):
            layers.append(nn.Sequential(nn.Conv2d(c, config.code_dim, 4, stride=2, padding=1), nn.LeakyReLU(0.1)))
            c = config.code_dim
        self.squeeze = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.squeeze(self.trunk(x))


def bottleneck_code(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The (N, code) vector of either encoder."""
    if isinstance(encoder, DenseBottleneckEncoder):
        return encoder.code(x)
    return encoder(x).flatten(1)


@register_example(covers=[DenseBottleneckEncoder, StridedBottleneckEncoder, bottleneck_code])
def bottleneck_encoders_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"dense": DenseBottleneckEncoder(TINY), "strided": StridedBottleneckEncoder(TINY)})

    def run(m: nn.ModuleDict, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return m["dense"](x), bottleneck_code(m["strided"], x)

    return Example(model=model, inputs=(torch.rand(2, 3, 16, 16, generator=g),),
                   output_shapes=((2, 16, 2, 2), (2, 16)), run=run)
