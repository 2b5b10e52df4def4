"""MAE (arXiv:2111.06377): random masking, an encoder on visible patches, a loss on masked ones."""

from __future__ import annotations

import math

import torch

from refimpl.mae import (
    MAE_VIT_L_16,
    OFFICIAL,
    TINY,
    MAEConfig,
    MaskedAutoencoderViT,
    mae_loss,
    patchify,
    random_masking,
    restore_with_mask_tokens,
    sincos_pos_embed_2d,
    unpatchify,
)


def test_defaults_follow_the_paper_and_the_official_base_model() -> None:
    c = MAEConfig()
    assert (c.image_size, c.patch_size, c.in_chans) == (224, 16, 3)
    assert (c.embed_dim, c.depth, c.num_heads) == (768, 12, 12)  # ViT-B
    assert (c.decoder_embed_dim, c.decoder_depth, c.decoder_num_heads) == (512, 8, 16)  # Table 1a/1b
    assert c.mlp_ratio == 4.0 and c.eps == 1e-6
    assert c.mask_ratio == 0.75  # Sec. 4
    assert c.norm_pix_loss is True and c.norm_pix_eps == 1e-6  # Table 1d
    assert c == OFFICIAL
    assert (MAE_VIT_L_16.embed_dim, MAE_VIT_L_16.depth, MAE_VIT_L_16.num_heads) == (1024, 24, 16)


def test_parameter_count_matches_official_mae_vit_base() -> None:
    # facebookresearch/mae models_mae.py (efb2a80), mae_vit_base_patch16_dec512d8b built with timm 1.0.31
    # blocks: 111,907,840 parameters including the frozen tables; encoder 85,798,656, decoder 26,109,184.
    with torch.device("meta"):
        model = MaskedAutoencoderViT(OFFICIAL)
    trainable = sum(p.numel() for p in model.parameters())
    tables = model.pos_embed.numel() + model.decoder_pos_embed.numel()
    assert (model.pos_embed.numel(), model.decoder_pos_embed.numel()) == (197 * 768, 197 * 512)
    assert trainable == 111_655_680
    assert trainable + tables == 111_907_840
    decoder = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("decoder", "mask_token")))
    assert decoder + model.decoder_pos_embed.numel() == 26_109_184
    assert trainable - decoder + model.pos_embed.numel() == 85_798_656


def test_sincos_table_matches_the_official_function() -> None:
    # util/pos_embed.py:get_2d_sincos_pos_embed(8, 3, cls_token=True) of facebookresearch/mae (efb2a80).
    table = sincos_pos_embed_2d(8, 3)
    assert table.shape == (10, 8)
    torch.testing.assert_close(table[0], torch.zeros(8))
    s1, s2, c1, c2 = math.sin(1), math.sin(0.01), math.cos(1), math.cos(0.01)
    torch.testing.assert_close(table[2], torch.tensor([s1, s2, c1, c2, 0, 0, 1, 1]))  # row 0, column 1
    torch.testing.assert_close(table[4], torch.tensor([0, 0, 1, 1, s1, s2, c1, c2]))  # row 1, column 0
    torch.testing.assert_close(
        table[8], torch.tensor([0.8414709848, 0.0099998333, 0.5403023059, 0.9999500004,
                                0.9092974268, 0.0199986667, -0.4161468365, 0.9998000067]))  # row 2, column 1


def test_patchify_layout_and_inverse() -> None:
    imgs = torch.randn(2, 3, 8, 12)
    x = patchify(imgs, 4)
    assert x.shape == (2, 6, 48)
    # patch 1 is row 0, column 1; inside a patch the order is (row, col, channel)
    torch.testing.assert_close(x[1, 1], imgs[1, :, 0:4, 4:8].permute(1, 2, 0).reshape(-1))
    torch.testing.assert_close(unpatchify(x, 4, 3, (2, 3)), imgs)


def test_mask_ratio_is_exact_and_per_sample() -> None:
    x = torch.randn(4, 196, 8)
    visible, mask, ids_restore = random_masking(x, 0.75, generator=torch.Generator().manual_seed(0))
    assert visible.shape == (4, 49, 8)
    assert mask.sum(dim=1).tolist() == [147.0] * 4
    assert len({tuple(m.tolist()) for m in mask}) == 4  # each sample its own mask
    assert sorted(ids_restore[0].tolist()) == list(range(196))


def test_the_smallest_noise_is_kept_and_restore_undoes_the_shuffle() -> None:
    x = torch.arange(6.0).reshape(1, 6, 1) * 10
    noise = torch.tensor([[0.9, 0.1, 0.5, 0.3, 0.8, 0.7]])
    visible, mask, ids_restore = random_masking(x, 0.5, noise)
    assert visible.flatten().tolist() == [10.0, 30.0, 20.0]  # patches 1, 3, 2 by increasing noise
    assert mask.tolist() == [[1.0, 0.0, 0.0, 0.0, 1.0, 1.0]]
    token = torch.full((1, 1, 1), -1.0)
    restored = restore_with_mask_tokens(visible, token, ids_restore)
    assert restored.flatten().tolist() == [-1.0, 10.0, 20.0, 30.0, -1.0, -1.0]


