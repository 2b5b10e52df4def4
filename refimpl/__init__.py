"""Minimal, tested PyTorch reference implementations, one module per paper.

Each module is imported here explicitly so that importing ``refimpl`` fills
the example registry (``refimpl.registry.EXAMPLES``).
"""

from . import (  # noqa: F401
    adain,
    danet,
    dissection,
    domain_intersection,
    edt,
    eqgan_sa,
    esrgan,
    face_recognition_losses,
    faceswap_gan,
    fsgan,
    gan_ensembling,
    gangealing,
    genda,
    glide,
    hrnet,
    lpips,
    lsgan,
    mixup,
    mtcnn,
    nerf,
    perceptual_loss,
    pfld,
    positional_encoding_gan,
    progan,
    retinaface,
    rewriting_gan,
    srgan,
    stylealign,
    styleaug,
    stylegan,
    styleswin,
    transformer_gan,
    triple_consistency,
    vision_aided_gan,
)
from .registry import EXAMPLES, Example, register_example

__all__ = ["EXAMPLES", "Example", "register_example"]
