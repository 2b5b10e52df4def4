"""Cached per-entry summaries (id, title, arXiv id, DOI, hash…) for tools that only read.

The cache holds the catalog's size, mtime and content hash: it is used only when the
file's bytes hash the same (an edit that keeps the size and mtime must not let a
duplicate in). When the file changed, only the entry blocks whose text hash is new
are parsed (see :mod:`.blocks`).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .. import paths
from . import blocks as _blocks
from . import yamlsafe
from .scan import RawBlock, Scan, scan

CACHE_VERSION = 2  # 2: the whole file's content hash decides, not its size and mtime alone


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


SUMMARY_FIELDS = ("id", "kind", "title", "status", "year", "tags", "doi", "links")


@lru_cache(maxsize=8)
def _field_lines(field_indent: int) -> re.Pattern[str]:
    """A summary field's line and its continuation lines (deeper, or blank)."""
    fields = "|".join(SUMMARY_FIELDS)
    return re.compile(
        rf"^ {{{field_indent}}}(?:{fields}):[^\n]*\n(?: {{{field_indent + 1},}}[^\n]*\n|[ \t]*\n)*", re.M
    )


def _summary_text(text: str) -> str:
    """The entry's text with only the fields a summary needs: notes, authors and the
    rest are most of what parsing (and constructing) an entry costs."""
    newline = text.find("\n") + 1 or len(text)
    first = text[:newline]
    field_indent = len(first) - len(first.lstrip(" ")) + 2  # "  - id:" → fields at 4
    rest = text[newline:] if text.endswith("\n") else text[newline:] + "\n"
    return (first if first.endswith("\n") else first + "\n") + "".join(_field_lines(field_indent).findall(rest))


def _parse_for_summaries(scanned: Scan, todo: list[RawBlock]) -> list[dict]:
    """Parse the summary fields of each entry (one small document each: libyaml with
    PyYAML's constructor grows faster than linearly on one large document)."""
    parsed = []
    for block in todo:
        try:
            data = yamlsafe.load_fragment(_summary_text(scanned.text(block)))
        except yamlsafe.YamlSyntaxError:
            data = None
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
            parsed.append(data[0])
        else:
            parsed.append(scanned.parse(block))  # the whole block: same data, or the real error with its line
    return parsed


def _cache_file(catalog: Path, cache_dir: Path) -> Path:
    key = _blocks.digest(str(catalog.resolve()))[:12]
    return cache_dir / f"summary-{key}.json"


def load_summaries(
    catalog: str | Path, cache_dir: str | Path | None = None, *, write: bool = True
) -> list[EntrySummary]:
    """Summaries of every entry, re-parsing only entry blocks that changed.

    ``write=False`` (a dry run) leaves the cache file as it is.
    """
    catalog = Path(catalog)
    cache_dir = Path(cache_dir) if cache_dir else paths.CACHE_DIR
    cache_file = _cache_file(catalog, cache_dir)
    stat = catalog.stat()
    data = catalog.read_bytes()
    cached: dict = {}
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    if cached.get("version") != CACHE_VERSION or not isinstance(cached.get("entries"), list):
        cached = {}
    if (
        cached.get("size") == stat.st_size
        and cached.get("mtime_ns") == stat.st_mtime_ns
        and cached.get("sha") == _blocks.digest_bytes(data)
    ):
        return [EntrySummary(**{**s, "tags": tuple(s["tags"])}) for s in cached["entries"]]
    by_digest = {s["digest"]: s for s in cached.get("entries", [])}
    scanned = scan(data)  # byte-level split: no YAML parse, no line loop
    todo = [b for b in scanned.blocks if b.digest not in by_digest]
    parsed = dict(zip((b.digest for b in todo), _parse_for_summaries(scanned, todo), strict=True))
    result = []
    for block in scanned.blocks:
        old = by_digest.get(block.digest)
        if old is not None:
            result.append(EntrySummary(**{**old, "tags": tuple(old["tags"]), "line": block.start_line}))
        else:
            result.append(summarize(parsed[block.digest], block.digest, block.start_line))
    if write:
        write_cache(catalog, cache_dir, result, data)
    return result


def write_cache(
    catalog: str | Path, cache_dir: str | Path | None, summaries: list[EntrySummary], data: bytes | None = None
) -> None:
    """Record ``summaries`` as those of the catalog file as it is now (size, mtime, hash);
    ``data`` is the file's bytes when the caller has them."""
    catalog = Path(catalog)
    cache_dir = Path(cache_dir) if cache_dir else paths.CACHE_DIR
    stat = catalog.stat()
    try:
        data = catalog.read_bytes() if data is None else data
    except OSError:
        return
    payload = {
        "version": CACHE_VERSION,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha": _blocks.digest_bytes(data),
        # dict(vars(s)), not dataclasses.asdict: asdict deep-copies, ~20x slower at 10k entries
        "entries": [dict(vars(s)) for s in summaries],
    }
    cache_file = _cache_file(catalog, cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # the cache is an optimisation: a read-only checkout only costs speed
