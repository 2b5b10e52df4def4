"""Atomic in-place edits of a large file without holding it in memory.

The new file is built next to the old one: unchanged byte ranges are copied by
the kernel, the edits are written between them, then fsync and rename (see
:mod:`paperkb.catalog.writer`, which the catalog's writers use).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..catalog.writer import Splice, _fsync_dir, _mode_of, _spliced_temp, remove_stale_temps, resolve, temp_prefix

__all__ = ["Splice", "remove_stale_temps", "splice_file", "temp_prefix"]


def splice_file(path: str | Path, splices: list[Splice]) -> None:
    """Apply ``splices`` (non-overlapping) to ``path`` atomically."""
    real = resolve(path)
    tmp = _spliced_temp(real, splices, _mode_of(real))
    try:
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(real.parent)
