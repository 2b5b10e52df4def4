"""Work kept between builds in ``.cache/paperkb/``, keyed by a hash of what it was made from.

One JSON file per kind of work (the related-entries tokens, the notes' HTML). A build
reads it once, looks up each piece by content hash, and writes it back once if something
new was made. Pieces another catalog used (the real one, a benchmark's, a test's) are
kept too, up to ``cap``, so switching catalogs does not start every build cold.
A missing, unreadable or read-only cache only makes the build slower.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CACHE_ENV = "PAPERKB_CACHE_DIR"  # where the build keeps its cache (default <repo>/.cache/paperkb)
DEFAULT_CAP = 5_000


def cache_dir(repo_root: Path) -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else repo_root / ".cache" / "paperkb"


def content_key(text: str, salt: str = "") -> str:
    return hashlib.sha1(f"{salt}\0{text}".encode()).hexdigest()


class ContentCache:
    """A map from content hash to a JSON value, loaded lazily and saved atomically."""

    def __init__(self, path: Path, cap: int = DEFAULT_CAP) -> None:
        self.path = path
        self.cap = cap
        self._old: dict | None = None
        self._used: dict = {}  # looked up or made by this build, kept first on save
        self._dirty = False

    def _load(self) -> dict:
        if self._old is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._old = data if isinstance(data, dict) else {}
        return self._old

    def get(self, key: str):
        if key in self._used:
            return self._used[key]
        value = self._load().get(key)
        if value is not None:
            self._used[key] = value
        return value

    def put(self, key: str, value) -> None:
        self._used[key] = value
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        data = dict(self._used)
        for key, value in self._load().items():
            if len(data) >= self.cap:
                break
            data.setdefault(key, value)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            return  # a read-only tree builds anyway, only slower
        self._old, self._dirty = data, False
