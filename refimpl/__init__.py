"""Minimal, tested PyTorch reference implementations, one module per paper.

Each module is imported here explicitly so that importing ``refimpl`` fills
the example registry (``refimpl.registry.EXAMPLES``).
"""

from . import adain  # noqa: F401
from . import colorization  # noqa: F401
from . import cyclegan  # noqa: F401
from . import dance_pose_norm  # noqa: F401
from . import dcgan  # noqa: F401
from . import deep_image_prior  # noqa: F401
from . import fewshot_face_translation  # noqa: F401
from . import funit  # noqa: F401
from . import gan  # noqa: F401
from . import munit  # noqa: F401
from . import pix2pix  # noqa: F401
from . import pix2pixhd  # noqa: F401
from . import singan  # noqa: F401
from . import spade  # noqa: F401
from . import stargan  # noqa: F401
from . import tunit  # noqa: F401
from .registry import EXAMPLES, Example, register_example

__all__ = ["EXAMPLES", "Example", "register_example"]
