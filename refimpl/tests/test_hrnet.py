"""HRNetV2 (arXiv:1904.04514): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.hrnet import (
    TINY,
    BasicBlock,
    Bottleneck,
    ExchangeUnit,
    HighResolutionModule,
    HRNet,
    HRNetConfig,
    HRNetV2Segmentation,
    Transition,
    hrnetv2_representation,
)

CHANNELS = (4, 8, 16, 32)


def _branches(device: torch.device | str = "cpu") -> list[torch.Tensor]:
    return [torch.randn(2, c, 16 // 2**k, 16 // 2**k, device=device) for k, c in enumerate(CHANNELS)]


def test_module_preserves_every_branch_resolution_and_width(device: torch.device) -> None:
    module = HighResolutionModule(CHANNELS, num_blocks=1).to(device).eval()
    xs = _branches(device)
    outs = module(xs)
    assert [o.shape for o in outs] == [x.shape for x in xs]


def test_exchange_unit_fuses_every_resolution_into_every_branch() -> None:
    fuse = ExchangeUnit(CHANNELS).eval()
    xs = _branches()
    base = fuse(xs)
    for j in range(4):  # change only branch j: every output branch must react
        changed = [x.clone() for x in xs]
        changed[j] = changed[j] + 1.0
        outs = fuse(changed)
        assert all(not torch.allclose(o, b) for o, b in zip(outs, base, strict=True))
    # Same-resolution path is the identity; j < i paths are i − j stride-2 convs.
    assert isinstance(fuse.paths[2][2], torch.nn.Identity)
    assert sum(isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2) for m in fuse.paths[3][0].modules()) == 3


def test_like_a_unet_whose_skip_is_convolutional_the_full_resolution_path_persists() -> None:
    # The notes' view: the 1/4-resolution stream is carried through every stage by convolutions
    # (never pooled away), and the lowest resolution still reaches it at the output.
    net = HRNet(TINY).eval()
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    outs = net(image)
    assert [o.shape[-1] for o in outs] == [8, 4, 2, 1]
    assert [o.shape[1] for o in outs] == [4, 8, 16, 32]  # C, 2C, 4C, 8C
    lowest = net.transitions[2].new_branch  # the stride-2 conv that starts the 1/32 branch
    outs[0].sum().backward()
    assert lowest[0].weight.grad is not None and lowest[0].weight.grad.abs().sum() > 0


def test_transition_adds_one_half_resolution_branch() -> None:
    t = Transition((8, 16), (8, 16, 32)).eval()
    outs = t([torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4)])
    assert [o.shape for o in outs] == [(1, 8, 8, 8), (1, 16, 4, 4), (1, 32, 2, 2)]


def test_hrnetv2_head_concatenates_upsampled_branches() -> None:
    xs = _branches()
    rep = hrnetv2_representation(xs)
    assert rep.shape == (2, sum(CHANNELS), 16, 16)  # 15C at the highest resolution
    torch.testing.assert_close(rep[:, :4], xs[0])
    seg = HRNetV2Segmentation(TINY).eval()
    assert seg(torch.rand(1, 3, 32, 32)).shape == (1, TINY.num_classes, 8, 8)


def test_residual_units() -> None:
    assert BasicBlock(8, 8)(torch.rand(1, 8, 4, 4)).shape == (1, 8, 4, 4)
    assert Bottleneck(8, 4)(torch.rand(1, 8, 4, 4)).shape == (1, 16, 4, 4)


def test_standard_parameter_counts() -> None:
    # Sums over the authors' seg_hrnet.py (see the docstring); the paper reports 65.9M for W48.
    with torch.device("meta"):
        w48 = HRNetV2Segmentation(HRNetConfig())
        w18 = HRNetV2Segmentation(HRNetConfig(width=18))
    assert sum(p.numel() for p in w48.parameters()) == 65_859_379
    assert sum(p.numel() for p in w18.parameters()) == 9_641_119
