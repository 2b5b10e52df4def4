"""VGG features for a perceptual loss, tapped at named layers, weighted per layer as in the notes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from refimpl.perceptual_features import (
    FeatureTaps,
    PerceptualWeightsConfig,
    vgg_features,
    vgg_layer_names,
    vgg_taps,
    weighted_perceptual_loss,
)


def test_config_defaults_are_the_notes_weights() -> None:
    assert PerceptualWeightsConfig() == PerceptualWeightsConfig(
        backbone="vgg16", layers=("relu1_2", "relu2_2", "relu3_3"), weights=(0.01, 0.1, 0.1), loss_weight=0.1)
    assert PerceptualWeightsConfig().loss_weight < 1  # a weight of 1 destabilised training (notes)


def test_vgg_parameter_counts_match_torchvision() -> None:
    # torchvision vgg16().features: 14,714,688 parameters; vgg19().features: 20,024,384.
    with torch.device("meta"):
        assert sum(p.numel() for p in vgg_features("vgg16").parameters()) == 14714688
        assert sum(p.numel() for p in vgg_features("vgg19").parameters()) == 20024384
    assert len(vgg_features("vgg16")) == 31 and len(vgg_features("vgg19")) == 37


def test_layer_names_keep_torchvision_indices() -> None:
    v16 = vgg_layer_names("vgg16")
    assert [v16[n] for n in ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "pool5")] == [3, 8, 15, 22, 30]
    v19 = vgg_layer_names("vgg19")
    assert [v19[n] for n in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")] == [1, 6, 11, 20, 29]
    net = vgg_features("vgg16", width_divisor=16)
    assert isinstance(net[v16["relu2_2"]], nn.ReLU) and isinstance(net[v16["conv3_3"]], nn.Conv2d)
    assert net[v16["conv1_1"]].padding == (1, 1) and isinstance(net[v16["pool1"]], nn.MaxPool2d)


def test_vgg_taps_return_the_chosen_layers_in_order() -> None:
    torch.manual_seed(0)
    taps = vgg_taps(width_divisor=16)
    x = torch.rand(1, 3, 16, 16)
    feats = taps(x)
    assert [tuple(f.shape) for f in feats] == [(1, 4, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4)]
    assert len(taps.backbone) == 16  # cut right after relu3_3: nothing deeper is computed
    # relu1_2 by hand: the first four layers of the same network.
    torch.testing.assert_close(feats[0], taps.backbone[:4](x))
    assert (feats[1] >= 0).all()  # taps are after the ReLU
    # A tap before an in-place ReLU keeps its negative values (the activation is copied when taken).
    conv = FeatureTaps(taps.backbone, ["0"])(x)[0]
    assert (conv < 0).any()
    torch.testing.assert_close(conv, taps.backbone[0](x))


def test_taps_work_on_a_resnet_style_backbone_by_stage_name() -> None:
    class Stages(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 3, padding=1)
            self.layer1 = nn.Conv2d(4, 8, 3, stride=2, padding=1)
            self.layer2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer2(self.layer1(self.stem(x)))

    taps = FeatureTaps(Stages(), ["layer2", "layer1"])
    feats = taps(torch.rand(1, 3, 8, 8))
    assert [f.shape[1] for f in feats] == [16, 8]  # the order asked for, not the network's order
    with pytest.raises(ValueError, match="layer9"):
        FeatureTaps(Stages(), ["layer9"])


def test_weighted_loss_applies_one_weight_per_layer() -> None:
    fx = [torch.zeros(1, 2, 2, 2), torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 1, 1)]
    fy = [torch.full((1, 2, 2, 2), 1.0), torch.full((1, 1, 2, 2), 2.0), torch.full((1, 1, 1, 1), 4.0)]
    # 0.01 · 1 + 0.1 · 2 + 0.1 · 4 (mean absolute differences per layer)
    torch.testing.assert_close(weighted_perceptual_loss(fx, fy), torch.tensor(0.61))
    torch.testing.assert_close(weighted_perceptual_loss(fx, fy, (1.0, 0.0, 0.0)), torch.tensor(1.0))
    assert weighted_perceptual_loss(fy, fy) == 0
    with pytest.raises(ValueError, match="2 weights"):
        weighted_perceptual_loss(fx, fy, (1.0, 1.0))


def test_default_taps_are_full_width_vgg16_up_to_relu3_3() -> None:
    # VGG-16 (Simonyan & Zisserman, Table 1, D) conv1_1 … conv3_3, 3×3 kernels with biases:
    # Σ 9·c_in·c_out + c_out over 3→64, 64→64, 64→128, 128→128, 128→256, 256→256, 256→256.
    widths = [3, 64, 64, 128, 128, 256, 256, 256]
    expected = sum(9 * a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    taps = vgg_taps()
    assert sum(p.numel() for p in taps.backbone.parameters()) == expected == 1_735_488
    assert taps.taps == ("3", "8", "15")
