"""EDT (arXiv:2112.10175): the claims that define the paper."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from refimpl.edt import (
    EDT,
    EDT_B,
    EDT_S,
    EDT_T,
    OFFICIAL,
    TINY,
    CrossedLocalAttentionBlock,
    DenoiseDecoder,
    DenoiseEncoder,
    EDTBody,
    EDTConfig,
    EDTMlp,
    LePEWindowAttention,
    ResBlock,
    ResBlockUp,
    SkipFusion,
    SRDecoder,
    SREncoder,
)
from refimpl.styleswin import shifted_window_mask

TASKS = {"sr2": ("sr", 2), "denoise": ("denoise", 0)}


def _model() -> EDT:
    return EDT(TINY, tasks=TASKS)


def _close(actual: torch.Tensor, expected: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1.3e-6) -> None:
    # plain allclose: torch.testing.assert_close's first call imports torch.distributed, seconds per process
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.allclose(actual, expected.to(actual.dtype), atol=atol, rtol=rtol), (actual - expected).abs().max()


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _block(dim: int = 8, *, shifted: bool = False) -> CrossedLocalAttentionBlock:
    return CrossedLocalAttentionBlock(dim, num_heads=2, window=(2, 4), shifted=shifted, mlp_ratio=2.0)


def test_config_defaults_are_the_official_edt_t_config() -> None:
    # fenglinglwb/EDT @ f4b3b77, configs/SRx2_EDTT_Div2kFlickr2K.py: EMBED_DIM 60, DEPTHS [6]*4, NUM_HEADS 6,
    # WINDOW_SIZE (6, 24), MLP_RATIO 2, NUM_FEAT 8, DEPTH = NOISE_DOWN = 2, UPSAMPLER 'pixelshuffledirect',
    # IMAGE_RANGE 1.0; utils/modules/edt.py: rgb_mean (0.4488, 0.4371, 0.4040).
    assert dataclasses.asdict(EDTConfig()) == {
        "embed_dim": 60, "depths": (6, 6, 6, 6), "num_heads": 6, "window": (6, 24), "mlp_ratio": 2.0, "num_feat": 8,
        "head_depth": 2, "upsampler": "pixelshuffledirect", "rgb_mean": (0.4488, 0.4371, 0.4040), "img_range": 1.0,
    }
    assert OFFICIAL == EDT_T == EDTConfig()
    # configs/SRx2_EDTS_*: 120, [6]*5, NUM_FEAT 16; SRx2_EDTB_* and DNg15_EDTB_D4: 180, [6]*6, 32; both 'pixelshuffle'
    assert (EDT_S.embed_dim, EDT_S.depths, EDT_S.num_feat, EDT_S.upsampler) == (120, (6,) * 5, 16, "pixelshuffle")
    assert (EDT_B.embed_dim, EDT_B.depths, EDT_B.num_feat, EDT_B.upsampler) == (180, (6,) * 6, 32, "pixelshuffle")
    assert dataclasses.replace(EDT_B, embed_dim=60, depths=(6,) * 4, num_feat=8, upsampler="pixelshuffledirect") == EDT_T


@pytest.mark.parametrize(("config", "tasks", "total", "body"), [
    (EDT_T, {"x2": ("sr", 2)}, 916_924, 829_020),
    (EDT_S, {"x2": ("sr", 2)}, 4_230_323, 3_849_000),
    (EDT_B, {"g15": ("denoise", 0)}, 11_503_163, 10_096_740),
    (dataclasses.replace(EDT_T, upsampler="pixelshuffle"), {f"x{s}": ("sr", s) for s in (2, 3, 4)}, 1_137_537, 829_020),
])
def test_parameter_counts_match_the_official_network(config: EDTConfig, tasks: dict, total: int, body: int) -> None:
    # fenglinglwb/EDT @ f4b3b77, utils/modules/edt.py Network(config) for configs/SRx2_EDT{T,S}_Div2kFlickr2K.py,
    # DNg15_EDTB_D4.py and SRx2x3x4_EDTT_ImageNet200K.py (with 'pixelshuffle'), counted on CPU (timm layers
    # stubbed). EDT-B SR×2 (11,479,355) and SR×4 (11,627,067) share the tested body and heads.
    with torch.device("meta"):
        model = EDT(config, tasks=tasks)
    assert (_count(model), _count(model.body)) == (total, body)


def test_output_shapes_at_the_official_input_size() -> None:
    # SR inputs are 48² patches; denoising inputs 48·2^NOISE_DOWN = 192², so the body sees 48² tokens either way.
    # (the heads alone, to keep the test fast: the body maps its 48² tokens to 48² tokens, tested below)
    config = dataclasses.replace(EDT_T, upsampler="pixelshuffle")
    lr, noisy = torch.rand(1, 3, 48, 48), torch.rand(1, 3, 192, 192)
    with torch.no_grad():
        feat, skips = SREncoder(config)(lr)
        assert feat.shape == (1, 60, 48, 48)
        for s in (2, 3, 4):
            assert SRDecoder(config, s)(feat, skips, lr).shape == (1, 3, 48 * s, 48 * s)
        feat, skips = DenoiseEncoder(config)(noisy)
        assert feat.shape == (1, 60, 48, 48)
        assert DenoiseDecoder(config)(feat, skips, noisy).shape == (1, 3, 192, 192)


def _fill(model: torch.nn.Module) -> None:
    # every parameter from its size alone, so the official Network and this one get the same numbers
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_((0.3 * torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + n)).view(p.shape).to(p.dtype))


@pytest.mark.parametrize(("upsampler", "sr_first", "sr_mean", "sr_std"), [
    ("pixelshuffledirect", [0.8257078067091665, 0.07082760488808804, 2.9233724810975117, 1.6430958393704316],
     2.3708737075002517, 7.250233734583581),
    ("pixelshuffle", [2.450649695602769, 1.4496721800731582, 2.5021581487194164, 0.10153120093181323],
     -8.267439066408206, 15.954163827381084),
])
def test_outputs_match_the_official_network_on_a_deterministic_fill(upsampler: str, sr_first: list[float],
                                                                     sr_mean: float, sr_std: float) -> None:
    # fenglinglwb/EDT @ f4b3b77, utils/modules/edt.py Network with MODEL.IMAGE_SIZE 8, WINDOW_SIZE (2, 4),
    # DEPTHS [2, 2], EMBED_DIM 8, NUM_HEADS 2, NUM_FEAT 2, DEPTH 2, SCALES [2], NOISE_LEVELS [15], float64,
    # every parameter filled by _fill's rule, inputs below: the official outputs (mask −100 there, −∞ here). They
    # agree to 1e-14 in float64; float32 is checked here (double-precision convolutions are slow on CPU).
    config = EDTConfig(embed_dim=8, depths=(2, 2), num_heads=2, window=(2, 4), num_feat=2, upsampler=upsampler)
    model = EDT(config, tasks={"x2": ("sr", 2), "g15": ("denoise", 0)}).eval()
    _fill(model)
    lr = ((torch.arange(3 * 8 * 8, dtype=torch.float64).view(1, 3, 8, 8) * 0.713).sin() * 0.5 + 0.5).float()
    noisy = ((torch.arange(3 * 32 * 32, dtype=torch.float64).view(1, 3, 32, 32) * 0.291).cos() * 0.5 + 0.5).float()
    with torch.no_grad():
        sr, dn = model(lr, "x2").double(), model(noisy, "g15").double()
    _close(sr.flatten()[:4], torch.tensor(sr_first, dtype=torch.float64), atol=1e-4, rtol=0)
    assert (sr.mean().item(), sr.std().item()) == pytest.approx((sr_mean, sr_std), abs=1e-4)
    _close(dn.flatten()[:4], torch.tensor(
        [2.21294524579812, 2.2193854232486974, 2.2516541198277698, 2.2930637331217847], dtype=torch.float64),
        atol=1e-4, rtol=0)
    assert (dn.mean().item(), dn.std().item()) == pytest.approx((2.386924457624336, 2.3224343552780713), abs=1e-4)


def test_x2_sr_and_denoise_heads_shapes_and_body_resolution(device: torch.device) -> None:
    model = _model().to(device)
    seen = []
    model.body.register_forward_hook(lambda _m, inp, _out: seen.append(tuple(inp[0].shape)))
    assert model(torch.rand(2, 3, 8, 8, device=device), "sr2").shape == (2, 3, 16, 16)
    # the denoising encoder down-samples ×4 so the body runs on 8 × 8 tokens
    assert model(torch.rand(2, 3, 32, 32, device=device), "denoise").shape == (2, 3, 32, 32)
    assert seen == [(2, TINY.embed_dim, 8, 8)] * 2
    assert isinstance(model.encoders["sr2"], SREncoder) and isinstance(model.decoders["sr2"], SRDecoder)
    assert isinstance(model.encoders["denoise"], DenoiseEncoder)
    assert isinstance(model.decoders["denoise"], DenoiseDecoder)


def test_encoders_double_the_channels_and_return_one_skip_per_block() -> None:
    config = dataclasses.replace(TINY, num_feat=3)
    feat, skips = SREncoder(config)(torch.rand(1, 3, 8, 8))
    assert feat.shape == (1, 8, 8, 8) and [s.shape for s in skips] == [(1, 6, 8, 8), (1, 12, 8, 8)]
    feat, skips = DenoiseEncoder(config)(torch.rand(1, 3, 32, 32))
    # the skips are taken before each block's strided conv
    assert feat.shape == (1, 8, 8, 8) and [s.shape for s in skips] == [(1, 6, 32, 32), (1, 12, 16, 16)]


def test_decoders_use_the_deepest_skip_first() -> None:
    # a skip that is zeroed changes the output only through the decoder step that reads it
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, num_feat=3)
    enc, dec = DenoiseEncoder(config), DenoiseDecoder(config)
    x = torch.rand(1, 3, 32, 32)
    feat, skips = enc(x)
    seen = []
    for block in dec.blocks:
        block.register_forward_hook(lambda _m, inp, _out: seen.append(tuple(inp[1].shape)))
    dec(feat, skips, x)
    assert seen == [(1, 12, 16, 16), (1, 6, 32, 32)]
    sr_enc, sr_dec = SREncoder(config), SRDecoder(config, 2)
    feat, skips = sr_enc(torch.rand(1, 3, 8, 8))
    seen.clear()
    for block in sr_dec.blocks:
        block.register_forward_hook(lambda _m, inp, _out: seen.append(tuple(inp[1].shape)))
    sr_dec(feat, skips, torch.rand(1, 3, 8, 8))
    assert seen == [(1, 12, 8, 8), (1, 6, 8, 8)]


def test_sr_output_is_a_residual_on_the_bilinearly_upsampled_input() -> None:
    dec = SRDecoder(TINY, 2)
    torch.nn.init.zeros_(dec.out.weight)
    torch.nn.init.zeros_(dec.out.bias)
    image = torch.rand(1, 3, 8, 8)
    feat, skips = SREncoder(TINY)(image)
    expected = torch.nn.functional.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False)
    _close(dec(feat, skips, image), expected)


def test_model_shifts_by_the_rgb_mean_and_scales_by_the_image_range() -> None:
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, img_range=2.0)
    model = EDT(config, tasks={"dn": ("denoise", 0)}).eval()
    x = torch.rand(1, 3, 32, 32)
    mean = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)
    lq = (x - mean) * 2.0
    feat, skips = model.encoders["dn"](lq)
    expected = model.decoders["dn"](model.body(feat), skips, lq) / 2.0 + mean
    _close(model(x, "dn"), expected)
    assert "rgb_mean" not in model.state_dict()  # a constant, not part of the official checkpoints


def test_unknown_upsampler_and_unsupported_scale_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown upsampler 'nearest'"):
        SRDecoder(dataclasses.replace(TINY, upsampler="nearest"), 2)
    with pytest.raises(ValueError, match="scales 2\\^n and 3, got 5"):
        SRDecoder(TINY, 5)
    direct = SRDecoder(dataclasses.replace(TINY, upsampler="pixelshuffledirect"), 3)
    assert direct.upsample[0].out_channels == 27 and isinstance(direct.out, torch.nn.Identity)
    shuffle = SRDecoder(TINY, 4)
    assert [m.out_channels for m in shuffle.upsample if isinstance(m, torch.nn.Conv2d)] == [16, 16]
    assert len(SRDecoder(TINY, 1).upsample) == 0  # ×1 (2⁰): no pixel-shuffle step, as in the official Upsample


def test_body_is_shared_by_every_task() -> None:
    model = _model()
    body = {id(p) for p in model.body.parameters()}
    heads = {id(p) for p in model.encoders.parameters()} | {id(p) for p in model.decoders.parameters()}
    assert not body & heads
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for m in (model.body, model.encoders, model.decoders) for p in m.parameters()
    )
    # both tasks write gradients into the same body parameters; each task leaves the other's head alone
    model(torch.rand(1, 3, 8, 8), "sr2").mean().backward()
    sr_grad = [p.grad.clone() for p in model.body.parameters()]
    assert all(p.grad is None for p in model.encoders["denoise"].parameters())
    model(torch.rand(1, 3, 32, 32), "denoise").mean().backward()
    changed = [not torch.equal(g, p.grad) for g, p in zip(sr_grad, model.body.parameters(), strict=True)]
    assert all(changed)
    assert all(p.grad is not None for p in model.decoders["sr2"].parameters())


def test_changing_the_body_changes_both_tasks_changing_a_head_only_its_own() -> None:
    model = _model().eval()
    lr, noisy = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 32, 32)
    sr0, dn0 = model(lr, "sr2"), model(noisy, "denoise")
    with torch.no_grad():
        model.decoders["sr2"].out.bias += 1.0
    _close(model(noisy, "denoise"), dn0)
    assert (model(lr, "sr2") - sr0).abs().min() > 0.9
    with torch.no_grad():
        model.body.conv_after_body.bias += 1.0
    assert (model(noisy, "denoise") - dn0).abs().max() > 1e-3


def test_crossed_attention_reads_its_horizontal_and_vertical_window() -> None:
    # Sec. 3.2: half the channels see a 2 × 4 window, the other half a 4 × 2 window around the token.
    block = _block()
    x = torch.randn(1, 8, 8, 8, requires_grad=True)
    block.crossed_attention(x)[0, 3, 5].sum().backward()
    deps = x.grad[0].abs().sum(-1) > 0
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[2:4, 4:8] = True  # horizontal window holding (3, 5)
    expected[0:4, 4:6] = True  # vertical window holding (3, 5)
    assert torch.equal(deps, expected)


def test_shifted_crossed_attention_windows_move_by_half_a_window() -> None:
    block = _block(shifted=True)
    x = torch.randn(1, 8, 8, 8, requires_grad=True)
    block.crossed_attention(x)[0, 3, 5].sum().backward()
    deps = x.grad[0].abs().sum(-1) > 0
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[3:5, 2:6] = True  # horizontal windows now start at row 1 + 2k, column 2 + 4k
    expected[2:6, 5:7] = True  # vertical windows start at row 2 + 4k, column 1 + 2k
    assert torch.equal(deps, expected)


def test_every_other_block_of_a_stage_is_shifted() -> None:
    body = EDTBody(dataclasses.replace(TINY, depths=(4, 3)))
    assert [[b.shifts is not None for b in stage] for stage in body.stages] == [[False, True, False, True],
                                                                                 [False, True, False]]


def test_shift_masks_follow_the_input_size_and_keep_far_apart_tokens_apart() -> None:
    # A 4 × 8 grid (not square, 16 channels): 2 × 2 horizontal windows of 2 × 4 tokens. Token (0, 0) sits, after
    # the shift, in a window with the bottom-right corner's tokens; the mask keeps it from reading them.
    torch.manual_seed(0)
    block = _block(16, shifted=True)
    with torch.no_grad():
        block.attns[0].lepe.weight.zero_()  # LePE reads the whole (unmasked) window; look at attention alone
        block.proj.weight.copy_(torch.eye(16))  # and keep the halves apart
    x = torch.randn(1, 4, 8, 16, requires_grad=True)
    out = block.crossed_attention(x)
    assert out.shape == (1, 4, 8, 16)
    out[0, 0, 0, :8].sum().backward()  # the horizontal half only
    deps = x.grad[0].abs().sum(-1) > 0
    expected = torch.zeros(4, 8, dtype=torch.bool)
    expected[0, 0:2] = True  # the shifted window holding (0, 0) covers rows {3, 0}, columns {6, 7, 0, 1}
    assert torch.equal(deps, expected)
    assert torch.equal(block.shift_mask(0, (4, 8)), shifted_window_mask(4, 8, (2, 4), (1, 2)))
    assert torch.equal(block.shift_mask(1, (4, 8)), shifted_window_mask(4, 8, (4, 2), (2, 1)))
    assert not any("mask" in key for key in block.state_dict())  # masks are derived, not stored


def test_lepe_attention_on_constant_values_adds_the_depthwise_conv() -> None:
    attn = LePEWindowAttention(dim=4, window=(2, 2), num_heads=2)
    torch.nn.init.zeros_(attn.lepe.weight)
    torch.nn.init.zeros_(attn.lepe.bias)
    q, k = torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4)
    v = torch.full((1, 4, 4, 4), 3.0)
    _close(attn(q, k, v, None), v)  # softmax rows sum to one, LePE off


def test_mlp_and_residual_blocks_keep_shapes() -> None:
    assert EDTMlp(8, 16)(torch.randn(2, 5, 6, 8)).shape == (2, 5, 6, 8)
    block = ResBlock(4, 6, down=True)
    y = block(torch.randn(1, 4, 8, 8))
    assert y.shape == (1, 6, 8, 8) and block.down(y).shape == (1, 6, 4, 4)
    # the up-path block widens in its first conv (official ResBlockUp), the down-path one in its second
    assert ResBlockUp(8, 4).conv1.weight.shape == (4, 8, 3, 3) and ResBlock(8, 4).conv1.weight.shape == (8, 8, 3, 3)
    assert ResBlock(8, 4).down is None  # only the denoising encoder's blocks down-sample
    assert SkipFusion(8, 4, up=True)(torch.randn(1, 8, 4, 4), torch.randn(1, 4, 8, 8)).shape == (1, 4, 8, 8)


def test_body_is_a_residual_map_of_its_features() -> None:
    body = EDTBody(TINY)
    torch.nn.init.zeros_(body.conv_after_body.weight)
    torch.nn.init.zeros_(body.conv_after_body.bias)
    f = torch.randn(1, TINY.embed_dim, 8, 8)
    _close(body(f), f)


def test_body_linear_layers_start_from_the_official_truncated_normal() -> None:
    torch.manual_seed(0)
    body = EDTBody(dataclasses.replace(EDT_T, depths=(1,)))
    qkv = body.stages[0][0].qkv
    assert 0.018 < qkv.weight.std().item() < 0.022 and (qkv.bias == 0).all()
    assert (body.stages[0][0].mlp.fc1.bias == 0).all()


def test_unknown_task_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown task kind 'deblur'"):
        EDT(TINY, tasks={"x": ("deblur", 0)})


def test_standard_edt_t_block_parameter_count() -> None:
    # Sum over the official CSwinTransformerBlock layers for EDT-T (module docstring).
    block = CrossedLocalAttentionBlock(60, num_heads=6, window=(6, 24), shifted=False, mlp_ratio=2.0)
    assert sum(p.numel() for p in block.parameters()) == 33_180


def _hand_window_attention(q: list, k: list, v: list, lepe_w: list, lepe_b: list, *, heads: int,
                           window: tuple[int, int], blocked: set[tuple[int, int]]) -> list:
    # One window, plain float64 Python from the official definition (fenglinglwb/EDT @ f4b3b77,
    # utils/modules/edt.py WindowAttention): per head, softmax(q·head_dim^-0.5 kᵀ + mask) v, plus LePE, a
    # depthwise 3 × 3 convolution of V zero-padded at the window border. EDT has no relative position bias;
    # LePE is its positional term (the official WindowAttention gives these numbers to 1e-15, mask −100 there).
    # ``blocked`` pairs (query, key) get the mask's large negative value.
    kh, kw = window
    n, c = kh * kw, len(q[0])
    d = c // heads
    out = [[0.0] * c for _ in range(n)]
    for h in range(heads):
        ch = range(h * d, (h + 1) * d)
        for i in range(n):
            logits = [sum(q[i][a] * k[j][a] for a in ch) * d ** -0.5 for j in range(n)]
            logits = [float("-inf") if (i, j) in blocked else x for j, x in enumerate(logits)]
            top = max(logits)
            e = [math.exp(x - top) for x in logits]
            for a in ch:
                out[i][a] = sum(e[j] * v[j][a] for j in range(n)) / sum(e)
    for a in range(c):
        for r in range(kh):
            for s in range(kw):
                acc = lepe_b[a]
                for dr in (-1, 0, 1):
                    for ds in (-1, 0, 1):
                        if 0 <= r + dr < kh and 0 <= s + ds < kw:
                            acc += lepe_w[a][dr + 1][ds + 1] * v[(r + dr) * kw + s + ds][a]
                out[r * kw + s][a] += acc
    return out


@pytest.mark.parametrize("blocked", [set(), {(0, 1), (0, 5), (3, 0), (6, 7), (7, 2)}])
def test_window_attention_matches_the_definition_on_one_window(blocked: set[tuple[int, int]]) -> None:
    # Sec. 3.2: one 2 × 4 window, 4 channels in 2 heads (head_dim 2, scale 2^-0.5), q ≠ k ≠ v, LePE on.
    window, c, heads = (2, 4), 4, 2
    n = window[0] * window[1]
    attn = LePEWindowAttention(dim=c, window=window, num_heads=heads).double()
    lepe_w = [[[0.2 * math.sin(1.3 * a + 0.7 * r + 0.4 * s) for s in range(3)] for r in range(3)] for a in range(c)]
    lepe_b = [0.05 * (a - 1.5) for a in range(c)]
    with torch.no_grad():
        attn.lepe.weight.copy_(torch.tensor(lepe_w, dtype=torch.float64).view(c, 1, 3, 3))
        attn.lepe.bias.copy_(torch.tensor(lepe_b, dtype=torch.float64))
    q = [[1.5 * math.sin(0.9 * t + 1.7 * a) for a in range(c)] for t in range(n)]
    k = [[1.2 * math.cos(0.6 * t - 0.8 * a + 0.3) for a in range(c)] for t in range(n)]
    v = [[0.5 + 0.25 * t - 0.4 * a + 0.1 * t * a for a in range(c)] for t in range(n)]
    mask = None
    if blocked:  # the shift masks' form: (nW, N, N), 0 where allowed, a large negative value where not
        mask = torch.zeros(1, n, n, dtype=torch.float64)
        for i, j in blocked:
            mask[0, i, j] = float("-inf")

    def grid(rows: list) -> torch.Tensor:
        return torch.tensor(rows, dtype=torch.float64).view(1, *window, c)

    with torch.no_grad():
        out = attn(grid(q), grid(k), grid(v), mask)
    expected = grid(_hand_window_attention(q, k, v, lepe_w, lepe_b, heads=heads, window=window, blocked=blocked))
    assert attn.scale == 2 ** -0.5
    _close(out, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize(("task", "first", "mean", "std"), [
    ("x2", [-568.3923889328098, -2226.1256171693535, 3486.9847246646123, -145.25395723150206],
     2593.1473708251406, 12829.29797840275),
    ("g15", [3.196787714821615, 4.447323453625004, 5.262588811338185, 5.656700801863586],
     4.447854110769431, 7.745171185640518),
])
def test_three_level_heads_match_the_official_network(task: str, first: list[float], mean: float, std: float) -> None:
    # MODEL.DEPTH (= DATASET.NOISE_DOWN) is a free setting of the official Network; at 3 the encoders widen
    # f → 2f → 4f → 8f and the decoders read skips deepest-first over three levels, where index arithmetic that
    # happens to agree at two levels no longer does. fenglinglwb/EDT @ f4b3b77, utils/modules/edt.py Network with
    # IMAGE_SIZE 8, WINDOW_SIZE (2, 4), DEPTHS [2], EMBED_DIM 8, NUM_HEADS [2], NUM_FEAT 2, DEPTH 3,
    # UPSAMPLER 'pixelshuffledirect', SCALES [2], NOISE_LEVELS [15], float64, _fill's rule, the inputs below:
    # 39,639 parameters; the outputs agree to 1e-14 relative.
    config = EDTConfig(embed_dim=8, depths=(2,), num_heads=2, window=(2, 4), num_feat=2, head_depth=3)
    model = EDT(config, tasks={"x2": ("sr", 2), "g15": ("denoise", 0)}).double().eval()
    assert _count(model) == 39_639
    _fill(model)
    if task == "x2":
        x = (torch.arange(3 * 8 * 8, dtype=torch.float64).view(1, 3, 8, 8) * 0.713).sin() * 0.5 + 0.5
    else:  # 64² = 8 · 2³, so the body sees 8² tokens
        x = (torch.arange(3 * 64 * 64, dtype=torch.float64).view(1, 3, 64, 64) * 0.291).cos() * 0.5 + 0.5
    with torch.no_grad():
        out = model(x, task)
    assert out.shape == ((1, 3, 16, 16) if task == "x2" else (1, 3, 64, 64))
    _close(out.flatten()[:4], torch.tensor(first, dtype=torch.float64), atol=0, rtol=1e-9)
    assert (out.mean().item(), out.std().item()) == pytest.approx((mean, std), rel=1e-9)
