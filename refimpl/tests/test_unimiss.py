"""UniMiSS (arXiv:2112.09356): the MiT encoder takes 2D images and 3D volumes through shared Transformers."""

from __future__ import annotations

import dataclasses
import inspect
import math
import zlib

import pytest
import torch

from refimpl import unimiss
from refimpl.unimiss import (
    OFFICIAL,
    OFFICIAL_DISTILLATION,
    OFFICIAL_TINY,
    TINY,
    TINY_DISTILLATION,
    ConvNormAct,
    MiT,
    MiTBlock,
    MiTConfig,
    MiTEncoder,
    ProjectionHead,
    SelfDistillationConfig,
    SpatialReductionAttention,
    SwitchablePatchEmbedding,
    UniMiSS,
    resample_position,
    self_distillation_loss,
    teacher_momentum,
    update_center,
    update_teacher,
)

# Official figures: YtongXie/UniMiSS-code @ 4f530a70ec535f1355ea84949e605958472adc1d
# (UniMiSS/models/MiT_encoder.py and Pacth_embeds.py as added in 7d3a592, MiT.py created in 0bce2c8;
# unchanged up to 68be0a4), instantiated with torch 2.13 and counted with sum(p.numel()).


@pytest.fixture
def no_init(monkeypatch: pytest.MonkeyPatch) -> None:
    """Structure-only tests skip the weight initialisation: drawing normals on the meta device is slow."""
    monkeypatch.setattr(unimiss, "init_weights", lambda module: None)


def _count(config: MiTConfig, model: type[torch.nn.Module] = MiTEncoder) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in model(config).parameters())


def _counts(config: MiTConfig) -> tuple[int, int]:
    """Parameters of the encoder and of the whole MiT (one meta build)."""
    with torch.device("meta"):
        mit = MiT(config)
    return sum(p.numel() for p in mit.encoder.parameters()), sum(p.numel() for p in mit.parameters())


def test_defaults_are_the_official_pretraining_encoder() -> None:
    # main.py: --arch model_small -> encoder_small(norm2D='IN2', norm3D='IN3', act='LeakyReLU', modal_type='MM'),
    # --img_size2D 224, --img_size3D [16, 96, 96]; encoder_small: embed_dims [48, 128, 256, 512],
    # depths [2, 3, 4, 3], num_heads [1, 2, 4, 8], mlp_ratios 4, sr_ratios [6, 4, 2, 1], qkv_bias=True,
    # LayerNorm eps 1e-6; the reduction's LayerNorm and the stem (3 -> 32 in 2D, 1 -> 32 in 3D) are fixed in
    # MiT_encoder.py; LeakyReLU slope 1e-2 in Pacth_embeds.py.
    c = MiTConfig()
    assert c == OFFICIAL
    assert (c.in_chans_2d, c.in_chans_3d, c.stem_dim) == (3, 1, 32)
    assert c.embed_dims == (48, 128, 256, 512) and c.depths == (2, 3, 4, 3)
    assert c.num_heads == (1, 2, 4, 8) and c.mlp_ratios == (4, 4, 4, 4) and c.sr_ratios == (6, 4, 2, 1)
    assert c.qkv_bias is True and c.img_size_2d == 224 and c.img_size_3d == (16, 96, 96)
    assert (c.leaky_slope, c.norm_eps, c.sr_norm_eps) == (0.01, 1e-6, 1e-5)
    assert c.modalities == ("2d", "3d")
    # MiT.py model_small: decoder embed_dims [256, 128, 48], depths [3, 4, 3], num_heads [8, 4, 2],
    # mlp_ratios 4, sr_ratios [2, 4, 6]; qkv_bias and norm_layer left at MiT's defaults (False, nn.LayerNorm).
    assert c.dec_dims == (256, 128, 48) and c.dec_depths == (3, 4, 3) and c.dec_heads == (8, 4, 2)
    assert c.dec_mlp_ratios == (4, 4, 4) and c.dec_sr_ratios == (2, 4, 6)
    assert c.dec_qkv_bias is False and c.dec_norm_eps == 1e-5
    # encoder_tiny / model_tiny: one block per stage
    assert dataclasses.replace(OFFICIAL, depths=(1, 1, 1, 1), dec_depths=(1, 1, 1)) == OFFICIAL_TINY
    for model in (MiTEncoder, MiT, UniMiSS):
        assert inspect.signature(model).parameters["config"].default is OFFICIAL
    assert inspect.signature(UniMiSS).parameters["distillation"].default is OFFICIAL_DISTILLATION
    assert inspect.signature(ProjectionHead).parameters["config"].default is OFFICIAL_DISTILLATION


