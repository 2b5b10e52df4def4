"""Sentences the project once appended inside the author's notes to say what it added.

The author's notes (``notes.en``/``notes.zh``) hold the author's words only; a
translation or a summary lives in its own labelled field. A marker sentence inside
the notes means project text was mixed into the author's, so the validator refuses it.
"""

from __future__ import annotations

import re

# Marker-like forms only: "翻译注意力" or a note about machine-translation papers must not match.
MARKER_PATTERNS: tuple[str, ...] = (
    r"translated\s+from",
    r"translation\s+of\s+the\s+(?:chinese|english|author'?s)\s+notes",
    r"machine[\s-]+translated",
    r"machine[\s-]+translation\s+of\b",
    r"\(\s*machine[\s-]+translation\s*\)",
    r"auto(?:matically)?[\s-]+translated",
    r"\(\s*added\s*\)",
    r"\[\s*added\s*\]",
    r"added\s+by\s+(?:the\s+)?(?:editor|project|paperkb)",
    r"editor'?s\s+note",
    r"[（(【\[]\s*(?:译注|译者注|编者注|机器翻译)",
    r"(?:译注|译者注|编者注)\s*[：:]",
    r"据(?:英文|中文)笔记",
    r"[（(]\s*补充\s*[)）]",
)
_MARKER = re.compile("|".join(f"(?:{p})" for p in MARKER_PATTERNS), re.I)


def find_marker(text: str) -> tuple[int, str] | None:
    """(0-based line within ``text``, the matched words) of the first marker, or None."""
    for number, line in enumerate(text.splitlines()):
        match = _MARKER.search(line)
        if match:
            return number, match.group(0)
    return None
