"""Dense(1024) bottleneck vs stride-2 convs to 1×1: both encoders reach a 1×1 code of the same size."""

from __future__ import annotations

import pytest
import torch

from refimpl.bottleneck_encoders import (
    FACESWAP,
    TINY,
    BottleneckConfig,
    DenseBottleneckEncoder,
    StridedBottleneckEncoder,
    bottleneck_code,
)


def test_config_defaults_are_the_faceswap_model() -> None:
    assert BottleneckConfig() == BottleneckConfig(image_size=64, widths=(128, 256, 512, 1024), code_dim=1024,
                                                  reshape_size=4)
    assert BottleneckConfig() == FACESWAP


def test_faceswap_dense_encoder_parameter_count() -> None:
    # By hand: 5×5 convs 3→128→256→512→1024 (17,214,720), Dense(4·4·1024 → 1024) (16,778,240),
    # Dense(1024 → 4·4·1024) (16,793,600).
    with torch.device("meta"):
        enc = DenseBottleneckEncoder(FACESWAP)
    assert sum(p.numel() for p in enc.trunk.parameters()) == 17214720
    assert sum(p.numel() for p in enc.to_code.parameters()) == 16778240
    assert sum(p.numel() for p in enc.parameters()) == 50786560


def test_both_encoders_reach_a_1x1_code_of_1024_at_the_faceswap_size() -> None:
    with torch.device("meta"):
        dense, strided = DenseBottleneckEncoder(FACESWAP), StridedBottleneckEncoder(FACESWAP)
        x = torch.empty(2, 3, 64, 64)
        assert bottleneck_code(dense, x).shape == (2, 1024)
        assert strided(x).shape == (2, 1024, 1, 1)
        assert dense(x).shape == (2, 1024, 4, 4)  # reshaped for the decoder
    # The trunk leaves 4×4: two stride-2 convs (4 -> 2 -> 1) replace the Dense layer.
    assert len(strided.squeeze) == 2
    assert all(layer[0].stride == (2, 2) for layer in strided.squeeze)


def test_codes_depend_on_the_input_and_the_trunk_is_shared_in_design() -> None:
    torch.manual_seed(0)
    dense, strided = DenseBottleneckEncoder(TINY), StridedBottleneckEncoder(TINY)
    a, b = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    for enc in (dense, strided):
        assert not torch.allclose(bottleneck_code(enc, a), bottleneck_code(enc, b))
        assert bottleneck_code(enc, a).shape == (1, 16)
    assert [m[0].kernel_size for m in dense.trunk] == [(5, 5), (5, 5)]
    assert dense.trunk[0][1].negative_slope == 0.1


def test_strided_variant_needs_a_power_of_two_map() -> None:
    with pytest.raises(ValueError, match="power of two"):
        StridedBottleneckEncoder(BottleneckConfig(image_size=48, widths=(4,), code_dim=8))
