"""PFLD: A Practical Facial Landmark Detector.

Xiaojie Guo, Siyuan Li, Jinke Yu, Jiawan Zhang, Jiayi Ma, Lin Ma, Wei Liu,
Haibin Ling. arXiv:1902.10859 (2019). Catalog id: ``pfld``.

Implemented:

* Eq. 2, the loss: ``L = 1/M Σ_m Σ_n (Σ_c ω_n^c Σ_k (1 − cos θ_n^k)) ‖d_n^m‖²``
  over M samples and N landmarks, with K = 3 Euler angles (yaw, pitch, roll)
  θ^k the deviation between the estimated and ground-truth angles, and
  ω^c the weight of each attribute class the sample belongs to (profile,
  frontal, head up, head down, expression, occlusion), the reciprocal of
  that class's fraction of the (batch's) samples, as in the widely used
  PyTorch port polarisZhao/PFLD-pytorch (``pfld/loss.py``). A sample
  weighs ``Σ_c a^c ω^c`` over the classes it belongs to, so a sample in no
  class contributes nothing (as in the port).
* Table 1 / the backbone: a MobileNetV2-style network of inverted residual
  blocks (1 × 1 expand → 3 × 3 depthwise → 1 × 1 linear projection, residual
  when shapes match) on a 112 × 112 face; multi-scale fully-connected fusion
  of three features (14 × 14 average-pooled, 7 × 7 average-pooled and a
  7 × 7 conv to 1 × 1) into the 2 × 98 landmark coordinates.
* Fig. 2 / Table 2, the auxiliary network: from the backbone's 28 × 28
  features, four conv layers, max-pooling and two FC layers regress the
  three Euler angles; used in training only.

Official preset: ``OFFICIAL = PFLDConfig()``, the port's layer definitions
(``models/pfld.py``, commit b00750c37deaf5d133933d080d4b7a6421826812): on a
112 × 112 face the backbone gives the (64, 28, 28) features and 196 values,
the auxiliary net 3 angles. Its loss takes columns 1–5 of WFLW's six
attribute flags (pose, expression, illumination, make-up, occlusion, blur:
it drops pose; ``OFFICIAL_ATTRIBUTE_COLUMNS``), and weighs a class absent
from the batch by the configured batch size 256 (``train.py``
``--train_batchsize``), passed here as ``fallback_weight`` (it never changes
the loss: no sample of the batch carries an absent class).

Parameter count: the standard backbone (``PFLDConfig()``, 98 landmarks) has
1,264,804 parameters and the auxiliary network 463,811, the sums over the
layer definitions of polarisZhao/PFLD-pytorch's ``models/pfld.py``
(``PFLDInference``: stem 38,848 + 5 × 18,176 (64→64, t = 2) + 26,496
(64→128) + 6 × 137,984 (128→128, t = 4) + 40,224 (128→16) + 4,672 (conv7)
+ 200,832 (conv8) + 256 (bn8) + 34,692 (fc 176→196); ``AuxiliaryNet``:
73,984 + 147,712 + 36,928 + 200,960 + 4,128 + 99); tested.

Deviations from the paper:

* Widths and block counts follow the PyTorch port (the paper's Table 1
  lists 64-channel stages at ×0.25/1.0 multipliers without every detail).
* When an attribute class is absent from the batch its weight is the batch
  size (the port's choice, a finite stand-in for 1/0): by default the
  actual batch's size, the port's configured batch size via
  ``fallback_weight``.
* The attribute classes are whatever indicator columns the caller passes:
  the paper's six (profile, frontal, head up, head down, expression,
  occlusion) or the port's five WFLW flags.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class PFLDConfig:
    num_landmarks: int = 98  # WFLW: 98 landmarks
    image_size: int = 112  # 112 × 112 input
    width: int = 64  # stem and stage-3 channels (port: 64)
    mid_width: int = 128  # stage-4/5 channels (port: 128)
    low_width: int = 16  # conv6_1 output, the 14 × 14 scale (port: 16)
    s2_width: int = 32  # conv7 output, the 7 × 7 scale (port: 32)
    s3_width: int = 128  # conv8 output, the 1 × 1 scale (port: 128)
    stage3_blocks: int = 4  # residual blocks after conv3_1 (port: block3_2..3_5)
    stage5_blocks: int = 5  # residual blocks after conv5_1 (port: block5_2..5_6)
    aux_widths: tuple[int, int, int, int] = (128, 128, 32, 128)  # auxiliary convs (port)
    aux_hidden: int = 32  # auxiliary FC width (port)


OFFICIAL = PFLDConfig()  # polarisZhao/PFLD-pytorch models/pfld.py
OFFICIAL_ATTRIBUTE_COLUMNS = slice(1, 6)  # pfld/loss.py: attribute_gt[:, 1:6] (WFLW flags without pose)
OFFICIAL_FALLBACK_WEIGHT = 256.0  # train.py --train_batchsize: the weight of a class absent from the batch
TINY = PFLDConfig(num_landmarks=5, image_size=32, width=8, mid_width=16, low_width=4, s2_width=8, s3_width=8,
                  stage3_blocks=1, stage5_blocks=1, aux_widths=(8, 8, 4, 8), aux_hidden=4)


# --------------------------------------------------------------------- blocks
def conv_bn(c_in: int, c_out: int, kernel: int, stride: int, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expand (×t) → 3×3 depthwise (stride) → 1×1 linear projection."""

    def __init__(self, c_in: int, c_out: int, stride: int, residual: bool, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        if residual and (stride != 1 or c_in != c_out):
            raise ValueError("a residual block keeps shape: stride 1 and c_in == c_out")
        self.residual = residual
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out),  # linear bottleneck: no ReLU
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


