"""Find each entry's block of text and its digest in milliseconds, without parsing YAML.

Same blocks and digests as :func:`paperkb.catalog.blocks.split`, but found with a
few regular expressions over the file's bytes instead of a Python loop over every
line: on a 10,000-entry catalog (30 MB) that is the difference between ~0.1 s
and ~0.7 s, and an incremental index update has 0.5 s in all. Only the blocks
whose digest is new are decoded and parsed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from . import yamlsafe
from .blocks import Block

_ENTRIES_KEY = re.compile(rb"^entries:[ \t]*(?:#[^\n]*)?\r?$", re.M)
_FIRST_ITEM = re.compile(rb"^([ \t]*)- ", re.M)
_TOP_LEVEL_KEY = re.compile(rb"\n[^\s#\-]")  # "\n…" not "^…": a literal prefix scans 10x faster


@dataclass(frozen=True)
class RawBlock:
    start_line: int  # 1-based
    start: int  # byte offsets into the file
    end: int
    digest: str


@dataclass(frozen=True)
class Scan:
    data: bytes
    header: bytes  # everything before the entries (version, tags)
    blocks: list[RawBlock]

    def text(self, block: RawBlock) -> str:
        """The block's text; :class:`~.yamlsafe.YamlSyntaxError` at the line of a bad byte."""
        try:
            return yamlsafe.decode(self.data[block.start : block.end])
        except yamlsafe.YamlSyntaxError as exc:
            raise yamlsafe.YamlSyntaxError(block.start_line + exc.line - 1, exc.message) from None

    def parse(self, block: RawBlock) -> dict:
        """Parse one entry; errors carry the catalog's line numbers."""
        text = self.text(block)
        end_line = block.start_line + text.count("\n")
        return Block(block.start_line, end_line, text, block.digest).parse()

    def header_data(self) -> dict:
        data = yamlsafe.load_fragment(yamlsafe.decode(self.header)) if self.header.strip() else {}
        return data if isinstance(data, dict) else {}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _content_end(chunk: bytes, item_indent: int) -> int:
    """Length of ``chunk`` without the blank lines, and the comments no deeper than the
    items, at its end: they belong to no block (as in :func:`paperkb.catalog.blocks.split`)."""
    body = chunk.rstrip()
    while True:
        line_start = body.rfind(b"\n") + 1
        line = body[line_start:]
        stripped = line.lstrip()
        if line_start == 0 or not stripped.startswith(b"#") or len(line) - len(stripped) > item_indent:
            break
        body = body[:line_start].rstrip()
    newline = chunk.find(b"\n", len(body))
    return len(chunk) if newline < 0 else newline + 1


def scan(data: bytes) -> Scan:
    """Split a catalog's bytes into entry blocks (see :mod:`paperkb.catalog.blocks`)."""
    key = _ENTRIES_KEY.search(data)
    if key is None:
        return Scan(data, data, [])
    body_start = data.find(b"\n", key.end())
    body_start = len(data) if body_start < 0 else body_start + 1
    top = _TOP_LEVEL_KEY.search(data, body_start - 1)
    body_end = top.start() + 1 if top else len(data)
    first = _FIRST_ITEM.search(data, body_start, body_end)
    if first is None:
        return Scan(data, data[: key.start()], [])
    item = re.compile(rb"\n" + re.escape(first.group(1)) + rb"- ")
    starts = [m.start() + 1 for m in item.finditer(data, body_start - 1, body_end)]
    blocks = []
    line = data.count(b"\n", 0, starts[0]) + 1
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else body_end
        chunk = data[start:stop]
        end = start + _content_end(chunk, len(first.group(1)))
        blocks.append(RawBlock(line, start, end, _digest(data[start:end])))
        line += chunk.count(b"\n")
    return Scan(data, data[: key.start()], blocks)
