"""Atomic in-place edits of a large file without holding it in memory.

The new file is built next to the old one: unchanged byte ranges are copied by
the kernel (``os.copy_file_range`` / ``sendfile``), the edits are written
between them, then fsync and rename, as in :func:`paperkb.catalog.atomic.atomic_write_text`.
A kill at any moment leaves the old file (the temporary one is discarded) or
the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..catalog.atomic import replace_synced


@dataclass(frozen=True)
class Splice:
    offset: int  # byte offset in the old file
    delete: int  # bytes of the old file replaced from there
    insert: bytes


def _copy_range(src: int, dst: int, start: int, length: int) -> None:
    os.lseek(src, start, os.SEEK_SET)
    remaining = length
    while remaining > 0:
        try:
            done = os.copy_file_range(src, dst, remaining)
        except (AttributeError, OSError):
            done = 0
        if done <= 0:  # no kernel copy (other filesystem, old kernel): plain read/write
            chunk = os.read(src, min(remaining, 1 << 20))
            if not chunk:
                raise OSError("file shrank while it was copied")
            os.write(dst, chunk)
            done = len(chunk)
        remaining -= done


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def splice_file(path: str | Path, splices: list[Splice]) -> None:
    """Apply ``splices`` (non-overlapping) to ``path`` atomically."""
    path = Path(path)
    ordered = sorted(splices, key=lambda s: s.offset)
    size = path.stat().st_size
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with open(path, "rb") as old:
            src = old.fileno()
            position = 0
            for splice in ordered:
                if splice.offset < position or splice.offset + splice.delete > size:
                    raise ValueError("overlapping or out-of-range edits")
                _copy_range(src, fd, position, splice.offset - position)
                os.lseek(fd, 0, os.SEEK_END)
                os.write(fd, splice.insert)
                position = splice.offset + splice.delete
            _copy_range(src, fd, position, size - position)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        replace_synced(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Temporary files left by a writer killed mid-write (call under the catalog lock)."""
    path = Path(path)
    removed = []
    for stale in path.parent.glob(f"{temp_prefix(path)}*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed
