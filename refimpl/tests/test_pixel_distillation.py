"""Pixel Distillation (arXiv:2112.09532): teacher → assistant → low-resolution student."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from refimpl.pixel_distillation import (
    TINY,
    ConvClassifier,
    PixelDistillationConfig,
    ResolutionAdapter,
    TeacherAssistantStudent,
    downsample,
    logit_distillation,
    pixel_distillation_loss,
)

D = torch.float64


def test_defaults() -> None:
    c = PixelDistillationConfig()
    # All my choice (no official code): widths, r, T, λ.
    assert (c.classes, c.teacher_width, c.student_width) == (10, 32, 8)
    assert (c.scale, c.temperature, c.pixel_weight) == (4, 4.0, 1.0)
    assert (TINY.classes, TINY.teacher_width, TINY.student_width, TINY.scale) == (5, 16, 4, 2)


def test_logit_distillation_by_hand() -> None:
    s = torch.tensor([[0.0, 0.0]], dtype=D)
    t = torch.tensor([[math.log(3.0), 0.0]], dtype=D)
    kl_t1 = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert math.isclose(logit_distillation(s, t, 1.0).item(), kl_t1, rel_tol=1e-12)
    # T = 2: teacher probabilities √3/(√3+1), 1/(√3+1); the loss is scaled by T² = 4.
    p = math.sqrt(3) / (math.sqrt(3) + 1)
    kl_t2 = p * math.log(p / 0.5) + (1 - p) * math.log((1 - p) / 0.5)
    assert math.isclose(logit_distillation(s, t, 2.0).item(), 4 * kl_t2, rel_tol=1e-12)
    # Averaged over the batch, not summed: a second, identical pair leaves it unchanged.
    assert math.isclose(logit_distillation(s.repeat(2, 1), t.repeat(2, 1), 1.0).item(), kl_t1, rel_tol=1e-12)


def test_pixel_loss_by_hand_and_the_target_is_fixed() -> None:
    s = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=D, requires_grad=True)
    a = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]], dtype=D, requires_grad=True)
    loss = pixel_distillation_loss(s, a)
    assert math.isclose(loss.item(), (0 + 4 + 9 + 16) / 4, rel_tol=1e-12)
    loss.backward()
    assert a.grad is None
    torch.testing.assert_close(s.grad, 2 * (s - a).detach() / 4)


def test_adapter_upsamples_bilinearly_by_r() -> None:
    adapter = ResolutionAdapter(1, 1, scale=2).double()
    with torch.no_grad():
        adapter.proj.weight.fill_(1.0)
        adapter.proj.bias.zero_()
    out = adapter(torch.tensor([[[[0.0, 1.0]]]], dtype=D))
    assert out.shape == (1, 1, 2, 4)
    # Half-pixel bilinear (align_corners=False): 0, 0.25, 0.75, 1 along the row.
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0.0, 0.25, 0.75, 1.0], dtype=D))


def test_downsample_is_the_block_mean() -> None:
    x = torch.arange(16, dtype=D).view(1, 1, 4, 4)
    torch.testing.assert_close(downsample(x, 2)[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]], dtype=D))


def _tas() -> TeacherAssistantStudent:
    torch.manual_seed(0)
    return TeacherAssistantStudent(TINY).double()


def test_upsampled_student_features_match_the_assistant_resolution() -> None:
    tas = _tas()
    x = torch.randn(2, 3, 16, 16, dtype=D)
    f_a, z_a = tas.assistant(x)
    f_s, z_s = tas.student(downsample(x, TINY.scale))
    assert f_a.shape == (2, 4, 8, 8) and f_s.shape == (2, 4, 4, 4)
    assert tas.adapter(f_s).shape == f_a.shape
    assert z_s.shape == z_a.shape == (2, 5)
    assert tas(downsample(x, 2)).shape == (2, 5)
    assert sum(p.numel() for p in tas.teacher.parameters()) > sum(p.numel() for p in tas.student.parameters())


def test_student_loss_is_ce_plus_kd_plus_weighted_pixel_loss() -> None:
    torch.manual_seed(0)
    config = PixelDistillationConfig(classes=5, teacher_width=16, student_width=4, scale=2, temperature=3.0,
                                     pixel_weight=0.5)
    tas = TeacherAssistantStudent(config).double()
    x = torch.randn(2, 3, 16, 16, dtype=D)
    y = torch.tensor([1, 4])
    total, pix = tas.student_loss(x, y)
    f_a, z_a = tas.assistant(x)
    f_s, z_s = tas.student(F.avg_pool2d(x, 2))
    up = F.interpolate(tas.adapter.proj(f_s), size=(8, 8), mode="bilinear", align_corners=False)
    pix_ref = ((up - f_a) ** 2).mean()
    kd_ref = 9 * F.kl_div(F.log_softmax(z_s / 3, -1), F.log_softmax(z_a / 3, -1), log_target=True,
                          reduction="batchmean")
    torch.testing.assert_close(pix, pix_ref)
    torch.testing.assert_close(total, F.cross_entropy(z_s, y) + kd_ref + 0.5 * pix_ref)
    # Stage 1 distils from the teacher, on the high-resolution input.
    _, z_t = tas.teacher(x)
    kd_t = 9 * F.kl_div(F.log_softmax(z_a / 3, -1), F.log_softmax(z_t / 3, -1), log_target=True,
                        reduction="batchmean")
    torch.testing.assert_close(tas.assistant_loss(x, y), F.cross_entropy(z_a, y) + kd_t)


def test_the_student_sees_only_the_low_resolution_input() -> None:
    tas = _tas()
    x = torch.randn(1, 3, 16, 16, dtype=D)
    # A checkerboard of ±1 within each 2×2 block has zero block mean: the student's input is unchanged,
    # but the assistant's high-resolution target (and hence L_pix) moves.
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 2.0 - 1.0
    x2 = x + checker.to(D)
    torch.testing.assert_close(tas(downsample(x2, 2)), tas(downsample(x, 2)))
    y = torch.tensor([0])
    assert not torch.isclose(tas.student_loss(x, y)[1], tas.student_loss(x2, y)[1])


def test_gradient_paths_teacher_frozen() -> None:
    tas = _tas()
    assert not any(p.requires_grad for p in tas.teacher.parameters())
    x = torch.randn(2, 3, 16, 16, dtype=D)
    y = torch.tensor([0, 2])

    def grads(loss: torch.Tensor) -> dict[str, bool]:
        tas.zero_grad(set_to_none=True)
        loss.backward()
        return {name: any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())
                for name, part in (("teacher", tas.teacher), ("assistant", tas.assistant),
                                   ("student", tas.student), ("adapter", tas.adapter))}

    assert grads(tas.assistant_loss(x, y)) == {"teacher": False, "assistant": True, "student": False,
                                               "adapter": False}
    assert grads(tas.student_loss(x, y)[0]) == {"teacher": False, "assistant": False, "student": True,
                                                "adapter": True}
    # L_pix alone trains the adapter and the student's feature layers, not its classifier head.
    tas.zero_grad(set_to_none=True)
    tas.student_loss(x, y)[1].backward()
    assert tas.student.features[0].weight.grad.abs().sum() > 0
    assert tas.student.head.weight.grad is None


def test_classifier_depends_on_its_input() -> None:
    torch.manual_seed(0)
    net = ConvClassifier(4, 3).double()
    a, b = torch.randn(2, 1, 3, 8, 8, dtype=D)
    assert not torch.allclose(net(a)[1], net(b)[1])