def test_official_parameter_counts(no_init: None) -> None:
    # encoder_small and model_small (encoder and decoder) with modal_type 'MM' / '2D' / '3D', and
    # encoder_tiny / model_tiny with 'MM' (official code, see top of file).
    assert _counts(OFFICIAL) == (28_523_888, 43_942_944)
    assert _counts(dataclasses.replace(OFFICIAL, modalities=("2d",))) == (17_321_312, 23_804_704)
    assert _counts(dataclasses.replace(OFFICIAL, modalities=("3d",))) == (24_644_064, 36_996_000)
    assert _counts(OFFICIAL_TINY) == (13_859_392, 20_380_336)
    assert _count(OFFICIAL) == 28_523_888  # the encoder alone


def test_official_position_grids_and_output_shapes(no_init: None) -> None:
    # Official pos_embed2D1..4, pos_embed3D1..4, DecPosEmbed2D0..2 and DecPosEmbed3D0..2; at 224² and
    # 16×96×96 the stem's and every stage's output, and the MiT representation (meta device; the encoder's
    # outputs are read off its stem, its embeddings and its last block, in one pass).
    with torch.device("meta"):
        mit = MiT(OFFICIAL)
    enc = mit.encoder
    assert [tuple(p.shape) for p in enc.pos_2d] == [(1, 3137, 48), (1, 785, 128), (1, 197, 256), (1, 50, 512)]
    assert [tuple(p.shape) for p in enc.pos_3d] == [(1, 4609, 48), (1, 577, 128), (1, 73, 256), (1, 10, 512)]
    assert [tuple(p.shape) for p in mit.pos_2d] == [(1, 197, 256), (1, 785, 128), (1, 3137, 48)]
    assert [tuple(p.shape) for p in mit.pos_3d] == [(1, 73, 256), (1, 577, 128), (1, 4609, 48)]
    shapes: list[tuple[int, ...]] = []
    for module in (enc.stem, *enc.embeds[:3], enc.blocks[3][-1]):
        module.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
    assert mit(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 48)
    assert shapes == [(1, 32, 112, 112), (1, 48, 56, 56), (1, 128, 28, 28), (1, 256, 14, 14), (1, 50, 512)]
    shapes.clear()
    assert mit(torch.empty(1, 1, 16, 96, 96, device="meta")).shape == (1, 48)
    assert shapes == [(1, 32, 16, 48, 48), (1, 48, 8, 24, 24), (1, 128, 4, 12, 12), (1, 256, 2, 6, 6),
                      (1, 10, 512)]


# --- the worked example: TINY, every parameter filled by a rule keyed on its name, float64 -----------------
# The official MiT_encoder was built with the same stage settings (embed_dims [8, 16, 24, 32], depths
# [1, 2, 1, 1], num_heads [1, 2, 2, 4], mlp_ratios [4, 2, 4, 4], sr_ratios [4, 2, 1, 1], qkv_bias, LayerNorm
# eps 1e-6, IN2/IN3, LeakyReLU, img_size2D 64, img_size3D [32, 32, 32]), its fixed 32-channel stem rebuilt
# at 8 channels from the same Conv2dBlock/Conv3dBlock/PatchEmbed classes, its parameters renamed to these
# (patch_embed2D0 -> stem.branch_2d, patch_embed2D{k}.proj -> embeds.{k-1}.branch_2d, pos_embed2D{k} ->
# pos_2d.{k-1}, block{k} -> blocks.{k-1}, attn.sr2D/sr3D/norm -> attn.sr_2d/sr_3d/sr_norm, mlp.fc1/fc2 ->
# mlp.0/2, cls_tokens1 -> cls_token, cls_tokens{k} -> cls_proj.{k-2}; same shapes) and filled with _rule.
# The official MiT (MiT.py) was built around that encoder with decoder embed_dims [24, 16, 8], num_heads
# [2, 2, 1], depths [1, 2, 1], mlp_ratios [4, 2, 4], sr_ratios [2, 2, 4] (qkv_bias and LayerNorm at MiT's
# defaults), its parameters renamed likewise (transformer -> encoder, DecEmbed2D{j}.proj -> up_2d.{j},
# DecPosEmbed2D{j} -> pos_2d.{j}, Decblock{j} -> blocks.{j}, cls_tokens{j} -> cls_proj.{j}, norm -> norm).


