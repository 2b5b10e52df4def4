"""Escaping by construction: every catalog string reaches a page through one of these.

- :func:`md_inline` for text placed in markdown (a heading, a list item): the result is
  one line of plain text whatever the input holds, so a title cannot open a block, a link,
  an attribute list or a formula.
- :func:`safe_url` for link targets: only ``http``, ``https`` and relative URLs survive.
- HTML contexts rely on Jinja's autoescape (see ``pages._env``); rendered notes and
  abstracts go through :mod:`.sanitize`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markupsafe import Markup

# Characters Python-Markdown (with this site's extensions) reads as syntax. Backslash
# escapes keep the character itself in the page text (and so in the search index);
# parentheses and angle brackets take character references instead, because
# arithmatex reads ``\(`` as the start of a formula and ``\<`` is not an escape.
_BACKSLASHED = set("\\`*_{}[]#+|$")
_LIST_START = re.compile(r"^(\d+)([.)])(?=\s|$)|^([-+])(?=\s|$)")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "(": "&#40;", ")": "&#41;", '"': "&quot;", "'": "&#39;"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_SPACE = re.compile(r"\s+")

SAFE_SCHEMES = frozenset({"http", "https"})


def one_line(text: object) -> str:
    """The text with control characters dropped and every run of whitespace one space."""
    return _SPACE.sub(" ", _CONTROL.sub("", str(text))).strip()


def md_inline(text: object) -> Markup:
    """Plain text for a markdown context: one line, every syntax character inert."""
    out = []
    line = one_line(text)
    # "-", "." and "!" are syntax only at the start of a line ("- item", "1. item") or
    # before "[" (escaped anyway): left alone elsewhere, "Real-time" stays searchable.
    start = _LIST_START.match(line)
    if start:
        out.append(start.group(1) + "\\" + start.group(2) if start.group(1) else "\\" + start.group(3))
        line = line[start.end() :]
    for ch in line:
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _BACKSLASHED:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return Markup("".join(out))


def safe_url(url: object) -> str | None:
    """The URL if it is ``http(s)`` or relative (no scheme, no host), else None."""
    text = str(url).strip()
    if not text or _CONTROL.search(text) or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme:
        return text if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc else None
    # "//host/x" is another site; "\\host" is one too for browsers.
    if parts.netloc or text.startswith(("\\", "/\\")):
        return None
    return text
