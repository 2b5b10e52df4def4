"""Minimal, tested PyTorch reference implementations, one module per paper.

Each module is imported here explicitly so that importing ``refimpl`` fills
the example registry (``refimpl.registry.EXAMPLES``).
"""

from . import adain  # noqa: F401
from . import domain_intersection  # noqa: F401
from . import edt  # noqa: F401
from . import faceswap_gan  # noqa: F401
from . import fsgan  # noqa: F401
from . import gan_ensembling  # noqa: F401
from . import gangealing  # noqa: F401
from . import genda  # noqa: F401
from . import styleaug  # noqa: F401
from . import styleswin  # noqa: F401
from . import transformer_gan  # noqa: F401
from . import triple_consistency  # noqa: F401
from . import vision_aided_gan  # noqa: F401
from .registry import EXAMPLES, Example, register_example

__all__ = ["EXAMPLES", "Example", "register_example"]
