"""HRNetV2 (arXiv:1904.04514): the claims that define the paper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from refimpl.hrnet import (
    CLS_W18,
    CLS_W30,
    CLS_W32,
    CLS_W40,
    CLS_W44,
    CLS_W48,
    CLS_W64,
    SEG_W18,
    SEG_W48,
    TINY,
    BasicBlock,
    Bottleneck,
    ExchangeUnit,
    HighResolutionModule,
    HRNet,
    HRNetClassifier,
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
        w48 = HRNetV2Segmentation(SEG_W48)
        w18 = HRNetV2Segmentation(SEG_W18)
    assert sum(p.numel() for p in w48.parameters()) == 65_859_379
    assert sum(p.numel() for p in w18.parameters()) == 9_641_119


# Counted by instantiating HRNet/HRNet-Image-Classification lib/models/cls_hrnet.py (commit f760c988)
# with experiments/cls_hrnet_w*_sgd_lr5e-2_wd1e-4_bs32_x100.yaml.
CLS_COUNTS = {18: 21_299_004, 30: 37_712_220, 32: 41_232_680, 40: 57_557_160, 44: 67_064_984,
              48: 77_469_864, 64: 128_059_944}


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_official_classification_parameter_count_w18() -> None:
    with torch.device("meta"):
        w18 = HRNetClassifier(CLS_W18)
    assert _count(w18) == CLS_COUNTS[18]
    assert _count(w18.incre) + _count(w18.downsample) + _count(w18.final) + _count(w18.classifier) == 11_736_744


@pytest.mark.slow
def test_official_classification_parameter_counts_every_width() -> None:
    with torch.device("meta"):
        for config in (CLS_W30, CLS_W32, CLS_W40, CLS_W44, CLS_W48, CLS_W64):
            assert _count(HRNetClassifier(config)) == CLS_COUNTS[config.width]


def test_config_defaults_and_presets() -> None:
    c = HRNetConfig()  # seg_hrnet_w48 (Cityscapes) and cls_hrnet.py's head
    assert (c.width, c.stage_modules, c.num_blocks, c.stem_width, c.stage1_blocks, c.num_classes) == (
        48, (1, 4, 3), 4, 64, 4, 19)
    assert (c.fusion_upsample, c.head_channels, c.feature_dim) == ("bilinear", (32, 64, 128, 256), 2048)
    assert c == SEG_W48 and SEG_W18.width == 18
    assert (CLS_W32.width, CLS_W32.num_classes, CLS_W32.fusion_upsample, CLS_W32.stage_modules) == (
        32, 1000, "nearest", (1, 4, 3))


def _fuse_two(mode: str) -> torch.Tensor:
    fuse = ExchangeUnit((1, 1), upsample=mode)
    fuse.paths[0][1] = nn.Identity()  # only the resizing is left on the low → high path
    high = torch.full((1, 1, 4, 4), 100.0)
    low = torch.tensor([[[[0.0, 4.0], [8.0, 12.0]]]])
    return fuse([high, low])[0][0, 0] - 100.0


def test_fusion_upsampling_modes_by_hand() -> None:
    # seg_hrnet.py: bilinear, corners not aligned: one axis (a, b) → (a, ¾a + ¼b, ¼a + ¾b, b).
    torch.testing.assert_close(_fuse_two("bilinear"), torch.tensor(
        [[0.0, 1, 3, 4], [2, 3, 5, 6], [6, 7, 9, 10], [8, 9, 11, 12]]))
    # cls_hrnet.py: nn.Upsample(scale_factor=2, mode='nearest').
    torch.testing.assert_close(_fuse_two("nearest"), torch.tensor(
        [[0.0, 0, 4, 4], [0, 0, 4, 4], [8, 8, 12, 12], [8, 8, 12, 12]]))
    with pytest.raises(ValueError, match="up-sampling"):
        _fuse_two("bicubic")
    with torch.device("meta"):
        net = HRNet(CLS_W18)
    assert {m.fuse.upsample for s in net.stages for m in s} == {"nearest"}


def test_classification_head_merges_from_high_to_low_resolution_and_pools() -> None:
    model = HRNetClassifier(HRNetConfig(**{**TINY.__dict__, "num_classes": 5})).eval()
    x = torch.rand(1, 3, 32, 32)
    xs = model.backbone(x)
    y = model.incre[0](xs[0])
    assert y.shape == (1, 8, 8, 8)  # head_channels[0] · 4
    for i in range(3):
        y = model.incre[i + 1](xs[i + 1]) + model.downsample[i](y)
    assert y.shape == (1, 64, 1, 1)
    feats = model.final(y).mean((2, 3))
    torch.testing.assert_close(model.features(x), feats)
    torch.testing.assert_close(model(x), model.classifier(feats))
    assert [m.stride for m in model.downsample.modules() if isinstance(m, nn.Conv2d)] == [(2, 2)] * 3
    assert model.final[0].out_channels == TINY.feature_dim and model(x).shape == (1, 5)
    # A larger input changes the pooled map's size, not the logits' shape (global average pooling).
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 5)
