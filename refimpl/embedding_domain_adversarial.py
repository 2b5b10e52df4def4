"""One model to swap them all: a domain-adversarial loss on the shared encoder's embeddings.

An experiment of the face-swap notes. Catalog id: ``one-model-swap-them-all``:
swap any face to one target (faceA: ~2k images of the target, faceB: ~200k
CelebA faces) with a domain-adversarial loss on the embeddings, from XGAN
(Royer et al. 2017, arXiv:1711.05139; ``refimpl/xgan.py``), so both domains'
codes lie in one subspace; and heavy augmentation of faceA (random channel
shift, random downsampling) against overfitting.

Implemented:

* ``embedding_adversarial_loss``: XGAN's ``L_dann`` on the codes of one
  shared encoder for both domains, through XGAN's ``DomainClassifier`` (a
  gradient-reversal layer in front of a small classifier): the classifier
  learns to tell the domains apart while the encoder receives the reversed
  gradient and learns to make them indistinguishable.
* The notes' two augmentations of faceA: ``random_channel_shift`` (a random
  offset added to each colour channel) and ``random_downsample`` (down by a
  random factor and back up, bilinear), each drawn per image.

Parameter count: the encoder's plus the classifier's.

Deviations: the notes give no augmentation strengths; the shift range 0.1
and factors 1–4 are config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .xgan import DomainClassifier, domain_adversarial_loss


@dataclass(frozen=True)
class SwapAllConfig:
    channel_shift: float = 0.1  # not given in the notes
    max_downsample: int = 4  # not given in the notes
    grl_lambda: float = 1.0  # XGAN: gradient reversal scale


def embedding_adversarial_loss(encoder: nn.Module, classifier: DomainClassifier, faces_a: torch.Tensor,
                               faces_b: torch.Tensor) -> torch.Tensor:
    """XGAN's L_dann on one shared encoder's codes: domain A labelled 0, domain B labelled 1."""
    return domain_adversarial_loss(classifier(encoder(faces_a).flatten(1)), classifier(encoder(faces_b).flatten(1)))


def random_channel_shift(images: torch.Tensor, max_shift: float = SwapAllConfig.channel_shift,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Add one uniform offset in [−max_shift, max_shift] per image and colour channel."""
    shift = (torch.rand(images.shape[0], images.shape[1], 1, 1, generator=generator) * 2 - 1) * max_shift
    return images + shift.to(images)


def random_downsample(images: torch.Tensor, max_factor: int = SwapAllConfig.max_downsample,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Per image: bilinear down by a factor in 1…max_factor and back to the original size."""
    h, w = images.shape[-2:]
    factors = torch.randint(1, max_factor + 1, (images.shape[0],), generator=generator).tolist()
    out = []
    for img, f in zip(images, factors, strict=True):
        small = F.interpolate(img[None], size=(max(1, h // f), max(1, w // f)), mode="bilinear", align_corners=False)
        out.append(F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False))
    return torch.cat(out)


@register_example(covers=[embedding_adversarial_loss, random_channel_shift, random_downsample])
def swap_all_domain_adversarial() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"enc": nn.Sequential(nn.Conv2d(3, 4, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                                                nn.Flatten()),
                           "cls": DomainClassifier(4 * 4 * 4, hidden=8)})
    a, b = torch.rand(2, 3, 8, 8, generator=g), torch.rand(3, 3, 8, 8, generator=g)

    def run(m: nn.ModuleDict, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        aug = random_downsample(random_channel_shift(a, generator=torch.Generator().manual_seed(1)),
                                generator=torch.Generator().manual_seed(2))
        return embedding_adversarial_loss(m["enc"], m["cls"], aug, b)

    return Example(model=model, inputs=(a, b), output_shapes=((),), run=run)
