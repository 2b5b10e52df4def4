"""Ranking over the whoosh index with whole posting lists at a time.

whoosh's own collector scores one document per Python step; with notes of a
few hundred words, common terms occur in most of 10,000 entries and a query
takes 50-200 ms. Here each query term's posting list is read from the whoosh
index block by block and scored in one step per term (numpy arrays for a large
index, plain lists for a small one, see :mod:`.vectors`). The score is
whoosh's BM25F (same idf, field lengths and constants; a test checks the two
agree), summed over fields and query words.

Ranking: entries that match every word first, then those that match fewer,
each group by score. Quoted phrases are checked in the stored text of the best
candidates, which then move to the front. When few entries match every word,
the words the index does not know get fuzzy alternatives (terms one or two
edits away) at a discount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import log
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3LeafMatcher

from . import analyzers, glossary, vectors, zh
from .query import Clause, ParsedQuery

PROSE_FIELDS = ("title", "tagtext", "notes_en", "notes_zh", "added", "glossary", "code")
PHRASE_FIELDS = ("title", "tagtext", "notes_en", "notes_zh", "glossary")
MAX_PHRASE_CHECKS = 300  # entries whose stored text is checked for a quoted phrase
FUZZY_DISCOUNT = 0.5
FEW = 3  # fewer entries than this matching every word: try fuzzy terms


@dataclass
class Filters:
    tags: tuple[str, ...] = ()  # slugs; an entry must carry all of them
    status: str | None = None
    kind: str | None = None
    years: tuple[int, int] | None = None


@dataclass
class Ranked:
    docnum: int
    relevance: float  # whoosh's BM25F, summed over fields and words
    matched: int  # how many query words it matches (a fuzzy match counts)
    of: int
    fuzzy: bool = False
    phrase: bool = False  # holds every quoted phrase

    @property
    def score(self) -> float:
        """Falls with the rank: the integer part is the words matched (plus one for the
        phrases), the fraction the relevance squashed into [0, 1)."""
        tier = self.matched + (1 if self.phrase else 0)
        return tier + self.relevance / (self.relevance + 10.0)


@dataclass
class Outcome:
    ranked: list[Ranked]
    total: int  # entries matching at least one word
    highlight: set[str] = field(default_factory=set)  # terms to mark in snippets
    fuzzy_terms: dict[str, list[str]] = field(default_factory=dict)


def damerau_distance(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions; stops early past ``limit`` (returns limit + 1)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class Engine:
    """An open index: keep one per process and query it many times.

    ``backend``: "numpy" or "lists" to force one (tests), None to choose by size.
    """

    def __init__(self, index_dir: str | Path, backend: str | None = None) -> None:
        self.ix = whoosh_index.open_dir(str(index_dir))
        self.searcher = self.ix.searcher()
        self.leaves = self.searcher.reader().leaf_readers()  # [(segment reader, doc offset)]
        self.size = self.searcher.doc_count_all()
        self.vec = vectors.for_size(self.size, backend)
        self._lengths: dict[str, Any] = {}
        self._alive: Any = None

    def close(self) -> None:
        self.searcher.close()
        self.ix.close()

    # -- per-index vectors, computed once per process ------------------------
    @property
    def alive(self) -> Any:
        if self._alive is None:
            alive = self.vec.mask(True)
            for reader, offset in self.leaves:
                if reader.has_deletions():
                    dead = getattr(reader, "deleted_docs_set", None)
                    if dead is None:
                        dead = [d for d in range(reader.doc_count_all()) if reader.is_deleted(d)]
                    for d in dead:
                        alive[offset + d] = False
            self._alive = alive
        return self._alive

    def lengths(self, fieldname: str) -> Any:
        cached = self._lengths.get(fieldname)
        if cached is not None:
            return cached
        raw = bytearray()
        for reader, _ in self.leaves:
            column = _length_column(reader, fieldname)
            if column is None:  # another codec: one document at a time
                column = bytes(
                    _length_byte(reader.doc_field_length(d, fieldname, 0)) for d in range(reader.doc_count_all())
                )
            raw += column
        out = self.vec.lengths(bytes(raw))
        self._lengths[fieldname] = out
        return out

    # -- postings ------------------------------------------------------------
    def postings(self, fieldname: str, term: str) -> tuple[Any, Any]:
        """Global doc numbers and weights of one term, deleted documents included."""
        id_parts: list = []
        weight_parts: list = []
        for reader, offset in self.leaves:
            if (fieldname, term) not in reader:
                continue
            blocks, weights = _read_all(reader.postings(fieldname, term))
            id_parts.append(self.vec.ids(blocks, offset))
            weight_parts.append(self.vec.floats(weights))
        return self.vec.concat(id_parts), self.vec.concat(weight_parts)

    def term_scores(self, fieldname: str, term: str) -> tuple[Any, Any]:
        """whoosh's BM25F score of one term in one field, for every entry holding it."""
        ids, weights = self.postings(fieldname, term)
        if len(ids) == 0:
            return ids, weights
        searcher = self.searcher
        idf = log(self.size / (searcher.doc_frequency(fieldname, term) + 1)) + 1
        avgfl = searcher.avg_field_length(fieldname) or 1
        return ids, self.vec.bm25(weights, ids, self.lengths(fieldname), idf, avgfl)

    def clause_scores(self, clause: Clause) -> Any:
        """Score of one query word in every entry (0 where it does not occur)."""
        total = self.vec.zeros()
        fields = [(f, clause.term) for f in PROSE_FIELDS]
        if not clause.is_cjk:
            fields.append(("authors", clause.raw))
        for fieldname, term in fields:
            ids, scores = self.term_scores(fieldname, term)
            self.vec.add_at(total, ids, scores)
        return total

    def doc_frequency(self, clause: Clause) -> int:
        return max(self.searcher.doc_frequency(f, clause.term) for f in PROSE_FIELDS)

    # -- fuzzy ---------------------------------------------------------------
    def near_terms(self, term: str) -> list[str]:
        """Index terms one edit (two for long words) from ``term``, same first letter."""
        limit = 1 if len(term) < 7 else 2
        found: set[str] = set()
        for fieldname in ("title", "tagtext", "notes_en", "glossary", "code"):
            for candidate in self.searcher.reader().expand_prefix(fieldname, term[0]):
                if isinstance(candidate, bytes):
                    candidate = candidate.decode("utf-8")
                if candidate != term and damerau_distance(term, candidate, limit) <= limit:
                    found.add(candidate)
        return sorted(found)

    # -- filters -------------------------------------------------------------
    def _term_mask(self, fieldname: str, values: list[str]) -> Any:
        mask = self.vec.mask(False)
        for value in values:
            ids, _ = self.postings(fieldname, value)
            self.vec.set_at(mask, ids)
        return mask

    def filter_mask(self, filters: Filters) -> Any:
        mask = self.alive
        for slug in filters.tags:
            mask = self.vec.and_(mask, self._term_mask("tags", [slug.lower()]))
        if filters.status:
            mask = self.vec.and_(mask, self._term_mask("status", [filters.status]))
        if filters.kind:
            mask = self.vec.and_(mask, self._term_mask("kind", [filters.kind]))
        if filters.years:
            low, high = filters.years
            mask = self.vec.and_(mask, self._term_mask("year", [str(y) for y in range(low, high + 1)]))
        return mask

    def contains_phrase(self, docnum: int, terms: tuple[str, ...]) -> bool:
        """Whether the words occur in this order in a stored field of the entry."""
        fields = self.stored(docnum)
        if all(analyzers.is_cjk(t) for t in terms):  # Chinese words in a row are one run of characters
            run = "".join(terms)
            return any(run in (fields.get(name) or "") for name in PHRASE_FIELDS)
        analyzer = analyzers.query_analyzer()
        # Text that lacks a word cannot hold the phrase; analysing it (segmenting
        # Chinese) is the slow part. A Porter stem less its last letter begins the word.
        needles = [t if analyzers.is_cjk(t) or len(t) < 3 else t[:-1] for t in terms]
        for name in PHRASE_FIELDS:
            text = fields.get(name)
            if not text:
                continue
            folded = text.casefold()
            if not all(needle in folded for needle in needles):
                continue
            positions: dict[str, set[int]] = {}
            for token in analyzer(text, positions=True, mode="index"):
                positions.setdefault(token.text, set()).add(token.pos)
            for start in positions.get(terms[0], ()):
                if all(start + i in positions.get(term, ()) for i, term in enumerate(terms)):
                    return True
        return False

    def _phrases_first(
        self, order: list[int], parsed: ParsedQuery, complete: int, limit: int
    ) -> tuple[list[int], set[int]]:
        """Move entries holding every quoted phrase to the front (checked in rank order)."""
        phrases = [tuple(c.term for c in p.clauses) for p in parsed.phrases]
        good: list[int] = []
        for docnum in order[: min(complete, MAX_PHRASE_CHECKS)]:
            if all(self.contains_phrase(docnum, terms) for terms in phrases):
                good.append(docnum)
                if len(good) >= limit:
                    break
        chosen = set(good)
        return good + [d for d in order if d not in chosen], chosen

    # -- the query -------------------------------------------------------------
    def run(self, parsed: ParsedQuery, filters: Filters | None = None, limit: int = 10) -> Outcome:
        if parsed.empty:
            return Outcome([], 0)
        vec = self.vec
        mask = self.filter_mask(filters or Filters())
        words = parsed.clauses
        highlight = {c.term for c in words} | {c.raw for c in words}
        per_clause = [self.clause_scores(clause) for clause in words]
        score = per_clause[0]
        matched = vec.count_positive(None, per_clause[0])
        for scores in per_clause[1:]:
            score = vec.plus(score, scores)
            matched = vec.count_positive(matched, scores)
        fuzzy_terms: dict[str, list[str]] = {}
        fuzzy_hit = vec.mask(False)
        if vec.count_all(matched, len(words), mask) < FEW:
            for i, clause in enumerate(words):
                # only words the index does not know: a rare real word is not a typo
                if clause.is_cjk or len(clause.term) < 4 or self.doc_frequency(clause) > 0:
                    continue
                near = self.near_terms(clause.term)
                if not near:
                    continue
                fuzzy_terms[clause.raw] = near
                extra = self.clause_scores(Clause(near[0], near[0]))
                for term in near[1:]:
                    extra = vec.maximum(extra, self.clause_scores(Clause(term, term)))
                score, matched, gained = vec.gain(score, matched, per_clause[i], extra, FUZZY_DISCOUNT)
                fuzzy_hit = vec.or_(fuzzy_hit, gained)
                highlight.update(near)
        for translated in glossary.translations([c.term for c in words], parsed.text):
            highlight.update(translated.split() if translated.isascii() else [translated])
        # Chinese: mark what was typed, not each one-character piece of it (器 is in every 生成器)
        highlight = {t for t in highlight if not (len(t) == 1 and analyzers.is_cjk(t))}
        highlight.update(zh.CJK_RUN.findall(parsed.text))
        order = vec.order(score, matched, mask)
        with_phrase: set[int] = set()
        if parsed.phrases:
            complete = vec.count_all(matched, len(words), mask)
            order, with_phrase = self._phrases_first(order, parsed, complete, limit)
        ranked = [
            Ranked(
                d,
                float(vec.get(score, d)),
                int(vec.get(matched, d)),
                len(words),
                bool(vec.get(fuzzy_hit, d)),
                d in with_phrase,
            )
            for d in order[:limit]
        ]
        return Outcome(ranked, len(order), highlight, fuzzy_terms)

    def stored(self, docnum: int) -> dict:
        return self.searcher.stored_fields(docnum)


