"""Results for people (a ranked list, colours on a terminal) and for programs (JSON)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..terminal import json_safe, printable
from . import analyzers

_WORD = re.compile(r"[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SPACE = re.compile(r"\s+")
SNIPPET_CHARS = 160


@dataclass
class Hit:
    id: str
    title: str
    kind: str
    status: str
    score: float
    tags: list[str]  # display labels
    snippet: str
    marks: list[tuple[int, int]]  # spans of ``snippet`` that matched
    fuzzy: bool = False

    @property
    def url(self) -> str:
        return f"entries/{self.id}/"


def _match_spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    latin = {t for t in terms if t.isascii()}
    if latin:
        for match in _WORD.finditer(text):
            word = match.group().lower()
            if word in latin or analyzers.stem(word) in latin:
                spans.append(match.span())
    for term in terms:
        if term and not term.isascii() and analyzers.is_cjk(term):
            start = text.find(term)
            while start >= 0:
                spans.append((start, start + len(term)))
                start = text.find(term, start + len(term))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _densest(spans: list[tuple[int, int]], reach: int) -> int:
    """Index of the first span with the most span starts in ``[start, start + reach)``:
    one sliding window over the sorted spans, linear in their number."""
    best, best_count, end = 0, -1, 0
    for i, (start, _) in enumerate(spans):
        end = max(end, i)
        while end < len(spans) and spans[end][0] < start + reach:
            end += 1
        if end - i > best_count:
            best, best_count = i, end - i
    return best


def snippet(texts: list[str], terms: set[str], width: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """The window of ``width`` characters with the most matches, from the best text.

    Returns the snippet and the spans inside it to highlight.
    """
    best: tuple[int, str, list[tuple[int, int]]] | None = None
    for raw in texts:
        text = _SPACE.sub(" ", raw or "").strip()
        if not text:
            continue
        spans = _match_spans(text, terms)
        if best is None or len(spans) > best[0]:
            best = (len(spans), text, spans)
    if best is None:
        return "", []
    _, text, spans = best
    start = 0
    if spans:
        # the window starting shortly before the match that has the most matches after it
        first = spans[_densest(spans, width - 20)][0]
        start = max(0, first - 20)
        if start:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 15 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    marks = [(max(s, start) + shift, min(e, end) + shift) for s, e in spans if s < end and e > start]
    return f"{prefix}{text[start:end]}{suffix}", marks


# -- output ------------------------------------------------------------------
_BADGE = {"read": "32", "reading": "33", "unread": "90"}  # green, yellow, grey


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _marked(text: str, marks: list[tuple[int, int]], colour: bool) -> str:
    if not colour:
        return printable(text)
    out, last = [], 0
    for start, end in marks:
        out += [printable(text[last:start]), _paint(printable(text[start:end]), "1;31", True)]
        last = end
    out.append(printable(text[last:]))
    return "".join(out)


def to_text(hits: list[Hit], query: str, total: int, colour: bool, note: str = "") -> str:
    note = printable(note)
    if not hits:
        return f"No entries match {printable(repr(query))}.{(' ' + note) if note else ''}\n"
    lines = []
    for rank, hit in enumerate(hits, 1):
        badge = _paint(f"[{printable(hit.status)}]", _BADGE.get(hit.status, "0"), colour)
        kind = "" if hit.kind == "paper" else f" ({printable(hit.kind)})"
        title = printable(hit.title)
        lines.append(f"{rank:>2}. {_paint(printable(hit.id), '1;36', colour)}  {title}{kind}  {badge}")
        if hit.tags:
            lines.append(f"    {_paint(printable(', '.join(hit.tags)), '2', colour)}")
        if hit.snippet:
            lines.append(f"    {_marked(hit.snippet, hit.marks, colour)}")
    shown = f"{len(hits)} of {total}" if total > len(hits) else f"{len(hits)}"
    for_query = f"for {printable(repr(query))}.{(' ' + note) if note else ''}"
    lines.append(f"\n{shown} {'entry' if total == 1 else 'entries'} {for_query}")
    return "\n".join(lines) + "\n"


def to_json(hits: list[Hit]) -> str:
    rows = [
        {
            "id": h.id,
            "title": h.title,
            "kind": h.kind,
            "status": h.status,
            "score": round(h.score, 4),
            "url": h.url,
            "snippet": h.snippet,
        }
        for h in hits
    ]
    return json_safe(json.dumps(rows, ensure_ascii=False, indent=2)) + "\n"
