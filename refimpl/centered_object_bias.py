"""Mitigating the Bias of Centered Objects in Common Datasets.

Gergely Szabó, András Horváth. 2021. arXiv:2112.09195.
Catalog id: ``centered-object-bias``.

The paper measures that objects in common datasets sit mostly at the image
centre, that convolutional networks lose accuracy as an object approaches the
border, and mitigates it by augmentation that moves objects off-centre.
Implemented here:

* ``place_object``: the off-centre augmentation. Given an image and its object
  box, it cuts an output window of a fixed size (zero-filled where it leaves the
  image) whose placement puts the object's centre at a position drawn
  uniformly over the output frame; with ``keep_inside`` the top-left corner of
  the box is drawn uniformly over ``[0, W − w] × [0, H − h]`` so the whole
  object stays in the frame. The box is moved with the pixels (and clipped to
  the frame when the object may leave it).
* ``center_crop``: the usual centre crop, the baseline whose object positions
  stay where the dataset put them.
* ``position_statistics``: mean and standard deviation of the normalised object
  centres over a set of samples, the measure of the bias (Sec. 3).

Official preset: none; no official code is linked. The output size and the
fill value are my choice.

Deviations from the paper:

* The paper trains on datasets (MNIST, CIFAR, ImageNet) translated on a larger
  canvas; here the augmentation is one function on one image and box, and the
  architectural remedies the paper also studies (padding choices) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels, x2/y2 exclusive


@dataclass(frozen=True)
class PlacementConfig:
    out_height: int = 32  # output frame (my choice)
    out_width: int = 32
    keep_inside: bool = True  # the whole object stays in the frame
    fill: float = 0.0  # value outside the source image (my choice)


# --------------------------------------------------------------------- windows
def crop_window(image: torch.Tensor, top: int, left: int, height: int, width: int,
                fill: float = 0.0) -> torch.Tensor:
    """The window ``image[:, top:top+height, left:left+width]`` of a (C, H, W) image, ``fill`` outside it."""
    _, h, w = image.shape
    out = image.new_full((image.shape[0], height, width), fill)
    y0, y1 = max(top, 0), min(top + height, h)
    x0, x1 = max(left, 0), min(left + width, w)
    if y0 < y1 and x0 < x1:
        out[:, y0 - top:y1 - top, x0 - left:x1 - left] = image[:, y0:y1, x0:x1]
    return out


def _shift_box(box: Box, top: int, left: int, height: int, width: int, clip: bool) -> Box:
    x1, y1, x2, y2 = box[0] - left, box[1] - top, box[2] - left, box[3] - top
    if clip:
        # Every coordinate into the frame: a box wholly outside becomes empty, never negative-sized.
        x1, x2 = min(max(x1, 0), width), min(max(x2, 0), width)
        y1, y2 = min(max(y1, 0), height), min(max(y2, 0), height)
    return x1, y1, x2, y2


def place_object(image: torch.Tensor, box: Box, generator: torch.Generator,
                 config: PlacementConfig = PlacementConfig()) -> tuple[torch.Tensor, Box]:
    """The off-centre augmentation: (C, H, W) image and object box → (C, out_h, out_w) window, moved box."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    oh, ow = config.out_height, config.out_width
    if config.keep_inside:
        if bw > ow or bh > oh:
            raise ValueError(f"object {bw}×{bh} does not fit in a {ow}×{oh} frame")
        # Top-left of the object uniform over the positions that keep it whole.
        nx = int(torch.randint(0, ow - bw + 1, (), generator=generator))
        ny = int(torch.randint(0, oh - bh + 1, (), generator=generator))
    else:
        # Centre of the object uniform over the frame's pixels.
        nx = int(torch.randint(0, ow, (), generator=generator)) - bw // 2
        ny = int(torch.randint(0, oh, (), generator=generator)) - bh // 2
    top, left = box[1] - ny, box[0] - nx
    out = crop_window(image, top, left, oh, ow, config.fill)
    return out, _shift_box(box, top, left, oh, ow, clip=not config.keep_inside)


def center_crop(image: torch.Tensor, box: Box, height: int, width: int,
                fill: float = 0.0) -> tuple[torch.Tensor, Box]:
    """The baseline: a (height, width) window centred on the image, the box moved with it."""
    _, h, w = image.shape
    top, left = (h - height) // 2, (w - width) // 2
    return crop_window(image, top, left, height, width, fill), _shift_box(box, top, left, height, width, clip=True)


def position_statistics(boxes: list[Box], height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Object centres normalised to [0, 1] (x, y): their mean (2,) and standard deviation (2,)."""
    b = torch.tensor(boxes, dtype=torch.float64)
    centres = torch.stack([(b[:, 0] + b[:, 2]) / 2 / width, (b[:, 1] + b[:, 3]) / 2 / height], dim=1)
    return centres.mean(dim=0), centres.std(dim=0)


# --------------------------------------------------------------------- examples
@register_example(covers=[place_object, center_crop, crop_window])
def centered_object_bias_placement() -> Example:
    g = seeded(0)
    image = torch.rand(3, 24, 24, generator=g).requires_grad_(True)
    box = (8, 9, 16, 15)
    config = PlacementConfig(out_height=20, out_width=20, keep_inside=True)

    def run(_m: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        placed, _ = place_object(x, box, torch.Generator().manual_seed(3), config)
        return placed, center_crop(x, box, 20, 20)[0]

    return Example(model=nn.Module(), inputs=(image,), output_shapes=((3, 20, 20), (3, 20, 20)), run=run)
