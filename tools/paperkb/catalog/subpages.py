"""Notion sub-pages: pages the author linked to whose files the export does not contain.

A Notion export links a page's sub-pages by relative path
(``Paper%20Study%20<id>/pix2pix%20<id>.md``). The files are not in the export, so the
catalog keeps each link as data, ``{title, path}``, the page title and the path exactly
as exported, and the site shows them as labels, never as links. An entry holds the
sub-pages that are its own notes (``subpages:``); ``note_files:`` holds, per note file,
the sub-pages that belong to no entry (002's "Rendering").
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

MAX_TITLE = 200
MAX_PATH = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# A Notion export names a page file '<title> <32 hex digits>.md'.
_NOTION_FILE = re.compile(r"^(?P<title>.+?) (?P<id>[0-9a-f]{32})\.md$")


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a relative path inside the export, or None.

    Checked on the text as written and once percent-decoded, so ``%2E%2E`` or
    ``%0A`` cannot smuggle in what the plain form would refuse."""
    if not path:
        return "the path is empty"
    if len(path) > MAX_PATH:
        return f"the path is longer than {MAX_PATH} characters"
    for form in (path, unquote(path)):
        if found := _CONTROL.search(form):
            return f"control character U+{ord(found.group()):04X} is not allowed in a path"
        if _SCHEME.match(form) or form.startswith("//"):
            return f"{path!r} is not a relative path (it names a scheme or a host)"
        if form.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", form):
            return f"{path!r} is not a relative path"
        if "\\" in form:
            return f"{path!r}: use '/' between folders, not '\\'"
        if ".." in form.split("/"):
            return f"{path!r} leaves the export ('..')"
    return None


def title_problem(title: str) -> str | None:
    if not title.strip():
        return "the title is empty"
    if len(title) > MAX_TITLE:
        return f"the title is longer than {MAX_TITLE} characters"
    if found := _CONTROL.search(title):
        return f"control character U+{ord(found.group()):04X} is not allowed in a title"
    return None


def problems(items: Any) -> list[tuple[tuple[int | str, ...], str]]:
    """``(path inside the list, message)`` for each bad item of a ``subpages`` list
    (shapes the schema already refuses are left to it)."""
    found: list[tuple[tuple[int | str, ...], str]] = []
    if not isinstance(items, list):
        return found
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        title, path = item.get("title"), item.get("path")
        if isinstance(title, str) and (why := title_problem(title)):
            found.append(((i, "title"), why))
        if isinstance(path, str):
            if why := path_problem(path):
                found.append(((i, "path"), why))
            elif path in seen:
                found.append(((i, "path"), f"the same sub-page as item {seen[path] + 1}"))
            else:
                seen[path] = i
    return found


def title_from_path(path: str) -> str:
    """The page title a Notion export's file name carries: 'pix2pix%20<id>.md' → 'pix2pix'."""
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    match = _NOTION_FILE.match(name)
    if match:
        return match.group("title")
    return name.removesuffix(".md")


def as_markdown(item: dict[str, str]) -> str:
    """The link as the export wrote it: ``[title](path)``."""
    return f"[{item['title']}]({item['path']})"
