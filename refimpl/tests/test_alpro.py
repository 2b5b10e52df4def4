"""ALPRO (arXiv:2112.09583): TimeSformer video encoder, split BERT, VTC and prompt entity modelling."""

from __future__ import annotations

import math
import re

import pytest
import torch

from refimpl.alpro import (
    ALPRO,
    OFFICIAL,
    TINY,
    ALPROConfig,
    BertLayer,
    DividedSpaceTimeBlock,
    MLMHead,
    MultimodalEncoder,
    Prompter,
    TextEncoder,
    TimeSformer,
    UnimodalEncoders,
    entity_pseudo_labels,
    pem_loss,
    vtc_loss,
)

D = torch.float64


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------------ the official configuration
def test_official_preset_is_the_pretraining_config() -> None:
    # salesforce/ALPRO @ 4ff61636b0956ca0391b3d1df6d04db3d1a546b9:
    # config_release/pretrain_alpro.json: num_frm 4, crop_img_size 224;
    # config_release/timesformer_divst_8x32_224_k600.json: patch_size 16; src/modeling/timesformer/vit.py
    # TimeSformer: embed_dim 768, depth 12, num_heads 12, mlp_ratio 4, LayerNorm eps 1e-6;
    # config_release/base_model.json: BERT-base (vocab 30522, 512 positions, 2 token types, 12 layers,
    # fusion_layer 6, layer_norm_eps 1e-12, dropout 0.1); alpro_models.py: embed_dim 256, temp 0.07,
    # Prompter.ignore_threshold 0.2; src/configs/config.py: num_entities 1000.
    c = ALPROConfig()
    assert c == OFFICIAL
    assert (c.image_size, c.patch_size, c.num_frames, c.in_chans) == (224, 16, 4, 3)
    assert (c.video_depth, c.video_eps) == (12, 1e-6)
    assert (c.dim, c.num_heads, c.mlp_dim) == (768, 12, 3072)
    assert (c.vocab_size, c.max_positions, c.type_vocab_size) == (30522, 512, 2)
    assert (c.text_layers, c.fusion_layers, c.text_eps, c.dropout) == (6, 6, 1e-12, 0.1)
    assert (c.embed_dim, c.temperature, c.num_entities, c.ignore_threshold) == (256, 0.07, 1000, 0.2)
    assert c.num_patches == 196


def test_parameter_counts_equal_the_official_model() -> None:
    # Counted by instantiating salesforce/ALPRO @ 4ff6163 AlproForPretrain (src/modeling/alpro_models.py,
    # timesformer/vit.py, xbert.py) on the meta device with the three config_release files above, the
    # transformers / apex / horovod imports replaced by minimal stand-ins (BertConfig, ACT2FN gelu, tied MLM
    # decoder as transformers 4.11 ties it). Official figures: visual_encoder 121,563,280 of which the unused
    # 400-way Kinetics head 307,600; text_encoder.bert embeddings 23,837,184, layers 0-5 and 6-11 42,527,232
    # each; MLM head without the tied decoder 622,650; vision_proj = text_proj 196,864; itm_head 1,538;
    # mpm_head 2,718,184; temp 1; prompter 231,472,845; AlproForPretrain 465,663,874.
    with torch.device("meta"):
        m, p = ALPRO(OFFICIAL), Prompter(OFFICIAL)
    assert n_params(m.video_encoder) == 121_563_280 - 307_600
    assert n_params(m.text_encoder) == 23_837_184 + 42_527_232
    assert n_params(m.multimodal_encoder) == 42_527_232
    assert n_params(m.mlm_head) - m.mlm_head.word_embed.weight.numel() == 622_650
    assert n_params(m.pem_head) == 2_718_184
    assert n_params(m.vision_proj) == n_params(m.text_proj) == 196_864
    assert n_params(m.vtm_head) == 1_538
    heads = n_params(m) - n_params(m.video_encoder) - n_params(m.text_encoder) - n_params(m.multimodal_encoder)
    assert heads == 2 * 196_864 + 1_538 + 622_650 + 2_718_184 + 1 == 3_736_101
    assert n_params(m) == 233_883_429
    # The official prompter also builds BERT's fusion layers, MLM and matching heads and a Kinetics head.
    assert n_params(p) == 188_013_825 == 231_472_845 - 42_527_232 - 622_650 - 1_538 - 307_600
    assert n_params(m) + n_params(p) + 2 * 307_600 + 42_527_232 + 622_650 + 1_538 == 465_663_874


