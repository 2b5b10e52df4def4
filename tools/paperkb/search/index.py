"""The whoosh index of the catalog: schema, documents, and incremental updates.

The index lives in a cache folder beside a small state file recording the
catalog's size and mtime, the digest of every entry's block of text, the tag
labels and the refimpl files each entry's code text came from. A query first
calls :func:`ensure_fresh`: when nothing changed that costs two ``stat`` calls
and reading the state's head; when the catalog changed, the file is split into
blocks (:mod:`.scan`, no YAML parsing) and only the blocks whose digest is new
are parsed and re-indexed; entries that disappeared are deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from .. import paths
from . import analyzers, glossary, refcode

# Kept out of the import path of a query on a fresh index: the catalog package
# pulls in the YAML loader and the validator, which a warm query never needs.

FORMAT = 5  # bump when the schema or the analysis changes: the index is rebuilt
MARKER = "paperkb-search-index"  # the index writes only into a folder holding this file
HEAD = "state-head.json"
ENTRIES = "state-entries.json"
ENV_INDEX_DIR = "PAPERKB_SEARCH_INDEX"

# Matches in a title or a tag count for more than one word among 400 of notes.
# The project's summaries and translations are searched too, below the author's own notes (1.0).
BOOSTS = {"title": 3.0, "tagtext": 2.0, "authors": 1.5, "glossary": 0.8, "code": 0.8, "added": 0.5}
TEXT_FIELDS = ("title", "authors", "tagtext", "notes_en", "notes_zh", "added", "glossary", "code")


class SearchIndexError(Exception):
    """The catalog cannot be indexed; the message is one line naming file, line and entry."""


# What an index folder made before the marker existed holds (whoosh's files, ours):
# such a folder is adopted, anything else in it means it is not an index.
_INDEX_FILE = re.compile(
    r"_?MAIN_\w+\.(?:toc|seg)|MAIN_WRITELOCK|state-(?:head|entries)\.json(?:\.\d+\.tmp)?|update\.lock"
)


def claim_dir(index_dir: Path) -> None:
    """Make ``index_dir`` an index folder, or refuse: the index deletes what it finds in
    its folder when it rebuilds, so it writes only into a folder it created and marked
    (or an empty one), never into a folder that holds anything else."""
    marker = index_dir / MARKER
    if index_dir.is_dir() and marker.is_file():
        return
    if index_dir.exists() and not index_dir.is_dir():
        raise SearchIndexError(f"{index_dir}: is a file, not a search index folder; choose another --index-dir")
    if index_dir.is_dir() and not all(_INDEX_FILE.fullmatch(p.name) for p in index_dir.iterdir()):
        raise SearchIndexError(
            f"{index_dir}: not a search index folder (no {MARKER} file) and not empty; "
            "refusing to write there: give --index-dir a new or empty folder"
        )
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text("paperkb search index: everything in this folder is rebuilt at will\n", encoding="utf-8")
    except OSError as exc:
        raise SearchIndexError(f"{index_dir}: cannot create the search index: {exc.strerror or exc}") from None


def schema() -> Schema:
    mixed = analyzers.mixed_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        status=ID(stored=True),
        year=ID(stored=True),  # a year range is a handful of exact terms
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        title=TEXT(analyzer=mixed, stored=True, field_boost=BOOSTS["title"]),
        authors=TEXT(analyzer=analyzers.name_analyzer(), field_boost=BOOSTS["authors"]),
        tagtext=TEXT(analyzer=mixed, stored=True, field_boost=BOOSTS["tagtext"]),
        # Long fields keep term frequencies only: positions would triple the cost of
        # reading their posting lists; phrases are checked on the stored text instead.
        notes_en=TEXT(analyzer=mixed, stored=True, phrase=False),
        notes_zh=TEXT(analyzer=mixed, stored=True, phrase=False),
        added=TEXT(analyzer=mixed, stored=True, phrase=False, field_boost=BOOSTS["added"]),
        glossary=TEXT(analyzer=mixed, stored=True, field_boost=BOOSTS["glossary"]),
        code=TEXT(analyzer=analyzers.code_analyzer(), phrase=False, field_boost=BOOSTS["code"]),
        digest=STORED(),
    )


def codec() -> W3Codec:
    """whoosh's format with 1,024 postings a block instead of 128: a common term's
    posting list is read in a tenth of the steps (see :mod:`.engine`)."""
    return W3Codec(blocklimit=1024)


def default_index_dir(catalog: Path) -> Path:
    override = os.environ.get(ENV_INDEX_DIR)
    if override:
        return Path(override)
    key = hashlib.blake2b(str(catalog.resolve()).encode("utf-8"), digest_size=6).hexdigest()
    return paths.CACHE_DIR / "search" / key


@dataclass
class UpdateReport:
    added: int = 0  # entries (re-)indexed
    removed: int = 0
    rebuilt: bool = False
    total: int = 0


@dataclass
class _State:
    head: dict = field(default_factory=dict)
    entries: dict[str, dict] = field(default_factory=dict)  # id -> {digest, tags, files}


# -- documents ---------------------------------------------------------------
def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def document(entry: dict, tags: dict[str, tuple[str, str]], roots: tuple[Path, ...]) -> tuple[dict, dict]:
    """The whoosh document for one parsed entry, and the refimpl files it read."""
    notes = entry.get("notes") if isinstance(entry.get("notes"), dict) else {}
    slugs = [str(t) for t in entry.get("tags") or []]
    labels = [tags.get(s, (s, "")) for s in slugs]
    tagtext = "\n".join(f"{en} {zh} {slug.replace('-', ' ')}" for slug, (en, zh) in zip(slugs, labels, strict=True))
    title = _text(entry.get("title"))
    notes_en, notes_zh = _text(notes.get("en")), _text(notes.get("zh"))
    added = "\n".join(  # what the project wrote: summary and translations, both languages
        _text(field.get(lang)) for key in ("summary", "translations") if isinstance(field := entry.get(key), dict)
        for lang in ("en", "zh") if _text(field.get(lang)))
    refimpl = entry.get("refimpl")
    code, files = refcode.code_text(list(refimpl) if isinstance(refimpl, list) else [], roots)
    english = "\n".join([title, notes_en, *(en for en, _ in labels)])
    chinese = "\n".join([title, notes_zh, *(zh for _, zh in labels)])
    year = entry.get("year")
    doc = {
        "id": str(entry.get("id")),
        "kind": str(entry.get("kind", "")),
        "status": str(entry.get("status", "unread")),
        "tags": ",".join(slugs),
        "title": title,
        "authors": "\n".join(str(a) for a in entry.get("authors") or []),
        "tagtext": tagtext,
        "notes_en": notes_en,
        "notes_zh": notes_zh,
        "added": added,
        "glossary": "\n".join(glossary.translations(analyzers.query_terms(english), chinese)),
        "code": code,
    }
    if isinstance(year, int) and not isinstance(year, bool) and year > 0:
        doc["year"] = str(year)
    return doc, files


# -- state -------------------------------------------------------------------
def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class DamagedIndex(Exception):
    """The index folder holds something this version cannot read; it is rebuilt."""


def _checked_head(head: dict) -> dict:
    """The state head, or :class:`DamagedIndex` when a field has the wrong type."""
    kinds = {"format": int, "catalog": str, "size": int, "mtime_ns": int, "tags": dict, "files": dict, "count": int}
    for key, kind in kinds.items():
        if key in head and not isinstance(head[key], kind):
            raise DamagedIndex(f"{HEAD}: '{key}' is not a {kind.__name__}")
    for name, sig in head.get("files", {}).items():
        if not (isinstance(sig, list) and len(sig) == 2 and all(isinstance(v, int) for v in sig)):
            raise DamagedIndex(f"{HEAD}: bad signature for {name}")
    for slug, labels in head.get("tags", {}).items():
        if not (isinstance(labels, list) and len(labels) == 2 and all(isinstance(v, str) for v in labels)):
            raise DamagedIndex(f"{HEAD}: bad labels for tag {slug}")
    return head


def _checked_entries(data: dict) -> dict[str, dict]:
    entries = data.get("entries", {})
    if not isinstance(entries, dict):
        raise DamagedIndex(f"{ENTRIES}: 'entries' is not a mapping")
    for entry_id, info in entries.items():
        if not (
            isinstance(info, dict)
            and isinstance(info.get("digest"), str)
            and isinstance(info.get("tags"), list)
            and isinstance(info.get("files"), dict)
        ):
            raise DamagedIndex(f"{ENTRIES}: bad record for entry {entry_id}")
    return entries


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_head(index_dir: Path) -> dict:
    return _checked_head(_read_json(index_dir / HEAD))


def _files_unchanged(files: dict[str, list[int]]) -> bool:
    for name, (mtime_ns, size) in files.items():
        try:
            stat = os.stat(name)
        except OSError:
            return False
        if stat.st_mtime_ns != mtime_ns or stat.st_size != size:
            return False
    return True


def is_fresh(catalog: Path, index_dir: Path, head: dict | None = None) -> bool:
    """Whether the index answers for the catalog as it is now (two stats, one small read)."""
    head = read_head(index_dir) if head is None else head
    try:
        stat = catalog.stat()
    except OSError:
        return False
    return (
        head.get("format") == FORMAT
        and head.get("catalog") == str(catalog.resolve())
        and head.get("size") == stat.st_size
        and head.get("mtime_ns") == stat.st_mtime_ns
        and _files_unchanged(head.get("files", {}))
    )


def _roots(catalog: Path) -> tuple[Path, ...]:
    roots = [catalog.resolve().parent, paths.REPO_ROOT]
    return tuple(dict.fromkeys(roots))


def _tag_table(header: dict) -> dict[str, tuple[str, str]]:
    raw = header.get("tags")
    table: dict[str, tuple[str, str]] = {}
    if isinstance(raw, dict):
        for slug, labels in raw.items():
            labels = labels if isinstance(labels, dict) else {}
            table[str(slug)] = (str(labels.get("en", slug)), str(labels.get("zh", "") or ""))
    return table


Progress = Callable[[int, int], None]  # (entries indexed so far, entries to index)
PROGRESS_EVERY = 250  # entries between progress calls (a full 10k build takes ~25 s)


def ensure_fresh(
    catalog: str | Path,
    index_dir: str | Path | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> UpdateReport:
    """Bring the index up to date with the catalog, re-indexing only what changed.

    ``progress(done, total)`` is called while many entries are (re-)indexed.
    """
    catalog = Path(catalog)
    index_dir = Path(index_dir) if index_dir else default_index_dir(catalog)
    claim_dir(index_dir)
    if not rebuild and is_fresh(catalog, index_dir):
        return UpdateReport(total=read_head(index_dir).get("count", 0))
    from filelock import FileLock

    with FileLock(str(index_dir / "update.lock"), timeout=120):
        if not rebuild and is_fresh(catalog, index_dir):  # another process just did it
            return UpdateReport(total=read_head(index_dir).get("count", 0))
        return _update(catalog, index_dir, rebuild, progress)


def _error(catalog: Path, line: int, entry: str, message: str) -> SearchIndexError:
    where = f" (entry {entry})" if entry else ""
    return SearchIndexError(f"{catalog}:{line}: {message}{where}")


def _update(catalog: Path, index_dir: Path, rebuild: bool, progress: Progress | None = None) -> UpdateReport:
    from ..catalog import yamlsafe
    from ..catalog.scan import scan

    try:
        with open(catalog, "rb") as handle:  # size, mtime and bytes of one and the same file
            stat = os.fstat(handle.fileno())
            data = handle.read()
    except OSError as exc:
        raise SearchIndexError(f"{catalog}: cannot read catalog: {exc.strerror or exc}") from None
    try:
        scanned = scan(data)
        header = scanned.header_data()
    except (UnicodeDecodeError, yamlsafe.YamlSyntaxError) as exc:
        line = getattr(exc, "line", 1)
        raise _error(catalog, line, "", getattr(exc, "message", str(exc))) from None
    tags = _tag_table(header)
    head = {} if rebuild else read_head(index_dir)
    full = (
        rebuild
        or head.get("format") != FORMAT
        or head.get("catalog") != str(catalog.resolve())
        or not whoosh_index.exists_in(str(index_dir))
    )
    if full:
        head = {}
    old = {} if full else _checked_entries(_read_json(index_dir / ENTRIES))
    old_tags = {k: tuple(v) for k, v in head.get("tags", {}).items()} if not full else {}
    changed_tags = {s for s in set(tags) | set(old_tags) if tags.get(s) != old_tags.get(s)}
    changed_files = {
        name for name, sig in head.get("files", {}).items() if not full and not _files_unchanged({name: sig})
    }
    by_digest = {info["digest"]: entry_id for entry_id, info in old.items()}

    roots = _roots(catalog)
    new_entries: dict[str, dict] = {}
    docs: list[dict] = []
    for block in scanned.blocks:
        entry_id = by_digest.get(block.digest)
        if entry_id is not None:
            info = old[entry_id]
            if not (changed_tags & set(info["tags"])) and not (changed_files & set(info["files"])):
                new_entries[entry_id] = info
                continue
        try:
            entry = scanned.parse(block)
        except yamlsafe.YamlSyntaxError as exc:
            raise _error(catalog, exc.line, "", exc.message) from None
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            raise _error(catalog, block.start_line, "", "entry has no id")
        doc, files = document(entry, tags, roots)
        doc["digest"] = block.digest
        docs.append(doc)
        new_entries[doc["id"]] = {"digest": block.digest, "tags": doc["tags"].split(",") if doc["tags"] else [],
                                  "files": {k: list(v) for k, v in files.items()}}
    removed = [entry_id for entry_id in old if entry_id not in new_entries]

    if full:
        for child in index_dir.iterdir():  # a folder claim_dir() marked as ours
            if child.name not in ("update.lock", MARKER):
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        ix = whoosh_index.create_in(str(index_dir), schema())
    else:
        ix = whoosh_index.open_dir(str(index_dir))
    if docs or removed:
        writer = ix.writer(limitmb=256, codec=codec())
        try:
            for entry_id in removed:
                writer.delete_by_term("id", entry_id)
            for done, doc in enumerate(docs, 1):
                if full:
                    writer.add_document(**doc)
                else:
                    writer.update_document(**doc)
                if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(docs)):
                    progress(done, len(docs))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
    ix.close()

    files: dict[str, list[int]] = {}
    for info in new_entries.values():
        files.update(info["files"])
    _write_json(index_dir / ENTRIES, {"entries": new_entries})
    _write_json(
        index_dir / HEAD,
        {
            "format": FORMAT,
            "catalog": str(catalog.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "tags": {k: list(v) for k, v in tags.items()},
            "files": files,
            "count": len(new_entries),
        },
    )
    return UpdateReport(added=len(docs), removed=len(removed), rebuilt=full, total=len(new_entries))


def tag_table(index_dir: Path) -> dict[str, tuple[str, str]]:
    return {k: (v[0], v[1]) for k, v in read_head(index_dir).get("tags", {}).items()}


def ids_in(index_dir: Path) -> Iterable[str]:
    return _read_json(index_dir / ENTRIES).get("entries", {}).keys()