def _length_byte(length: int | None) -> int:
    from whoosh.util.numeric import length_to_byte

    return length_to_byte(length or 0)


def _length_column(reader: Any, fieldname: str) -> bytes | None:
    """A segment's one-byte encoded field lengths, read in one piece (None if unreadable)."""
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        docs = reader.doc_count_all()
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return bytes(docs)
        # the column stops at the last document with a value: pad the rest with 0
        stored = min(getattr(column, "_count", column._doccount), docs)
        return bytes(column._dbfile.get(column._basepos, stored)).ljust(docs, b"\0")
    except (AttributeError, TypeError, ValueError):
        return None


def _read_all(matcher: Any) -> tuple[list, list]:
    """A posting list as (delta-coded id blocks, weight blocks), whole blocks at a time.

    whoosh's w3 blocks hold ids as deltas (decoded by the vectors with a
    cumulative sum, not a Python generator), and weights as an array, one
    shared float, or None for all ones. Another layout is read posting by posting.
    """
    from whoosh.matching.wrappers import FilterMatcher

    if isinstance(matcher, FilterMatcher):  # deleted documents: masked out later
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        try:
            return _read_blocks(matcher)
        except (AttributeError, TypeError, ValueError, IndexError):
            matcher.reset()
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    deltas = [b - a for a, b in zip([0, *ids[:-1]], ids, strict=True)]
    return [deltas], [weights]


def _read_blocks(matcher: W3LeafMatcher) -> tuple[list, list]:
    blocks: list = []
    weights: list = []
    while matcher.is_active():
        matcher._read_data()
        deltas, block_weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        blocks.append(deltas)
        if block_weights is None:
            weights.append([1.0] * count)
        elif isinstance(block_weights, float):
            weights.append([block_weights] * count)
        else:
            weights.append(block_weights)
        matcher._next_block()
    return blocks, weights