def _rule(name: str, shape: tuple[int, ...]) -> torch.Tensor:
    numel = math.prod(shape)
    wave = torch.sin(0.37 * torch.arange(numel, dtype=torch.float64) + zlib.crc32(name.encode()) % 1000 / 100)
    parts = name.split(".")
    if len(parts) > 1 and "norm" in parts[-2]:
        value = 1 + 0.2 * wave
    elif name.startswith(("pos_", "cls_token")):
        value = 0.5 * wave
    elif len(shape) == 1:
        value = 0.1 * wave
    else:
        value = wave / math.sqrt(numel // shape[0])
    return value.reshape(shape)


def _rule_input(shape: tuple[int, ...]) -> torch.Tensor:
    i = torch.arange(math.prod(shape), dtype=torch.float64)
    return (torch.sin(0.3 * i) + 0.2 * torch.cos(0.07 * i + 1)).reshape(shape)


def _filled_tiny(model_class: type[torch.nn.Module] = MiTEncoder) -> torch.nn.Module:
    model = model_class(TINY).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(_rule(name, tuple(p.shape)))
    return model


# Per output: shape, mean, first three values, last value of the last sample (official encoder, float64).
OFFICIAL_2D = [
    ((2, 8, 32, 32), 1.173547782120432, [1.5657461809488333, 1.9689882417247035, 2.1771951189866283],
     0.9580300888353286),
    ((2, 8, 16, 16), 1.1734543698335353, [0.9838195198915857, 2.026297621539035, 0.8751338879516841],
     -0.43296920448984444),
    ((2, 16, 8, 8), 1.2475408444384595, [2.7112498458390206, 2.8727181899716157, 1.8891079293006545],
     -3.1327929593079484),
    ((2, 24, 4, 4), 1.0481375657911494, [-0.32186990145680894, 1.7404068053348805, 2.77485479119664],
     0.7537205093807146),
    ((2, 5, 32), 0.9325725898619218, [11.090777783550978, -10.725593815564185, 7.1941668482262555],
     2.5257638508557694),
]
OFFICIAL_3D = [
    ((2, 8, 32, 16, 16), 0.9341400761782257, [0.4287745990139318, 0.7561578739384951, 1.5240988248385778],
     0.2614782814873599),
    ((2, 8, 16, 8, 8), 1.1295959012917496, [4.21288863948348, 5.180415146526206, 2.8547978575585247],
     1.291529398899585),
    ((2, 16, 8, 4, 4), 1.790912332866772, [-1.5152025637971729, -0.4801918903864548, -3.0634012091950584],
     -9.771744905864168),
    ((2, 24, 4, 2, 2), 1.1067622844565197, [0.8397802943343846, 1.9826286568237106, 0.4189646685093106],
     1.6533679764989466),
    ((2, 3, 32), 0.7986894886101742, [3.503268729606097, -10.251904796117765, 16.5891333729315],
     -1.2869228392148884),
]
# Stage-4 tokens at inputs larger than the configured ones (position embeddings resampled):
# 96² (bicubic, grids 24/12/6/3 from 16/8/4/2) and 32×64×64 (trilinear, in-plane grids doubled).
OFFICIAL_2D_96 = ((1, 10, 32), 1.0238049281160528, [11.20055155968769, -11.346719619861105, 7.874067035931493],
                  2.4286008059530677)
OFFICIAL_3D_64 = ((1, 9, 32), 1.006582449379139, [2.6548499754919823, -10.529929406097851, 17.737878603489573],
                  -1.3138302883660888)


# The MiT representation (normalised final class token), official MiT, same weights rule and inputs.
OFFICIAL_MIT_2D = ((2, 8), 0.8869858462666129, [2.2487841269517546, 2.3826679532126604, 1.8704639872354172],
                   -0.5543848947547624)
OFFICIAL_MIT_3D = ((2, 8), 0.9191938679696156, [1.2180400207975843, 2.0130606509596505, 2.362795456677853],
                   -1.135733703823794)
OFFICIAL_MIT_2D_96 = ((1, 8), 0.8872817742245209, [2.207581394071331, 2.3853431936583243, 1.899068725056572],
                      -0.5887986960533146)


def _check(out: torch.Tensor, want: tuple) -> None:
    shape, mean, first, last = want
    assert tuple(out.shape) == shape
    got = [out.mean().item(), *out.flatten()[:3].tolist(), out[-1].flatten()[-1].item()]
    assert got == pytest.approx([mean, *first, last], rel=0, abs=1e-9)


def test_tiny_has_the_official_layout_of_its_settings() -> None:
    # The official encoder and MiT built as described above have 105,120 and 166,880 parameters.
    assert _count(TINY) == 105_120
    assert _count(TINY, MiT) == 166_880


def test_2d_and_3d_outputs_equal_the_official_encoder() -> None:
    model = _filled_tiny()
    with torch.no_grad():
        out_2d = model(_rule_input((2, 3, 64, 64)))
        out_3d = model(_rule_input((2, 1, 32, 32, 32)))
    assert len(out_2d) == len(out_3d) == 5
    for out, want in zip(out_2d, OFFICIAL_2D, strict=True):
        _check(out, want)
    for out, want in zip(out_3d, OFFICIAL_3D, strict=True):
        _check(out, want)


def test_larger_inputs_resample_the_position_embeddings_as_the_official_encoder() -> None:
    model = _filled_tiny()
    with torch.no_grad():
        _check(model(_rule_input((1, 3, 96, 96)))[-1], OFFICIAL_2D_96)
        _check(model(_rule_input((1, 1, 32, 64, 64)))[-1], OFFICIAL_3D_64)


def test_mit_representation_equals_the_official_mit() -> None:
    model = _filled_tiny(MiT)
    with torch.no_grad():
        _check(model(_rule_input((2, 3, 64, 64))), OFFICIAL_MIT_2D)
        _check(model(_rule_input((2, 1, 32, 32, 32))), OFFICIAL_MIT_3D)
        _check(model(_rule_input((1, 3, 96, 96))), OFFICIAL_MIT_2D_96)


# --- the claims of the design ------------------------------------------------------------------------------


def test_transformer_weights_are_shared_and_embeddings_and_reductions_are_per_modality() -> None:
    model = MiTEncoder(TINY)
    images = torch.randn(2, 3, 64, 64)
    volumes = torch.randn(2, 1, 32, 32, 32)

    def grads(x: torch.Tensor) -> dict[str, bool]:
        model.zero_grad(set_to_none=True)
        sum(o.sum() for o in model(x)).backward()
        return {n: p.grad is not None and bool(p.grad.abs().sum() > 0) for n, p in model.named_parameters()}

    g2, g3 = grads(images), grads(volumes)
    for name in g2:
        if "_2d" in name:
            assert g2[name] and not g3[name], name
        elif "_3d" in name:
            assert g3[name] and not g2[name], name
        else:  # q, kv, proj, MLP, LayerNorms (the reduction's too), class token and its projections
            assert g2[name] and g3[name], name
    attn = model.blocks[0][0].attn
    assert isinstance(attn.sr_2d, torch.nn.Conv2d) and isinstance(attn.sr_3d, torch.nn.Conv3d)
    assert attn.sr_2d.kernel_size == attn.sr_2d.stride == (4, 4)
    assert attn.sr_3d.kernel_size == attn.sr_3d.stride == (4, 4, 4)
    assert not hasattr(model.blocks[2][0].attn, "sr_2d")  # sr ratio 1: keys from every token


def test_switchable_embedding_layout() -> None:
    # Pacth_embeds.py Conv2dBlock/Conv3dBlock: conv without bias -> InstanceNorm(affine) -> LeakyReLU;
    # the stem is 7×7(×7), stride 2 or (1, 2, 2), padding 3; stage embeddings 3×3(×3), stride 2, padding 1.
    model = MiTEncoder(TINY)
    s2, s3 = model.stem.branch_2d, model.stem.branch_3d
    assert (s2.conv.in_channels, s2.conv.out_channels, s2.conv.kernel_size, s2.conv.stride, s2.conv.padding) == (
        3, 8, (7, 7), (2, 2), (3, 3))
    assert (s3.conv.in_channels, s3.conv.kernel_size, s3.conv.stride, s3.conv.padding) == (
        1, (7, 7, 7), (1, 2, 2), (3, 3, 3))
    e2, e3 = model.embeds[1].branch_2d, model.embeds[1].branch_3d
    assert (e2.conv.in_channels, e2.conv.out_channels, e2.conv.kernel_size, e2.conv.stride, e2.conv.padding) == (
        8, 16, (3, 3), (2, 2), (1, 1))
    assert (e3.conv.kernel_size, e3.conv.stride, e3.conv.padding) == ((3, 3, 3), (2, 2, 2), (1, 1, 1))
    for block in (s2, s3, e2, e3):
        assert block.conv.bias is None and block.norm.affine and block.slope == 0.01
    assert isinstance(s2.norm, torch.nn.InstanceNorm2d) and isinstance(s3.norm, torch.nn.InstanceNorm3d)
    # LeakyReLU, not ReLU: a negative pre-activation passes scaled by 0.01
    spe = SwitchablePatchEmbedding(1, 1, 1, 1, 1, (1, 1, 1), 0, 0.01)
    with torch.no_grad():
        spe.branch_2d.conv.weight.fill_(1.0)
    x = torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])  # mean 3, std 1.8708 -> normalised (-1.069, ...)
    want = (x - 3) / torch.sqrt(x.var(unbiased=False) + 1e-5)
    torch.testing.assert_close(spe(x), torch.where(want > 0, want, 0.01 * want))


