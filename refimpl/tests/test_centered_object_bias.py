"""Centred-object bias (arXiv:2112.09195): moving objects off-centre spreads their positions."""

from __future__ import annotations

import math

import torch

from refimpl.centered_object_bias import (
    PlacementConfig,
    center_crop,
    crop_window,
    place_object,
    position_statistics,
)

IMAGE = torch.arange(2 * 40 * 40, dtype=torch.float64).view(2, 40, 40) + 1.0  # every pixel distinct, none 0
BOX = (16, 17, 24, 23)  # 8 wide, 6 high, centred in the 40×40 image


def test_defaults() -> None:
    c = PlacementConfig()
    assert (c.out_height, c.out_width, c.fill) == (32, 32, 0.0)  # my choice
    assert c.keep_inside is True


def test_crop_window_by_hand_fills_outside() -> None:
    img = torch.arange(1, 10, dtype=torch.float64).view(1, 3, 3)
    out = crop_window(img, top=-1, left=1, height=3, width=3, fill=-5.0)
    expected = torch.tensor([[[-5, -5, -5], [2, 3, -5], [5, 6, -5]]], dtype=torch.float64)
    torch.testing.assert_close(out, expected)


def _samples(config: PlacementConfig, n: int = 2000, seed: int = 0) -> list[tuple[torch.Tensor, tuple]]:
    g = torch.Generator().manual_seed(seed)
    return [place_object(IMAGE, BOX, g, config) for _ in range(n)]


def test_object_pixels_move_with_the_box() -> None:
    obj = IMAGE[:, BOX[1]:BOX[3], BOX[0]:BOX[2]]
    for out, (x1, y1, x2, y2) in _samples(PlacementConfig(out_height=20, out_width=24), n=50):
        assert out.shape == (2, 20, 24)
        assert (x2 - x1, y2 - y1) == (8, 6)
        torch.testing.assert_close(out[:, y1:y2, x1:x2], obj)


def test_keep_inside_keeps_the_whole_object_and_reaches_every_border() -> None:
    boxes = [b for _, b in _samples(PlacementConfig(out_height=20, out_width=24))]
    xs1, ys1 = [b[0] for b in boxes], [b[1] for b in boxes]
    assert all(b[0] >= 0 and b[2] <= 24 and b[1] >= 0 and b[3] <= 20 for b in boxes)
    # Uniform over every admissible top-left corner: 0..16 in x, 0..14 in y, each reached.
    assert set(xs1) == set(range(24 - 8 + 1)) and set(ys1) == set(range(20 - 6 + 1))


def test_positions_spread_over_the_frame_versus_a_centre_crop() -> None:
    size = 32
    config = PlacementConfig(out_height=size, out_width=size, keep_inside=False)
    samples = _samples(config)
    # Centres reach both borders: a centre at pixel 0 clips the 8-wide box to 0..4 (centre 2),
    # one at pixel 31 to 27..32 (centre 29.5).
    centres_x = torch.tensor([(b[0] + b[2]) / 2 for _, b in samples], dtype=torch.float64)
    assert centres_x.min() == 2.0 and centres_x.max() == 29.5
    _, std = position_statistics([b for _, b in samples], size, size)
    base = [center_crop(IMAGE, BOX, size, size)[1] for _ in range(10)]
    base_mean, base_std = position_statistics(base, size, size)
    torch.testing.assert_close(base_mean, torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert base_std.abs().max() == 0.0
    # Uniform centres: std ≈ 1/√12 ≈ 0.289 of the side (clipping at the border pulls it in a little).
    assert (std > 0.25).all() and (std < 0.31).all()
    # Each quadrant of the frame receives about a quarter of the (clipped) object centres.
    mean_c = torch.tensor([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for _, b in samples])
    quad = ((mean_c[:, 0] >= size / 2).long() * 2 + (mean_c[:, 1] >= size / 2).long()).bincount(minlength=4)
    assert (quad.double() / 2000 - 0.25).abs().max() < 0.04


def test_objects_may_leave_the_frame_when_allowed_and_boxes_are_clipped() -> None:
    samples = _samples(PlacementConfig(out_height=32, out_width=32, keep_inside=False), n=500)
    boxes = [b for _, b in samples]
    assert all(0 <= b[0] <= b[2] <= 32 and 0 <= b[1] <= b[3] <= 32 for b in boxes)
    cut = [b for b in boxes if (b[2] - b[0], b[3] - b[1]) != (8, 6)]
    assert cut, "no object reached the border"
    # Where the window leaves the source image the fill shows.
    out, _ = place_object(IMAGE, BOX, torch.Generator().manual_seed(1),
                          PlacementConfig(out_height=64, out_width=64, keep_inside=False, fill=0.0))
    assert (out == 0).any()


def test_position_statistics_by_hand() -> None:
    mean, std = position_statistics([(0, 0, 2, 2), (8, 4, 10, 6)], height=10, width=10)
    torch.testing.assert_close(mean, torch.tensor([0.5, 0.3], dtype=torch.float64))
    torch.testing.assert_close(std, torch.tensor([0.8 / math.sqrt(2), 0.4 / math.sqrt(2)], dtype=torch.float64))


def test_seeded_placement_repeats_and_differs_between_seeds() -> None:
    a = [b for _, b in _samples(PlacementConfig(), n=20, seed=5)]
    b = [b for _, b in _samples(PlacementConfig(), n=20, seed=5)]
    c = [b for _, b in _samples(PlacementConfig(), n=20, seed=6)]
    assert a == b and a != c


def test_window_defaults_to_zero_fill_and_clips_on_every_side() -> None:
    img = torch.arange(1, 10, dtype=torch.float64).view(1, 3, 3)
    expected = torch.tensor([[[0, 0, 0], [0, 1, 2], [0, 4, 5]]], dtype=torch.float64)
    torch.testing.assert_close(crop_window(img, top=-1, left=-1, height=3, width=3), expected)
    out, box = center_crop(IMAGE, (0, -4, 6, 30), 20, 20)  # the box sticks out of the 20×20 centre crop
    assert (out > 0).all() and box == (0, 0, 0, 20)
    out, _ = center_crop(IMAGE, BOX, 50, 50)
    assert out[0, 0, 0] == 0.0


def test_object_as_large_as_the_frame_fits_and_a_larger_one_is_refused() -> None:
    g = torch.Generator().manual_seed(0)
    out, box = place_object(IMAGE, BOX, g, PlacementConfig(out_height=6, out_width=8))
    assert box == (0, 0, 8, 6)
    for h, w in ((6, 7), (5, 8)):
        try:
            place_object(IMAGE, BOX, g, PlacementConfig(out_height=h, out_width=w))
        except ValueError as e:
            assert "does not fit" in str(e)
        else:
            raise AssertionError(f"a 8×6 object was placed in {w}×{h}")


def test_vertical_centres_reach_both_borders() -> None:
    # The 6-high box centred on row 0 clips to rows 0..3 (centre 1.5); on row 31 to 28..32 (centre 30).
    samples = _samples(PlacementConfig(out_height=32, out_width=32, keep_inside=False))
    ys = [(b[1] + b[3]) / 2 for _, b in samples]
    assert min(ys) == 1.5 and max(ys) == 30.0
