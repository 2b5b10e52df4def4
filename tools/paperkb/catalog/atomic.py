"""Write the catalog so that a crash leaves the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_TIMEOUT_S = 30.0


class LockTimeout(Exception):
    pass


def atomic_write_text(path: str | Path, text: str) -> None:
    """Temporary file in the same folder, fsync, rename over ``path``, fsync the folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        replace_synced(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def replace_synced(tmp: str | Path, path: Path) -> None:
    """Rename a written and fsynced ``tmp`` over ``path`` (keeping its mode), then fsync
    the folder so the rename itself survives a crash."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def lock_path(catalog: str | Path) -> Path:
    catalog = Path(catalog)
    return catalog.with_name(f".{catalog.name}.lock")


@contextlib.contextmanager
def catalog_lock(catalog: str | Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Serialize writers of one catalog; raise :class:`LockTimeout` with a clear message."""
    lock = FileLock(str(lock_path(catalog)), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout:
        raise LockTimeout(
            f"{catalog}: another process is writing the catalog (lock {lock_path(catalog)} held "
            f"for more than {timeout:g} s); try again"
        ) from None