def test_block_widths_norms_and_heads_follow_the_config() -> None:
    model = MiTEncoder(TINY)
    assert [len(b) for b in model.blocks] == [1, 2, 1, 1]
    block = model.blocks[1][1]
    assert isinstance(block, MiTBlock)
    assert block.mlp[0].out_features == 32 and isinstance(block.mlp[1], torch.nn.GELU)  # 16 · mlp ratio 2
    assert block.mlp[1].approximate == "none"
    assert block.norm1.eps == block.norm2.eps == 1e-6 and block.attn.sr_norm.eps == 1e-5
    assert block.attn.num_heads == 2 and block.attn.scale == 8 ** -0.5
    assert block.attn.q.bias is not None and block.attn.kv.out_features == 32
    no_bias = MiTEncoder(dataclasses.replace(TINY, qkv_bias=False)).blocks[0][0].attn
    assert no_bias.q.bias is None and no_bias.kv.bias is None and no_bias.proj.bias is not None
    assert [p.proj.in_features for p in (model.blocks[i][0].attn for i in range(4))] == [8, 16, 24, 32]
    assert [(m.in_features, m.out_features) for m in model.cls_proj] == [(8, 16), (16, 24), (24, 32)]
    # Built alone, a block and its attention default to the official encoder's settings.
    alone = MiTBlock(16, 2, 4, 2)
    assert alone.attn.q.bias is not None and alone.attn.kv.bias is not None
    assert alone.norm1.eps == 1e-6 and alone.attn.sr_norm.eps == 1e-5
    assert alone.attn.sr_2d is not None and alone.attn.sr_3d is not None
    assert SpatialReductionAttention(16, 2, 1).q.bias is not None


