"""IC layer (arXiv:1905.05928): BatchNorm then Dropout before the weight layer, which decorrelates units."""

from __future__ import annotations

import pytest
import torch

from refimpl.ic_layer import ICBlock, ICConfig, ICLayer


def _mean_abs_offdiag_corr(x: torch.Tensor) -> float:
    c = torch.corrcoef(x.T.double())
    off = c[~torch.eye(c.shape[0], dtype=torch.bool)]
    return off.abs().mean().item()


def _correlated(n: int, d: int, g: torch.Generator) -> torch.Tensor:
    z = torch.randn(n, d, generator=g)
    mix = torch.eye(d) + 0.8 * torch.ones(d, d) / d ** 0.5  # strongly correlated units, unequal scales
    return (z @ mix) * torch.linspace(0.5, 3.0, d) + 2.0


def test_default_rate() -> None:
    assert ICConfig().drop_prob == 0.05
    assert ICLayer(4).dropout.p == 0.05


def test_order_is_batchnorm_then_dropout() -> None:
    layer = ICLayer(5, drop_prob=0.5).train()
    x = torch.randn(200, 5) * 4 + 3
    torch.manual_seed(7)
    y = layer(x)
    # a dropped unit is exactly 0 after the layer; BN after dropout would shift it away from 0
    zeros = y == 0
    assert 0.35 < zeros.float().mean() < 0.65
    kept = ~zeros
    torch.testing.assert_close(y[kept], (2 * layer.norm(x))[kept])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ic_layer_reduces_correlation_by_one_minus_p(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = _correlated(8192, 8, g)
    for p in (ICConfig().drop_prob, 0.3):
        torch.manual_seed(seed)
        layer = ICLayer(8, drop_prob=p).train()
        with torch.no_grad():
            y = layer(x)
        before, after = _mean_abs_offdiag_corr(x), _mean_abs_offdiag_corr(y)
        assert before > 0.3
        assert after < before
        assert abs(after / before - (1 - p)) < 0.02  # corr(y_i, y_j) = (1 − p) corr(x_i, x_j)
        # BatchNorm alone whitens each unit but leaves the correlations as they are
        bn_only = layer.norm(x)
        assert abs(_mean_abs_offdiag_corr(bn_only) - before) < 1e-6


def test_block_places_the_ic_layer_after_relu_and_before_the_weights() -> None:
    block = ICBlock(4, 3, drop_prob=0.0).eval()
    x = torch.randn(10, 4)
    torch.testing.assert_close(block(x), block.linear(block.ic.norm(torch.relu(x))))


def test_spatial_ic_layer_normalises_over_the_batch_not_per_image() -> None:
    # Batch normalisation (Sec. 3): per-channel statistics over batch and positions, so an image
    # brighter than the others stays brighter; instance norm would centre every image on its own.
    layer = ICLayer(2, drop_prob=0.0, spatial=True).train()
    x = torch.randn(4, 2, 3, 3)
    x[0] += 5.0
    out = layer(x)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(out, (x - mean) / torch.sqrt(var + 1e-5))
    assert out[0].mean() > out[1:].mean() + 1.0
