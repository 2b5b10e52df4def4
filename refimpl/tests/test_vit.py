"""ViT (arXiv:2010.11929): patches as tokens, a class token, pre-norm blocks."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from refimpl.vit import (
    MLP,
    OFFICIAL,
    TINY,
    VIT_B_16,
    VIT_B_16_JAX,
    VIT_L_16,
    VIT_S_16,
    VIT_TI_16,
    MultiHeadSelfAttention,
    PatchEmbedding,
    TransformerBlock,
    VisionTransformer,
    ViTConfig,
)


def test_defaults_are_vit_base_16_of_table_1() -> None:
    c = ViTConfig()
    assert (c.image_size, c.patch_size, c.in_chans) == (224, 16, 3)
    assert (c.dim, c.depth, c.num_heads, c.mlp_dim) == (768, 12, 12, 3072)  # Table 1, ViT-Base
    assert c.num_classes == 1000 and c.dropout == 0.0 and c.eps == 1e-6 and c.gelu == "none"
    assert c.num_patches == 196
    assert OFFICIAL == VIT_B_16 == c
    assert (VIT_L_16.dim, VIT_L_16.depth, VIT_L_16.num_heads, VIT_L_16.mlp_dim) == (1024, 24, 16, 4096)


# Counts from timm 1.0.31 (huggingface/pytorch-image-models, timm/models/vision_transformer.py),
# timm.create_model(name) on the meta device, summed over parameters.
@pytest.mark.parametrize(("config", "count"), [
    (VIT_TI_16, 5_717_416),  # vit_tiny_patch16_224
    (VIT_S_16, 22_050_664),  # vit_small_patch16_224
    (VIT_B_16, 86_567_656),  # vit_base_patch16_224
    (VIT_L_16, 304_326_632),  # vit_large_patch16_224
])
def test_parameter_count_matches_the_official_models(config: ViTConfig, count: int) -> None:
    with torch.device("meta"):
        model = VisionTransformer(config)
    assert sum(p.numel() for p in model.parameters()) == count
    assert model.pos_embed.shape == (1, 197, config.dim)  # 196 patches + the class token


def test_official_output_shapes_at_224() -> None:
    with torch.device("meta"):
        model = VisionTransformer(OFFICIAL)
        x = torch.empty(2, 3, 224, 224)
        assert model.patch_embed(x).shape == (2, 196, 768)
        assert model.features(x).shape == (2, 197, 768)
        assert model(x).shape == (2, 1000)


def test_patches_are_tokens_in_row_major_order() -> None:
    # With an identity projection each token is its flattened patch: token k is patch (k // W', k % W').
    p, c = 2, 1
    embed = PatchEmbedding(p, c, p * p * c)
    with torch.no_grad():
        embed.proj.weight.copy_(torch.eye(p * p).reshape(p * p, c, p, p))
        embed.proj.bias.zero_()
    x = torch.arange(4 * 6, dtype=torch.float32).reshape(1, 1, 4, 6)  # 2 × 3 patches, non-square
    tokens = embed(x)
    assert tokens.shape == (1, 6, 4)
    torch.testing.assert_close(tokens[0, 1], x[0, 0, 0:2, 2:4].reshape(-1))
    torch.testing.assert_close(tokens[0, 3], x[0, 0, 2:4, 0:2].reshape(-1))


def test_self_attention_matches_torch_multihead_attention() -> None:
    torch.manual_seed(1)
    msa = MultiHeadSelfAttention(12, 3)
    ref = nn.MultiheadAttention(12, 3, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(msa.qkv.weight)
        ref.in_proj_bias.copy_(msa.qkv.bias)
        ref.out_proj.weight.copy_(msa.proj.weight)
        ref.out_proj.bias.copy_(msa.proj.bias)
    x = torch.randn(2, 5, 12) * 3
    torch.testing.assert_close(msa(x), ref(x, x, x, need_weights=False)[0], atol=1e-5, rtol=1e-5)


def test_mlp_uses_exact_gelu() -> None:
    torch.manual_seed(2)
    mlp = MLP(4, 8)
    x = torch.randn(3, 4) * 2
    h = mlp.fc1(x)
    expected = mlp.fc2(0.5 * h * (1 + torch.erf(h / math.sqrt(2))))
    torch.testing.assert_close(mlp(x), expected)


def test_block_is_pre_norm_residual() -> None:
    torch.manual_seed(3)
    block = TransformerBlock(8, 2, 16)
    with torch.no_grad():  # non-trivial LayerNorm affine so pre- and post-norm differ
        for ln in (block.norm1, block.norm2):
            ln.weight.uniform_(0.5, 2.0)
            ln.bias.normal_()
    x = torch.randn(2, 4, 8) * 3 + 1
    z1 = x + block.attn(block.norm1(x))
    expected = z1 + block.mlp(block.norm2(z1))
    torch.testing.assert_close(block(x), expected)
    assert block.norm1.eps == 1e-6


def test_logits_come_from_the_class_token_after_the_final_norm() -> None:
    model = VisionTransformer(TINY).eval()
    x = torch.randn(2, 3, 16, 16)
    feats = model.features(x)
    torch.testing.assert_close(model(x), model.head(feats[:, 0]))
    assert feats.shape == (2, 17, 32)
    # The class token and the position embeddings are part of the input to the encoder.
    before = model(x)
    with torch.no_grad():
        model.cls_token.add_(torch.randn(32))
    assert not torch.allclose(model(x), before)


def test_position_embeddings_break_permutation_symmetry() -> None:
    # Without E_pos, permuting patches leaves the class token's output unchanged;
    # with it, the output depends on where each patch sits.
    model = VisionTransformer(TINY).eval()
    x = torch.randn(1, 3, 16, 16)
    swapped = x.clone()
    swapped[..., 0:4, 0:4], swapped[..., 12:16, 12:16] = x[..., 12:16, 12:16], x[..., 0:4, 0:4]
    assert not torch.allclose(model(x), model(swapped), atol=1e-5)
    with torch.no_grad():
        model.pos_embed.zero_()
    torch.testing.assert_close(model(x), model(swapped), atol=1e-5, rtol=1e-5)


def test_presets_follow_the_official_configs() -> None:
    # google-research/vision_transformer @ 2ecbc73207056d8fcbd7513ab43cd417a0b385b3 vit_jax/configs/models.py:
    # get_ti16_config / get_s16_config: hidden 192 / 384, 12 layers, 3 / 6 heads (64-dimensional heads,
    # as in every ViT of Table 1), MLP 768 / 1536; get_b16_config dropout 0.0, get_l16_config dropout 0.1.
    assert (VIT_TI_16.dim, VIT_TI_16.depth, VIT_TI_16.num_heads, VIT_TI_16.mlp_dim) == (192, 12, 3, 768)
    assert (VIT_S_16.dim, VIT_S_16.depth, VIT_S_16.num_heads, VIT_S_16.mlp_dim) == (384, 12, 6, 1536)
    for c in (VIT_TI_16, VIT_S_16, VIT_B_16, VIT_L_16):
        assert c.dim // c.num_heads == 64 and c.mlp_dim == 4 * c.dim
    assert VIT_B_16.dropout == 0.0 and VIT_L_16.dropout == 0.1 and VIT_TI_16.dropout == VIT_S_16.dropout == 0.0
    assert ViTConfig(gelu="tanh") == VIT_B_16_JAX  # Flax nn.gelu: approximate=True by default


def test_block_has_no_dropout_unless_asked() -> None:
    # ImageNet fine-tuning uses no dropout (Appendix B.1): a block in training mode is deterministic.
    torch.manual_seed(5)
    block = TransformerBlock(8, 2, 16).train()
    x = torch.randn(2, 4, 8)
    torch.testing.assert_close(block(x), block(x))
    assert block.mlp.drop.p == 0.0


def test_dropout_acts_on_both_residual_branches() -> None:
    # Official Encoder1DBlock: dropout after the attention output and inside/after the MLP, before each
    # residual sum. With p = 1 in training mode both branches vanish and the block is the identity.
    torch.manual_seed(6)
    block = TransformerBlock(8, 2, 16, dropout=1.0).train()
    x = torch.randn(2, 4, 8)
    torch.testing.assert_close(block(x), x)
    model = VisionTransformer(ViTConfig(image_size=8, patch_size=4, dim=8, depth=1, num_heads=2, mlp_dim=16,
                                        num_classes=3, dropout=1.0)).train()
    assert all(b.attn_drop.p == 1.0 and b.mlp.drop.p == 1.0 for b in model.blocks)


def test_jax_preset_uses_the_tanh_gelu() -> None:
    # GELU_tanh(x) = 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))); at x = 1: 0.8411919906 (exact: 0.8413447461).
    mlp = MLP(1, 1, gelu="tanh")
    with torch.no_grad():
        mlp.fc1.weight.fill_(1.0)
        mlp.fc1.bias.zero_()
        mlp.fc2.weight.fill_(1.0)
        mlp.fc2.bias.zero_()
    out = mlp(torch.tensor([[1.0]]))
    assert abs(out.item() - 0.8411919906) < 1e-6
    exact = MLP(1, 1)
    exact.load_state_dict(mlp.state_dict())
    assert abs(exact(torch.tensor([[1.0]])).item() - 0.8413447461) < 1e-6
    model = VisionTransformer(replace(TINY, gelu=VIT_B_16_JAX.gelu))
    assert all(b.mlp.gelu == "tanh" for b in model.blocks)
