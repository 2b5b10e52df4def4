"""Sentences the project once appended inside the author's notes to say what it added.

The author's notes (``notes.en``/``notes.zh``) hold the author's words only; a
translation or a summary lives in its own labelled field. A marker sentence inside
the notes means project text was mixed into the author's, so the validator refuses it.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable

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
# Words every marker pattern contains (each pattern holds one of them verbatim),
# so a line without any of them holds no marker. The full pattern tries 14
# case-insensitive branches at every character (~300 us for a 2 kB note); the
# lower-cased text is searched for the words with ``str.find`` in a few
# microseconds, and the pattern runs only on the lines holding one.
MARKER_WORDS = ("translat", "machine", "added", "editor", "译注", "译者注", "编者注", "机器翻译", "笔记", "补充")
# "translat" alone is common in these notes ("image translation"); the patterns holding
# it need "translated" or "translation of", checked where the word was found.
_WORDS_UTF8 = tuple(word.encode("utf-8") for word in MARKER_WORDS)
_TRANSLAT = re.compile(r"translat(?:ed|ion\s+of)")
# The only non-ASCII letters ``re.IGNORECASE`` matches with an ASCII one (İ, ı, ſ, K;
# İ also lower-cases to two characters): a text holding one gets every line searched.
_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"


def _candidate_lines(text: str) -> Iterable[int]:
    """The numbers of the lines of ``text`` that may hold a marker, in order."""
    if not text.isascii():
        if any(char in text for char in _FOLDS_TO_ASCII):
            return itertools.count()
        # Lower-casing Chinese text is slow; the words can match only its ASCII letters,
        # which bytes.lower() alone changes: a quick first screen.
        data = text.encode("utf-8").lower()
        if not any(word in data for word in _WORDS_UTF8):
            return ()
    lowered = text.lower()  # as long as text: İ is not in it
    hits = []
    for word in MARKER_WORDS:
        at = lowered.find(word)
        while at >= 0:
            if word != "translat" or _TRANSLAT.match(lowered, at):
                hits.append(at)
            at = lowered.find(word, at + 1)
    if not hits:
        return ()
    ends = list(itertools.accumulate(map(len, text.splitlines(keepends=True))))
    return sorted({bisect.bisect_right(ends, hit) for hit in hits})


def find_marker(text: str) -> tuple[int, str] | None:
    """(0-based line within ``text``, the matched words) of the first marker, or None."""
    lines: list[str] | None = None
    for number in _candidate_lines(text):
        lines = text.splitlines() if lines is None else lines
        if number >= len(lines):
            break
        match = _MARKER.search(lines[number])
        if match:
            return number, match.group(0)
    return None