def test_official_initialisation() -> None:
    # MiT_encoder.py / MiT.py _init_weights: Linear trunc_normal_(std=.02), bias 0; Conv2d/Conv3d
    # kaiming_normal_(mode='fan_out'); position embeddings and the class token trunc_normal_(std=.02).
    torch.manual_seed(0)
    mit = MiT(dataclasses.replace(TINY, embed_dims=(8, 16, 24, 64)))
    enc = mit.encoder
    for linear in (enc.blocks[3][0].mlp[0], mit.blocks[0][0].mlp[0], enc.cls_proj[2]):
        w = linear.weight.detach()
        assert 0.018 < float(w.std()) < 0.022, linear
        assert not linear.bias.detach().any()
    for conv, fan_out in ((enc.stem.branch_3d.conv, 8 * 343), (enc.embeds[3].branch_2d.conv, 64 * 9),
                          (enc.blocks[0][0].attn.sr_3d, 8 * 64)):
        assert float(conv.weight.detach().std()) == pytest.approx(math.sqrt(2 / fan_out), rel=0.1), conv
    for p in (enc.pos_3d[0], enc.pos_2d[0], mit.pos_3d[2]):
        assert float(p.detach().std()) == pytest.approx(0.02, rel=0.1)
    assert float(enc.cls_token.detach().abs().max()) < 0.1 and enc.cls_token.detach().any()


def test_decoder_goes_back_up_the_pyramid_with_skips() -> None:
    # MiT.py: DecEmbed = ConvTranspose(kernel 2, stride 2) per modality; decoder stage j adds the encoder's
    # stage 3 - j map; blocks without q/kv bias, LayerNorm eps 1e-5; final LayerNorm on the class token.
    mit = MiT(TINY)
    assert all(isinstance(u, torch.nn.ConvTranspose2d) and u.kernel_size == u.stride == (2, 2) for u in mit.up_2d)
    assert all(isinstance(u, torch.nn.ConvTranspose3d) and u.stride == (2, 2, 2) for u in mit.up_3d)
    assert [(u.in_channels, u.out_channels) for u in mit.up_2d] == [(32, 24), (24, 16), (16, 8)]
    assert [(m.in_features, m.out_features) for m in mit.cls_proj] == [(32, 24), (24, 16), (16, 8)]
    assert [len(b) for b in mit.blocks] == [1, 2, 1]
    block = mit.blocks[1][1]
    assert block.attn.q.bias is None and block.attn.kv.bias is None and block.norm1.eps == 1e-5
    assert block.mlp[0].out_features == 32 and block.attn.num_heads == 2 and block.attn.sr_ratio == 2
    assert mit.blocks[2][0].attn.sr_3d.kernel_size == (4, 4, 4) and mit.norm.eps == 1e-5
    assert mit.grids["3d"] == [(4, 2, 2), (8, 4, 4), (16, 8, 8)]
    # The skip: with the last up-sampling zeroed, the last decoder stage's patch tokens are the encoder's
    # stage-1 map plus the position embedding.
    x = torch.randn(1, 3, 64, 64)
    seen: list[torch.Tensor] = []
    mit.blocks[2][0].register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    with torch.no_grad():
        mit.up_2d[2].weight.zero_()
        mit.up_2d[2].bias.zero_()
        mit(x)
        stage_1 = mit.encoder(x)[1]
    torch.testing.assert_close(seen[0][:, 1:] - mit.pos_2d[2][:, 1:], stage_1.flatten(2).transpose(1, 2))
    with pytest.raises(ValueError, match="no 3d branch"):
        MiT(dataclasses.replace(TINY, modalities=("2d",)))(torch.randn(1, 1, 32, 32, 32))


