"""SDSSL (arXiv:2111.12958): intermediate layers distilled towards the last layer's representation."""

from __future__ import annotations

import math

import torch
from torch import nn

from refimpl.sdssl import OFFICIAL, TINY, ProjectionHead, SDSSLConfig, SDSSLViT, distill_ramp, nt_xent, sdssl_loss

D = torch.float64


def test_defaults_are_the_official_sd_simclr_vit_b16() -> None:
    # hagiss/SDSSL @ bbd34fab1b898a381a11566b915fa1e16158842b: SD_simclr.json ("arch": "vit_base",
    # "patch_size": 16, "out_dim": 256, "mlp_hidden": 4096, "ratio": 0.8), pl_train_simclr.py (logits / 0.2).
    c = SDSSLConfig()
    assert c.temperature == 0.2 and c.distill_weight == 0.8
    assert (c.image_size, c.patch_size, c.dim, c.depth, c.num_heads, c.mlp_dim) == (224, 16, 768, 12, 12, 3072)
    assert (c.proj_dim, c.head_hidden, c.inner_head_hidden) == (256, 4096, 2048)
    assert c == OFFICIAL


def test_official_parameter_count() -> None:
    # Instantiating the official vision_transformer.vit_base and byol_pytorch.MLP(3, 768, 256, hidden):
    # backbone 85,798,656; last head 20,987,904 (hidden 4096); each of 11 inner heads 6,299,648 (hidden 2048).
    with torch.device("meta"):
        model = SDSSLViT(OFFICIAL)
    heads = sum(p.numel() for p in model.heads.parameters())
    assert sum(p.numel() for p in model.parameters()) - heads == 85_798_656
    assert sum(p.numel() for p in model.heads[-1].parameters()) == 20_987_904
    assert sum(p.numel() for p in model.heads[0].parameters()) == 6_299_648
    assert heads == 20_987_904 + 11 * 6_299_648 and heads + 85_798_656 == 176_082_688


def test_projection_head_layout() -> None:
    head = ProjectionHead(8, 16, 4)
    assert [type(m) for m in head] == [nn.Linear, nn.BatchNorm1d, nn.ReLU] * 2 + [nn.Linear, nn.BatchNorm1d]
    assert all(m.bias is None for m in head if isinstance(m, nn.Linear))
    assert head[1].affine and head[4].affine and not head[-1].affine  # SimCLR's last BN without γ, β
    assert [m.out_features for m in head if isinstance(m, nn.Linear)] == [16, 16, 4]


