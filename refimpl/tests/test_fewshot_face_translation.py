"""Few-shot face translation GAN: AdaIN carries identity, SPADE carries layout."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from refimpl.fewshot_face_translation import (
    TINY,
    FaceTranslationGenerator,
    SPADEAdaINBlock,
    embedding_loss,
    generator_loss,
    identity_code,
)
from refimpl.spade import SPADE


def _seg(labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, TINY.seg_nc).permute(0, 3, 1, 2).float()


def test_identity_code_is_the_normalised_mean_of_the_shots(device: torch.device) -> None:
    shots = torch.randn(2, 4, 6, device=device)
    code = identity_code(shots)
    torch.testing.assert_close(code, shots.mean(1) / shots.mean(1).norm(dim=1, keepdim=True))
    torch.testing.assert_close(identity_code(shots[:, torch.tensor([2, 0, 3, 1], device=device)]), code)
    torch.testing.assert_close(code.norm(dim=1), torch.ones(2, device=device))


def test_identity_changes_the_face_and_layout_changes_it_too() -> None:
    g = FaceTranslationGenerator(TINY).eval()
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    seg_a, seg_b = _seg(torch.randint(0, 3, (1, 16, 16))), _seg(torch.randint(0, 3, (1, 16, 16)))
    e1, e2 = torch.randn(1, 2, TINY.latent_dim), torch.randn(1, 2, TINY.latent_dim)
    out = g(x, seg_a, e1)
    assert out.shape == (1, 3, 16, 16) and out.abs().max() <= 1
    assert not torch.allclose(out, g(x, seg_a, e2))
    assert not torch.allclose(out, g(x, seg_b, e1))
    # Embeddings enter only through the identity code: scaling them changes nothing.
    torch.testing.assert_close(g(x, seg_a, 3 * e1), out)


def test_block_composes_spade_and_adain_with_a_residual() -> None:
    block = SPADEAdaINBlock(3, TINY.seg_nc, hidden=4).eval()
    assert isinstance(block.spade1, SPADE) and isinstance(block.spade2, SPADE)
    x, seg = torch.randn(1, 3, 4, 4), _seg(torch.randint(0, 3, (1, 4, 4)))
    params = torch.randn(1, 12)
    params[:, 6:] = 0  # second AdaIN: γ = β = 0 ⇒ the residual branch outputs conv2's bias
    expected = x + block.conv2.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(block(x, seg, params), expected)


def test_embedding_loss_is_cosine_distance() -> None:
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[2.0, 0.0], [0.0, 5.0], [-1.0, 0.0]])
    torch.testing.assert_close(embedding_loss(a, b), torch.tensor((0 + 1 + 2) / 3))
    torch.testing.assert_close(embedding_loss(a[:1], torch.tensor([[1.0, 1.0]])),
                               torch.tensor(1 - 1 / math.sqrt(2)))


def test_generator_loss_weights_reconstruction_and_identity_terms() -> None:
    g = FaceTranslationGenerator(TINY).eval()
    recognizer = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, TINY.latent_dim))
    x, seg = torch.rand(1, 3, 16, 16), _seg(torch.randint(0, 3, (1, 16, 16)))
    shots = torch.randn(1, 2, TINY.latent_dim)
    out = g(x, seg, shots)
    expected = F.l1_loss(out, x) + 0.1 * embedding_loss(recognizer(out), identity_code(shots))
    torch.testing.assert_close(generator_loss(g, recognizer, x, seg, x, shots, TINY), expected)