# --------------------------------------------------------------------- networks
class PFLDBackbone(nn.Module):
    """Face (N, 3, S, S) → (features (N, width, S/4, S/4) for the auxiliary net, landmarks (N, 2L))."""

    def __init__(self, config: PFLDConfig = PFLDConfig()) -> None:
        super().__init__()
        w, m = config.width, config.mid_width
        self.stem = nn.Sequential(conv_bn(3, w, 3, 2), conv_bn(w, w, 3, 1))  # S/2
        self.stage3 = nn.Sequential(InvertedResidual(w, w, 2, False, 2),  # S/4
                                    *(InvertedResidual(w, w, 1, True, 2) for _ in range(config.stage3_blocks)))
        self.stage45 = nn.Sequential(
            InvertedResidual(w, m, 2, False, 2),  # S/8
            InvertedResidual(m, m, 1, False, 4),
            *(InvertedResidual(m, m, 1, True, 4) for _ in range(config.stage5_blocks)),
            InvertedResidual(m, config.low_width, 1, False, 2),  # scale 1: S/8 (14 × 14)
        )
        self.conv7 = conv_bn(config.low_width, config.s2_width, 3, 2)  # scale 2: S/16 (7 × 7)
        final = config.image_size // 16
        self.conv8 = nn.Conv2d(config.s2_width, config.s3_width, final, 1, 0)  # scale 3: 1 × 1
        self.bn8 = nn.BatchNorm2d(config.s3_width)  # defined but unused in the port's forward; kept for the count
        self.fc = nn.Linear(config.low_width + config.s2_width + config.s3_width, 2 * config.num_landmarks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.stage3(self.stem(x))
        s1 = self.stage45(features)
        s2 = self.conv7(s1)
        s3 = torch.relu(self.conv8(s2))
        fused = torch.cat([s1.mean((2, 3)), s2.mean((2, 3)), s3.flatten(1)], dim=1)  # multi-scale fusion
        return features, self.fc(fused)


class AuxiliaryNet(nn.Module):
    """Backbone features (N, width, S/4, S/4) → Euler angles (N, 3) (yaw, pitch, roll)."""

    def __init__(self, config: PFLDConfig = PFLDConfig()) -> None:
        super().__init__()
        a1, a2, a3, a4 = config.aux_widths
        final = config.image_size // 16  # 7 for 112
        self.convs = nn.Sequential(conv_bn(config.width, a1, 3, 2), conv_bn(a1, a2, 3, 1), conv_bn(a2, a3, 3, 2),
                                   conv_bn(a3, a4, final, 1))  # 7×7 kernel, padding 1: 7 → 3
        self.pool = nn.AdaptiveMaxPool2d(1)  # the port's MaxPool2d(3) on the 3 × 3 map
        self.fc = nn.Sequential(nn.Linear(a4, config.aux_hidden), nn.Linear(config.aux_hidden, 3))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.convs(features)).flatten(1))


# --------------------------------------------------------------------- loss
def attribute_weights(attributes: torch.Tensor, fallback_weight: float | None = None) -> torch.Tensor:
    """ω^c: reciprocal of each attribute class's fraction in the batch; attributes (M, C) in {0, 1}.

    A class absent from the batch weighs ``fallback_weight`` (default: the batch size M).
    """
    fraction = attributes.float().mean(dim=0)
    fill = float(attributes.shape[0]) if fallback_weight is None else float(fallback_weight)
    fallback = torch.full_like(fraction, fill)
    return torch.where(fraction > 0, 1.0 / fraction.clamp_min(1e-12), fallback)


def pfld_loss(landmarks: torch.Tensor, landmarks_gt: torch.Tensor, angles: torch.Tensor, angles_gt: torch.Tensor,
              attributes: torch.Tensor, class_weights: torch.Tensor | None = None,
              fallback_weight: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 2: mean_m (Σ_c ω^c a_m^c) (Σ_k (1 − cos(θ̂_m^k − θ_m^k))) Σ_n ‖d_n^m‖².

    landmarks, landmarks_gt (M, 2N); angles, angles_gt (M, 3) in radians;
    attributes (M, C) indicator of the sample's classes. Returns (weighted
    loss, plain mean squared landmark distance), the second for monitoring.
    """
    weights = attribute_weights(attributes, fallback_weight) if class_weights is None else class_weights
    w_attr = (attributes.float() * weights).sum(dim=1)
    w_angle = (1.0 - torch.cos(angles - angles_gt)).sum(dim=1)
    l2 = ((landmarks - landmarks_gt) ** 2).sum(dim=1)
    return (w_attr * w_angle * l2).mean(), l2.mean()


# --------------------------------------------------------------------- examples
@register_example(covers=[PFLDBackbone, AuxiliaryNet, InvertedResidual, pfld_loss, attribute_weights])
def pfld_training_step() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"backbone": PFLDBackbone(TINY), "aux": AuxiliaryNet(TINY)})
    face = torch.rand(2, 3, 32, 32, generator=g)
    lm_gt = torch.rand(2, 10, generator=g)
    ang_gt = torch.rand(2, 3, generator=g)
    attrs = torch.tensor([[1.0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 1, 0]])

    def run(m: nn.ModuleDict, face: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features, landmarks = m["backbone"](face)
        angles = m["aux"](features)
        dev = face.device
        loss, _ = pfld_loss(landmarks, lm_gt.to(dev), angles, ang_gt.to(dev), attrs.to(dev))
        return landmarks, angles, loss

    return Example(model=model, inputs=(face,), output_shapes=((2, 10), (2, 3), ()), run=run,
                   no_grad=("backbone.bn8",))
