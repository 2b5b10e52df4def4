"""Split catalog text into one block of text per entry, without parsing YAML.

A 10,000-entry catalog takes seconds to parse even with libyaml; hashing each
entry's block of text takes milliseconds, so tools that need to know *what
changed* hash blocks and parse only the blocks whose hash is new.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from . import yamlsafe

_ENTRIES_KEY = re.compile(r"^entries:\s*(#.*)?$")
_ITEM = re.compile(r"^(\s*)- ")


@dataclass(frozen=True)
class Block:
    start_line: int  # 1-based line of the "- id:" item
    end_line: int  # 1-based, exclusive
    text: str
    digest: str

    def parse(self) -> dict:
        """Parse this block alone; errors carry the catalog's line numbers."""
        try:
            data = yamlsafe.load_fragment(self.text)
        except yamlsafe.YamlSyntaxError as exc:
            raise yamlsafe.YamlSyntaxError(exc.line + self.start_line - 1, exc.message) from None
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            raise yamlsafe.YamlSyntaxError(self.start_line, "entry block is not one mapping")
        return data[0]


@dataclass(frozen=True)
class Layout:
    lines: list[str]
    entries_line: int | None  # 1-based line of "entries:", None if absent
    item_indent: str
    blocks: list[Block]

    @property
    def end_of_entries(self) -> int:
        """1-based line where a new entry would be inserted (after the last block)."""
        if self.blocks:
            return self.blocks[-1].end_line
        return (self.entries_line or len(self.lines)) + 1


def _between_entries(line: str, item_indent: str) -> bool:
    """Blank, or a comment no deeper than the items (deeper ones are entry content)."""
    stripped = line.lstrip()
    return not stripped or (stripped.startswith("#") and len(line) - len(stripped) <= len(item_indent))


def digest(text: str) -> str:
    return digest_bytes(text.encode("utf-8"))


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def split(text: str) -> Layout:
    lines = text.splitlines(keepends=True)
    entries_line = None
    for number, line in enumerate(lines, 1):
        if _ENTRIES_KEY.match(line):
            entries_line = number
            break
    if entries_line is None:
        return Layout(lines, None, "  ", [])
    starts: list[int] = []
    indent: str | None = None
    end = len(lines) + 1
    for number in range(entries_line + 1, len(lines) + 1):
        line = lines[number - 1]
        stripped = line.strip()
        if not stripped:
            continue
        if not line[0].isspace() and not line.startswith("-") and not stripped.startswith("#"):
            end = number  # a new top-level key ends the entries
            break
        match = _ITEM.match(line)
        if match and (indent is None or match.group(1) == indent):
            indent = match.group(1)
            starts.append(number)
    blocks = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else end
        while stop - 1 > start and _between_entries(lines[stop - 2], indent or ""):
            stop -= 1  # blank lines and comments between entries belong to no block
        block_text = "".join(lines[start - 1 : stop - 1])
        blocks.append(Block(start, stop, block_text, digest(block_text)))
    return Layout(lines, entries_line, indent if indent is not None else "  ", blocks)
