"""Turn what the user typed into clauses: words (as index terms) and quoted phrases.

Nothing the user types raises: an unbalanced quote drops the quotes, operators
and punctuation are not syntax (AND/OR/NOT are stop words), so a malformed
query is searched as the plain words in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh.support.charset import accent_map

from . import analyzers

_PHRASE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class Clause:
    term: str  # the index term (stem for English, word for Chinese)
    raw: str  # the text it came from, lower-cased, accents folded (for author names)

    @property
    def is_cjk(self) -> bool:
        return analyzers.is_cjk(self.term)


@dataclass(frozen=True)
class Phrase:
    clauses: tuple[Clause, ...]
    text: str


@dataclass
class ParsedQuery:
    text: str
    clauses: list[Clause] = field(default_factory=list)  # every word, phrases' words included
    phrases: list[Phrase] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.clauses


def _clauses(text: str) -> list[Clause]:
    out: list[Clause] = []
    for token in analyzers.query_analyzer()(text, mode="query", keeporiginal=True):
        out.append(Clause(token.text, token.original.lower().translate(accent_map)))
    return out


def parse(text: str) -> ParsedQuery:
    text = text.strip()
    parsed = ParsedQuery(text)
    if text.count('"') % 2:
        text = text.replace('"', " ")  # unbalanced: plain words
    seen: set[str] = set()
    pieces = _PHRASE.split(text)
    for i, piece in enumerate(pieces):
        clauses = _clauses(piece)
        if i % 2 and len(clauses) > 1:
            parsed.phrases.append(Phrase(tuple(clauses), piece.strip()))
        for clause in clauses:
            if clause.term not in seen:  # a repeated word counts once
                seen.add(clause.term)
                parsed.clauses.append(clause)
    return parsed
