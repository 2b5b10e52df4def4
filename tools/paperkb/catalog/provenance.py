"""Whose words: trace the author's notes in the catalog back to the note files they came from.

The importer converts a little markdown when it imports a note (see README, "Whose
words"); :func:`normalise` undoes exactly that, so a line of ``notes.en``/``notes.zh``
and the seed line it came from compare equal:

* HTML line breaks and layout wrappers (``<br>``, ``<div>``, ``<center>``) are dropped;
* images whose files are absent become a placeholder line ``*(figure…)*`` (ignored);
* a heading inside a note becomes a bold line (``#### x`` → ``**x**``);
* a link to a local page that is absent keeps its text only;
* indentation (nested lists at 4 spaces) and runs of spaces are not compared;
* code and formulas may be wrapped in a fenced block (the fence lines are ignored).

Nothing else is changed: typos, punctuation and wording are the author's.

Links to Notion sub-pages the export does not contain are not notes text: they are kept
as ``subpages`` data (``{title, path}``), and :func:`subpage_links` finds them in a seed
file so that they can be compared verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WRAPPER = re.compile(r"</?(?:div|center|p|span)\b[^>]*>|<br\s*/?>", re.I)
_HTML_IMAGE = re.compile(r"<img\b[^>]*?>", re.I)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]*)[^)]*\)")
_LOCAL_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((?!https?://|mailto:|#)[^)]*\)")
_HEADING = re.compile(r"^#{1,6}\s*(.+?)\s*#*$")
PLACEHOLDER = re.compile(r"^\*\(figure(?: not included|: [^)]*)\)\*$")
# '[title](relative/path.md)': a link to a page of the export (a path may hold one level of parentheses)
_PAGE_LINK = re.compile(r"(?<!!)\[([^\[\]]+)\]\(((?:[^()\s]|\([^()\s]*\))+\.md)\)")


def normalise(line: str) -> str:
    """A note line with only the importer's markdown conversions undone."""
    text = _HTML_IMAGE.sub("", line)
    text = _MD_IMAGE.sub(lambda m: m.group(0) if m.group(1).startswith(("http://", "https://")) else "", text)
    text = _WRAPPER.sub("", text)
    text = _LOCAL_LINK.sub(r"\1", text)
    text = " ".join(text.split())
    heading = _HEADING.match(text)
    if heading:
        text = f"**{heading.group(1)}**"
    return text


def ignorable(line: str) -> bool:
    """Lines the importer adds around the author's words: fences, figure placeholders, blanks."""
    stripped = line.strip()
    return not stripped or stripped.startswith("```") or bool(PLACEHOLDER.match(stripped))


def seed_lines(texts: Iterable[str]) -> list[str]:
    return [n for text in texts for n in (normalise(line) for line in text.splitlines()) if n]


def untraced_lines(notes: str, seeds: list[str]) -> list[str]:
    """Lines of ``notes`` that are not (part of) a line of the seed files."""
    return [line for line in notes.splitlines()
            if not ignorable(line) and not any(normalise(line) in s for s in seeds)]


def page_links(line: str) -> list[tuple[str, str]]:
    """``(text, path)`` of each link in ``line`` to a relative ``.md`` page."""
    return [(m.group(1), m.group(2)) for m in _PAGE_LINK.finditer(line)
            if not m.group(2).startswith(("http://", "https://", "/"))]


def is_subpage_line(line: str) -> bool:
    """A line that is nothing but one link to a relative page: a Notion sub-page block."""
    match = _PAGE_LINK.fullmatch(line.strip())
    return match is not None and bool(page_links(line.strip()))
