"""Add (or merge) one entry into the catalog as text: checked, atomic, serialized.

Order of work, all under the catalog lock:

1. duplicates against the cached summaries (ids, arXiv ids, DOIs, normalized titles);
2. the edit is planned from the file's head and tail only (:mod:`.layout`);
3. the new entry's text is parsed back together with its neighbour, and
   validated alone (:func:`paperkb.catalog.validate.validate_entry`); a small
   catalog is also re-parsed and validated whole;
4. the catalog writer (:mod:`paperkb.catalog.writer`) writes the side files (a
   refimpl scaffold, journalled) and the new catalog, all or nothing, and the
   summary cache is brought up to date so the next add stays fast.

Everything else in the file is copied byte for byte: ``git diff`` shows only
the new lines.
"""

from __future__ import annotations

import dataclasses
import difflib
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..catalog import blocks, summary, yamlsafe
from ..catalog.emit import entry_to_yaml
from ..catalog.load import CatalogError, catalog_from_text
from ..catalog.model import Entry, Tag
from ..catalog.validate import Problem, validate, validate_entry
from ..catalog.writer import LOCK_TIMEOUT_S, SideFiles, Splice, apply_splices, open_catalog
from . import layout

FULL_CHECK_BYTES = 2 * 1024 * 1024  # below this, the whole new catalog is re-parsed and validated


class AddError(Exception):
    """The entry cannot be added; the message is ready to print (one line per problem)."""


class Duplicate(AddError):
    def __init__(self, message: str, existing: summary.EntrySummary) -> None:
        super().__init__(message)
        self.existing = existing


@dataclass
class Outcome:
    action: str  # "add", "merge" or "unchanged"
    entry_id: str
    line: int  # 1-based line of the entry in the new catalog
    entry_text: str
    diff: str
    warnings: list[Problem] = field(default_factory=list)
    written: bool = False


@dataclass
class _Plan:
    splices: list[Splice]
    diff: str
    entry_line: int
    entry_text: str
    after: list[summary.EntrySummary] | None  # summaries of the new file, when cheap to know


# --------------------------------------------------------------------- duplicates
def find_duplicate(
    entry: dict[str, Any], summaries: Iterable[summary.EntrySummary]
) -> tuple[str, summary.EntrySummary] | None:
    """(why, existing) for the first existing entry that is the same paper."""
    links = entry.get("links") or {}
    arxiv = summary.bare_arxiv(links.get("arxiv"))
    doi = str(entry["doi"]).lower() if entry.get("doi") else None
    title = summary.normalize_title(str(entry.get("title", "")))
    for existing in summaries:
        if arxiv and existing.arxiv == arxiv:
            return f"arXiv {arxiv}", existing
        if doi and existing.doi == doi:
            return f"DOI {entry['doi']}", existing
        if title and existing.norm_title == title:
            return f"title '{entry.get('title')}'", existing
    return None


def duplicate_message(path: Path, why: str, existing: summary.EntrySummary) -> str:
    return (
        f"{path}:{existing.line}: entry '{existing.id}' already has {why}; "
        f"not added (--merge adds the new notes and sources to '{existing.id}')"
    )


def _id_taken(entry_id: str, summaries: Iterable[summary.EntrySummary]) -> summary.EntrySummary | None:
    return next((s for s in summaries if s.id == entry_id), None)


# --------------------------------------------------------------------- text helpers
def _reindent(text: str, indent: str) -> str:
    if indent == "  ":
        return text
    return "".join(indent + line[2:] if line.startswith("  ") else line for line in text.splitlines(keepends=True))


def tag_line(slug: str, en: str, zh: str, indent: str) -> str:
    labels = yaml.safe_dump({"en": en, "zh": zh}, default_flow_style=True, allow_unicode=True, width=10_000)
    return f"{indent}{slug}: {labels.strip()}\n"