def test_loss_ignores_visible_patches() -> None:
    pred, target = torch.randn(2, 6, 5), torch.randn(2, 6, 5)
    mask = torch.tensor([[1.0, 0, 0, 1, 0, 1], [0, 1, 1, 0, 0, 1]])
    for norm in (False, True):
        base = mae_loss(pred, target, mask, norm)
        moved_visible = pred + 5.0 * (1 - mask)[..., None]
        torch.testing.assert_close(mae_loss(moved_visible, target, mask, norm), base)
        moved_masked = pred + 5.0 * mask[..., None]
        assert not torch.allclose(mae_loss(moved_masked, target, mask, norm), base)


def test_loss_by_hand() -> None:
    pred = torch.zeros(1, 3, 2, dtype=torch.float64)
    target = torch.tensor([[[1.0, 3.0], [2.0, 2.0], [0.0, 4.0]]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    # plain pixels: patch MSEs 5 and 8 on the two removed patches → 6.5
    assert math.isclose(mae_loss(pred, target, mask, norm_pix=False).item(), 6.5)
    # normalised: patch [1, 3] has mean 2, unbiased var 2 → target ±1/√(2 + 1e-6); MSE = 1/(2 + 1e-6)
    expected = 1 / (2 + 1e-6) * 0.5 + 4 / (8 + 1e-6) * 0.5
    assert math.isclose(mae_loss(pred, target, mask, norm_pix=True).item(), expected, rel_tol=1e-12)


def test_encoder_sees_only_visible_patches() -> None:
    model = MaskedAutoencoderViT(TINY).eval()
    imgs = torch.randn(1, 3, 16, 16)
    noise = torch.rand(1, 16)
    latent, mask, _ = model.forward_encoder(imgs, 0.75, noise)
    assert latent.shape == (1, 1 + 4, 32)
    removed = int(mask[0].nonzero()[0])
    r, c = divmod(removed, 4)
    edited = imgs.clone()
    edited[..., 4 * r:4 * r + 4, 4 * c:4 * c + 4] += 3.0
    torch.testing.assert_close(model.forward_encoder(edited, 0.75, noise)[0], latent)
    kept = int((mask[0] == 0).nonzero()[0])
    r, c = divmod(kept, 4)
    edited = imgs.clone()
    edited[..., 4 * r:4 * r + 4, 4 * c:4 * c + 4] += 3.0
    assert not torch.allclose(model.forward_encoder(edited, 0.75, noise)[0], latent)


def test_decoder_predicts_every_patch_with_its_own_position() -> None:
    model = MaskedAutoencoderViT(TINY).eval()
    imgs = torch.randn(2, 3, 16, 16)
    loss, pred, mask = model(imgs, noise=torch.rand(2, 16))
    assert pred.shape == (2, 16, 48) and mask.shape == (2, 16) and loss.ndim == 0
    assert model.decoder_pos_embed.shape == (1, 17, 16)
    torch.testing.assert_close(model.decoder_pos_embed[0], sincos_pos_embed_2d(16, 4))
    # all removed positions start from the same mask token; the position embedding tells them apart
    torch.testing.assert_close(loss, mae_loss(pred, patchify(imgs, 4), mask, norm_pix=True))
    masked = pred[0][mask[0].bool()]
    assert not torch.allclose(masked[0], masked[1])


def test_encoder_adds_position_embeddings_before_masking() -> None:
    # Swapping two kept patches leaves the visible set unchanged as a set; only the position
    # embeddings make the class token's output depend on where each patch was.
    model = MaskedAutoencoderViT(TINY).eval()
    imgs = torch.randn(1, 3, 16, 16)
    noise = torch.rand(1, 16)
    latent, mask, _ = model.forward_encoder(imgs, 0.75, noise)
    (a, b) = [int(i) for i in (mask[0] == 0).nonzero()[:2, 0]]
    (ra, ca), (rb, cb) = divmod(a, 4), divmod(b, 4)
    swapped = imgs.clone()
    swapped[..., 4 * ra:4 * ra + 4, 4 * ca:4 * ca + 4] = imgs[..., 4 * rb:4 * rb + 4, 4 * cb:4 * cb + 4]
    swapped[..., 4 * rb:4 * rb + 4, 4 * cb:4 * cb + 4] = imgs[..., 4 * ra:4 * ra + 4, 4 * ca:4 * ca + 4]
    moved = model.forward_encoder(swapped, 0.75, noise)[0]
    assert not torch.allclose(moved[:, 0], latent[:, 0], atol=1e-4)
