"""Small atomic writes (the catalog's own writes go through :mod:`.writer`)."""

from __future__ import annotations

from pathlib import Path

from .writer import LOCK_TIMEOUT_S, LockTimeout, catalog_lock, lock_path, write_file_atomic

__all__ = ["LOCK_TIMEOUT_S", "LockTimeout", "atomic_write_text", "catalog_lock", "lock_path"]


def atomic_write_text(path: str | Path, text: str) -> None:
    """Temporary file in the same folder, fsync, rename over ``path`` (its target when a
    symlink), keeping the mode; raises ``OSError``."""
    write_file_atomic(Path(path), text.encode("utf-8"))
