"""Pixel Distillation: A New Knowledge Distillation Scheme for Low-Resolution Image Recognition.

Guangyu Guo, Longfei Han, Junwei Han, Dingwen Zhang. 2021. arXiv:2112.09532.
Catalog id: ``pixel-distillation``.

The Teacher–Assistant–Student scheme, at toy size:

* **Teacher → assistant** (model compression, both on the high-resolution input
  ``x``): the assistant has the student's small architecture and learns from
  the frozen teacher with cross-entropy plus logit distillation,
  ``L_KD = T² · KL(softmax(z_t/T) ‖ softmax(z_a/T))``.
* **Assistant → student** (input compression): the student sees the
  low-resolution input ``x↓ = down_r(x)``. An input-resolution adapter (a 1×1
  convolution to the assistant's width and a bilinear up-sampling by ``r``)
  maps the student's low-resolution feature map to the assistant's
  resolution, and the pixel-level distillation loss aligns it, position by
  position, with the frozen assistant's high-resolution feature map:
  ``L_pix = mean_{c,h,w} (Up_r(A(f_s(x↓))) − f_a(x))²``.
  The student's loss is ``CE + L_KD(assistant → student) + λ · L_pix``.

Official preset: none; the catalog links no official code. Channel widths,
``r``, ``T`` and ``λ`` are my choice.

Deviations from the paper:

* Teacher, assistant and student are small CNNs (a strided stem, one
  convolution, global pooling and a linear classifier), not the paper's
  ResNet/MobileNet backbones.
* The adapter is a 1×1 convolution plus bilinear up-sampling; the paper's
  input spatial-representation module is a learned decoder. The low-resolution
  input is made with area down-sampling (my choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class PixelDistillationConfig:
    classes: int = 10
    teacher_width: int = 32  # my choice
    student_width: int = 8  # the assistant shares it (the assistant is the student's architecture)
    scale: int = 4  # r: the student's input is 1/r of the teacher's per side (my choice)
    temperature: float = 4.0  # T of logit distillation (my choice)
    pixel_weight: float = 1.0  # λ of L_pix (my choice)


TINY = PixelDistillationConfig(classes=5, teacher_width=16, student_width=4, scale=2)


# --------------------------------------------------------------------- blocks
class ConvClassifier(nn.Module):
    """Stem (stride 2) → conv → feature map (N, width, H/2, W/2) → pooled linear logits."""

    def __init__(self, width: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return f, self.head(f.mean(dim=(2, 3)))


class ResolutionAdapter(nn.Module):
    """Student features (N, Cs, h, w) → (N, Ca, r·h, r·w): 1×1 convolution, bilinear up-sampling by r."""

    def __init__(self, in_channels: int, out_channels: int, scale: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, out_channels, 1)
        self.scale = scale

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.proj(f), scale_factor=self.scale, mode="bilinear", align_corners=False)


# --------------------------------------------------------------------- losses
def logit_distillation(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))``, averaged over the batch."""
    log_p_s = F.log_softmax(student / temperature, dim=-1)
    log_p_t = F.log_softmax(teacher / temperature, dim=-1)
    return temperature**2 * (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1).mean()


def pixel_distillation_loss(student_up: torch.Tensor, assistant: torch.Tensor) -> torch.Tensor:
    """``L_pix``: mean squared difference per channel and position; the assistant's map is a fixed target."""
    return (student_up - assistant.detach()).pow(2).mean()


def downsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-resolution input: area down-sampling by ``scale`` per side."""
    return F.avg_pool2d(x, scale)


# --------------------------------------------------------------------- the scheme
class TeacherAssistantStudent(nn.Module):
    """Teacher (frozen), assistant and student with the input-resolution adapter."""

    def __init__(self, config: PixelDistillationConfig = TINY) -> None:
        super().__init__()
        self.config = config
        self.teacher = ConvClassifier(config.teacher_width, config.classes).requires_grad_(False)
        self.assistant = ConvClassifier(config.student_width, config.classes)
        self.student = ConvClassifier(config.student_width, config.classes)
        self.adapter = ResolutionAdapter(config.student_width, config.student_width, config.scale)

    def assistant_loss(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Stage 1, on the high-resolution input: CE + L_KD(teacher → assistant)."""
        with torch.no_grad():
            _, z_t = self.teacher(x)
        _, z_a = self.assistant(x)
        return F.cross_entropy(z_a, labels) + logit_distillation(z_a, z_t, self.config.temperature)

    def student_loss(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage 2: the student sees ``down_r(x)``; returns (total loss, L_pix)."""
        with torch.no_grad():
            f_a, z_a = self.assistant(x)
        f_s, z_s = self.student(downsample(x, self.config.scale))
        pix = pixel_distillation_loss(self.adapter(f_s), f_a)
        total = (F.cross_entropy(z_s, labels) + logit_distillation(z_s, z_a, self.config.temperature)
                 + self.config.pixel_weight * pix)
        return total, pix

    def forward(self, x_low: torch.Tensor) -> torch.Tensor:
        """Inference: the student alone on a low-resolution input → logits."""
        return self.student(x_low)[1]


# --------------------------------------------------------------------- examples
@register_example(covers=[TeacherAssistantStudent, ConvClassifier, ResolutionAdapter, logit_distillation,
                          pixel_distillation_loss, downsample])
def pixel_distillation_tas() -> Example:
    g = seeded(0)
    tas = TeacherAssistantStudent(TINY)
    x = torch.randn(3, 3, 16, 16, generator=g)
    labels = torch.tensor([0, 3, 4])

    def run(m: TeacherAssistantStudent, hr: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = labels.to(hr.device)
        total, pix = m.student_loss(hr, y)
        return m.assistant_loss(hr, y), total, pix, m(downsample(hr, TINY.scale))

    return Example(model=tas, inputs=(x,), output_shapes=((), (), (), (3, 5)), run=run)
