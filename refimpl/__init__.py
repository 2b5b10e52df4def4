"""Minimal, tested PyTorch reference implementations, one module per paper.

Each module is imported here explicitly so that importing ``refimpl`` fills
the example registry (``refimpl.registry.EXAMPLES``).
"""

from . import (  # noqa: F401
    adain,
    alphagan,
    dissection,
    domain_intersection,
    edt,
    eqgan_sa,
    esrgan,
    faceswap_gan,
    fsgan,
    gan_ensembling,
    gangealing,
    genda,
    glide,
    lpips,
    nerf,
    perceptual_loss,
    positional_encoding_gan,
    progan,
    rewriting_gan,
    srgan,
    stylealign,
    styleaug,
    stylegan,
    stylegan2,
    styleswin,
    transformer_gan,
    tricks_losses,
    triple_consistency,
    vision_aided_gan,
    xgan,
)
from .registry import EXAMPLES, Example, register_example

__all__ = ["EXAMPLES", "Example", "register_example"]