def _hunk(old: list[str], new: list[str], old_first: int, new_first: int) -> str:
    """Unified-diff hunks between two windows of lines; ``*_first`` = file line of the window's start."""
    out = []
    for line in list(difflib.unified_diff(old, new, n=3, lineterm=""))[2:]:  # no ---/+++ header
        if line.startswith("@@"):
            a, b, c, d = re.match(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@", line).groups()  # type: ignore[union-attr]
            out.append(f"@@ -{int(a) + old_first - 1}{b or ''} +{int(c) + new_first - 1}{d or ''} @@\n")
        elif line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


# --------------------------------------------------------------------- planning
def _parse_entry(text: str) -> tuple[dict[str, Any], Entry]:
    data, node = yamlsafe.parse(text)
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        raise AddError("internal error: the new entry's text does not read back as one mapping")
    return data[0], Entry(data[0], 0, node.value[0])  # type: ignore[union-attr]


def _check_neighbour(previous: str | None, inserted: str, entry: dict[str, Any]) -> None:
    """Parse the new text together with the block before it: both must read back unchanged."""
    fragment = (previous or "") + inserted
    try:
        items = yamlsafe.load_fragment(fragment)
    except yamlsafe.YamlSyntaxError as exc:
        raise AddError(f"internal error: the new entry does not parse after its neighbour: {exc.message}") from None
    expected = ([yamlsafe.load_fragment(previous)[0]] if previous else []) + [entry]  # type: ignore[index]
    if items != expected:
        raise AddError("internal error: inserting the entry would change how its neighbour reads")


def _plan_tags(head: layout.Head, new_tags: dict[str, Tag], data: bytes) -> tuple[list[Splice], str, int]:
    """Splices declaring new tags in the head, their diff, and the lines they add."""
    if not new_tags:
        return [], "", 0
    if head.tags_end is None:
        raise AddError("cannot declare a tag: the catalog has no block-style 'tags:' mapping")
    text = "".join(tag_line(t.slug, t.en, t.zh, head.tag_indent) for t in new_tags.values())
    before_bytes = data[: head.tags_end]
    line = before_bytes.count(b"\n") + 1  # line where the new tags start
    before = before_bytes.decode("utf-8").splitlines(keepends=True)[-3:]
    after = data[head.tags_end :].decode("utf-8", errors="replace").splitlines(keepends=True)[:3]
    new_head = (before_bytes + text.encode() + data[head.tags_end : head.entries_end]).decode("utf-8")
    try:
        parsed = yamlsafe.load_fragment(new_head.rsplit("entries:", 1)[0])
    except yamlsafe.YamlSyntaxError as exc:
        raise AddError(f"internal error: the new tags do not parse: {exc.message}") from None
    got = parsed.get("tags", {}) if isinstance(parsed, dict) else {}
    for tag in new_tags.values():
        if got.get(tag.slug) != {"en": tag.en, "zh": tag.zh}:
            raise AddError(f"internal error: tag '{tag.slug}' does not read back")
    first = line - len(before)
    diff = _hunk(before + after, before + text.splitlines(keepends=True) + after, first, first)
    return [Splice(head.tags_end, 0, text.encode())], diff, text.count("\n")


def _plan_add(
    handle: Any, size: int, head: layout.Head, entry: dict[str, Any], new_tags: dict[str, Tag],
    summaries: list[summary.EntrySummary],
) -> _Plan:
    handle.seek(0)
    head_data = handle.read(head.entries_end)
    tag_splices, tag_diff, tag_lines = _plan_tags(head, new_tags, head_data)

    tail = layout.read_tail(handle, size, head)
    last = summaries[-1] if summaries else None
    fast = tail is not None and last is not None and blocks.digest(tail.text) == last.digest
    if fast:
        assert tail is not None and last is not None and head.item_indent is not None
        offset, previous, prev_line, indent = tail.end, tail.text, last.line, head.item_indent
    else:  # unusual layout or no entries yet: split the whole text (slower, always right)
        handle.seek(0)
        whole = handle.read()
        split = blocks.split(whole.decode("utf-8"))
        if split.entries_line is None:
            raise AddError("the catalog has no block-style 'entries:' list to add to")
        insert_at = split.end_of_entries  # 1-based line
        offset = min(len("".join(split.lines[: insert_at - 1]).encode()), len(whole))
        previous = split.blocks[-1].text if split.blocks else None
        prev_line = split.blocks[-1].start_line if split.blocks else insert_at
        indent = split.item_indent
    handle.seek(max(offset - 1, 0))
    needs_newline = offset > 0 and handle.read(1) != b"\n"
    entry_text = _reindent(entry_to_yaml(entry), indent)
    inserted = ("\n" if needs_newline else "") + ("\n" if previous is not None else "") + entry_text
    _check_neighbour(previous, inserted, entry)

    # Lines: the new text goes before old line ``old_first``.
    old_first = prev_line + (previous.count("\n") + (1 if needs_newline else 0) if previous is not None else 0)
    entry_line = old_first + tag_lines + (1 if previous is not None else 0)
    context = previous.splitlines(keepends=True)[-3:] if previous is not None else []
    new_window = ("".join(context) + inserted).splitlines(keepends=True)
    window_first = old_first - len(context)
    entry_diff = _hunk(context, new_window, window_first, window_first + tag_lines)

    after = None
    if fast:  # the summaries of the new file are known without reading it
        shifted = [dataclasses.replace(s, line=s.line + tag_lines) for s in summaries] if tag_lines else summaries
        after = [*shifted, summary.summarize(entry, blocks.digest(entry_text), entry_line)]
    splices = [*tag_splices, Splice(offset, 0, inserted.encode())]
    return _Plan(splices, header_for(tag_diff + entry_diff), entry_line, entry_text, after)


def header_for(hunks: str, name: str = "catalog.yaml") -> str:
    return f"--- a/{name}\n+++ b/{name}\n{hunks}" if hunks else ""


# --------------------------------------------------------------------- merge
def merged_data(existing: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The existing entry plus the new entry's notes (as new paragraphs) and sources."""
    result = json.loads(json.dumps(existing))
    notes = dict(result.get("notes") or {})
    for lang, text in (new.get("notes") or {}).items():
        text = text.strip()
        if not text:
            continue
        old = (notes.get(lang) or "").rstrip("\n")
        if text in old:
            continue
        notes[lang] = (f"{old}\n\n{text}\n" if old else f"{text}\n")
    if notes:
        result["notes"] = notes
    sources = list(result.get("sources") or [])
    sources += [s for s in new.get("sources") or [] if s not in sources]
    result["sources"] = sources
    return result


def _roundtrip_merge(block_text: str, new: dict[str, Any], expected: dict[str, Any]) -> str:
    """Edit the existing block with a round-trip YAML library, keeping its comments and style."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 10_000
    indent = len(block_text) - len(block_text.lstrip(" "))
    rt.indent(mapping=2, sequence=indent + 2, offset=indent)
    data = rt.load(block_text)
    item = data[0]
    if "notes" not in item and expected.get("notes"):
        keys = list(item)
        at = keys.index("refimpl") if "refimpl" in keys else len(keys)
        item.insert(at, "notes", {})
    for lang, text in (expected.get("notes") or {}).items():
        if item["notes"].get(lang) != text:
            item["notes"][lang] = LiteralScalarString(text)
    if "sources" in item:
        for source in expected["sources"]:
            if source not in item["sources"]:
                item["sources"].append(source)
    else:
        item["sources"] = expected["sources"]
    out = io.StringIO()
    rt.dump(data, out)
    text = out.getvalue()
    if yamlsafe.load_fragment(text) != [expected]:
        raise AddError("internal error: the merged entry does not read back as expected")
    return text


def _plan_merge(handle: Any, existing: summary.EntrySummary, entry: dict[str, Any]) -> tuple[_Plan, dict]:
    handle.seek(0)
    whole = handle.read().decode("utf-8")
    split = blocks.split(whole)
    block = next((b for b in split.blocks if b.start_line == existing.line), None)
    if block is None:
        raise AddError(f"internal error: entry '{existing.id}' is not at line {existing.line}")
    old = block.parse()
    expected = merged_data(old, entry)
    if expected == old:
        return _Plan([], "", block.start_line, block.text, None), old
    new_text = _roundtrip_merge(block.text, entry, expected)
    offset = len("".join(split.lines[: block.start_line - 1]).encode())
    old_lines = block.text.splitlines(keepends=True)
    diff = header_for(_hunk(old_lines, new_text.splitlines(keepends=True), block.start_line, block.start_line))
    return _Plan([Splice(offset, len(block.text.encode()), new_text.encode())], diff,
                 block.start_line, new_text, None), expected


# --------------------------------------------------------------------- checks
def _full_check(path: Path, old: bytes, new: bytes, entry_id: str, repo_root: Path, check_refimpl: bool) -> None:
    """Small catalogs: parse and validate the whole new text; refuse anything it made worse."""
    try:
        after = catalog_from_text(new.decode("utf-8"), path)
    except CatalogError as exc:
        raise AddError("\n".join(exc.problems)) from None
    report = validate(after, repo_root=repo_root, check_refimpl=check_refimpl)
    if not report.errors:
        return
    before = validate(catalog_from_text(old.decode("utf-8"), path), repo_root=repo_root, check_refimpl=check_refimpl)
    known = {(p.where, p.message) for p in before.errors}
    new_errors = [p for p in report.errors if (p.where, p.message) not in known or p.where == f"entry '{entry_id}'"]
    if new_errors:
        raise AddError("\n".join(str(p) for p in new_errors))


def _write_summary_cache(path: Path, cache_dir: Path, summaries: list[summary.EntrySummary]) -> None:
    """Record the new file's summaries so the next add need not re-split it."""
    summary.write_cache(path, cache_dir, summaries)


# --------------------------------------------------------------------- the one entry point
def add_entry(
    catalog: str | Path,
    entry: dict[str, Any],
    *,
    new_tags: dict[str, Tag] | None = None,
    merge: bool = False,
    dry_run: bool = False,
    side_files: SideFiles | None = None,
    repo_root: Path,
    cache_dir: Path | None = None,
    lock_timeout: float = LOCK_TIMEOUT_S,
    full_check_bytes: int = FULL_CHECK_BYTES,
    check_refimpl: bool = True,
    before_write: Callable[[], None] | None = None,
    summaries_hint: tuple | None = None,
) -> Outcome:
    """Add ``entry`` to ``catalog`` (or merge it into the same paper with ``merge``).

    ``summaries_hint`` is ``((size, mtime_ns), summaries, content_digest)`` read by
    the caller before taking the lock; it is used only if the file's bytes are still
    the same.
    """
    path = Path(catalog)
    real = path.resolve()
    cache_dir = Path(cache_dir) if cache_dir else real.parent / ".cache" / "paperkb"
    new_tags = dict(new_tags or {})
    with open_catalog(path, timeout=lock_timeout, dry_run=dry_run) as session:
        data = session.read_bytes()
        size = len(data)
        stat = real.stat()
        if (summaries_hint is not None and summaries_hint[0] == (stat.st_size, stat.st_mtime_ns)
                and len(summaries_hint) > 2 and summaries_hint[2] == blocks.digest_bytes(data)):
            summaries = summaries_hint[1]  # read just before the lock, and the file has not changed since
        else:
            summaries = summary.load_summaries(path, cache_dir, write=not dry_run)
        handle = io.BytesIO(data)
        try:
            head = layout.read_head(handle, size)
        except layout.LayoutError as exc:
            raise AddError(f"{path}: {exc}") from None
        clash = [slug for slug in new_tags if slug in head.tags]
        if clash:
            raise AddError(f"{path}: tag '{clash[0]}' is already declared; drop --new-tag {clash[0]}")
        duplicate = find_duplicate(entry, summaries)
        if duplicate and not merge:
            why, existing = duplicate
            raise Duplicate(duplicate_message(path, why, existing), existing)
        if merge and duplicate is None:
            raise AddError(f"{path}: --merge: no entry has this arXiv id, DOI or title; nothing to merge into")
        if merge:
            assert duplicate is not None
            plan, checked = _plan_merge(handle, duplicate[1], entry)
            entry_id, action = duplicate[1].id, "merge" if plan.splices else "unchanged"
            side_files = None  # a merge never scaffolds: the entry already exists
        else:
            taken = _id_taken(entry["id"], summaries)
            if taken is not None:
                raise AddError(f"{path}:{taken.line}: id '{entry['id']}' is taken by another entry; choose --id")
            plan = _plan_add(handle, size, head, entry, new_tags, summaries)
            checked, entry_id, action = entry, entry["id"], "add"
        old_bytes = data if plan.splices and size <= full_check_bytes else None

        outcome = Outcome(action, entry_id, plan.entry_line, plan.entry_text, plan.diff)
        if not plan.splices:
            return outcome
        tags = {**head.tags, **new_tags}
        _, parsed_entry = _parse_entry(plan.entry_text)
        if parsed_entry.data != checked:
            raise AddError("internal error: the entry's text does not read back as the entry")

        def check(root: Path) -> None:
            report = validate_entry(parsed_entry, tags=tags, path=path, repo_root=root,
                                    check_refimpl=check_refimpl, line_offset=plan.entry_line - 1)
            if report.errors:
                raise AddError("\n".join(str(p) for p in report.errors))
            outcome.warnings = report.warnings
            if old_bytes is not None:
                _full_check(path, old_bytes, apply_splices(old_bytes, plan.splices), entry_id, root, check_refimpl)

        if dry_run:
            if side_files is not None:
                with tempfile.TemporaryDirectory() as tmp:
                    side_files.render_into(Path(tmp), repo_root)
                    check(Path(tmp))
            else:
                check(repo_root)
            return outcome

        session.write_splices(plan.splices, side=side_files, check=lambda: check(repo_root),
                              before_rename=before_write)
        outcome.written = True
        if plan.after is not None:
            _write_summary_cache(path, cache_dir, plan.after)
        return outcome
