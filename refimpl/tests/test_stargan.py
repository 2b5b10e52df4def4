"""StarGAN (arXiv:1711.09020): the claims that define the paper."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.stargan import (
    OFFICIAL,
    TINY,
    Discriminator,
    Generator,
    ResidualBlock,
    StarGANConfig,
    discriminator_objective,
    domain_classification_loss,
    generator_objective,
    gradient_penalty,
    reconstruction_loss,
)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _tiny() -> tuple[Generator, Discriminator]:
    return (Generator(conv_dim=TINY.g_conv_dim, c_dim=TINY.c_dim, repeat_num=TINY.g_repeat_num),
            Discriminator(image_size=TINY.image_size, conv_dim=TINY.d_conv_dim, c_dim=TINY.c_dim,
                          repeat_num=TINY.d_repeat_num))


def test_config_defaults_are_the_papers() -> None:
    c = StarGANConfig()
    assert c.image_size == 128 and c.c_dim == 5  # Sec. 4: CelebA 128×128, five attributes
    assert (c.g_conv_dim, c.d_conv_dim, c.g_repeat_num, c.d_repeat_num) == (64, 64, 6, 6)  # Tables 4–5
    assert (c.lambda_cls, c.lambda_rec, c.lambda_gp) == (1.0, 10.0, 10.0)  # Sec. 3.1 / 4
    assert c == OFFICIAL


def test_architecture_details_below_the_parameter_count() -> None:
    g = Generator(conv_dim=2, c_dim=3, repeat_num=1)
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [
        (6, 2, 7, 1, 3), (2, 4, 4, 2, 1), (4, 8, 4, 2, 1), (8, 8, 3, 1, 1), (8, 8, 3, 1, 1), (8, 4, 4, 2, 1),
        (4, 2, 4, 2, 1), (2, 3, 7, 1, 3)]
    assert all(c.bias is None for c in convs)
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 7 and all(n.affine and n.track_running_stats for n in norms)
    assert isinstance(g.main[-1], nn.Tanh) and not any(isinstance(m, nn.LeakyReLU) for m in g.modules())
    d = Discriminator(image_size=32, conv_dim=2, c_dim=3, repeat_num=4)
    dconvs = [m for m in d.main if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in dconvs] == [
        (2, 4, 2, 1), (4, 4, 2, 1), (8, 4, 2, 1), (16, 4, 2, 1)]
    assert all(c.bias is not None for c in dconvs) and d.src_head.bias is None and d.cls_head.bias is None
    assert [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)] == [0.01] * 4
    assert not any(isinstance(m, nn.InstanceNorm2d | nn.BatchNorm2d) for m in d.modules())
    assert d.src_head.kernel_size == (3, 3) and d.src_head.padding == (1, 1) and d.cls_head.kernel_size == (2, 2)
    # The label is broadcast over space: a constant map per channel next to the image.
    seen = []
    g.main[0].register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
    c = torch.tensor([[1.0, 0.0, 0.5]])
    x = torch.rand(1, 3, 8, 12)
    g(x, c)
    torch.testing.assert_close(seen[0][:, :3], x)
    torch.testing.assert_close(seen[0][:, 3:], c.view(1, 3, 1, 1).expand(1, 3, 8, 12))


def test_generator_receives_adversarial_and_classification_gradient() -> None:
    g, d = _tiny()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    c_org, c_trg = torch.eye(3)[:2], torch.eye(3)[1:]
    config = StarGANConfig(lambda_rec=0.0, lambda_cls=0.0)
    generator_objective(d, g, x, c_org, c_trg, config).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in d.cls_head.parameters())


def test_standard_128x128_parameter_counts() -> None:
    # yunjey/stargan model.py (commit 94dd002e93a2863d9b987a937b85925b80f7a19f) instantiated: G 8,430,528, D 44,762,048.
    c = OFFICIAL
    with torch.device("meta"):
        assert _count(Generator(conv_dim=c.g_conv_dim, c_dim=c.c_dim, repeat_num=c.g_repeat_num)) == 8_430_528
        d = Discriminator(image_size=c.image_size, conv_dim=c.d_conv_dim, c_dim=c.c_dim, repeat_num=c.d_repeat_num)
        assert _count(d) == 44_762_048
        assert sum(isinstance(m, ResidualBlock) for m in Generator().modules()) == 6
        # The constructors' own defaults are the official 128×128 CelebA models.
        assert _count(Generator()) == 8_430_528
        assert _count(Discriminator()) == 44_762_048
        assert Discriminator().cls_head.out_channels == 5 and Discriminator().cls_head.kernel_size == (2, 2)


def test_discriminator_heads_on_128_input() -> None:
    d = Discriminator(image_size=128, conv_dim=2, c_dim=5, repeat_num=6)
    src, cls = d(torch.rand(2, 3, 128, 128))
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 5)


def test_gradient_penalty_is_zero_for_a_unit_norm_gradient_critic(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, 4, generator=g).to(device)
    real, fake = torch.randn(5, 3, 4, 4, device=device), torch.randn(5, 3, 4, 4, device=device)
    alpha = torch.rand(5, 1, 1, 1, device=device)
    unit = w / w.norm()

    def linear(scale: float):
        return lambda x: (x * unit * scale).flatten(1).sum(1)  # ∇ = scale · unit everywhere

    torch.testing.assert_close(gradient_penalty(linear(1.0), real, fake, alpha),
                               torch.tensor(0.0, device=device), atol=1e-10, rtol=0)
    torch.testing.assert_close(gradient_penalty(linear(3.0), real, fake, alpha),
                               torch.tensor(4.0, device=device))  # (3 − 1)²
    with torch.no_grad():  # evaluation code may still ask for the penalty's value
        torch.testing.assert_close(gradient_penalty(linear(3.0), real, fake, alpha), torch.tensor(4.0, device=device))


def test_gradient_penalty_is_evaluated_on_the_interpolates_and_differentiable() -> None:
    real, fake = torch.full((2, 1, 2, 2), 2.0), torch.zeros(2, 1, 2, 2, requires_grad=True)
    alpha = torch.tensor([0.25, 0.75]).view(2, 1, 1, 1)
    seen = []

    def critic(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.detach().clone())
        return 0.5 * (x**2).flatten(1).sum(1)  # ∇ = x̂ = 2α everywhere, so ‖x̂‖ = 4α over 4 pixels

    gp = gradient_penalty(critic, real, fake, alpha)
    torch.testing.assert_close(seen[0][:, 0, 0, 0], torch.tensor([0.5, 1.5]))  # α·real + (1 − α)·fake
    torch.testing.assert_close(gp, torch.tensor(((1.0 - 1) ** 2 + (3.0 - 1) ** 2) / 2))
    gp.backward()
    assert fake.grad is None  # the penalty trains D only: the fakes are detached
    weight = torch.tensor(2.0, requires_grad=True)
    gradient_penalty(lambda x: weight * x.flatten(1).sum(1), real, fake, alpha).backward()
    assert weight.grad is not None and weight.grad.abs() > 0  # create_graph: the penalty trains D


def test_generator_conditions_on_the_target_domain_label() -> None:
    g, _ = _tiny()
    g.eval()
    x = torch.rand(1, 3, 16, 16)
    a, b = g(x, torch.tensor([[1.0, 0, 0]])), g(x, torch.tensor([[0.0, 1, 0]]))
    assert a.shape == (1, 3, 16, 16) and not torch.allclose(a, b)


def test_domain_classification_loss_sums_attributes_and_averages_batch() -> None:
    logits, labels = torch.zeros(4, 5), torch.ones(4, 5)
    torch.testing.assert_close(domain_classification_loss(logits, labels), torch.tensor(5 * math.log(2)))


def test_reconstruction_loss_is_zero_when_g_ignores_the_label_and_is_identity() -> None:
    def ident(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return x

    x = torch.randn(2, 3, 8, 8)
    c = torch.eye(3)[:2]
    assert reconstruction_loss(ident, x, c, c.flip(0)).item() == 0.0

    def shift(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return x + c[:, :1].view(-1, 1, 1, 1)

    torch.testing.assert_close(reconstruction_loss(shift, x, c, c), torch.tensor(1.0))  # mean of 2·[1, 0]


def test_objectives_combine_terms_with_the_paper_weights() -> None:
    g, d = _tiny()
    g.eval()
    d.eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    c_org, c_trg = torch.eye(3)[:2], torch.eye(3)[1:]
    alpha = torch.rand(2, 1, 1, 1)
    src_real, cls_real = d(x)
    fake = g(x, c_trg)
    src_fake, cls_fake = d(fake)
    gp = gradient_penalty(lambda t: d(t)[0], x, fake, alpha)
    d_expected = -src_real.mean() + src_fake.mean() + domain_classification_loss(cls_real, c_org) + 10 * gp
    torch.testing.assert_close(discriminator_objective(d, g, x, c_org, c_trg, alpha, TINY), d_expected)
    g_expected = (-src_fake.mean() + domain_classification_loss(cls_fake, c_trg)
                  + 10 * F.l1_loss(g(fake, c_org), x))
    torch.testing.assert_close(generator_objective(d, g, x, c_org, c_trg, TINY), g_expected)


def test_discriminator_objective_does_not_train_the_generator() -> None:
    """Eq. 6 updates D alone: G(x, c) enters it as a constant."""
    g, d = _tiny()
    x = torch.rand(2, 3, TINY.image_size, TINY.image_size)
    c_org, c_trg = torch.eye(3)[:2], torch.eye(3)[[2, 0]]
    discriminator_objective(d, g, x, c_org, c_trg, torch.rand(2, 1, 1, 1)).backward()
    assert all(p.grad is None for p in g.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())
