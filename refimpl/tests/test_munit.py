"""MUNIT (arXiv:1804.04732): the claims that define the paper."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from refimpl.adain import adain, calc_mean_std
from refimpl.munit import (
    MLP,
    OFFICIAL,
    TINY,
    AdaINResBlock,
    ContentEncoder,
    Decoder,
    MUNITConfig,
    MUNITGenerator,
    ResBlock,
    StyleEncoder,
    adaptive_instance_norm,
    conv_block,
    instance_norm,
    layer_norm,
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


# --------------------------------------------------------------------- official figures
# Facts from NVlabs/MUNIT at a82e222bc359892bd0f522d7a0f1573f3ec4a485: networks.py AdaINGen / MsImageDis
# instantiated with configs/edges2shoes_folder.yaml (gen: dim 64, mlp_dim 256, style_dim 8, activ relu,
# n_downsample 2, n_res 4, pad_type reflect), parameters counted with sum(p.numel()).
OFFICIAL_COUNTS = {"generator": 15_026_187, "content": 5_385_856, "style": 2_764_936, "decoder": 5_754_627,
                   "mlp": 1_120_768, "adain_params": 4_096}


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_config_defaults_are_the_papers() -> None:
    c = MUNITConfig()
    assert (c.dim, c.style_dim, c.mlp_dim) == (64, 8, 256)  # App. B: c7s1-64, 8-d style code, 256-unit MLP
    assert (c.n_downsample, c.n_style_downsample, c.n_res) == (2, 4, 4)  # App. B / AdaINGen
    assert (c.lambda_x, c.lambda_c, c.lambda_s) == (10.0, 1.0, 1.0)  # Eq. 5, recon_x_w / recon_c_w / recon_s_w
    assert c == OFFICIAL


def test_official_generator_has_the_official_parameter_count() -> None:
    with torch.device("meta"):
        gen = MUNITGenerator(OFFICIAL)
        # The building blocks' own defaults are the official ones too.
        defaults = (ContentEncoder(), StyleEncoder(), Decoder(), MLP(8, 4096))
    assert _count(gen) == OFFICIAL_COUNTS["generator"]
    parts = (gen.content_encoder, gen.style_encoder, gen.decoder, gen.mlp)
    for key, part, default in zip(("content", "style", "decoder", "mlp"), parts, defaults, strict=True):
        assert _count(part) == _count(default) == OFFICIAL_COUNTS[key], key
    assert gen.decoder.num_adain_params == OFFICIAL_COUNTS["adain_params"]


def test_official_output_shapes_at_256() -> None:
    with torch.device("meta"):
        gen = MUNITGenerator(OFFICIAL)
        c, s = gen.encode(torch.empty(1, 3, 256, 256))
        out = gen.decode(c, s)
    assert c.shape == (1, 256, 64, 64) and s.shape == (1, 8, 1, 1) and out.shape == (1, 3, 256, 256)


def test_adaptive_instance_norm_matches_the_official_layer_on_a_small_tensor() -> None:
    # Output of networks.py AdaptiveInstanceNorm2d (float64, weight = γ, bias = β) on this input.
    x = torch.tensor([[[[1.0, 2.0], [3.0, 6.0]], [[0.0, 0.0], [1.0, -1.0]]]], dtype=torch.float64)
    out = adaptive_instance_norm(x, torch.tensor([[2.0, 0.5]], dtype=torch.float64),
                                 torch.tensor([[1.0, -1.0]], dtype=torch.float64))
    official = [-1.1380868808917473, -0.06904344044587374, 1.0, 4.207130321337621,
                -1.0, -1.0, -0.2929002897752, -1.7070997102248]
    torch.testing.assert_close(out.flatten(), torch.tensor(official, dtype=torch.float64))


# --------------------------------------------------------------------- architecture details
def test_every_padding_is_reflection_and_upsampling_is_nearest() -> None:
    gen = MUNITGenerator(TINY)
    pads = [m for m in gen.modules() if isinstance(m, (nn.ReflectionPad2d, nn.ZeroPad2d, nn.ConstantPad2d))]
    convs = [m for m in gen.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)]
    assert len(pads) == len(convs) and all(type(p) is nn.ReflectionPad2d for p in pads)
    ups = [m for m in gen.modules() if isinstance(m, nn.Upsample)]
    assert len(ups) == TINY.n_downsample and all(u.mode == "nearest" and u.scale_factor == 2 for u in ups)


def test_conv_block_applies_relu_after_the_norm() -> None:
    block = conv_block(2, 3, 3, 1, 1, instance_norm)
    out = block(torch.randn(2, 2, 5, 5))
    assert out.min() == 0 and (out > 0).any()  # ReLU, not leaky
    assert [type(m) for m in block] == [nn.ReflectionPad2d, nn.Conv2d, nn.InstanceNorm2d, nn.ReLU]


def test_instance_norm_is_per_sample_and_layer_norm_spans_all_channels() -> None:
    x = torch.randn(2, 4, 3, 5, dtype=torch.float64) * torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 4, 1, 1) + 1.5
    norm = instance_norm(4).double()
    assert sum(p.numel() for p in norm.parameters()) == 0  # affine=False, as the official 'in'
    torch.testing.assert_close(norm(x)[:1], norm(x[:1]))  # a sample's output ignores the batch
    ln = layer_norm(4).double()
    flat = x.reshape(2, -1)
    expected = (flat - flat.mean(1, keepdim=True)) / (flat.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    torch.testing.assert_close(ln(x).reshape(2, -1), expected)


def test_mlp_has_two_relu_hidden_layers_and_a_linear_output() -> None:
    mlp = MLP(8, 10, 16)
    assert [type(m) for m in mlp.net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [m.out_features for m in mlp.net if isinstance(m, nn.Linear)] == [16, 16, 10]
    s = torch.randn(3, 8, 1, 1)
    torch.testing.assert_close(mlp(s), mlp.net(s.reshape(3, 8)))


def test_style_encoder_widths_double_twice_then_stay() -> None:
    enc = StyleEncoder(dim=2, style_dim=3, n_downsample=4)
    widths = [m.out_channels for m in enc.modules() if isinstance(m, nn.Conv2d)]
    assert widths == [2, 4, 8, 8, 8, 3]
    x = torch.randn(2, 3, 32, 48)
    assert enc.model[0](x).shape == (2, 2, 32, 48)  # the 7×7 stem pads by 3: same size
    assert [m.padding for m in enc.modules() if isinstance(m, nn.ReflectionPad2d)] == [(3, 3, 3, 3)] + [(1, 1, 1, 1)] * 4
    assert enc(x).shape == (2, 3, 1, 1)


def test_content_code_and_decoder_shapes_on_a_non_square_image() -> None:
    gen = MUNITGenerator(TINY)
    x = torch.rand(2, 3, 16, 24) * 2 - 1
    c, s = gen.encode(x)
    assert c.shape == (2, 16, 4, 6) and s.shape == (2, 3, 1, 1)
    out = gen.decode(c, s)
    assert out.shape == (2, 3, 16, 24)
    assert out.abs().max() < 1 and out.min() < 0 < out.max()  # tanh range, not sigmoid


def test_content_encoder_output_depends_on_its_input_per_sample() -> None:
    enc = ContentEncoder(dim=2, n_downsample=1, n_res=1)
    x = torch.randn(2, 3, 8, 8)
    out = enc(x)
    torch.testing.assert_close(out[:1], enc(x[:1]))  # instance statistics, not batch ones
    assert (out[0] - out[1]).abs().max() > 1e-2


def test_res_block_adds_its_residual_to_the_input() -> None:
    block = ResBlock(3)
    x = torch.randn(2, 3, 5, 5)
    r = block.block(x)
    assert r.abs().max() > 1e-2
    torch.testing.assert_close(block(x), x + r)


def _reflect_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), conv.weight.double(), conv.bias.double())


def _instance_normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean((2, 3), keepdim=True)) / (x.var((2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()


def test_adain_res_block_matches_a_float64_recomputation() -> None:
    torch.manual_seed(0)
    block = AdaINResBlock(3).double()
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    params = torch.randn(2, 12, dtype=torch.float64)
    b1, g1, b2, g2 = (params[:, 3 * i:3 * i + 3, None, None] for i in range(4))  # official order: β then γ
    h = torch.relu(g1 * _instance_normalise(_reflect_conv(x, block.conv1[1])) + b1)
    h = g2 * _instance_normalise(_reflect_conv(h, block.conv2[1])) + b2
    torch.testing.assert_close(block(x, params), x + h)


@pytest.mark.parametrize("n_res", [1, 2])
def test_decoder_gives_each_res_block_its_own_adain_parameters(n_res: int) -> None:
    dec = Decoder(dim=4, n_upsample=1, n_res=n_res)
    content = torch.randn(1, 4, 4, 4)
    params = torch.randn(1, dec.num_adain_params)
    x = content
    for i, block in enumerate(dec.res_blocks):
        x = block(x, params[:, 16 * i:16 * (i + 1)])
    torch.testing.assert_close(dec(content, params), dec.up(x))


class _ShiftedAutoEncoder:
    """encode(x) = (x − μ(x) + δ_c, μ(x) + δ_s), decode(c, s) = c + s + δ_d: every loss term is a known constant."""

    def __init__(self, d_c: float, d_s: float, d_d: float) -> None:
        self.d_c, self.d_s, self.d_d = d_c, d_s, d_d

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = x.mean(dim=(2, 3), keepdim=True)
        return x - mean + self.d_c, mean + self.d_s

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return content + style + self.d_d


def test_each_reconstruction_term_is_an_l1_distance_on_the_right_pair() -> None:
    torch.manual_seed(0)
    x_a, x_b = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(2, 3, 4, 4, dtype=torch.float64)
    s_a, s_b = torch.randn(2, 3, 1, 1, dtype=torch.float64), torch.randn(2, 3, 1, 1, dtype=torch.float64)
    ca, sa, da, cb, sb, db = 0.3, 0.05, 0.4, -0.1, -0.6, 0.15
    losses = reconstruction_losses(_ShiftedAutoEncoder(ca, sa, da), _ShiftedAutoEncoder(cb, sb, db),
                                   x_a, x_b, s_a, s_b)
    # By hand: x_a ← |δ_c^a + δ_s^a + δ_d^a|; the content of b rebuilt by E_a differs by δ_c^a − δ_c^b;
    # the random style s_a rebuilt from G_a(c_b, s_a) is off by δ_c^b + δ_d^a + δ_s^a.
    expected = {"x_a": abs(ca + sa + da), "x_b": abs(cb + sb + db), "c_a": abs(cb - ca), "c_b": abs(ca - cb),
                "s_a": abs(cb + da + sa), "s_b": abs(ca + db + sb)}
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value), key


def test_total_weights_each_term() -> None:
    losses = {k: torch.tensor(v) for k, v in
              {"x_a": 1.0, "x_b": 2.0, "c_a": 3.0, "c_b": 5.0, "s_a": 7.0, "s_b": 11.0}.items()}
    assert total_reconstruction_loss(losses).item() == pytest.approx(10 * 3 + 1 * 8 + 1 * 18)
    cfg = MUNITConfig(lambda_x=2.0, lambda_c=3.0, lambda_s=0.5)
    assert total_reconstruction_loss(losses, cfg).item() == pytest.approx(2 * 3 + 3 * 8 + 0.5 * 18)
