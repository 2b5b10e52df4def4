"""SDSSL (arXiv:2111.12958): intermediate layers distilled towards the last layer's representation."""

from __future__ import annotations

import math

import torch

from refimpl.sdssl import TINY, SDSSLConfig, SDSSLViT, nt_xent, sdssl_loss

D = torch.float64


def test_defaults() -> None:
    c = SDSSLConfig()
    assert c.temperature == 0.2 and c.distill_weight == 1.0


def test_nt_xent_by_hand() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=D)
    b = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=D)
    tau = 0.5
    r = 1 / math.sqrt(2)
    rows = [[r, 0.0], [r, 1.0]]
    expected = sum(-rows[i][i] / tau + math.log(sum(math.exp(x / tau) for x in rows[i])) for i in range(2)) / 2
    assert math.isclose(nt_xent(a, b, tau).item(), expected, rel_tol=1e-12)


def test_loss_terms_exactly() -> None:
    g = torch.Generator().manual_seed(0)
    l1 = [torch.randn(3, 4, generator=g, dtype=D) for _ in range(3)]
    l2 = [torch.randn(3, 4, generator=g, dtype=D) for _ in range(3)]
    tau, lam = 0.3, 0.7
    ssl, sd = sdssl_loss(l1, l2, tau, lam)
    torch.testing.assert_close(ssl, 0.5 * (nt_xent(l1[2], l2[2], tau) + nt_xent(l2[2], l1[2], tau)))
    expected_sd = sum(0.5 * (nt_xent(l1[i], l2[2], tau) + nt_xent(l2[i], l1[2], tau)) for i in range(2)) / 2
    torch.testing.assert_close(sd, lam * expected_sd)


def test_intermediate_layers_learn_from_the_final_layer_not_the_reverse() -> None:
    l1 = [torch.randn(3, 4, dtype=D, requires_grad=True) for _ in range(3)]
    l2 = [torch.randn(3, 4, dtype=D, requires_grad=True) for _ in range(3)]
    _, sd = sdssl_loss(l1, l2, 0.2, 1.0)
    sd.backward()
    assert l1[0].grad.abs().sum() > 0 and l2[1].grad.abs().sum() > 0
    assert l1[2].grad is None and l2[2].grad is None  # the final layer is the target


def test_every_block_has_its_own_head_on_the_class_token() -> None:
    model = SDSSLViT(TINY).eval()
    x = torch.randn(2, 3, 16, 16)
    outs = model(x)
    assert len(outs) == TINY.depth and all(o.shape == (2, TINY.proj_dim) for o in outs)
    assert len({id(h) for h in model.heads}) == TINY.depth
    # layer 1's output does not depend on block 2 and 3
    with torch.no_grad():
        for p in model.blocks[2].parameters():
            p.add_(1.0)
    outs2 = model(x)
    torch.testing.assert_close(outs2[0], outs[0])
    assert not torch.allclose(outs2[2], outs[2])
