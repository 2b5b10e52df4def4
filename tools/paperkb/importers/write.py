"""Write a planned import into the catalog text, keeping everything else as it was.

New entries are appended as text in the catalog's own style; an existing entry that
changed has its block of text replaced; new tags are added under ``tags:``. Comments
and formatting outside the changed blocks are kept byte for byte. The result is parsed
and validated before it replaces the old file, atomically, under the catalog lock.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..catalog import blocks
from ..catalog.emit import entry_to_yaml, scalar, subpages_to_yaml
from ..catalog.load import CatalogError, catalog_from_text
from ..catalog.validate import validate
from ..catalog.writer import Session
from .merge import Plan

_TAGS_KEY = re.compile(r"^tags:\s*(#.*)?$")
_NOTE_FILES_KEY = re.compile(r"^note_files:\s*(#.*)?$")
_ENTRIES_KEY = re.compile(r"^entries:")
_PLAIN = re.compile(r"^[^\s,:{}\[\]#&*!|>'\"%@`?-][^,:{}\[\]#]*$")


class WriteError(Exception):
    """The import cannot be written; ``problems`` are ready-to-print lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _flow(value: str) -> str:
    if _PLAIN.match(value) and value == value.strip():
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tags_insert_at(lines: list[str], path: Path) -> int:
    """0-based line index after the last line of the block-style ``tags:`` mapping."""
    start = next((i for i, line in enumerate(lines) if _TAGS_KEY.match(line.rstrip("\n"))), None)
    if start is None:
        raise WriteError([f"{path}:1: catalog: no block-style 'tags:' mapping to add new tags to"])
    last = start
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            break
        last = i
    return last + 1


def note_files_to_yaml(note_files: dict[str, list[dict[str, str]]]) -> list[str]:
    lines = ["note_files:\n"]
    for name, items in note_files.items():
        lines += [f"  {scalar(name)}:\n", "    subpages:\n", *subpages_to_yaml(items, "      ")]
    return lines


def _note_files_span(lines: list[str], path: Path) -> tuple[int, int]:
    """0-based [start, stop) of the top-level ``note_files:`` block, or an empty span
    before ``entries:`` where a new one goes."""
    start = next((i for i, line in enumerate(lines) if _NOTE_FILES_KEY.match(line.rstrip("\n"))), None)
    if start is None:
        at = next((i for i, line in enumerate(lines) if _ENTRIES_KEY.match(line)), None)
        if at is None:
            raise WriteError([f"{path}:1: catalog: no 'entries:' line to put 'note_files:' before"])
        return at, at
    stop = start + 1
    while stop < len(lines) and (not lines[stop].strip() or lines[stop][0].isspace()):
        stop += 1
    while stop > start + 1 and not lines[stop - 1].strip():
        stop -= 1  # keep the blank lines after the block
    return start, stop


def render(text: str, plan: Plan, path: Path) -> str:
    """The catalog text with ``plan`` applied."""
    layout = blocks.split(text)
    if len(layout.blocks) != plan.existing:
        raise WriteError([f"{path}:1: catalog: cannot find each entry's block of text; is 'entries:' a block list?"])
    lines = list(layout.lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    edits: list[tuple[int, int, list[str]]] = []  # (start, stop, replacement), 0-based
    if plan.added and layout.entries_line is None:
        lines.append("entries:\n")
        layout = blocks.split("".join(lines))
    if plan.added and re.match(r"^entries:\s*\[\s*\]\s*(#.*)?$", lines[layout.entries_line - 1]):
        lines[layout.entries_line - 1] = "entries:\n"  # an empty flow list cannot take block items
    if plan.added:
        at = layout.end_of_entries - 1
        new = "".join("\n" + entry_to_yaml(entry) for entry in plan.added)
        if layout.blocks and at < len(lines):
            new += "\n"  # keep the blank line before whatever followed the entries
        edits.append((at, at, new.splitlines(keepends=True)))
    for pos in sorted(plan.changed):
        block = layout.blocks[pos]
        text = entry_to_yaml(plan.entries[pos])
        edits.append((block.start_line - 1, block.end_line - 1, text.splitlines(keepends=True)))
    if plan.new_tags:
        at = _tags_insert_at(lines, path)
        new_lines = [f"  {slug}: {{en: {_flow(t['en'])}, zh: {_flow(t['zh'])}}}\n" for slug, t in plan.new_tags.items()]
        edits.append((at, at, new_lines))
    if plan.note_files:
        start, stop = _note_files_span(lines, path)
        block = note_files_to_yaml(plan.note_files)
        edits.append((start, stop, block + ["\n"] if start == stop else block))
    for start, stop, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[start:stop] = replacement
    return "".join(lines)


def check(new_text: str, plan: Plan, path: Path) -> None:
    """Parse the new text back: it must hold exactly the planned entries and be valid."""
    try:
        catalog = catalog_from_text(new_text, path)
    except CatalogError as exc:
        raise WriteError(exc.problems) from None
    got = [entry.data for entry in catalog.entries]
    if got != plan.entries:
        bad = next(i for i, (a, b) in enumerate(zip(got, plan.entries, strict=False)) if a != b) if got else 0
        raise WriteError([f"{path}:1: catalog: the written text does not read back as planned (entry #{bad + 1})"])
    if plan.note_files and catalog.note_files != plan.note_files:
        raise WriteError([f"{path}:1: catalog: the written note_files do not read back as planned"])
    report = validate(catalog, check_refimpl=False)
    if report.errors:
        raise WriteError([str(p) for p in report.errors])


def write_plan(session: Session, plan: Plan, original: str) -> str:
    """Render, check, and write through the catalog writer (``original`` was read from
    ``session``, under its lock)."""
    new_text = render(original, plan, session.path)
    check(new_text, plan, session.path)
    session.write_text(new_text)
    return new_text


__all__ = ["WriteError", "check", "render", "write_plan"]
