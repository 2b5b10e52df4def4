"""The one way tools change the catalog.

Every tool that edits ``catalog.yaml`` (add_paper, import_notes, mark) goes through
:func:`open_catalog`:

* the lock, the temporary file and the rename all act on the *resolved* path, so a
  catalog that is a symlink keeps its link and the file it points at changes;
* a catalog without write permission is refused, never replaced;
* the file keeps its mode and its line endings (a CRLF catalog stays CRLF);
* the new text is planned as splices, checked by the caller's validator, written
  to a temporary file in the same folder, fsynced, and renamed into place;
* files written together with the catalog (a refimpl scaffold) are journalled: a
  kill at any moment leaves all of them and the catalog entry, or none. The next
  writer (or ``validate.py``) finishes or rolls back an interrupted journal and says so;
* an ``OSError`` becomes one :class:`WriteFailed` line naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_TIMEOUT_S = 30.0
Notify = Callable[[str], None]


class WriteFailed(Exception):
    """The catalog (or a file written with it) could not be written; nothing was changed."""


class LockTimeout(WriteFailed):
    pass


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is exceeded; free some space and run again",
    errno.EFBIG: "the file is larger than the file-size limit (see `ulimit -f`); raise it and run again",
    errno.EACCES: "permission denied; check the permissions of the file and its folder",
    errno.EPERM: "operation not permitted; check the permissions of the file and its folder",
    errno.EROFS: "the file system is read-only; work on a writable copy (--catalog PATH)",
    errno.EISDIR: "a folder is in the way; remove or rename it",
    errno.ENOTDIR: "a path component is not a folder",
}


def os_failure(path: str | Path, exc: OSError, doing: str = "write") -> WriteFailed:
    """One line: the file, what failed, what to do."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    advice = _ADVICE.get(exc.errno or 0, "fix the cause and run again")
    return WriteFailed(f"{path}: cannot {doing}: {reason}; {advice}; nothing was changed")


# --------------------------------------------------------------------- paths
def resolve(path: str | Path) -> Path:
    """The file a (possibly symlinked) catalog path names: what is locked, written, renamed onto."""
    return Path(os.path.realpath(path))


def lock_path(catalog: str | Path) -> Path:
    real = resolve(catalog)
    return real.with_name(f".{real.name}.lock")


def journal_path(real: Path) -> Path:
    return real.with_name(f".{real.name}.journal")


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def uses_crlf(data: bytes) -> bool:
    """Whether the file's lines end with CRLF (judged by its first line)."""
    newline = data.find(b"\n")
    return newline > 0 and data[newline - 1 : newline] == b"\r"


def to_file_newlines(data: bytes, crlf: bool) -> bytes:
    if not crlf:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def check_writable(path: Path, real: Path) -> None:
    """Refuse a catalog without write permission (0444) instead of renaming over it:
    root may rename onto anything, so the mode bits decide, not ``os.access``."""
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        raise WriteFailed(f"{path}: catalog file not found") from None
    except OSError as exc:
        raise os_failure(path, exc, "read") from None
    if not mode & stat.S_IWUSR or not os.access(real, os.W_OK):
        raise WriteFailed(
            f"{path}: the catalog is read-only (mode {stat.S_IMODE(mode):04o}); nothing written; "
            f"make it writable (chmod u+w {path}) to change it"
        )


# --------------------------------------------------------------------- low-level writes
def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(target: Path, chunks: Callable[[int], None], mode: int | None) -> Path:
    """A fsynced temporary file beside ``target`` filled by ``chunks(fd)``."""
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent)
    try:
        chunks(fd)
        os.fsync(fd)
        if mode is not None:
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return Path(tmp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        done = os.write(fd, view)
        view = view[done:]


def _mode_of(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def write_file_atomic(path: Path, data: bytes) -> None:
    """Temporary file, fsync, rename (keeping the mode), fsync the folder. Raises OSError."""
    real = resolve(path)
    tmp = _write_temp(real, lambda fd: _write_all(fd, data), _mode_of(real))
    try:
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(real.parent)


def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file (0666 less the umask), not mkstemp's 0600."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def create_file_atomic(path: Path, data: bytes) -> None:
    """A new file that appears whole or not at all, never over an existing one.

    The text goes to a fsynced temporary file first, which is then hard-linked to
    its name: a link fails if the name exists, and a kill mid-write leaves only the
    temporary file (which recovery removes), never a half-written module that
    would no longer match the journal and so survive a rollback. Raises OSError
    (``FileExistsError`` when the file exists).
    """
    tmp = _write_temp(path, lambda fd: _write_all(fd, data), _new_file_mode())
    try:
        try:
            os.link(tmp, path)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                raise  # FileExistsError among them
            # a file system without hard links: check, then rename (still whole or absent)
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)


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
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO):
                raise
            done = 0
        if done <= 0:  # no kernel copy (other filesystem, old kernel): plain read/write
            chunk = os.read(src, min(remaining, 1 << 20))
            if not chunk:
                raise OSError(errno.EIO, "file shrank while it was copied")
            _write_all(dst, chunk)
            done = len(chunk)
        remaining -= done


