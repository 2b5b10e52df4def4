"""Why instance and batch normalisation lose skin tone: per-image colour statistics are divided out.

An experiment finding of the face-swap notes, no paper. Catalog id:
``norm-skin-color-inconsistency`` ("BatchNorm/InstanceNorm caused
input/output skin colour inconsistency when the two training sets had
different skin colour distributions").

Implemented:

* ``skin_tone_shift``: a per-channel affine colour change ``gain_c · x + bias_c``
  of a face (a lighter or darker, warmer or cooler skin tone).
* ``instance_norm_features`` / ``batch_norm_features``: the normalisation
  layers of Ulyanov et al. 2016 and Ioffe & Szegedy 2015 (``nn.InstanceNorm2d``
  and ``nn.BatchNorm2d`` in training mode) applied to a conv feature map.
* The finding as a property: instance norm maps two faces that differ only
  by ``skin_tone_shift`` (with positive gains) to the same features, so the
  decoder cannot know which tone to reproduce; batch norm does the same for
  a batch whose faces all share one tone shift (one identity's data set),
  and a layer without normalisation keeps the difference.

Official code: none released; the finding comes from the notes' own
face-swap experiments, which report it without numbers, so the tests pin the
property (tone erased or kept) on worked inputs.

Parameter count: none beyond a conv stem (``NormalisedStem``: 6 for the 1×1
depthwise conv, plus 6 for the affine of either norm layer).

Deviations: the notes' remedy is not stated; only the cause is demonstrated.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import Example, register_example, seeded


def skin_tone_shift(image: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``gain_c · x + bias_c`` per colour channel: image (N, 3, H, W), gain and bias (3,)."""
    return image * gain.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


class NormalisedStem(nn.Module):
    """A per-channel colour scale (1×1 depthwise) followed by a normalisation layer, or none."""

    def __init__(self, norm: str = "instance", channels: int = 3) -> None:
        super().__init__()
        self.scale = nn.Conv2d(channels, channels, 1, groups=channels)  # keeps channels separate, as tone is
        layers = {"instance": nn.InstanceNorm2d(channels, affine=True), "batch": nn.BatchNorm2d(channels),
                  "none": nn.Identity()}
        self.norm = layers[norm]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.scale(x))


def instance_norm_features(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each image and channel to zero mean and unit variance over H, W."""
    return nn.functional.instance_norm(x, eps=eps)


def batch_norm_features(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each channel to zero mean and unit variance over the batch and H, W (training statistics)."""
    return nn.functional.batch_norm(x, None, None, training=True, eps=eps)


@register_example(covers=[NormalisedStem, skin_tone_shift, instance_norm_features, batch_norm_features])
def norm_discards_skin_tone() -> Example:
    g = seeded(0)
    model = NormalisedStem("instance")
    face = torch.rand(2, 3, 8, 8, generator=g)
    darker = skin_tone_shift(face, torch.tensor([0.8, 0.7, 0.6]), torch.tensor([0.05, 0.0, -0.02]))

    def run(m: NormalisedStem, face: torch.Tensor, darker: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return m(face), m(darker), instance_norm_features(face), batch_norm_features(darker)

    return Example(model=model, inputs=(face, darker), output_shapes=((2, 3, 8, 8),) * 4, run=run)
