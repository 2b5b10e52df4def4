"""Where things go in the catalog file, read from its head and tail only.

A 10,000-entry catalog is tens of MB; adding one entry must not read it all.
The tags (needed to check the new entry) sit in the head, before ``entries:``;
a new entry goes after the last entry block, found by scanning back from the
end of the file. Anything unusual (a top-level key after the entries, no
entries yet) makes :func:`read_tail` return None and the caller falls back to
splitting the whole text with :mod:`paperkb.catalog.blocks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from ..catalog import yamlsafe
from ..catalog.model import Tag

CHUNK = 64 * 1024
_ENTRIES = re.compile(rb"^entries:[ \t]*(?:#[^\n]*)?\r?$", re.M)
_TAGS = re.compile(rb"^tags:[ \t]*(?:#[^\n]*)?\r?$", re.M)
_ITEM = re.compile(rb"^([ \t]*)- ")


class LayoutError(Exception):
    pass


@dataclass(frozen=True)
class Head:
    text: str  # the file up to the 'entries:' line
    entries_end: int  # byte offset just after the 'entries:' line
    item_indent: str | None  # indent of the first entry item; None when there is none
    tags: dict[str, Tag]
    tags_end: int | None  # byte offset where a new tag line goes (after the last tag line)
    tag_indent: str


@dataclass(frozen=True)
class Tail:
    start: int  # byte offset of the last entry's "- " line
    end: int  # byte offset just after its last non-blank line
    text: str  # the last entry block (as blocks.split cuts it)
    eof_newline: bool  # whether the file ends with a newline


def _lines(data: bytes, start: int = 0):
    """(start, end-without-newline, next-start) of each line from ``start``."""
    pos = start
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            yield pos, len(data), len(data)
            return
        yield pos, nl, nl + 1
        pos = nl + 1


def _is_top_level_key(line: bytes) -> bool:
    return bool(line.strip()) and line[:1] not in (b" ", b"\t", b"-", b"#")


def read_head(handle: BinaryIO, size: int) -> Head:
    data = b""
    while True:
        handle.seek(0)
        data = handle.read(min(size, max(CHUNK, len(data) * 2)))
        match = _ENTRIES.search(data)
        if match:
            # The first non-blank, non-comment line after 'entries:' must be complete.
            rest = data[match.end() :]
            probe = re.search(rb"^[ \t]*[^\s#][^\n]*\n", rest, re.M)
            if probe or len(data) >= size:
                break
        elif len(data) >= size:
            raise LayoutError("the catalog has no top-level 'entries:' key (block style)")
    entries_end = match.end() + (1 if data[match.end() : match.end() + 1] == b"\n" else 0)
    item_indent = None
    for start, end, _ in _lines(data, entries_end):
        line = data[start:end]
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        item = _ITEM.match(line)
        if item:
            item_indent = item.group(1).decode()
        break
    head_text = data[: match.start()].decode("utf-8")
    try:
        parsed = yamlsafe.load_fragment(head_text) if head_text.strip() else {}
    except yamlsafe.YamlSyntaxError as exc:
        raise LayoutError(f"line {exc.line}: {exc.message}") from None
    raw_tags = parsed.get("tags") if isinstance(parsed, dict) else None
    if raw_tags is None:  # tags declared after the entries: unusual, so read the whole file
        handle.seek(0)
        try:
            whole = yamlsafe.load_fragment(handle.read().decode("utf-8"))
        except yamlsafe.YamlSyntaxError as exc:
            raise LayoutError(f"line {exc.line}: {exc.message}") from None
        raw_tags = whole.get("tags") if isinstance(whole, dict) else None
    tags: dict[str, Tag] = {}
    if isinstance(raw_tags, dict):
        for slug, labels in raw_tags.items():
            labels = labels if isinstance(labels, dict) else {}
            tags[str(slug)] = Tag(str(slug), str(labels.get("en", slug)), str(labels.get("zh", "")))
    tags_end, tag_indent = _tags_section(data, match.start())
    return Head(head_text, entries_end, item_indent, tags, tags_end, tag_indent)


def _tags_section(data: bytes, limit: int) -> tuple[int | None, str]:
    match = _TAGS.search(data, 0, limit)
    if not match:
        return None, "  "
    end: int | None = None
    indent = "  "
    first = True
    for start, stop, nxt in _lines(data, match.end() + 1):
        if start >= limit:
            break
        line = data[start:stop]
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        if line[:1] not in (b" ", b"\t"):
            break
        if first:
            indent = line[: len(line) - len(line.lstrip())].decode()
            first = False
        end = nxt
    return end, indent


def read_tail(handle: BinaryIO, size: int, head: Head) -> Tail | None:
    """The last entry block, or None when the fast path does not apply."""
    if head.item_indent is None:
        return None
    indent = head.item_indent.encode()
    want = CHUNK
    while True:
        start_at = max(head.entries_end, size - want)
        handle.seek(start_at)
        data = handle.read(size - start_at)
        # Drop a partial first line (it may also split a UTF-8 character).
        first = 0 if start_at == head.entries_end else data.find(b"\n") + 1
        if start_at != head.entries_end and first == 0:
            want *= 4
            continue
        last_nonblank_end: int | None = None
        pos = len(data)
        found = None
        while pos > first:
            line_start = data.rfind(b"\n", first, pos - 1) + 1 if pos - 1 > first else first
            line_start = max(line_start, first)
            line = data[line_start:pos].rstrip(b"\r\n")
            stripped = line.lstrip()
            between_entries = stripped.startswith(b"#") and len(line) - len(stripped) <= len(indent)
            if line.strip() and not (between_entries and last_nonblank_end is None):
                # (comments after the last entry belong to no block, as in catalog.blocks)
                if last_nonblank_end is None:
                    last_nonblank_end = pos
                if _is_top_level_key(line):
                    return None  # something after the entries: the slow path handles it
                if line.startswith(indent + b"- "):
                    found = line_start
                    break
            pos = line_start
        if found is not None and last_nonblank_end is not None:
            text = data[found:last_nonblank_end].decode("utf-8")
            if not text.endswith("\n"):
                pass  # the file does not end with a newline; the caller adds one
            return Tail(start_at + found, start_at + last_nonblank_end, text, data.endswith(b"\n"))
        if start_at == head.entries_end:
            return None  # no entry at all
        want *= 4
