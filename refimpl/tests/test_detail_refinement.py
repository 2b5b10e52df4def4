"""DF2Net's residual depth cascade and Chen et al.'s displacement along normals."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.detail_refinement import (
    TINY,
    DepthCascade,
    DetailConfig,
    ResidualDepthRefiner,
    apply_displacement,
    sample_uv,
)

D = torch.float64


def test_config_defaults() -> None:
    assert DetailConfig() == DetailConfig(width=32, stages=3)  # DF2Net: dense, fine, finer


def test_a_fresh_refiner_passes_the_coarse_depth_through() -> None:
    torch.manual_seed(0)
    refiner = ResidualDepthRefiner(TINY)
    image, depth = torch.rand(2, 3, 8, 8), torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(refiner(image, depth), depth)


def test_refiner_adds_a_residual_that_depends_on_image_and_depth() -> None:
    torch.manual_seed(0)
    refiner = ResidualDepthRefiner(TINY)
    nn.init.normal_(refiner.out.weight)
    image, depth = torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8)
    out = refiner(image, depth)
    torch.testing.assert_close(out - depth, refiner.residual(image, depth))
    assert not torch.allclose(refiner.residual(torch.rand(1, 3, 8, 8), depth), refiner.residual(image, depth))
    assert not torch.allclose(refiner.residual(image, depth + 1), refiner.residual(image, depth))


def test_cascade_feeds_each_stage_the_previous_depth() -> None:
    torch.manual_seed(0)
    cascade = DepthCascade(TINY)
    for stage in cascade.stages:
        nn.init.normal_(stage.out.weight, std=0.5)
    image, coarse = torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8)
    dense, fine, finer = cascade(image, coarse)
    s = cascade.stages
    torch.testing.assert_close(dense, s[0](image, coarse))
    torch.testing.assert_close(fine, s[1](image, dense))
    torch.testing.assert_close(finer, s[2](image, fine))
    assert len(cascade.stages) == 3


def test_sample_uv_reads_pixel_centres_exactly() -> None:
    uv_map = torch.arange(12, dtype=D).view(1, 1, 3, 4)  # rows v, columns u
    uv = torch.tensor([[[0.125, 1 / 6], [0.875, 5 / 6], [0.375, 0.5]]], dtype=D)  # centres of (0,0), (2,3), (1,1)
    torch.testing.assert_close(sample_uv(uv_map, uv)[0, :, 0], torch.tensor([0.0, 11.0, 5.0], dtype=D))
    # Halfway between columns 0 and 1 of row 0: bilinear 0.5.
    torch.testing.assert_close(sample_uv(uv_map, torch.tensor([[[0.25, 1 / 6]]], dtype=D))[0, 0, 0],
                               torch.tensor(0.5, dtype=D))


def test_displacement_moves_vertices_along_their_normals_by_hand() -> None:
    v = torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]], dtype=D)
    n = torch.tensor([[[0.0, 0.0, 1.0], [0.6, 0.8, 0.0]]], dtype=D)
    out = apply_displacement(v, n, torch.tensor([[0.5, -1.0]], dtype=D))
    torch.testing.assert_close(out, torch.tensor([[[0.0, 0.0, 1.5], [0.4, -0.8, 0.0]]], dtype=D))
    torch.testing.assert_close(apply_displacement(v, n, torch.zeros(1, 2, 1, dtype=D)), v)
