"""Entries as YAML text in the catalog's own style.

Used for textual inserts: a new entry is appended as text and verified by
parsing it back, so adding one entry never re-parses (or re-formats) the rest
of a large catalog.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from . import yamlsafe

FIELD_ORDER = (
    "id", "kind", "title", "authors", "year", "venue", "doi", "links", "arxiv_version", "tags", "status",
    "priority", "highlight", "notes", "subpages", "translations", "summary", "abstract", "refimpl", "sources", "added",
)
LINK_ORDER = ("arxiv", "pdf", "code", "project", "video", "url")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ENTRY_INDENT = "  "  # entries are items of the top-level 'entries:' sequence
_WIDTH = 1_000_000  # never fold a long line


def _dump(value: Any, flow: bool, style: str | None = None) -> str:
    text = yaml.safe_dump(
        value, default_flow_style=flow, default_style=style, sort_keys=False, allow_unicode=True, width=_WIDTH
    )
    return text.removesuffix("\n...\n").rstrip("\n")


def scalar(value: Any) -> str:
    """One scalar as YAML text for a block context (quoted only when YAML needs it)."""
    return _dump(value, flow=True)


def flow_list(values: list[Any]) -> str:
    """``[a, b]`` with each item quoted as a flow context needs (``'0,'`` keeps its quotes)."""
    return _dump(list(values), flow=True)


def _field(key: str, value: Any, lead: str, indent: str) -> str:
    """``key: value`` as PyYAML writes it in a block mapping, which quotes the value for
    the context it sits in; continuation lines (a string with line breaks) are moved
    under the entry's keys."""
    first, *rest = _dump({key: value}, flow=False).split("\n")
    return lead + first + "".join("\n" + (indent + line if line else "") for line in rest) + "\n"


def quoted(value: str) -> str:
    """Always double-quoted (arXiv ids: an unquoted 1703.10590 reads as a float)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block(text: str, key_column: int, indent: str) -> str:
    """``text`` as a literal block ("|") whose lines sit at ``indent``, exactly as written:
    an indentation indicator when its first lines start with spaces, a chomping
    indicator for its final line breaks. Checked by reading it back; text no block can
    hold (a carriage return, a control character) is double-quoted by PyYAML instead."""
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    chomp = "-" if not text.endswith("\n") else "+" if body.endswith("\n") or not body else ""
    leading = next((i for i, line in enumerate(lines) if line.strip(" ")), len(lines) - 1)
    hint = str(len(indent) - key_column) if any(line.startswith(" ") for line in lines[: leading + 1]) else ""
    block = f"|{hint}{chomp}\n" + "".join((indent + line if line else "") + "\n" for line in lines)
    try:
        back = yamlsafe.load_fragment(" " * key_column + "k: " + block)
    except yamlsafe.YamlSyntaxError:
        back = None
    if back == {"k": text}:
        return block
    return _dump(text, flow=True, style='"') + "\n"  # one line: breaks and controls escaped


def entry_to_yaml(entry: dict[str, Any]) -> str:
    """Text of one entry as an item of ``entries:``, ending with a newline."""
    keys = [k for k in FIELD_ORDER if k in entry] + [k for k in entry if k not in FIELD_ORDER]
    out: list[str] = []
    pad = ENTRY_INDENT + "  "
    for i, key in enumerate(keys):
        value = entry[key]
        lead = ENTRY_INDENT + "- " if i == 0 else pad
        if key == "links" and isinstance(value, dict):
            out.append(f"{lead}links:\n")
            for link in [k for k in LINK_ORDER if k in value] + [k for k in value if k not in LINK_ORDER]:
                if link == "arxiv":
                    out.append(f"{pad}  arxiv: {quoted(str(value[link]))}\n")
                else:
                    out.append(_field(link, value[link], pad + "  ", pad + "  "))
        elif key in ("notes", "translations", "summary") and isinstance(value, dict):
            out.append(f"{lead}{key}:\n")
            for lang in ("en", "zh"):
                if value.get(lang):
                    out.append(f"{pad}  {lang}: {_block(value[lang], len(pad) + 2, pad + '    ')}")
        elif key == "subpages" and isinstance(value, list):
            out.append(f"{lead}subpages:\n")
            out.extend(subpages_to_yaml(value, pad + "  "))
        elif key == "refimpl" and isinstance(value, dict):
            out.append(f"{lead}refimpl:\n" + _field("none", value.get("none", ""), pad + "  ", pad + "  "))
        elif key == "refimpl" and isinstance(value, list):
            out.append(f"{lead}refimpl:\n")
            out.extend(f"{pad}  - {scalar(t)}\n" for t in value)
        elif key == "abstract" and isinstance(value, str):
            out.append(f"{lead}abstract: {_block(value, len(pad), pad + '  ')}")
        elif isinstance(value, list):
            out.append(f"{lead}{key}: {flow_list(value)}\n")
        elif key == "arxiv_version" and isinstance(value, str):
            out.append(f"{lead}arxiv_version: {quoted(value)}\n")
        elif key == "added" and isinstance(value, str) and _DATE.match(value):
            out.append(f"{lead}added: {value}\n")  # a date reads back as its text (see yamlsafe)
        else:
            out.append(_field(key, value, lead, pad))
    return "".join(out)


def subpages_to_yaml(items: list[dict[str, Any]], indent: str) -> list[str]:
    """Lines of a ``subpages`` list; paths are always quoted (they hold ``%`` and parentheses)."""
    out: list[str] = []
    for item in items:
        out.append(_field("title", item.get("title", ""), f"{indent}- ", f"{indent}  "))
        out.append(f"{indent}  path: {quoted(str(item.get('path', '')))}\n")
    return out


def parse_entry_text(text: str) -> dict[str, Any]:
    """Parse the text of one entry item back (the check after emitting)."""
    data = yamlsafe.load_fragment(text)
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        raise ValueError("entry text does not parse as one mapping")
    return data[0]
