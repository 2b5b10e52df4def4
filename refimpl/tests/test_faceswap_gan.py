"""faceswap-GAN: the claims that define the project."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.faceswap_gan import (
    TINY,
    FaceDecoder,
    FaceEncoder,
    FaceSwapConfig,
    FaceSwapGenerator,
    SelfAttention,
    kalman_smooth,
    lsgan_d_loss,
    lsgan_g_loss,
    masked_output,
)


def test_self_attention_starts_as_identity(device: torch.device) -> None:
    block = SelfAttention(16).to(device)
    assert block.gamma.item() == 0.0
    x = torch.randn(2, 16, 5, 7, device=device)
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)


def test_self_attention_is_non_local_once_gamma_is_learned() -> None:
    block = SelfAttention(16)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    beta = block.attention(torch.randn(1, 16, 4, 4))
    torch.testing.assert_close(beta.sum(-1), torch.ones(1, 16))  # softmax over all 16 positions
    x = torch.randn(1, 16, 4, 4, requires_grad=True)
    block(x)[0, :, 0, 0].sum().backward()
    assert (x.grad[0].abs().sum(0) > 0).all()  # the corner reads every position
    # o = h β: with uniform attention every position receives the mean of h
    with torch.no_grad():
        block.f.weight.zero_()
        block.f.bias.zero_()
    x = torch.randn(1, 16, 4, 4)
    o = block(x) - x
    torch.testing.assert_close(o, block.h(x).mean((2, 3), keepdim=True).expand_as(o), atol=1e-5, rtol=1e-5)


def test_masked_output_at_mask_zero_and_one(device: torch.device) -> None:
    gen, src = torch.rand(2, 3, 4, 4, device=device), torch.rand(2, 3, 4, 4, device=device)
    ones, zeros = torch.ones(2, 1, 4, 4, device=device), torch.zeros(2, 1, 4, 4, device=device)
    torch.testing.assert_close(masked_output(gen, zeros, src), src)
    torch.testing.assert_close(masked_output(gen, ones, src), gen)
    half = masked_output(gen, ones * 0.25, src)
    torch.testing.assert_close(half, 0.25 * gen + 0.75 * src)


def test_swap_uses_the_shared_encoder_and_the_target_identity_decoder() -> None:
    model = FaceSwapGenerator(TINY).eval()
    assert isinstance(model.encoder, FaceEncoder) and isinstance(model.decoders["B"], FaceDecoder)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    out, rgb, mask = model(x, "B")
    assert out.shape == x.shape and mask.shape == (1, 1, 16, 16)
    assert ((mask >= 0) & (mask <= 1)).all() and (rgb.abs() <= 1).all()
    torch.testing.assert_close(out, masked_output(rgb, mask, x))
    rgb_b, _ = model.decoders["B"](model.encoder(x))
    torch.testing.assert_close(rgb, rgb_b)
    assert (model(x, "A")[1] - rgb).abs().max() > 1e-4  # A's decoder renders differently


def test_lsgan_losses_hand_values() -> None:
    torch.testing.assert_close(lsgan_d_loss(torch.ones(3), torch.zeros(3)), torch.tensor(0.0))
    torch.testing.assert_close(lsgan_d_loss(torch.zeros(3), torch.ones(3)), torch.tensor(1.0))  # ½ + ½
    torch.testing.assert_close(lsgan_g_loss(torch.full((2,), 0.5)), torch.tensor(0.25))


def test_lsgan_losses_on_unequal_scores() -> None:
    # networks/losses.py (LSGAN): L_D = ½ mean((D(x) − 1)²) + ½ mean(D(G)²), L_G = mean((D(G) − 1)²)
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([0.25, -1.0])
    torch.testing.assert_close(lsgan_d_loss(real, fake), torch.tensor(0.5 * (0.25 + 1) / 2 + 0.5 * (0.0625 + 1) / 2))
    torch.testing.assert_close(lsgan_g_loss(fake), torch.tensor((0.5625 + 4.0) / 2))


def test_kalman_first_update_by_hand() -> None:
    # x0 = 0, P0 = 1; P⁻ = 1.5, K = 1.5 / 2.5 = 0.6, x1 = 0.6 · 10 = 6
    out = kalman_smooth(torch.tensor([0.0, 10.0]), q=0.5, r=1.0, p0=1.0)
    torch.testing.assert_close(out, torch.tensor([0.0, 6.0]))


def test_kalman_reduces_the_variance_of_a_noisy_constant(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    noisy = (5.0 + torch.randn(400, 4, generator=g)).to(device)
    smooth = kalman_smooth(noisy, q=1e-3, r=1.0)
    assert smooth.shape == noisy.shape
    tail = smooth[100:]
    assert (tail.var(0) < 0.1 * noisy[100:].var(0)).all()
    # and it stays on the true value: its squared error is a fraction of the raw measurements'
    assert (((tail - 5.0) ** 2).mean(0) < 0.1 * ((noisy[100:] - 5.0) ** 2).mean(0)).all()


def test_kalman_tracks_a_step() -> None:
    signal = torch.cat([torch.zeros(50), torch.full((150,), 10.0)])
    smooth = kalman_smooth(signal, q=1e-2, r=1.0)
    assert smooth[50] < 5.0  # it does not jump with one frame
    assert (smooth[120:] - 10.0).abs().max() < 0.05  # and has settled on the new level
    assert (smooth[50:].diff() >= -1e-6).all()  # monotone approach, no overshoot


def test_self_attention_matches_the_sagan_formula_with_g_as_query() -> None:
    # o_i = Σ_j softmax_j(g_i · f_j) h_j, y = γ o + x (networks/nn_blocks.py: s = g fᵀ, β = softmax(s), o = β h)
    torch.manual_seed(0)
    block = SelfAttention(16)
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 16, 3, 5)
    flat = x.double().flatten(2)  # (B, C, N)

    def conv(m: nn.Conv2d) -> torch.Tensor:
        return torch.einsum("oc,bcn->bon", m.weight.double()[:, :, 0, 0], flat) + m.bias.double()[None, :, None]

    f, g, h = conv(block.f), conv(block.g), conv(block.h)
    beta = torch.softmax(torch.einsum("bci,bcj->bij", g, f), dim=-1)
    o = torch.einsum("bij,bcj->bci", beta, h)
    expected = (0.7 * o + flat).view_as(x)
    torch.testing.assert_close(block(x).double(), expected, atol=1e-5, rtol=1e-5)
    assert (block.f.out_channels, block.g.out_channels, block.h.out_channels) == (2, 2, 16)  # C/8, C/8, C


def test_config_and_filter_defaults() -> None:
    c = FaceSwapConfig()
    assert c.image_size == 64 and c.widths == (128, 256, 512) and c.latent_channels == 512
    assert (c.kalman_q, c.kalman_r) == (1e-2, 1.0)
    z = torch.tensor([0.0, 10.0, 4.0])
    torch.testing.assert_close(kalman_smooth(z), kalman_smooth(z, c.kalman_q, c.kalman_r, 1.0))


def test_encoder_and_decoder_layout() -> None:
    e, d = FaceEncoder(TINY), FaceDecoder(TINY)
    # stem to widths[0]/2, one stride-2 conv per width, attention after the next-to-last, then the latent conv
    assert [type(m).__name__ for m in e.net] == ["Sequential", "Sequential", "SelfAttention", "Sequential",
                                                  "Sequential"]
    assert [(m[0].stride, m[0].out_channels) for m in e.net if isinstance(m, nn.Sequential)] == [
        ((2, 2), 4), ((2, 2), 8), ((2, 2), 16), ((1, 1), 16)]
    assert e.net[2].h.in_channels == 8
    # the decoder mirrors it: up-sample + conv per width (reversed), attention after the second, then widths[0]/2
    assert [type(m).__name__ for m in d.net] == ["Upsample", "Sequential", "Upsample", "Sequential", "SelfAttention",
                                                  "Upsample", "Sequential"]
    assert [m[0].out_channels for m in d.net if isinstance(m, nn.Sequential)] == [16, 8, 4]
    assert all(m.mode == "nearest" and m.scale_factor == 2 for m in d.net if isinstance(m, nn.Upsample))
    convs = [m for m in [*e.modules(), *d.modules()] if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)]
    assert all(m.kernel_size == (3, 3) and m.padding == (1, 1) for m in convs)
    assert [m.negative_slope for m in e.modules() if isinstance(m, nn.LeakyReLU)] == [0.1] * 4
    assert (d.to_rgb.out_channels, d.to_mask.out_channels) == (3, 1)
    z = e(torch.rand(2, 3, 16, 16) * 2 - 1)
    assert z.shape == (2, 16, 2, 2)  # 16 / 2³
    with torch.no_grad():
        for conv in (d.to_rgb, d.to_mask):
            conv.weight.normal_(0, 5.0)
    rgb, mask = d(torch.randn(2, 16, 2, 2))
    assert rgb.min() < 0 < rgb.max() and mask.min() >= 0 and mask.max() <= 1  # tanh face, sigmoid mask


def test_self_attention_inner_width_never_drops_below_one() -> None:
    assert SelfAttention(4).f.out_channels == 1 and SelfAttention(4).g.out_channels == 1
    assert SelfAttention(64).f.out_channels == 8


def test_kalman_two_steps_by_hand_on_two_columns() -> None:
    # q = 0.5, r = 1, P0 = 1: step 1 K = 0.6 (P = 0.6), step 2 P⁻ = 1.1, K = 1.1 / 2.1
    z = torch.tensor([[0.0, 1.0], [10.0, 1.0], [4.0, 3.0]])
    out = kalman_smooth(z, q=0.5, r=1.0, p0=1.0)
    k2 = 1.1 / 2.1
    expected = torch.tensor([[0.0, 1.0], [6.0, 1.0], [6.0 + k2 * (4.0 - 6.0), 1.0 + k2 * 2.0]])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(kalman_smooth(z[:, 0], q=0.5, r=1.0), expected[:, 0])


def test_kalman_single_frame_keeps_its_shape() -> None:
    torch.testing.assert_close(kalman_smooth(torch.tensor([3.0])), torch.tensor([3.0]))
    assert kalman_smooth(torch.tensor([[3.0, 4.0]])).shape == (1, 2)