def test_output_shapes_at_the_official_input_size() -> None:
    # Meta-device kernels import torch._dynamo once per process (seconds); the suite pays that once anyway.
    with torch.device("meta"):
        m = ALPRO(OFFICIAL)
        video = torch.empty(2, 4, 3, 224, 224)
        tokens = torch.zeros(2, 30, dtype=torch.long)  # max_txt_len 30 in pretrain_alpro.json
        mask = torch.ones(2, 30, dtype=torch.long)
        v, v_feat = m.encode_video(video)
        t, t_feat = m.encode_text(tokens, mask)
        fused = m.fuse(t, mask, v)
        region = torch.ones(2, 196)
        assert v.shape == (2, 197, 768) and v_feat.shape == (2, 256)
        assert t.shape == (2, 30, 768) and t_feat.shape == (2, 256)
        assert fused.shape == (2, 30 + 197, 768)
        assert m.vtm_logits(fused).shape == (2, 2)
        assert m.mlm_logits(fused, 30).shape == (2, 30, 30522)
        assert m.pem_logits(fused, 30, region).shape == (2, 1000)


# ------------------------------------------------------------------ a worked number from the official code
def official_name(name: str) -> str:
    """Our parameter name → the official one (salesforce/ALPRO @ 4ff6163), for the rule-filled weights."""
    rules = [
        (r"^video_encoder\.(.*)temporal_norm\.", r"video.\1temporal_norm1."),
        (r"^video_encoder\.", "video."),
        (r"^text_encoder\.word_embed\.", "text.bert.embeddings.word_embeddings."),
        (r"^text_encoder\.pos_embed\.", "text.bert.embeddings.position_embeddings."),
        (r"^text_encoder\.type_embed\.", "text.bert.embeddings.token_type_embeddings."),
        (r"^text_encoder\.norm\.", "text.bert.embeddings.LayerNorm."),
        (r"^text_encoder\.layers\.(\d+)\.", r"text.bert.encoder.layer.\1."),
        (r"^multimodal_encoder\.layers\.(\d+)\.", lambda mo: f"text.bert.encoder.layer.{int(mo[1]) + 1}."),
        (r"\.query\.", ".attention.self.query."), (r"\.key\.", ".attention.self.key."),
        (r"\.value\.", ".attention.self.value."), (r"\.attn_out\.", ".attention.output.dense."),
        (r"\.attn_norm\.", ".attention.output.LayerNorm."), (r"\.fc1\.", ".intermediate.dense."),
        (r"\.fc2\.", ".output.dense."), (r"\.out_norm\.", ".output.LayerNorm."),
        (r"^mlm_head\.dense\.", "text.cls.predictions.transform.dense."),
        (r"^mlm_head\.norm\.", "text.cls.predictions.transform.LayerNorm."),
        (r"^mlm_head\.bias$", "text.cls.predictions.bias"),
        (r"^vision_proj\.", "heads.vision_proj."), (r"^text_proj\.", "heads.text_proj."),
        (r"^vtm_head\.", "heads.itm_head."), (r"^pem_head\.", "heads.mpm_head."),
    ]
    video = name.startswith("video_encoder")  # TimeSformer names differ from ours only in temporal_norm
    for pattern, repl in rules[:2] if video else rules[2:]:
        name = re.sub(pattern, repl, name)
    return name


