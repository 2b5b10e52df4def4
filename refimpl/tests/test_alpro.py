"""ALPRO (arXiv:2112.09583): video-text contrastive loss and prompt-entity pseudo-labels."""

from __future__ import annotations

import math

import torch

from refimpl.alpro import TINY, ALPROConfig, VideoTextEncoder, entity_pseudo_labels, pem_loss, vtc_loss

D = torch.float64


def test_defaults() -> None:
    assert ALPROConfig().temperature == 0.07
    assert ALPROConfig().embed_dim == 256


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
    prompts = torch.tensor([[1.0, 0.0], [0.0, 5.0], [-1.0, 1.0]], dtype=D)
    tau = 0.25
    cos = [1.0, 0.0, -1 / math.sqrt(2)]
    z = sum(math.exp(c / tau) for c in cos)
    expected = torch.tensor([[math.exp(c / tau) / z for c in cos]], dtype=D)
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


def test_toy_encoders_depend_on_their_inputs() -> None:
    m = VideoTextEncoder(6, 20, TINY)
    frames = torch.randn(2, 4, 6)
    assert m.encode_video(frames).shape == (2, 8)
    assert not torch.allclose(m.encode_video(frames), m.encode_video(frames + 1))
    tokens = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert not torch.allclose(m.encode_text(tokens)[0], m.encode_text(tokens)[1])
