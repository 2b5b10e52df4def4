"""SplitMask (arXiv:2112.10740): split into two halves, inpaint each from the other, match them."""

from __future__ import annotations

import math

import torch

from refimpl.mae import MaskedAutoencoderViT, mae_loss, patchify
from refimpl.splitmask import TINY, SplitMask, SplitMaskConfig, info_nce, split_patches


def test_defaults() -> None:
    c = SplitMaskConfig()
    assert c.mae.decoder_depth == 2  # shallow decoder
    assert c.mae.embed_dim == 768 and c.mae.patch_size == 16
    assert c.split_ratio == 0.5
    assert c.temperature == 0.1 and c.contrastive_weight == 1.0


def test_halves_are_disjoint_and_cover_the_image() -> None:
    tokens = torch.arange(10.0).reshape(1, 10, 1).expand(2, 10, 1)
    noise = torch.rand(2, 10)
    (vis_a, mask_a, _), (vis_b, mask_b, _) = split_patches(tokens, noise)
    assert vis_a.shape == vis_b.shape == (2, 5, 1)
    torch.testing.assert_close(mask_a + mask_b, torch.ones(2, 10))
    for i in range(2):
        seen = set(vis_a[i].flatten().tolist()) | set(vis_b[i].flatten().tolist())
        assert seen == set(range(10))
        kept_a = set(noise[i].argsort()[:5].tolist())
        assert set(vis_a[i].flatten().long().tolist()) == kept_a  # A: the smallest noise


def test_info_nce_by_hand() -> None:
    d = torch.float64
    x_a = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=d)
    x_b = torch.tensor([[1.0, 1.0], [0.0, 3.0]], dtype=d)
    tau = 0.5
    s = [[1 / math.sqrt(2), 0.0], [1 / math.sqrt(2), 1.0]]  # cosine s(x_a[i], x_b[j])

    def ce(row: list[float], k: int) -> float:
        return -row[k] / tau + math.log(sum(math.exp(v / tau) for v in row))

    a_to_b = (ce(s[0], 0) + ce(s[1], 1)) / 2
    b_to_a = (ce([s[0][0], s[1][0]], 0) + ce([s[0][1], s[1][1]], 1)) / 2
    assert math.isclose(info_nce(x_a, x_b, tau).item(), (a_to_b + b_to_a) / 2, rel_tol=1e-12)


def test_matched_descriptors_score_lower_than_mismatched() -> None:
    x = torch.randn(6, 8)
    assert info_nce(x, x + 0.01 * torch.randn(6, 8), 0.1) < info_nce(x, x.roll(1, 0), 0.1)


def test_each_branch_inpaints_the_other_half_with_one_shared_network() -> None:
    model = SplitMask(TINY).eval()
    assert isinstance(model.mae, MaskedAutoencoderViT)
    assert sum(1 for m in model.modules() if isinstance(m, MaskedAutoencoderViT)) == 1
    imgs = torch.randn(2, 3, 16, 16)
    noise = torch.rand(2, 16)
    pred_a, mask_a, x_a = model.branch(imgs, noise)
    pred_b, mask_b, x_b = model.branch(imgs, -noise)
    torch.testing.assert_close(mask_a + mask_b, torch.ones(2, 16))
    assert x_a.shape == (2, 16)
    total, inpaint, match = model(imgs, noise)
    target = patchify(imgs, 4)
    torch.testing.assert_close(inpaint, mae_loss(pred_a, target, mask_a) + mae_loss(pred_b, target, mask_b))
    torch.testing.assert_close(match, info_nce(x_a, x_b, TINY.temperature))
    torch.testing.assert_close(total, inpaint + TINY.contrastive_weight * match)


def test_descriptor_is_the_mean_of_decoder_patch_tokens() -> None:
    model = SplitMask(TINY).eval()
    imgs, noise = torch.randn(2, 3, 16, 16), torch.rand(2, 16)
    _, _, desc = model.branch(imgs, noise)
    latent, _, ids = model.mae.forward_encoder(imgs, 0.5, noise)
    feats = model.mae.decoder_features(latent, ids)
    torch.testing.assert_close(desc, feats[:, 1:].mean(dim=1))


def test_without_noise_the_split_is_drawn_uniformly_per_image() -> None:
    # Sec. 3: a fresh random split per image; without a given noise the model draws one uniform value per patch.
    model = SplitMask(TINY).eval()
    imgs = torch.randn(2, 3, 16, 16)
    torch.manual_seed(5)
    drawn = model(imgs)
    torch.manual_seed(5)
    given = model(imgs, torch.rand(2, 16))
    for a, b in zip(drawn, given, strict=True):
        torch.testing.assert_close(a, b)