def test_attention_with_reduction_matches_its_definition() -> None:
    # softmax(q kᵀ / sqrt(d_head)) v per head, keys/values from LN([cls; conv_sr(patches)]), on a 3×4 grid
    torch.manual_seed(0)
    attn = SpatialReductionAttention(4, 2, 2).double()
    x = torch.randn(2, 1 + 4 * 6, 4, dtype=torch.float64)
    grid = (4, 6)
    patches = x[:, 1:].transpose(1, 2).reshape(2, 4, 4, 6)
    reduced = torch.nn.functional.conv2d(patches, attn.sr_2d.weight, attn.sr_2d.bias, stride=2)
    src = torch.cat([x[:, :1], reduced.flatten(2).transpose(1, 2)], dim=1)
    src = torch.nn.functional.layer_norm(src, (4,), attn.sr_norm.weight, attn.sr_norm.bias, 1e-5)
    q = x @ attn.q.weight.T + attn.q.bias
    kv = src @ attn.kv.weight.T + attn.kv.bias
    k, v = kv[..., :4], kv[..., 4:]
    heads = []
    for h in range(2):
        s = slice(2 * h, 2 * h + 2)
        w = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / math.sqrt(2), dim=-1)
        heads.append(w @ v[..., s])
    want = torch.cat(heads, dim=-1) @ attn.proj.weight.T + attn.proj.bias
    torch.testing.assert_close(attn(x, grid), want)
    with pytest.raises(ValueError, match="not divisible"):
        SpatialReductionAttention(6, 4, 1)


def test_position_resampling() -> None:
    # Same grid: unchanged. Stored (1, 1, 2) -> (1, 1, 4), trilinear with scale factor 4.1 / 2 = 2.05:
    # source coordinates (j + 0.5) / 2.05 - 0.5 clamp to [0, 1]: 0, 0.23171, 0.71951, 1.
    pos = torch.tensor([[[9.0], [1.0], [3.0]]], dtype=torch.float64)
    assert resample_position(pos, (1, 1, 2), (1, 1, 2)) is pos
    out = resample_position(pos, (1, 1, 2), (1, 1, 4))
    t = torch.tensor([0.0, 1.5 / 2.05 - 0.5, 2.5 / 2.05 - 0.5, 1.0], dtype=torch.float64)
    torch.testing.assert_close(out[0, :, 0], torch.cat([torch.tensor([9.0], dtype=torch.float64), 1 + 2 * t]))
    # 2D: a pattern varying along the width stays on the width axis of a wider (2, 4) grid
    pos2 = torch.tensor([[[0.0], [1.0], [5.0], [1.0], [5.0]]])
    grid = resample_position(pos2, (2, 2), (2, 4))[0, 1:, 0].reshape(2, 4)
    torch.testing.assert_close(grid[0], grid[1])
    assert bool((grid[0, 1:] >= grid[0, :-1]).all()) and grid[0, 0] < grid[0, -1]


def test_class_token_enters_at_stage_1() -> None:
    # The stem runs before the class token is prepended; stage-1 patches attend to it.
    model = MiTEncoder(TINY).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        base = model(x)
        model.cls_token.add_(torch.linspace(-1, 1, 8))  # not a constant: LayerNorm removes those
        moved = model(x)
    torch.testing.assert_close(base[0], moved[0])
    assert not torch.allclose(base[1], moved[1])
    assert base[4].shape == (1, 1 + 2 * 2, 32)