def apply_splices(data: bytes, splices: list[Splice]) -> bytes:
    """``data`` with ``splices`` applied, in memory (for checking a plan)."""
    out, pos = [], 0
    for s in sorted(splices, key=lambda s: s.offset):
        if s.offset < pos or s.offset + s.delete > len(data):
            raise ValueError("overlapping or out-of-range edits")
        out += [data[pos : s.offset], s.insert]
        pos = s.offset + s.delete
    out.append(data[pos:])
    return b"".join(out)


def _spliced_temp(real: Path, splices: list[Splice], mode: int | None) -> Path:
    """The new file beside ``real``: unchanged ranges copied by the kernel, edits between."""
    ordered = sorted(splices, key=lambda s: s.offset)
    size = real.stat().st_size

    def fill(fd: int) -> None:
        with open(real, "rb") as old:
            src, position = old.fileno(), 0
            for s in ordered:
                if s.offset < position or s.offset + s.delete > size:
                    raise ValueError("overlapping or out-of-range edits")
                _copy_range(src, fd, position, s.offset - position)
                os.lseek(fd, 0, os.SEEK_END)
                _write_all(fd, s.insert)
                position = s.offset + s.delete
            _copy_range(src, fd, position, size - position)

    return _write_temp(real, fill, mode)


def text_splices(old: str, new: str) -> list[Splice]:
    """Line-level splices turning ``old`` into ``new`` (both with ``\\n`` line ends)."""
    import difflib

    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    head = 0  # common first and last lines are skipped before diffing (most of a large file)
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    offsets = [0]
    for line in a[: len(a) - tail]:
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    out = []
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            start, stop = offsets[head + i1], offsets[head + i2]
            out.append(Splice(start, stop - start, "".join(middle_b[j1:j2]).encode("utf-8")))
    return out


