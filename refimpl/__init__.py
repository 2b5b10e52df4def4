"""Minimal, tested PyTorch reference implementations, one module per paper.

Each module is imported here explicitly so that importing ``refimpl`` fills
the example registry (``refimpl.registry.EXAMPLES``).
"""

from . import (
    adain,  # noqa: F401
    dissection,  # noqa: F401
    eqgan_sa,  # noqa: F401
    esrgan,  # noqa: F401
    glide,  # noqa: F401
    lpips,  # noqa: F401
    nerf,  # noqa: F401
    perceptual_loss,  # noqa: F401
    positional_encoding_gan,  # noqa: F401
    progan,  # noqa: F401
    rewriting_gan,  # noqa: F401
    srgan,  # noqa: F401
    stylealign,  # noqa: F401
    stylegan,  # noqa: F401
)
from .registry import EXAMPLES, Example, register_example

__all__ = ["EXAMPLES", "Example", "register_example"]