def rule_filled(config: ALPROConfig) -> ALPRO:
    """Every weight = 0.1 sin(0.37 i + phase(official name)), LayerNorm weights 1 + that; τ = 0.07."""
    m = ALPRO(config).to(D).eval()
    for name, p in m.named_parameters():
        if name == "temperature":  # created in float32; the official value is the float64 0.07
            with torch.no_grad():
                p.fill_(0.07)
            continue
        full = official_name(name)
        t = torch.arange(p.numel(), dtype=D)
        v = 0.1 * torch.sin(0.37 * t + 0.1 * (sum(map(ord, full)) % 101)).reshape(p.shape)
        with torch.no_grad():
            p.copy_(v + 1 if "norm" in full.lower() and full.endswith("weight") else v)
    return m


def tiny_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    video = 0.5 * torch.sin(0.3 * torch.arange(2 * 3 * 3 * 8 * 8, dtype=D) + 0.2).reshape(2, 3, 3, 8, 8)
    tokens = torch.tensor([[2, 5, 7, 9, 0], [3, 11, 4, 6, 8]])
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    return video, tokens, mask


def test_forward_equals_the_official_code_on_rule_filled_weights() -> None:
    # Computed in float64 with the official definitions of salesforce/ALPRO @ 4ff6163 at TINY width (dim 16,
    # 2 heads, MLP 32, 2 TimeSformer blocks, 3 frames of 8×8, patch 4; BertConfig with 2 layers, fusion_layer 1):
    # timesformer/vit.py VisionTransformer.forward_features + TimeSformer's temporal pooling; xbert.py
    # BertForMaskedLM.bert in modes 'text' and 'fusion' and its cls head; AlproForPretrain's ITC lines with
    # temp 0.07 and compute_mpm_with_encoder_out; Prompter.get_pseudo_labels' softmax. Same rule-filled weights.
    m = rule_filled(TINY)
    video, tokens, mask = tiny_inputs()
    with torch.no_grad():
        v, v_feat = m.encode_video(video)
        t, t_feat = m.encode_text(tokens, mask)
        fused = m.fuse(t, mask, v)
        region = torch.tensor([[1.0, 1, 0, 0], [0, 1, 1, 1]], dtype=D)
        prompts = torch.nn.functional.normalize(torch.cos(0.5 * torch.arange(40, dtype=D)).reshape(5, 8), dim=-1)
        q = entity_pseudo_labels(v_feat, prompts, m.tau())
        pem = m.pem_logits(fused, 5, region)

    def close(x: torch.Tensor, expected: list[float] | float) -> None:
        torch.testing.assert_close(x, torch.tensor(expected, dtype=D), rtol=1e-9, atol=1e-11)

    close(v[0, 0, :4], [-1.0349944367275963, -0.11688032896733457, 0.8586642167243721, 1.3437274698431376])
    close(v[1, 3, 5:9], [1.3946113886780147, 1.4639872144079504, 1.1380135793454336, 0.6112870204283202])
    close(v.sum(), -0.712982860125976)
    close(t[0, 0, :4], [-0.18104759444787538, -0.5634843215928967, -0.6667305542680386, -0.5899608311666165])
    close(t[1, 4, 10:14], [-1.2410507365241046, -0.5434062953884604, 0.45213700648417476, 1.403057158192469])
    close(t.sum(), 2.252488791623481)
    close(fused[0, 0, :4], [-0.6354024419469845, -1.0114492903097978, -0.9423411864347722, -0.5526819120890323])
    close(fused[1, 7, 2:6], [-1.4695412834989743, -0.5064426905076371, 0.6722901233558902, 1.3108763872247107])
    close(fused.sum(), 6.193538272987659)
    mlm = m.mlm_logits(fused, 5)
    close(mlm[0, 1, :4], [0.9909703714119177, 1.0309972853626432, 0.9365909397239098, 0.7202376057367357])
    close(mlm.sum(), 40.61434314317213)
    close(vtc_loss(v_feat, t_feat, m.tau()), 0.759787315424878)
    close(m.vtm_logits(fused), [[-0.7122974778196579, -0.7956644088017576], [-0.690793196490657, -0.7913486080561466]])
    close(q, [[3.982361511053811e-07, 0.9939998619336994, 9.306713254459955e-11, 0.0001858226169475312,
               0.005813917120134813],
              [2.9128023696818095e-07, 0.9935664652235366, 9.240227605763784e-11, 0.00013576376281647707,
               0.0062974796410076505]])
    close(pem, [[0.3050841048294262, 0.13569684320577965, -0.10324238811803196, -0.30439657794654734,
                 -0.37756335848507183],
                [0.3501241155860503, 0.16453359700303197, -0.10516627193064598, -0.336109883635646,
                 -0.42305656341688014]])
    close(pem_loss(pem, q), 1.4317486285843386)
    close(pem_loss(pem, q, torch.tensor([True, False])), 1.4218865776888006)


