"""Minimal, tested PyTorch reference implementations, one module per paper.

Each module is imported here explicitly so that importing ``refimpl`` fills
the example registry (``refimpl.registry.EXAMPLES``).
"""

from . import (  # noqa: F401
    adain,
    alphagan,
    colorization,
    cyclegan,
    dance_pose_norm,
    dcgan,
    deep_image_prior,
    dissection,
    domain_intersection,
    edt,
    eqgan_sa,
    esrgan,
    faceswap_gan,
    fewshot_face_translation,
    fsgan,
    funit,
    gan,
    gan_ensembling,
    gangealing,
    genda,
    glide,
    losses_gan,
    lpips,
    munit,
    nerf,
    perceptual_loss,
    pix2pix,
    pix2pixhd,
    positional_encoding_gan,
    progan,
    rewriting_gan,
    singan,
    spade,
    srgan,
    stargan,
    stylealign,
    styleaug,
    stylegan,
    stylegan2,
    styleswin,
    transformer_gan,
    tricks_losses,
    triple_consistency,
    tunit,
    vision_aided_gan,
    xgan,
)
from .registry import EXAMPLES, Example, register_example

__all__ = ["EXAMPLES", "Example", "register_example"]
