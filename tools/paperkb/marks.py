"""``python tools/mark.py ID... read|reading|unread``: set reading marks, touching only their lines.

Each entry's ``status`` line is rewritten in place; ``priority`` and ``highlight`` lines are
added, changed or removed beside it. Nothing else in the file changes (``git diff`` shows
one or two lines per entry), and the catalog is written through the one catalog writer.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass

from . import paths
from .catalog import blocks, yamlsafe
from .catalog.load import CatalogError
from .catalog.model import STATUSES
from .catalog.validate import validate_entry
from .catalog.writer import WriteFailed, open_catalog

PROG = "mark.py"
_ID_LINE = re.compile(r"""^(\s*)- id:\s*(?:"([^"]+)"|'([^']+)'|([^\s#]+))\s*(?:#.*)?$""")


class MarkError(Exception):
    """One line to print; nothing was written."""


@dataclass(frozen=True)
class Change:
    status: str
    priority: int | None  # None: leave as it is
    clear_priority: bool
    highlight: bool | None  # None: leave as it is


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Mark catalog entries read, reading or unread.")
    p.add_argument("ids", nargs="+", metavar="ID", help="catalog ids")
    p.add_argument("status", choices=STATUSES, help="the new status")
    prio = p.add_mutually_exclusive_group()
    prio.add_argument("--priority", type=int, choices=range(1, 10), metavar="1-9", help="1 = read next")
    prio.add_argument("--no-priority", action="store_true", help="remove the entry's priority")
    p.add_argument("--highlight", action=argparse.BooleanOptionalAction, default=None,
                   help="set (or with --no-highlight remove) the author's highlight")
    p.add_argument("--catalog", default=str(paths.DEFAULT_CATALOG), help="catalog file (default: %(default)s)")
    return p


def _field_span(lines: list[str], indent: str, key: str) -> tuple[int, int] | None:
    """Index range of one top-level field of the entry (its line and continuation lines)."""
    head = re.compile(rf"^{indent}{key}:(\s|$)")
    for i, line in enumerate(lines):
        if head.match(line):
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > len(indent)):
                j += 1
            while j > i + 1 and not lines[j - 1].strip():
                j -= 1
            return i, j
    return None


def edit_block(text: str, change: Change) -> str:
    """The entry's block of text with the change applied to its own lines only."""
    lines = text.splitlines(keepends=True)
    first = _ID_LINE.match(lines[0].rstrip("\n"))
    if first is None:
        raise MarkError("the entry is not a block mapping starting with '- id:'")
    indent = first.group(1) + "  "
    status = _field_span(lines, indent, "status")
    if status is None:
        raise MarkError("the entry has no 'status:' line")
    lines[status[0] : status[1]] = [f"{indent}status: {change.status}\n"]
    after = status[0] + 1
    priority = _field_span(lines, indent, "priority")
    if change.clear_priority and priority:
        del lines[priority[0] : priority[1]]
    elif change.priority is not None:
        new = [f"{indent}priority: {change.priority}\n"]
        if priority:
            lines[priority[0] : priority[1]] = new
        else:
            lines[after:after] = new
    priority = _field_span(lines, indent, "priority")
    if change.highlight is not None:
        highlight = _field_span(lines, indent, "highlight")
        if change.highlight:
            new = [f"{indent}highlight: true\n"]
            if highlight:
                lines[highlight[0] : highlight[1]] = new
            else:
                at = priority[1] if priority else after
                lines[at:at] = new
        elif highlight:
            del lines[highlight[0] : highlight[1]]
    return "".join(lines)


def _entry_id(block: blocks.Block) -> str | None:
    match = _ID_LINE.match(block.text.split("\n", 1)[0])
    if match:
        return match.group(2) or match.group(3) or match.group(4)
    return None


def plan(text: str, ids: list[str], change: Change, path: str) -> tuple[str, list[str]]:
    """The new catalog text and one report line per entry."""
    layout = blocks.split(text)
    by_id = {}
    for block in layout.blocks:
        entry_id = _entry_id(block)
        if entry_id is not None:
            by_id.setdefault(entry_id, block)
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(by_id), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise MarkError(f"{path}: no entry '{unknown[0]}'{hint}; nothing written")
    lines = list(layout.lines)
    header = yamlsafe.load_fragment("".join(lines[: (layout.entries_line or 1) - 1])) or {}
    tags = {}
    if isinstance(header, dict) and isinstance(header.get("tags"), dict):
        from .catalog.model import Tag

        tags = {str(s): Tag(str(s), "", "") for s in header["tags"]}
    reports = []
    for entry_id in sorted(dict.fromkeys(ids), key=lambda i: by_id[i].start_line, reverse=True):
        block = by_id[entry_id]
        try:
            old = block.parse()
            new_text = edit_block(block.text, change)
            new = yamlsafe.load_fragment(new_text)
        except MarkError as exc:
            raise MarkError(f"{path}:{block.start_line}: entry '{entry_id}': {exc}; nothing written") from None
        except yamlsafe.YamlSyntaxError as exc:
            raise MarkError(f"{path}:{exc.line}: entry '{entry_id}': {exc.message}; nothing written") from None
        data = new[0] if isinstance(new, list) and len(new) == 1 else None
        expected = dict(old, status=change.status)
        if change.clear_priority:
            expected.pop("priority", None)
        elif change.priority is not None:
            expected["priority"] = change.priority
        if change.highlight is True:
            expected["highlight"] = True
        elif change.highlight is False:
            expected.pop("highlight", None)
        if data != expected:
            raise MarkError(f"{path}:{block.start_line}: entry '{entry_id}': the edit does not read back as "
                            f"planned; nothing written")
        report = validate_entry(data, tags=tags, check_refimpl=False, line_offset=block.start_line - 1)
        if report.errors:
            raise MarkError(f"{path}:{report.errors[0].line}: entry '{entry_id}': {report.errors[0].message}")
        lines[block.start_line - 1 : block.end_line - 1] = new_text.splitlines(keepends=True)
        was = old.get("status")
        reports.append(f"{path}:{block.start_line}: entry '{entry_id}': {change.status}"
                       f"{'' if was == change.status else f' (was {was})'}")
    return "".join(lines), list(reversed(reports))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    change = Change(args.status, args.priority, args.no_priority, args.highlight)
    try:
        with open_catalog(args.catalog) as session:
            text = session.read_text()
            new_text, reports = plan(text, args.ids, change, args.catalog)
            if new_text != text:
                session.write_text(new_text)
    except (MarkError, WriteFailed) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except CatalogError as exc:
        for line in exc.problems:
            print(f"{PROG}: {line}", file=sys.stderr)
        return 1
    for line in reports:
        print(line)
    return 0