# ------------------------------------------------------------------ divided space-time attention (Sec. 3.1)
def block_with(zero: str) -> DividedSpaceTimeBlock:
    """A float64 block whose spatial ("spatial"), temporal ("temporal") branch is silenced, and no MLP."""
    torch.manual_seed(0)
    blk = DividedSpaceTimeBlock(8, 2, 16, 1e-6).to(D)
    with torch.no_grad():
        blk.mlp.fc2.weight.zero_()
        blk.mlp.fc2.bias.zero_()
        branch = blk.attn.proj if zero == "spatial" else blk.temporal_fc
        branch.weight.zero_()
        branch.bias.zero_()
    return blk


def test_temporal_attention_mixes_one_patch_position_across_frames() -> None:
    blk = block_with(zero="spatial")
    cls, x = torch.randn(2, 1, 8, dtype=D), torch.randn(2, 3, 4, 8, dtype=D)
    y = x.clone()
    y[:, 0, 1] += torch.linspace(-1, 2, 8, dtype=D)  # frame 0, patch 1 (not a constant shift: LayerNorm)
    (c0, out0), (c1, out1) = blk(cls, x), blk(cls, y)
    changed = (out0 - out1).abs().amax(dim=(0, 3)) > 1e-9  # (T, N)
    expected = torch.zeros(3, 4, dtype=torch.bool)
    expected[:, 1] = True
    assert torch.equal(changed, expected)
    torch.testing.assert_close(c0, c1)


def test_spatial_attention_mixes_one_frame_and_the_class_token_averages_frames() -> None:
    blk = block_with(zero="temporal")
    cls, x = torch.randn(2, 1, 8, dtype=D), torch.randn(2, 3, 4, 8, dtype=D)
    y = x.clone()
    y[:, 2, 1] += torch.linspace(-1, 2, 8, dtype=D)  # frame 2, patch 1
    (c0, out0), (_, out1) = blk(cls, x), blk(cls, y)
    changed = (out0 - out1).abs().amax(dim=(0, 3)) > 1e-9
    expected = torch.zeros(3, 4, dtype=torch.bool)
    expected[2] = True
    assert torch.equal(changed, expected)
    # The class token's update is the mean over frames of its spatial-attention outputs.
    per_frame = blk.attn(blk.norm1(torch.cat([cls.expand(2, 3, 8).unsqueeze(2), x], 2).reshape(6, 5, 8)))
    torch.testing.assert_close(c0, cls + per_frame[:, 0].reshape(2, 3, 8).mean(dim=1, keepdim=True))


def test_timesformer_embeddings_init_and_frame_order() -> None:
    torch.manual_seed(0)
    enc = TimeSformer(ALPROConfig(video_depth=0))  # official embedding sizes, no blocks: quick
    assert torch.count_nonzero(enc.time_embed) == 0  # the official time embedding starts at zero
    assert 0.018 < enc.pos_embed.std().item() < 0.022 and 0.01 < enc.cls_token.std().item() < 0.03
    m = TimeSformer(TINY).eval()
    with torch.no_grad():
        m.time_embed.normal_()
    video = torch.randn(2, 3, 3, 8, 8)
    out = m(video)
    assert out.shape == (2, 1 + TINY.num_patches, TINY.dim)
    assert not torch.allclose(out, m(video.flip(1)), atol=1e-4)  # time embeddings make order matter
    with torch.no_grad():
        m.time_embed.zero_()
    torch.testing.assert_close(m(video), m(video.flip(1)), atol=1e-5, rtol=1e-5)  # else pooling is symmetric


