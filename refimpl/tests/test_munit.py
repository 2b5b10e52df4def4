"""MUNIT (arXiv:1804.04732): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.adain import adain, calc_mean_std
from refimpl.munit import (
    MLP,
    TINY,
    AdaINResBlock,
    ContentEncoder,
    Decoder,
    MUNITConfig,
    MUNITGenerator,
    ResBlock,
    StyleEncoder,
    adaptive_instance_norm,
    reconstruction_losses,
    total_reconstruction_loss,
)


def test_adaptive_instance_norm_with_style_statistics_is_adain(device: torch.device) -> None:
    x = torch.randn(2, 4, 6, 6, device=device)
    style = torch.randn(2, 4, 5, 5, device=device) * 3 + 2
    mean, std = calc_mean_std(style)
    out = adaptive_instance_norm(x, std.flatten(1), mean.flatten(1))
    torch.testing.assert_close(out, adain(x, style), atol=1e-5, rtol=1e-5)


def test_codes_have_the_paper_shapes() -> None:
    gen = MUNITGenerator(TINY)
    c, s = gen.encode(torch.rand(2, 3, 32, 32))
    assert c.shape == (2, TINY.dim * 4, 8, 8)  # spatial content code, H/4
    assert s.shape == (2, TINY.style_dim, 1, 1)  # low-dimensional style vector
    assert gen.decode(c, s).shape == (2, 3, 32, 32)
    full = MUNITConfig()
    with torch.device("meta"):
        enc = ContentEncoder(dim=full.dim, n_downsample=full.n_downsample, n_res=full.n_res)
        assert enc.out_dim == 256 and sum(isinstance(m, ResBlock) for m in enc.modules()) == 4
        dec = Decoder(dim=256, n_res=4)
        assert dec.num_adain_params == 4 * 2 * 2 * 256  # 4 blocks × 2 AdaIN × (γ, β) × 256 channels
        assert MLP(8, dec.num_adain_params).net[-1].out_features == 4096


def test_style_encoder_has_no_normalisation_and_content_encoder_does() -> None:
    norms = (nn.InstanceNorm2d, nn.GroupNorm, nn.BatchNorm2d)
    assert not any(isinstance(m, norms) for m in StyleEncoder(dim=2).modules())
    assert any(isinstance(m, nn.InstanceNorm2d) for m in ContentEncoder(dim=2).modules())


def test_style_acts_only_through_adain_parameters() -> None:
    gen = MUNITGenerator(TINY).eval()
    c, _ = gen.encode(torch.rand(1, 3, 16, 16))
    s1, s2 = torch.randn(1, TINY.style_dim, 1, 1), torch.randn(1, TINY.style_dim, 1, 1)
    assert not torch.allclose(gen.decode(c, s1), gen.decode(c, s2))  # multimodal: style changes the output
    # Same AdaIN parameters ⇒ same image, whatever style produced them.
    params = gen.mlp(s1)
    torch.testing.assert_close(gen.decoder(c, params), gen.decode(c, s1))


def test_adain_res_block_is_identity_when_its_second_gamma_and_beta_are_zero() -> None:
    block = AdaINResBlock(3)
    x = torch.randn(2, 3, 5, 5)
    params = torch.randn(2, 12)
    params[:, 6:] = 0  # β₂ = γ₂ = 0 ⇒ the residual vanishes
    torch.testing.assert_close(block(x, params), x)


class _IdealAutoEncoder:
    """content = zero-mean image, style = its mean: encode ∘ decode is exactly the identity."""

    def __init__(self, bias: float = 0.0) -> None:
        self.bias = bias

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = x.mean(dim=(2, 3), keepdim=True)
        return x - mean, mean

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return content + style + self.bias


def test_reconstruction_losses_vanish_for_a_consistent_auto_encoder() -> None:
    x_a, x_b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    s_a, s_b = torch.randn(2, 3, 1, 1), torch.randn(2, 3, 1, 1)
    losses = reconstruction_losses(_IdealAutoEncoder(), _IdealAutoEncoder(), x_a, x_b, s_a, s_b)
    assert set(losses) == {"x_a", "x_b", "c_a", "c_b", "s_a", "s_b"}
    assert all(v.item() < 1e-6 for v in losses.values())
    # A decoder of domain a that adds 0.5 breaks a's image and a's style reconstruction only.
    biased = reconstruction_losses(_IdealAutoEncoder(0.5), _IdealAutoEncoder(), x_a, x_b, s_a, s_b)
    assert {k for k, v in biased.items() if v.item() > 1e-6} == {"x_a", "s_a"}
    torch.testing.assert_close(total_reconstruction_loss(biased), torch.tensor(10 * 0.5 + 1 * 0.5))