def test_odd_sizes_and_bad_inputs() -> None:
    model = MiTEncoder(TINY)
    out = model(torch.randn(1, 3, 72, 72))  # grids 36, 18, 9, 5, 3
    assert [tuple(o.shape) for o in out] == [(1, 8, 36, 36), (1, 8, 18, 18), (1, 16, 9, 9), (1, 24, 5, 5),
                                             (1, 10, 32)]
    with pytest.raises(ValueError, match="4-D image or 5-D volume"):
        model(torch.randn(2, 16, 16))
    only_2d = MiTEncoder(dataclasses.replace(TINY, modalities=("2d",)))
    assert only_2d.stem.branch_3d is None and len(only_2d.pos_3d) == 0 and only_2d.blocks[0][0].attn.sr_3d is None
    with pytest.raises(ValueError, match="no 3d branch"):
        only_2d(torch.randn(1, 1, 32, 32, 32))
    with pytest.raises(ValueError, match="2 or 3 spatial dimensions"):
        ConvNormAct(1, 1, 4, 3, 2, 1, 0.01)
    with pytest.raises(ValueError, match="no 2d branch"):
        SwitchablePatchEmbedding(1, 1, 4, 3, 2, (2, 2, 2), 1, 0.01, ("3d",))(torch.randn(1, 1, 8, 8))


# --- pre-training: projection head and self-distillation (UniMiSS/main.py, UniMiSS/models/MiT.py Head) ------


def test_distillation_defaults_are_official() -> None:
    # main.py: --out_dim 65536, --norm_last_layer True, --teacher_temp 0.04 (warm-up 0.04 over 0 epochs),
    # --momentum_teacher 0.996; TrainLoss: student_temp 0.1, center_momentum 0.9; Head: nlayers 3,
    # hidden_dim 2048, bottleneck_dim 256. The official Head(48, 65536) has 21,664,000 parameters, 21,598,464
    # trainable (the weight norm's gain is frozen).
    c = SelfDistillationConfig()
    assert c == OFFICIAL_DISTILLATION
    assert (c.out_dim, c.hidden_dim, c.bottleneck_dim, c.num_layers, c.norm_last_layer) == (65536, 2048, 256, 3, True)
    assert (c.student_temp, c.teacher_temp, c.center_momentum, c.teacher_momentum) == (0.1, 0.04, 0.9, 0.996)
    defaults = {f: inspect.signature(f).parameters for f in (self_distillation_loss, update_center, teacher_momentum)}
    assert defaults[self_distillation_loss]["student_temp"].default == 0.1
    assert defaults[self_distillation_loss]["teacher_temp"].default == 0.04
    assert defaults[self_distillation_loss]["views"].default == 2
    assert defaults[update_center]["momentum"].default == 0.9 and defaults[teacher_momentum]["base"].default == 0.996


def test_official_head_size() -> None:
    with torch.device("meta"):
        head = ProjectionHead(48)
    assert sum(p.numel() for p in head.parameters()) == 21_664_000
    assert sum(p.numel() for p in head.parameters() if p.requires_grad) == 21_598_464


def test_head_output_equals_the_official_head() -> None:
    # Official Head(8, 10, hidden_dim=16, bottleneck_dim=6) in float64, weight_g = 1, the other parameters
    # filled with _rule under these names (last_layer.weight_v -> ...original1), input _rule_input((4, 8)).
    head = ProjectionHead(8, TINY_DISTILLATION).double()
    with torch.no_grad():
        for name, p in head.named_parameters():
            p.copy_(torch.ones_like(p) if name.endswith("original0") else _rule(name, tuple(p.shape)))
        out = head(_rule_input((4, 8)))
    _check(out, ((4, 10), 0.00028775632434912266, [0.18787754967774423, 0.7713394421425852, -0.9995195735957667],
                 0.5875458317810224))
    assert out.flatten()[3].item() == pytest.approx(0.6614408803437278, abs=1e-9)


def test_head_layers_and_frozen_gain() -> None:
    head = ProjectionHead(8, TINY_DISTILLATION)
    kinds = [type(m) for m in head.mlp]
    assert kinds == [torch.nn.Linear, torch.nn.GELU, torch.nn.Linear, torch.nn.GELU, torch.nn.Linear]
    assert [m.out_features for m in head.mlp if isinstance(m, torch.nn.Linear)] == [16, 16, 6]
    gain = head.last_layer.parametrizations.weight.original0
    assert not gain.requires_grad and bool((gain == 1).all()) and head.last_layer.bias is None
    assert all(not m.bias.detach().any() for m in head.mlp if isinstance(m, torch.nn.Linear))
    assert float(head.mlp[0].weight.detach().std()) < 0.05  # truncated normal, std 0.02
    # gain 1: every row of the effective last-layer weight has unit norm; the bottleneck is L2-normalised, so
    # scaling the MLP's output changes nothing
    torch.testing.assert_close(head.last_layer.weight.detach().norm(dim=1), torch.ones(10))
    x = torch.randn(3, 8)
    with torch.no_grad():
        base = head(x)
        head.mlp[4].weight.mul_(7.0)
        head.mlp[4].bias.mul_(7.0)
        torch.testing.assert_close(head(x), base)
    one = ProjectionHead(8, dataclasses.replace(TINY_DISTILLATION, num_layers=1, norm_last_layer=False))
    assert isinstance(one.mlp, torch.nn.Linear) and one.mlp.out_features == 6
    assert one.last_layer.parametrizations.weight.original0.requires_grad
    four = ProjectionHead(8, dataclasses.replace(TINY_DISTILLATION, num_layers=4))
    assert [m.out_features for m in four.mlp if isinstance(m, torch.nn.Linear)] == [16, 16, 16, 6]