def test_patch_tokens_are_averaged_over_time_after_the_final_norm() -> None:
    torch.manual_seed(0)
    m = TimeSformer(TINY).to(D).eval()
    video = torch.randn(1, 3, 3, 8, 8, dtype=D)
    seen: list[torch.Tensor] = []
    m.blocks[-1].register_forward_hook(lambda mod, inp, out: seen.append(out))
    out = m(video)
    cls, x = seen[0]
    torch.testing.assert_close(out[:, 0], m.norm(cls)[:, 0])
    torch.testing.assert_close(out[:, 1:], m.norm(x).mean(dim=1))


# ------------------------------------------------------------------ text and multimodal encoders
def test_padding_is_masked_in_the_text_and_the_multimodal_encoders() -> None:
    torch.manual_seed(0)
    m = ALPRO(TINY).eval()
    video, tokens, mask = tiny_inputs()
    video = video.float()
    other = tokens.clone()
    other[0, 4] = 17  # the padded position of sentence 0
    t1, t2 = m.encode_text(tokens, mask)[0], m.encode_text(other, mask)[0]
    torch.testing.assert_close(t1[0, :4], t2[0, :4])
    assert not torch.allclose(t1[0, 4], t2[0, 4])
    v = m.encode_video(video)[0]
    f1, f2 = m.fuse(t1, mask, v), m.fuse(t2, mask, v)
    torch.testing.assert_close(f1[0, :4], f2[0, :4])
    torch.testing.assert_close(f1[0, 5:], f2[0, 5:])  # video tokens ignore the padding too
    assert not torch.allclose(m.fuse(t1, torch.ones_like(mask), v)[0, :4], f1[0, :4])


def test_bert_layer_is_post_norm() -> None:
    torch.manual_seed(0)
    layer = BertLayer(8, 2, 16, 1e-12, 0.0).to(D)
    out = layer(torch.randn(3, 5, 8, dtype=D) * 7 + 3, torch.ones(3, 5))
    torch.testing.assert_close(out.mean(-1), torch.zeros(3, 5, dtype=D))  # LayerNorm last, affine at init
    torch.testing.assert_close(out.var(-1, unbiased=False), torch.ones(3, 5, dtype=D), rtol=1e-6, atol=1e-6)


def test_text_encoder_initialisation_and_the_tied_mlm_decoder() -> None:
    torch.manual_seed(0)
    enc = TextEncoder(ALPROConfig(text_layers=0, vocab_size=2000))  # a smaller table: quick
    for table in (enc.word_embed, enc.pos_embed):
        assert 0.018 < table.weight.std().item() < 0.022  # BERT's initializer_range 0.02
    m = ALPRO(TINY)
    assert isinstance(m.mlm_head, MLMHead) and m.mlm_head.word_embed is m.text_encoder.word_embed
    assert n_params(m.mlm_head) == TINY.dim * TINY.dim + 3 * TINY.dim + TINY.vocab_size + TINY.vocab_size * TINY.dim
    assert isinstance(m.multimodal_encoder, MultimodalEncoder) and len(m.multimodal_encoder.layers) == 1


def test_tiny_encoders_depend_on_their_inputs() -> None:
    torch.manual_seed(0)
    m = ALPRO(TINY).eval()
    video, tokens, mask = tiny_inputs()
    v = m.encode_video(video.float())[1]
    assert not torch.allclose(v[0], v[1])
    t = m.encode_text(tokens, mask)[1]
    assert not torch.allclose(t[0], t[1])
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(2))


# ------------------------------------------------------------------ heads, prompter and τ
def test_pem_head_reads_the_mean_multimodal_feature_of_the_region() -> None:
    m = ALPRO(TINY)
    m.pem_head = torch.nn.Identity()
    fused = torch.randn(2, 3 + 1 + 4, 5, dtype=D)  # 3 text tokens, video cls, 4 patches
    region = torch.tensor([[1, 0, 0, 1], [0, 1, 1, 1]])
    out = m.pem_logits(fused, 3, region)
    torch.testing.assert_close(out[0], (fused[0, 4] + fused[0, 7]) / 2)
    torch.testing.assert_close(out[1], fused[1, 5:8].mean(dim=0))


