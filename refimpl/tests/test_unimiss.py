"""UniMiSS (arXiv:2112.09356): 2D images and 3D volumes through one shared backbone."""

from __future__ import annotations

import pytest
import torch

from refimpl.unimiss import TINY, Stem2D, Stem3D, UnifiedBackbone


def test_both_paths_run_and_share_the_backbone() -> None:
    model = UnifiedBackbone(TINY)
    images = torch.randn(2, 1, 16, 16)
    volumes = torch.randn(2, 1, 8, 16, 16)
    assert model(images).shape == model(volumes).shape == (2, 3)
    assert isinstance(model.stem_2d, Stem2D) and isinstance(model.stem_3d, Stem3D)
    assert model.stem_2d(images).shape == (2, 16, 32)
    assert model.stem_3d(volumes).shape == (2, 32, 32)
    # each path trains its own stem and the same blocks and head
    model(images).sum().backward()
    assert model.stem_3d.proj.weight.grad is None
    shared_from_2d = model.blocks[0].attn.qkv.weight.grad.clone()
    head_from_2d = model.head.weight.grad.clone()
    model.zero_grad(set_to_none=True)
    model(volumes).sum().backward()
    assert model.stem_2d.proj.weight.grad is None
    assert model.blocks[0].attn.qkv.weight.grad.abs().sum() > 0 and shared_from_2d.abs().sum() > 0
    assert model.head.weight.grad.abs().sum() > 0 and head_from_2d.abs().sum() > 0


def test_shared_weights_mean_equal_tokens_give_equal_outputs() -> None:
    # If a 3D stem maps a volume to the same tokens as the 2D stem maps an image, the outputs agree.
    model = UnifiedBackbone(TINY).eval()
    image = torch.randn(1, 1, 16, 16)
    tokens = model.stem_2d(image)
    torch.testing.assert_close(model(image), model.head(model.encode(tokens).mean(dim=1)))
    with torch.no_grad():  # a depth-4 volume of identical slices and a 3D kernel that averages over depth
        model.stem_3d.proj.weight.copy_(model.stem_2d.proj.weight[:, :, None].expand(-1, -1, 4, -1, -1) / 4)
        model.stem_3d.proj.bias.copy_(model.stem_2d.proj.bias)
    volume = image[:, :, None].expand(-1, -1, 4, -1, -1)
    torch.testing.assert_close(model(volume), model(image), atol=1e-5, rtol=1e-5)


def test_bad_input_rank_is_refused() -> None:
    with pytest.raises(ValueError, match="4-D image or 5-D volume"):
        UnifiedBackbone(TINY)(torch.randn(2, 16, 16))


def test_stems_emit_patches_in_row_major_order() -> None:
    # With an identity projection each token is its flattened patch: 2D tokens run over (h, w),
    # 3D tokens over (d, h, w), row-major, on non-square inputs.
    s2 = Stem2D(1, 4, 2)
    s3 = Stem3D(1, 8, 2)
    with torch.no_grad():
        s2.proj.weight.copy_(torch.eye(4).reshape(4, 1, 2, 2))
        s2.proj.bias.zero_()
        s3.proj.weight.copy_(torch.eye(8).reshape(8, 1, 2, 2, 2))
        s3.proj.bias.zero_()
    img = torch.arange(24.0).reshape(1, 1, 4, 6)
    t2 = s2(img)
    assert t2.shape == (1, 6, 4)
    torch.testing.assert_close(t2[0, 4], img[0, 0, 2:4, 2:4].reshape(-1))  # patch (1, 1)
    vol = torch.arange(96.0).reshape(1, 1, 4, 4, 6)
    t3 = s3(vol)
    assert t3.shape == (1, 12, 8)
    torch.testing.assert_close(t3[0, 7], vol[0, 0, 2:4, 0:2, 2:4].reshape(-1))  # patch (1, 0, 1)


def test_toy_backbone_layout() -> None:
    c = TINY
    assert (c.in_chans, c.patch_2d, c.patch_3d, c.dim, c.depth, c.num_heads, c.num_classes) == (1, 4, 4, 32, 2, 4, 3)
    model = UnifiedBackbone(c)
    assert len(model.blocks) == 2 and all(b.mlp.fc1.out_features == 64 for b in model.blocks)
    assert isinstance(model.norm, torch.nn.LayerNorm) and model.stem_2d.proj.in_channels == 1