def test_self_distillation_loss_and_centre_equal_the_official_trainloss() -> None:
    # Official TrainLoss(out_dim=10, ncrops=2, 0.04, 0.04, 0, nepochs=5) in float64 at epoch 3, single process,
    # centre preset to 0.05 sin(k); student = 2 · _rule_input((6, 10)), teacher = 0.3 cos(0.21 i), 3 per view.
    student = (2 * _rule_input((6, 10))).requires_grad_(True)
    teacher = (0.3 * torch.cos(0.21 * torch.arange(60, dtype=torch.float64))).reshape(6, 10).requires_grad_(True)
    center = 0.05 * torch.sin(torch.arange(10, dtype=torch.float64)).reshape(1, 10)
    loss = self_distillation_loss(student, teacher, center)
    assert loss.item() == pytest.approx(14.26737219642106, rel=0, abs=1e-9)
    want_center = [4.963064165089958e-05, 0.037932088234841815, 0.04099764614424894, 0.006439547693883805,
                   -0.033960996534212515, -0.04305468739399221, -0.012479261068814652, 0.029652215316311906,
                   0.044598462917155066, 0.018608798842079874]
    new_center = update_center(center, teacher)
    assert new_center.shape == (1, 10) and not new_center.requires_grad  # no gradient through the centre
    assert new_center.flatten().tolist() == pytest.approx(want_center, rel=0, abs=1e-12)
    loss.backward()
    assert teacher.grad is None and student.grad is not None and float(student.grad.abs().sum()) > 0


def test_loss_pairs_each_teacher_view_with_the_other_student_view() -> None:
    # Teacher view 0 is one-hot on class 0 and view 1 on class 1 (after sharpening); the student's view 1
    # predicts class 0 and view 0 class 1: the crossed pairs match, so the loss is small.
    teacher = torch.tensor([[9.0, 0, 0], [0, 9.0, 0]])
    student_crossed = torch.tensor([[0, 9.0, 0], [9.0, 0, 0]])
    crossed = self_distillation_loss(student_crossed, teacher, torch.zeros(1, 3))
    straight = self_distillation_loss(student_crossed.flip(0), teacher, torch.zeros(1, 3))
    assert crossed.item() < 1e-3 and straight.item() > 80
    # by hand: t = softmax(teacher / 0.04) is one-hot to 1e-97; each term is log-sum-exp(s / 0.1) - s_c / 0.1
    lse = torch.logsumexp(torch.tensor([90.0, 0.0, 0.0]), dim=0)
    assert straight.item() == pytest.approx(float(lse), rel=1e-6)


def test_teacher_momentum_schedule_and_ema() -> None:
    # utils.cosine_scheduler(0.996, 1, epochs, iters): 1 + 0.5 (0.996 - 1)(1 + cos(pi step / total))
    assert teacher_momentum(0, 100) == pytest.approx(0.996)
    assert teacher_momentum(50, 100) == pytest.approx(0.998)
    assert teacher_momentum(25, 100) == pytest.approx(1 - 0.002 * (1 + math.cos(math.pi / 4)))
    teacher, student = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        teacher.weight.fill_(1.0)
        teacher.bias.fill_(-2.0)
        student.weight.fill_(0.0)
        student.bias.fill_(3.0)
    update_teacher(teacher, student, 0.9)
    torch.testing.assert_close(teacher.weight.detach(), torch.full((1, 2), 0.9))
    torch.testing.assert_close(teacher.bias.detach(), torch.tensor([-1.5]))
    assert teacher.weight.grad_fn is None  # an in-place update outside autograd


def test_student_is_mit_then_head() -> None:
    model = UniMiSS(TINY, TINY_DISTILLATION).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.head(model.backbone(x)))
    assert model.head.mlp[0].in_features == TINY.dec_dims[-1] and model(x).shape == (2, 10)