def test_prompt_features_average_templates_without_renormalising() -> None:
    p = Prompter(TINY)
    feats = torch.nn.functional.normalize(torch.randn(2 * 3, 4, dtype=D), dim=-1)  # K = 2 templates, M = 3
    p.encode_text = lambda tokens, mask: (None, feats)  # type: ignore[method-assign]
    out = p.prompt_features(torch.zeros(6, 2, dtype=torch.long), torch.ones(6, 2), 2)
    torch.testing.assert_close(out, (feats[:3] + feats[3:]) / 2)  # template-major: row m and row M + m
    assert (out.norm(dim=-1) < 1).all()


def test_pseudo_labels_and_low_confidence_crops_are_ignored() -> None:
    p = Prompter(TINY)
    crops = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=D)
    p.encode_video = lambda video: (None, torch.nn.functional.normalize(crops, dim=-1))  # type: ignore[method-assign]
    with torch.no_grad():
        p.temperature.fill_(2.0)  # clamped to 0.5
    prompts = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.9], [0.0, 0.8], [0.0, 0.7]], dtype=D)
    q, ignore = p.pseudo_labels(torch.zeros(2), prompts)
    logits = crops / crops.norm(dim=-1, keepdim=True) @ prompts.T / 0.5
    torch.testing.assert_close(q, logits.softmax(dim=-1))
    # crop 0 favours entity 0 with probability 0.41; crop 1 spreads over four entities (top ≈ 0.275 → kept)
    assert q[0].max() > 0.2 and not ignore.any()
    with torch.no_grad():
        p.temperature.fill_(1e-6)  # clamped to 0.001
    assert p.tau().item() == pytest.approx(0.001)
    p.temperature.data.fill_(5.0)
    q, ignore = p.pseudo_labels(torch.zeros(2), torch.zeros(5, 2, dtype=D) + 0.1)
    torch.testing.assert_close(q, torch.full((2, 5), 0.2, dtype=D))
    assert not ignore.any()  # exactly at the threshold is kept
    q, ignore = p.pseudo_labels(torch.zeros(2), torch.zeros(6, 2, dtype=D))
    assert ignore.all()  # 1/6 < 0.2


def test_temperature_is_learned_from_0_07_and_clamped() -> None:
    m = UnimodalEncoders(TINY)
    assert isinstance(m.temperature, torch.nn.Parameter) and m.temperature.item() == pytest.approx(0.07)
    with torch.no_grad():
        m.temperature.fill_(0.9)
    assert m.tau().item() == 0.5 and m.temperature.item() == 0.5
    with torch.no_grad():
        m.temperature.fill_(0.2)
    assert m.tau().item() == pytest.approx(0.2)


# ------------------------------------------------------------------ losses (Sec. 3.2, 3.3)
def test_vtc_by_hand() -> None:
    v = torch.tensor([[3.0, 0.0], [1.0, 1.0]], dtype=D)
    t = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=D)
    tau = 0.5
    r = 1 / math.sqrt(2)
    s = [[1.0, 0.0], [r, r]]  # cos(v_i, t_j)

    def ce(row: list[float], k: int) -> float:
        return -row[k] / tau + math.log(sum(math.exp(x / tau) for x in row))

    v2t = (ce(s[0], 0) + ce(s[1], 1)) / 2
    t2v = (ce([s[0][0], s[1][0]], 0) + ce([s[0][1], s[1][1]], 1)) / 2
    assert math.isclose(vtc_loss(v, t, tau).item(), (v2t + t2v) / 2, rel_tol=1e-12)


def test_vtc_rewards_aligned_pairs_and_sharpens_with_lower_temperature() -> None:
    v = torch.randn(5, 8, dtype=D)
    assert vtc_loss(v, v + 0.01 * torch.randn(5, 8, dtype=D)) < vtc_loss(v, v.roll(1, 0))
    assert vtc_loss(v, v, 0.05) < vtc_loss(v, v, 1.0)


