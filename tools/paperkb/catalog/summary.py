"""Cached per-entry summaries (id, title, arXiv id, DOI, hash…) for tools that only read.

The cache is keyed on the catalog's size and mtime; when the file changed, only
the entry blocks whose text hash is new are parsed (see :mod:`.blocks`).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import paths
from . import blocks as _blocks

CACHE_VERSION = 1


@dataclass(frozen=True)
class EntrySummary:
    id: str
    kind: str
    title: str
    status: str
    year: int | None
    tags: tuple[str, ...]
    arxiv: str | None  # without version suffix
    doi: str | None
    norm_title: str
    digest: str  # hash of the entry's block of text
    line: int


def normalize_title(title: str) -> str:
    """Lower-case letters and digits only: 'Pix2Pix: Image-to-Image…' → 'pix2pix image to image…'."""
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.findall(r"\w+", text))


def bare_arxiv(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return re.sub(r"v\d+$", "", value.strip())


def summarize(data: dict, digest: str, line: int) -> EntrySummary:
    links = data.get("links") if isinstance(data.get("links"), dict) else {}
    year = data.get("year")
    return EntrySummary(
        id=str(data.get("id", "")),
        kind=str(data.get("kind", "")),
        title=str(data.get("title", "")),
        status=str(data.get("status", "")),
        year=year if isinstance(year, int) else None,
        tags=tuple(str(t) for t in data.get("tags") or ()),
        arxiv=bare_arxiv(links.get("arxiv")),
        doi=str(data["doi"]).lower() if data.get("doi") else None,
        norm_title=normalize_title(str(data.get("title", ""))),
        digest=digest,
        line=line,
    )


def _cache_file(catalog: Path, cache_dir: Path) -> Path:
    key = _blocks.digest(str(catalog.resolve()))[:12]
    return cache_dir / f"summary-{key}.json"


def load_summaries(catalog: str | Path, cache_dir: str | Path | None = None) -> list[EntrySummary]:
    """Summaries of every entry, re-parsing only entry blocks that changed."""
    catalog = Path(catalog)
    cache_dir = Path(cache_dir) if cache_dir else paths.CACHE_DIR
    cache_file = _cache_file(catalog, cache_dir)
    stat = catalog.stat()
    cached: dict = {}
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    if (
        cached.get("version") == CACHE_VERSION
        and cached.get("size") == stat.st_size
        and cached.get("mtime_ns") == stat.st_mtime_ns
    ):
        return [EntrySummary(**{**s, "tags": tuple(s["tags"])}) for s in cached["entries"]]
    by_digest = {s["digest"]: s for s in cached.get("entries", [])}
    layout = _blocks.split(catalog.read_text(encoding="utf-8"))
    result = []
    for block in layout.blocks:
        old = by_digest.get(block.digest)
        if old is not None:
            result.append(EntrySummary(**{**old, "tags": tuple(old["tags"]), "line": block.start_line}))
        else:
            result.append(summarize(block.parse(), block.digest, block.start_line))
    write_cache(catalog, cache_dir, result)
    return result


def write_cache(catalog: str | Path, cache_dir: str | Path | None, summaries: list[EntrySummary]) -> None:
    """Record ``summaries`` as those of the catalog file as it is now (size, mtime)."""
    catalog = Path(catalog)
    cache_dir = Path(cache_dir) if cache_dir else paths.CACHE_DIR
    stat = catalog.stat()
    payload = {
        "version": CACHE_VERSION,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "entries": [asdict(s) for s in summaries],
    }
    cache_file = _cache_file(catalog, cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # the cache is an optimisation: a read-only checkout only costs speed
