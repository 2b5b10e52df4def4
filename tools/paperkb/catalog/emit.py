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


def scalar(value: Any) -> str:
    """One scalar as YAML text (quoted only when YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    return text.removesuffix("\n...\n").rstrip("\n")


def quoted(value: str) -> str:
    """Always double-quoted (arXiv ids: an unquoted 1703.10590 reads as a float)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block(text: str, indent: str) -> str:
    body = text if text.endswith("\n") else text + "\n"
    lines = [(indent + line) if line.strip() else "" for line in body.splitlines()]
    return "|\n" + "\n".join(lines) + "\n"


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
                text = quoted(str(value[link])) if link == "arxiv" else scalar(value[link])
                out.append(f"{pad}  {link}: {text}\n")
        elif key in ("notes", "translations", "summary") and isinstance(value, dict):
            out.append(f"{lead}{key}:\n")
            for lang in ("en", "zh"):
                if value.get(lang):
                    out.append(f"{pad}  {lang}: {_block(value[lang], pad + '    ')}")
        elif key == "subpages" and isinstance(value, list):
            out.append(f"{lead}subpages:\n")
            out.extend(subpages_to_yaml(value, pad + "  "))
        elif key == "refimpl" and isinstance(value, dict):
            out.append(f"{lead}refimpl:\n{pad}  none: {scalar(value.get('none', ''))}\n")
        elif key == "refimpl" and isinstance(value, list):
            out.append(f"{lead}refimpl:\n")
            out.extend(f"{pad}  - {scalar(t)}\n" for t in value)
        elif key == "abstract" and isinstance(value, str):
            out.append(f"{lead}abstract: {_block(value, pad + '  ')}")
        elif isinstance(value, list):
            out.append(f"{lead}{key}: [{', '.join(scalar(v) for v in value)}]\n")
        elif key == "arxiv_version" and isinstance(value, str):
            out.append(f"{lead}arxiv_version: {quoted(value)}\n")
        elif key == "added" and isinstance(value, str) and _DATE.match(value):
            out.append(f"{lead}added: {value}\n")  # a date reads back as its text (see yamlsafe)
        else:
            out.append(f"{lead}{key}: {scalar(value)}\n")
    return "".join(out)


def subpages_to_yaml(items: list[dict[str, Any]], indent: str) -> list[str]:
    """Lines of a ``subpages`` list; paths are always quoted (they hold ``%`` and parentheses)."""
    out: list[str] = []
    for item in items:
        out.append(f"{indent}- title: {scalar(item.get('title', ''))}\n")
        out.append(f"{indent}  path: {quoted(str(item.get('path', '')))}\n")
    return out


def parse_entry_text(text: str) -> dict[str, Any]:
    """Parse the text of one entry item back (the check after emitting)."""
    data = yamlsafe.load_fragment(text)
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        raise ValueError("entry text does not parse as one mapping")
    return data[0]