def _nt_xent_by_hand(q: list[list[float]], k: list[list[float]], tau: float) -> float:
    """2N queries against 2N keys, own key dropped, positive at (i + N) mod 2N, cosine similarity."""
    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True)) / math.hypot(*a) / math.hypot(*b)

    m = len(q)
    total = 0.0
    for i in range(m):
        logits = {j: cos(q[i], k[j]) / tau for j in range(m) if j != i}
        pos = (i + m // 2) % m
        total += -logits[pos] + math.log(sum(math.exp(v) for v in logits.values()))
    return total / m


def test_nt_xent_by_hand_uses_both_views_as_negatives() -> None:
    z1 = [[1.0, 0.0], [0.0, 2.0]]
    z2 = [[1.0, 1.0], [-1.0, 3.0]]
    tau = 0.5
    expected = _nt_xent_by_hand(z1 + z2, z1 + z2, tau)
    got = nt_xent(torch.tensor(z1, dtype=D), torch.tensor(z2, dtype=D), tau)
    assert math.isclose(got.item(), expected, rel_tol=1e-12)
    # With keys: the intermediate layer's queries against the final layer's embeddings.
    k1, k2 = [[2.0, -1.0], [0.5, 0.5]], [[0.0, 1.0], [3.0, 1.0]]
    expected_k = _nt_xent_by_hand(z1 + z2, k1 + k2, tau)
    got_k = nt_xent(torch.tensor(z1, dtype=D), torch.tensor(z2, dtype=D), tau,
                    torch.tensor(k1, dtype=D), torch.tensor(k2, dtype=D))
    assert math.isclose(got_k.item(), expected_k, rel_tol=1e-12)


def test_loss_terms_exactly() -> None:
    g = torch.Generator().manual_seed(0)
    l1 = [torch.randn(3, 4, generator=g, dtype=D) for _ in range(3)]
    l2 = [torch.randn(3, 4, generator=g, dtype=D) for _ in range(3)]
    tau, lam = 0.3, 0.7
    ssl, sd = sdssl_loss(l1, l2, tau, lam)
    q = lambda t: t.tolist()  # noqa: E731
    assert math.isclose(ssl.item(), _nt_xent_by_hand(q(l1[2]) + q(l2[2]), q(l1[2]) + q(l2[2]), tau), rel_tol=1e-12)
    keys = q(l1[2]) + q(l2[2])
    expected_sd = sum(_nt_xent_by_hand(q(l1[i]) + q(l2[i]), keys, tau) for i in range(2)) / 2
    assert math.isclose(sd.item(), lam * expected_sd, rel_tol=1e-12)


def test_intermediate_layers_learn_from_the_final_layer_not_the_reverse() -> None:
    l1 = [torch.randn(3, 4, dtype=D, requires_grad=True) for _ in range(3)]
    l2 = [torch.randn(3, 4, dtype=D, requires_grad=True) for _ in range(3)]
    _, sd = sdssl_loss(l1, l2, 0.2, 1.0)
    sd.backward()
    assert l1[0].grad.abs().sum() > 0 and l2[1].grad.abs().sum() > 0
    assert l1[2].grad is None and l2[2].grad is None  # the final layer is the target


def test_distillation_weight_ramps_from_zero_by_a_half_cosine() -> None:
    # pl_train_simclr.py: utils.cosine_scheduler(0, ratio, ...): final + (0 − final)(1 + cos(π t / T)) / 2.
    assert distill_ramp(0, 100) == 0.0
    assert math.isclose(distill_ramp(50, 100), 0.4)
    assert math.isclose(distill_ramp(25, 100, 1.0), (1 - math.cos(math.pi / 4)) / 2)
    assert math.isclose(distill_ramp(100, 100), 0.8)


def test_every_block_has_its_own_head_on_the_normalised_class_token() -> None:
    torch.manual_seed(3)
    model = SDSSLViT(TINY).eval()
    x = torch.randn(2, 3, 16, 16)
    outs = model(x)
    assert len(outs) == TINY.depth and all(o.shape == (2, TINY.proj_dim) for o in outs)
    assert len({id(h) for h in model.heads}) == TINY.depth
    assert [h[0].out_features for h in model.heads] == [16, 16, 32]  # the last head is the wide one
    # Layer 2 by hand: patches + class token + positions, two blocks, the shared final norm, head 2.
    z = torch.cat([model.cls_token.expand(2, -1, -1), model.patch_embed(x)], dim=1) + model.pos_embed
    z = model.blocks[1](model.blocks[0](z))
    torch.testing.assert_close(outs[1], model.heads[1](model.norm(z)[:, 0]))
    assert model.pos_embed.shape == (1, 17, 32) and model.cls_token.shape == (1, 1, 32)
    assert isinstance(model.norm, nn.LayerNorm) and model.norm.eps == 1e-6  # official norm_layer, eps 1e-6
    assert 0.015 < model.pos_embed.std().item() < 0.025  # official trunc_normal_(pos_embed, std=.02)
    # layer 1's output does not depend on blocks 2 and 3
    with torch.no_grad():
        for p in model.blocks[2].parameters():
            p.add_(1.0)
    outs2 = model(x)
    torch.testing.assert_close(outs2[0], outs[0])
    assert not torch.allclose(outs2[2], outs[2])


def test_model_loss_is_ssl_plus_weighted_distillation() -> None:
    torch.manual_seed(4)
    model = SDSSLViT(TINY).eval()
    a, b = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    ssl, sd = sdssl_loss(model(a), model(b), TINY.temperature, 1.0)
    torch.testing.assert_close(model.loss(a, b), ssl + TINY.distill_weight * sd)
    torch.testing.assert_close(model.loss(a, b, weight=0.25), ssl + 0.25 * sd)
    assert TINY.temperature == 0.2
