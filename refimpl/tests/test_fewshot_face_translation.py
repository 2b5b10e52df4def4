"""Few-shot face translation GAN: AdaIN carries identity, SPADE carries layout."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.fewshot_face_translation import (
    TINY,
    FaceTranslationConfig,
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


def test_config_defaults() -> None:
    c = FaceTranslationConfig()
    assert (c.latent_dim, c.input_size) == (512, 224)  # models.py: LATENT_DIM, INPUT_SIZE
    assert (c.mlp_dim, c.spade_hidden) == (256, 128)  # nn_blocks.py: Dense(256), SPADE's 128-channel conv
    assert (c.nf, c.n_down, c.n_blocks, c.seg_nc) == (64, 3, 2, 19)
    assert (c.w_recon, c.w_emb) == (1.0, 0.1)


def test_block_by_hand_spade_then_adain_then_leaky_relu_then_conv() -> None:
    torch.manual_seed(0)
    block = SPADEAdaINBlock(3, TINY.seg_nc, hidden=4)
    x, seg = torch.randn(2, 3, 4, 5), _seg(torch.randint(0, 3, (2, 4, 5)))
    params = torch.randn(2, 12)
    b1, g1, b2, g2 = params.split(3, dim=1)

    def adain(h: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return g[..., None, None] * F.instance_norm(h, eps=1e-5) + b[..., None, None]

    h = F.conv2d(F.leaky_relu(adain(block.spade1(x, seg), g1, b1), 0.2), block.conv1.weight, block.conv1.bias,
                 padding=1)
    h = F.conv2d(F.leaky_relu(adain(block.spade2(h, seg), g2, b2), 0.2), block.conv2.weight, block.conv2.bias,
                 padding=1)
    torch.testing.assert_close(block(x, seg, params), x + h, atol=1e-5, rtol=1e-5)
    assert block.num_adain_params == 12


def test_generator_architecture() -> None:
    g = FaceTranslationGenerator(TINY)
    convs = [m for m in g.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size, m.stride) for m in convs] == [((7, 7), (1, 1)), ((4, 4), (2, 2)), ((4, 4), (2, 2))]
    assert [m.out_channels for m in convs] == [2, 4, 8]  # width doubles with each down-sampling
    assert [m.padding for m in g.encoder.modules() if isinstance(m, nn.ReflectionPad2d)] == [(3, 3, 3, 3)] + [
        (1, 1, 1, 1)] * 2
    assert all(m.padding == (0, 0) for m in convs)  # all padding is reflection
    ups = [m for m in g.decoder.modules() if isinstance(m, nn.Upsample)]
    assert [(u.scale_factor, u.mode) for u in ups] == [(2, "nearest")] * 2
    dec = [m for m in g.decoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size, m.out_channels) for m in dec] == [((5, 5), 4), ((5, 5), 2), ((7, 7), 3)]  # mirrors
    assert isinstance(list(g.decoder.modules())[-1], nn.Tanh)
    assert len(g.blocks) == 1 and g.mlp.net[-1].out_features == 4 * 8  # [β₁, γ₁, β₂, γ₂] at the 8-channel bottleneck
    out = g(torch.rand(2, 3, 16, 16) * 2 - 1, _seg(torch.randint(0, 3, (2, 16, 16))), torch.randn(2, 3, 6))
    assert out.shape == (2, 3, 16, 16) and out.min() < 0 < out.max()


def test_each_sample_gets_its_own_identity() -> None:
    # batch of two with different shots: swapping the shots swaps the outputs
    g = FaceTranslationGenerator(TINY).eval()
    x, seg = torch.rand(1, 3, 16, 16).expand(2, -1, -1, -1), _seg(torch.randint(0, 3, (1, 16, 16))).expand(2, -1, -1, -1)
    shots = torch.randn(2, 3, 6)
    out = g(x, seg, shots)
    torch.testing.assert_close(g(x, seg, shots.flip(0)), out.flip(0), atol=1e-5, rtol=1e-5)
    assert (out[0] - out[1]).abs().max() > 1e-4


def test_spade_width_and_adain_parameters_for_several_blocks() -> None:
    block = SPADEAdaINBlock(3, 5)
    assert block.spade1.gamma.in_channels == 128 and block.spade2.gamma.in_channels == 128  # official 128
    config = FaceTranslationConfig(latent_dim=6, input_size=16, nf=2, n_down=1, n_blocks=2, seg_nc=3, mlp_dim=8,
                                   spade_hidden=4)
    g = FaceTranslationGenerator(config)
    assert g.mlp.net[-1].out_features == 2 * 4 * 4  # two blocks, [β₁, γ₁, β₂, γ₂] of 4 channels each
    # each block gets its own slice of the MLP output: with the second block's γ₂ = β₂ = 0 its residual
    # branch is conv2's bias alone
    x, seg = torch.rand(1, 3, 16, 16), _seg(torch.randint(0, 3, (1, 16, 16)))
    shots = torch.randn(1, 2, 6)
    with torch.no_grad():
        g.mlp.net[-1].weight[16 + 8:].zero_()  # second block's β₂, γ₂
        g.mlp.net[-1].bias[16 + 8:].zero_()
    h = g.encoder(x)
    params = g.mlp(identity_code(shots))
    h = g.blocks[0](h, seg, params[:, :16])
    bias = g.blocks[1].conv2.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(g.decoder(h + bias), g(x, seg, shots), atol=1e-5, rtol=1e-5)
