"""Triple consistency loss (arXiv:1811.03492): the claims that define the paper."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from refimpl.triple_consistency import (
    OFFICIAL,
    TINY,
    PoseConditionedGenerator,
    ResidualBlock,
    TripleConsistencyConfig,
    consistency_loss,
    self_consistency_loss,
    triple_consistency_loss,
)


def _replace_pose(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # channel 0 is appearance (kept), channel 1 is pose (overwritten by the target): composes consistently
    return torch.cat([x[:, :1], y], dim=1)


def _accumulate_pose(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # a generator that adds the new pose to the old one: the intermediate pose leaks into the result
    return torch.cat([x[:, :1], x[:, 1:] + y], dim=1)


def test_triple_loss_is_zero_for_a_consistently_composing_generator(device: torch.device) -> None:
    x = torch.randn(2, 2, 4, 4, device=device)
    y1, y2 = torch.randn(2, 1, 4, 4, device=device), torch.randn(2, 1, 4, 4, device=device)
    assert triple_consistency_loss(_replace_pose, x, y1, y2).item() == 0.0
    assert self_consistency_loss(_replace_pose, x, x[:, 1:], y1).item() == 0.0


def test_triple_loss_measures_the_leaked_intermediate_pose() -> None:
    x = torch.randn(1, 2, 4, 4)
    y1, y2 = torch.full((1, 1, 4, 4), 0.5), torch.randn(1, 1, 4, 4)
    # long path = (a, p + y1 + y2), short cut = (a, p + y2): they differ by y1 on half the channels
    torch.testing.assert_close(triple_consistency_loss(_accumulate_pose, x, y1, y2), torch.tensor(0.25))


class _ConstantMask(nn.Module):
    def __init__(self, logit: float) -> None:
        super().__init__()
        self.logit = logit

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.full_like(h[:, :1], self.logit)


def test_the_mask_keeps_the_input_where_it_is_on_and_the_colour_where_off() -> None:
    # GANnotation model.py: output = mask * (x - colour) + colour = M x + (1 - M) C.
    gen = PoseConditionedGenerator(TINY)
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    y1, y2 = torch.rand(2, TINY.num_landmarks, 8, 8), torch.rand(2, TINY.num_landmarks, 8, 8)
    gen.to_mask = _ConstantMask(40.0)  # M = 1: the input comes back whatever the pose
    torch.testing.assert_close(gen(x, y1), x)
    assert triple_consistency_loss(gen, x, y1, y2).item() < 1e-6
    gen.to_mask = _ConstantMask(-40.0)  # M = 0: the colour head alone, in tanh's range
    h = gen.up(gen.bottleneck(gen.down(torch.cat([x, y1], dim=1))))
    torch.testing.assert_close(gen(x, y1), torch.tanh(gen.to_image(h)))
    gen.to_mask = _ConstantMask(0.0)  # M = 1/2: the average of the two
    torch.testing.assert_close(gen(x, y1), 0.5 * x + 0.5 * torch.tanh(gen.to_image(h)))


def test_consistency_loss_adds_the_triple_term_with_its_weight() -> None:
    x = torch.randn(1, 2, 4, 4)
    ys, y1, y2 = torch.full((1, 1, 4, 4), 0.25), torch.full((1, 1, 4, 4), 0.5), torch.randn(1, 1, 4, 4)
    # self: G(G(x, y1), ys) = (a, p + 0.5 + 0.25) against (a, p): 0.75 on half the channels -> 0.375.
    # triple: 0.25 (the leaked y1, as above).
    torch.testing.assert_close(self_consistency_loss(_accumulate_pose, x, ys, y1), torch.tensor(0.375))
    torch.testing.assert_close(consistency_loss(_accumulate_pose, x, ys, y1, y2), torch.tensor(0.625))
    heavy = TripleConsistencyConfig(triple_weight=2.0)
    torch.testing.assert_close(consistency_loss(_accumulate_pose, x, ys, y1, y2, heavy), torch.tensor(0.875))


def test_defaults_are_the_released_gannotation_generator() -> None:
    # ESanchezLozano/GANnotation @ c2a7c171406d4b866f61f804a7cb8ef4120c91e8: model.py Generator(conv_dim=64,
    # c_dim=66, repeat_num=6), GANnotation.py size = 128, utils.draw_gaussian's 7-pixel patch with std 0.25 of
    # its width; Train_options.py l_self = l_triple = 1.
    default = TripleConsistencyConfig()
    assert (default.num_landmarks, default.image_size, default.conv_dim, default.repeat_num) == (66, 128, 64, 6)
    assert default.sigma == 1.75 and default.triple_weight == 1.0
    assert default == OFFICIAL


def test_official_parameter_count_and_output_shape() -> None:
    # Instantiating model.py's Generator() (GANnotation @ c2a7c17) gives 8,621,888 parameters; its state dict,
    # loaded in order into this generator, reproduces its output on a random 128x128 input to 1e-7.
    with torch.device("meta"):
        gen = PoseConditionedGenerator(OFFICIAL)
    assert sum(p.numel() for p in gen.parameters()) == 8_621_888
    # The official input size, through a narrow copy of the same network (a full one is slow on CPU).
    narrow = PoseConditionedGenerator(dataclasses.replace(OFFICIAL, conv_dim=2, repeat_num=1))
    out = narrow(torch.rand(1, 3, 128, 128), torch.rand(1, 66, 128, 128))
    assert out.shape == (1, 3, 128, 128)
    # By hand: stem 69*64*49 + 2*64 = 216,512; downs 64*128*16 + 2*128 + 128*256*16 + 2*256 = 656,128;
    # six residual blocks of 2*(256*256*9 + 256) each, 7,080,960; ups 256*128*16 + 2*128 + 128*64*16 + 2*64
    # = 655,744; heads 64*3*49 + 64*49 = 12,544.
    parts = {name: sum(p.numel() for p in getattr(gen, name).parameters())
             for name in ("down", "bottleneck", "up", "to_image", "to_mask")}
    assert parts == {"down": 216_512 + 656_128, "bottleneck": 7_080_960, "up": 655_744, "to_image": 9_408,
                     "to_mask": 3_136}


def test_architecture_details_below_the_count() -> None:
    gen = PoseConditionedGenerator(TINY)
    slopes = {m.negative_slope for m in gen.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2} and not any(isinstance(m, nn.ReLU) for m in gen.modules())
    # Affine instance norm in the encoder and decoder, non-affine inside the residual blocks.
    assert all(m.affine for m in (*gen.down, *gen.up) if isinstance(m, nn.InstanceNorm2d))
    assert not any(m.affine for m in gen.bottleneck.modules() if isinstance(m, nn.InstanceNorm2d))
    # Up-sampling by transposed convolutions that mirror the stride-2 encoder: 4 -> 8 -> 16 -> 8 -> 4 channels.
    ups = [m for m in gen.up if isinstance(m, nn.ConvTranspose2d)]
    downs = [m for m in gen.down if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in downs] == [(7, 4, (1, 1)), (4, 8, (2, 2)), (8, 16, (2, 2))]
    assert [(m.in_channels, m.out_channels, m.stride) for m in ups] == [(16, 8, (2, 2)), (8, 4, (2, 2))]
    h = gen.down(torch.rand(1, 7, 8, 8))
    assert h.shape == (1, 16, 2, 2) and gen.up(gen.bottleneck(h)).shape == (1, 4, 8, 8)


def test_residual_block_keeps_its_skip() -> None:
    block = ResidualBlock(4)
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        block.body[3].weight.zero_()
        block.body[3].bias.zero_()
    torch.testing.assert_close(block(x), x)  # a zero residual branch leaves the input
    fresh = ResidualBlock(4)
    residual = fresh(x) - x
    torch.testing.assert_close(residual.mean((2, 3)), torch.zeros(2, 4), atol=1e-5, rtol=0)  # ends in instance norm
    assert residual.abs().mean() > 0.1


def test_the_loss_trains_the_generator() -> None:
    x = torch.rand(2, 3, 8, 8)
    y1, y2 = torch.rand(2, TINY.num_landmarks, 8, 8), torch.rand(2, TINY.num_landmarks, 8, 8)
    fresh = PoseConditionedGenerator(TINY)
    loss = triple_consistency_loss(fresh, x, y1, y2)
    assert loss.item() > 0
    loss.backward()
    assert fresh.down[0].weight.grad.abs().sum() > 0