# --------------------------------------------------------------------- side files and the journal
@dataclass
class SideFiles:
    """Files written together with the catalog (a refimpl scaffold).

    ``files`` are new files (never overwritten); ``edits`` map existing files to a
    function of their current text, applied under the catalog lock.
    """

    files: dict[Path, str]
    edits: dict[Path, Callable[[str], str]] = field(default_factory=dict)

    def conflicts(self) -> list[Path]:
        return [p for p in self.files if p.exists()]

    def render(self) -> dict[Path, str]:
        """Every file as it would be written (for a dry run)."""
        edited = {p: edit(p.read_text(encoding="utf-8")) for p, edit in self.edits.items()}
        return {**self.files, **edited}

    def render_into(self, root: Path, repo_root: Path) -> None:
        """Write the files under another root (a dry run validates against it)."""
        for path, text in self.render().items():
            target = root / path.relative_to(repo_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def _write_journal(real: Path, record: dict) -> None:
    data = json.dumps(record, ensure_ascii=False).encode("utf-8")
    journal = journal_path(real)
    tmp = _write_temp(journal, lambda fd: _write_all(fd, data), None)
    os.replace(tmp, journal)
    _fsync_dir(real.parent)


def _drop_journal(real: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal_path(real))
    _fsync_dir(real.parent)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _undo(record: dict) -> list[str]:
    done = []
    for item in reversed(record.get("edits", [])):
        path = Path(item["path"])
        if _read_text(path) != item["old"]:
            write_file_atomic(path, item["old"].encode("utf-8"))
            done.append(f"restored {path}")
    for item in reversed(record.get("creates", [])):
        path = Path(item["path"])
        current = _read_text(path)
        # a prefix is a create cut short (the name was free when the journal was written)
        if current is not None and item["text"].startswith(current):
            path.unlink()
            done.append(f"removed {path}")
    _clean_side_temps(record)
    return done


def _clean_side_temps(record: dict) -> None:
    """Temporaries of a side-file write (a created module, an edited import) killed half-way."""
    for item in [*record.get("edits", []), *record.get("creates", [])]:
        path = Path(item["path"])
        for stale in path.parent.glob(f"{temp_prefix(path)}*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()


def _redo(record: dict) -> list[str]:
    done = []
    for item in record.get("creates", []):
        path = Path(item["path"])
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            create_file_atomic(path, item["text"].encode("utf-8"))
            done.append(f"wrote {path}")
    for item in record.get("edits", []):
        path = Path(item["path"])
        if _read_text(path) == item["old"]:
            write_file_atomic(path, item["new"].encode("utf-8"))
            done.append(f"updated {path}")
    _clean_side_temps(record)
    return done


def _rollback(real: Path, record: dict) -> list[str]:
    done = _undo(record)
    tmp = record.get("catalog_temp")
    if tmp:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _drop_journal(real)
    return done


def recover_locked(path: str | Path, notify: Notify = _stderr) -> str | None:
    """Finish or roll back an interrupted journalled write (the caller holds the lock).

    The catalog's new text is written to a temporary file *before* the journal, and
    renamed into place after the side files: while that temporary file exists the
    catalog is unchanged, so the side files are rolled back; once it is gone the
    catalog holds the new text, so the side files are completed.
    """
    real = resolve(path)
    journal = journal_path(real)
    if not journal.exists():
        return None
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict):
        _drop_journal(real)
        message = f"{path}: removed an unreadable journal of an interrupted write ({journal})"
    elif Path(record.get("catalog_temp", "")).exists():
        done = _rollback(real, record)
        message = f"{path}: rolled back an interrupted write ({'; '.join(done) or 'nothing to undo'})"
    else:
        done = _redo(record)
        _drop_journal(real)
        message = f"{path}: finished an interrupted write ({'; '.join(done) or 'nothing left to do'})"
    notify(message)
    return message


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Temporary files left by a writer killed mid-write (call under the lock, after recovery)."""
    real = resolve(path)
    removed = []
    journal = journal_path(real)
    for stale in [*real.parent.glob(f"{temp_prefix(real)}*.tmp"), *real.parent.glob(f"{temp_prefix(journal)}*.tmp")]:
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed


# --------------------------------------------------------------------- the lock
@contextlib.contextmanager
def catalog_lock(catalog: str | Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Serialize writers of one catalog file (keyed by its resolved path)."""
    where = lock_path(catalog)
    lock = FileLock(str(where), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise LockTimeout(
            f"{catalog}: another process is writing the catalog (lock {where} held "
            f"for more than {timeout:g} s); try again"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WriteFailed(
            f"{where}: cannot use the lock file: {reason}; remove it or fix its permissions; nothing was changed"
        ) from None
    try:
        yield
    finally:
        lock.release()


def recover(path: str | Path, notify: Notify = _stderr, timeout: float = LOCK_TIMEOUT_S) -> str | None:
    """For tools that only read: finish an interrupted write first, if there is one."""
    if not journal_path(resolve(path)).exists():
        return None
    with catalog_lock(path, timeout):
        return recover_locked(path, notify)


# --------------------------------------------------------------------- a writing session
Check = Callable[[bytes], None]


@dataclass
class Session:
    """The catalog under the lock: read it, then write it once."""

    path: Path  # as the user named it (used in messages)
    real: Path
    dry_run: bool = False
    written: bool = False

    def read_bytes(self) -> bytes:
        try:
            return self.real.read_bytes()
        except FileNotFoundError:
            raise WriteFailed(f"{self.path}: catalog file not found") from None
        except OSError as exc:
            raise os_failure(self.path, exc, "read") from None

    def read_text(self) -> str:
        """The catalog's text with ``\\n`` line ends (they are restored when written)."""
        data = self.read_bytes()
        try:
            return data.decode("utf-8").replace("\r\n", "\n")
        except UnicodeDecodeError as exc:
            raise WriteFailed(f"{self.path}: cannot read catalog: not UTF-8 ({exc.reason})") from None

    def write_text(self, new_text: str, **kwargs) -> None:
        """Write ``new_text`` (``\\n`` line ends) as line splices of the current text."""
        old = self.read_text()
        self.write_splices(text_splices(old, new_text), text_based=True, **kwargs)

    def write_splices(
        self,
        splices: list[Splice],
        *,
        side: SideFiles | None = None,
        check: Callable[[], None] | None = None,
        before_rename: Callable[[], None] | None = None,
        text_based: bool = False,
    ) -> None:
        """Apply ``splices`` (offsets into the file's bytes, or, with ``text_based``,
        into its ``\\n`` text) and write the side files, all or nothing.

        ``check`` runs after the side files are in place and before the rename (a
        refimpl check needs the new modules); raising there undoes everything.
        """
        if self.dry_run:
            raise RuntimeError("a dry run writes nothing")
        if not splices and side is None:
            return
        check_writable(self.path, self.real)
        data = self.read_bytes()
        crlf = uses_crlf(data)
        if text_based and crlf:
            splices = _lf_splices_to_crlf(data, splices)
        elif crlf:
            splices = [Splice(s.offset, s.delete, to_file_newlines(s.insert, True)) for s in splices]
        mode = _mode_of(self.real)
        record: dict | None = None
        tmp: Path | None = None
        current = self.real
        try:
            tmp = _spliced_temp(self.real, splices, mode)
            if side is not None:
                current = self._side_conflicts(side)
                record = {
                    "catalog": str(self.real),
                    "catalog_temp": str(tmp),
                    "creates": [{"path": str(p), "text": t} for p, t in side.files.items()],
                    "edits": [],
                }
                for p, edit in side.edits.items():
                    old = p.read_text(encoding="utf-8")
                    record["edits"].append({"path": str(p), "old": old, "new": edit(old)})
                current = journal_path(self.real)
                _write_journal(self.real, record)
                for item in record["creates"]:
                    current = Path(item["path"])
                    current.parent.mkdir(parents=True, exist_ok=True)
                    create_file_atomic(current, item["text"].encode("utf-8"))
                for item in record["edits"]:
                    current = Path(item["path"])
                    write_file_atomic(current, item["new"].encode("utf-8"))
            current = self.real
            if check is not None:
                check()
            if before_rename is not None:
                before_rename()
            os.replace(tmp, self.real)
            tmp = None
            _fsync_dir(self.real.parent)
            if record is not None:
                current = journal_path(self.real)
                _drop_journal(self.real)
        except BaseException as exc:
            if record is not None and tmp is not None:
                with contextlib.suppress(OSError):
                    _rollback(self.real, record)
            elif tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            if isinstance(exc, OSError):
                raise os_failure(current, exc) from None
            raise
        self.written = True

    def _side_conflicts(self, side: SideFiles) -> Path:
        conflicts = side.conflicts()
        if conflicts:
            raise WriteFailed(f"{conflicts[0]}: already exists; not overwritten (choose another --module)")
        return self.real


def _lf_splices_to_crlf(data: bytes, splices: list[Splice]) -> list[Splice]:
    """Map splices planned on the ``\\n`` text onto the CRLF file's bytes."""
    lf_to_file = []  # lf offset of each line start -> file offset
    lf = pos = 0
    for line in data.splitlines(keepends=True):
        lf_to_file.append((lf, pos))
        pos += len(line)
        lf += len(line) - (1 if line.endswith(b"\r\n") else 0)
    lf_to_file.append((lf, pos))
    table = dict(lf_to_file)

    def at(offset: int) -> int:
        if offset not in table:
            raise ValueError("splice does not start at a line boundary")
        return table[offset]

    out = []
    for s in splices:
        start, stop = at(s.offset), at(s.offset + s.delete)
        out.append(Splice(start, stop - start, to_file_newlines(s.insert, True)))
    return out


@contextlib.contextmanager
def open_catalog(
    path: str | Path, *, timeout: float = LOCK_TIMEOUT_S, dry_run: bool = False, notify: Notify = _stderr
) -> Iterator[Session]:
    """The catalog, locked, with any interrupted write finished or rolled back first.

    A dry run takes no lock and creates no file.
    """
    path = Path(path)
    real = resolve(path)
    if dry_run:
        yield Session(path, real, dry_run=True)
        return
    if not real.exists():
        raise WriteFailed(f"{path}: catalog file not found")
    check_writable(path, real)
    with catalog_lock(path, timeout):
        try:
            recover_locked(path, notify)
            remove_stale_temps(path)
        except OSError as exc:
            raise os_failure(getattr(exc, "filename", None) or path, exc, "recover") from None
        yield Session(path, real)