def test_pseudo_labels_by_hand() -> None:
    crop = torch.tensor([[2.0, 0.0]], dtype=D)
    prompts = torch.tensor([[1.0, 0.0], [0.0, 0.5], [-0.6, 0.6]], dtype=D)  # averaged prompts: not unit
    tau = 0.25
    dots = [1.0, 0.0, -0.6]
    z = sum(math.exp(c / tau) for c in dots)
    expected = torch.tensor([[math.exp(c / tau) / z for c in dots]], dtype=D)
    q = entity_pseudo_labels(crop, prompts, tau)
    torch.testing.assert_close(q, expected)
    torch.testing.assert_close(q.sum(dim=-1), torch.ones(1, dtype=D))


def test_pem_loss_by_hand_and_pseudo_labels_are_targets_only() -> None:
    logits = torch.tensor([[1.0, 2.0, 0.5]], dtype=D, requires_grad=True)
    q = torch.tensor([[0.2, 0.5, 0.3]], dtype=D, requires_grad=True)
    lse = math.log(math.exp(1.0) + math.exp(2.0) + math.exp(0.5))
    expected = -(0.2 * (1.0 - lse) + 0.5 * (2.0 - lse) + 0.3 * (0.5 - lse))
    loss = pem_loss(logits, q)
    assert math.isclose(loss.item(), expected, rel_tol=1e-12)
    loss.backward()
    assert q.grad is None and logits.grad is not None


def test_pem_loss_averages_over_the_crops_kept() -> None:
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]], dtype=D)
    q = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], dtype=D)
    ce = [math.log(2), 0.5 * (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(2))), math.log(1 + math.exp(-1))]
    ignore = torch.tensor([False, True, False])
    assert math.isclose(pem_loss(logits, q, ignore).item(), (ce[0] + ce[2]) / 2, rel_tol=1e-12)
    assert math.isclose(pem_loss(logits, q).item(), sum(ce) / 3, rel_tol=1e-12)


def test_attention_mask_is_bert_additive_minus_10000() -> None:
    # xbert.py get_extended_attention_mask: (1 - mask) * -10000, added to the scaled scores. A masked key whose
    # raw score leads the others by exactly 10000 is weighted like them; a −∞ (or larger) mask would drop it.
    layer = BertLayer(4, 1, 8, 1e-12, 0.0).to(D)
    a = 10000.0 * 2.0  # scores q·k / √4: query and key read dimension 0 only
    with torch.no_grad():
        for lin in (layer.query, layer.key, layer.value):
            lin.weight.zero_()
            lin.bias.zero_()
        layer.query.weight[0, 0] = a
        layer.key.weight[0, 0] = 1.0
        layer.value.weight[2, 2] = 1.0  # values read dimension 2 only
    x = torch.tensor([[[1.0, 0, 0, 0], [1.0, 0, 0, 0], [2.0, 0, 1.0, 0]]], dtype=D)
    y = x.clone()
    y[0, 2, 2] = 5.0  # the masked token's value, not its score
    mask = torch.tensor([[1, 1, 0]])
    assert not torch.allclose(layer(x, mask)[0, 0], layer(y, mask)[0, 0])
    x[0, 2, 0] = 2.001  # a lead of 10002: the masked token dominates, its weight ≈ 1
    torch.testing.assert_close(layer(x, torch.ones(1, 3))[0, 0], layer(x, mask)[0, 0], atol=1e-3, rtol=0)


def test_the_padding_token_embedding_gets_no_gradient() -> None:
    torch.manual_seed(0)
    enc = TextEncoder(TINY)
    enc(torch.tensor([[0, 1, 2]]), torch.ones(1, 3)).sum().backward()
    grad = enc.word_embed.weight.grad
    assert torch.count_nonzero(grad[0]) == 0  # pad_token_id 0 (base_model.json)
    assert torch.count_nonzero(grad[1]) > 0 and torch.count_nonzero(grad[2]) > 0
