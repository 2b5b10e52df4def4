"""Text analysis for the index and for queries: English stems, Chinese words, code names.

One *mixed* analyzer serves every prose field, because titles, tags and notes mix
both languages ("自适应实例归一化（AdaIN）"): runs of Chinese characters are
segmented (jieba's dictionary, see :mod:`.zh`), everything else is split into
words, lower-cased and Porter-stemmed, so "losses" finds "loss". The Chinese
dictionary is touched only when the text has Chinese in it, so analysing an
English query never loads it.

In the index, a long Chinese word also yields the dictionary words inside it
(jieba's ``cut_for_search``) at the word's position; a query keeps whole words,
so "一致性" finds "循环一致性" and a phrase of words still matches positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from whoosh.analysis import Analyzer, CharsetFilter, Filter, LowercaseFilter, StopFilter, Token, Tokenizer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem as _porter_stem
from whoosh.support.charset import accent_map

from . import zh

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W{_CJK}]+(?:\.[^\W{_CJK}]+)*)")
_IDENT_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# Function words that carry no meaning for search, in both languages.
_ZH_STOP = "的 了 和 与 及 或 是 在 把 被 也 就 都 而 对 从 到 以 之 其 这 那 一个 我们 可以 用 将 为"
ZH_STOP_WORDS = frozenset(_ZH_STOP.split(" "))
STOP = frozenset(STOP_WORDS) | ZH_STOP_WORDS


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _porter_stem(word)


def is_cjk(text: str) -> bool:
    return bool(text) and "\u3400" <= text[0] <= "\ufaff" and zh.CJK_RUN.match(text) is not None


class MixedTokenizer(Tokenizer):
    """Words of Latin script; Chinese runs segmented (with sub-words when indexing)."""

    def __init__(self, segmenter: zh.Segmenter | None = None) -> None:
        self._segmenter = segmenter

    @property
    def segmenter(self) -> zh.Segmenter:
        return self._segmenter or zh.default_segmenter()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __getstate__(self) -> dict:
        return {"_segmenter": None}  # whoosh pickles the schema; the dictionary stays out

    def __call__(  # noqa: PLR0913 - whoosh's tokenizer protocol
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        pos = start_pos
        for match in _PIECE.finditer(value):
            run = match.group("cjk")
            if run is None:
                words = [(match.group(), match.start(), match.end(), False)]
            else:
                words = []
                offset = match.start()
                if mode == "query":
                    for word in self.segmenter.cut(run):
                        words.append((word, offset, offset + len(word), False))
                        offset += len(word)
                else:
                    for word, part in self.segmenter.cut_for_search(run):
                        if part:
                            start = run.find(word, offset - match.start()) + match.start()
                            words.append((word, start, start + len(word), True))
                        else:
                            words.append((word, offset, offset + len(word), False))
                            offset += len(word)
            for text, start, end, part in words:
                token.text = text
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = text
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar, token.endchar = start_char + start, start_char + end
                yield token
                if not part:
                    pos += 1


class _StatelessFilter(Filter):
    """A filter without settings: any two are equal (whoosh compares schemas)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


class LatinStemFilter(_StatelessFilter):
    """Porter stems for Latin-script words; Chinese words pass unchanged."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            text = token.text
            if not token.stopped and text.isascii() and not text.isdigit():
                token.text = stem(text)
            yield token


class IdentifierSplitFilter(_StatelessFilter):
    """``AdaINStyleTransfer`` → adaINStyleTransfer + AdaIN, Style, Transfer (same position)."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            whole = token.text
            parts = [p for chunk in whole.split("_") for p in _IDENT_PART.findall(chunk)]
            yield token
            if len(parts) > 1:
                for part in parts:
                    token.text = part
                    yield token
            token.text = whole


def mixed_analyzer() -> Analyzer:
    return MixedTokenizer() | LowercaseFilter() | StopFilter(stoplist=STOP, minsize=1) | LatinStemFilter()


def name_analyzer() -> Analyzer:
    """Author names: whole words, accents folded ("Björn" = "bjorn"), no stemming."""
    return MixedTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)


def code_analyzer() -> Analyzer:
    """Symbol names split at case and underscores, then stemmed like prose."""
    return (
        MixedTokenizer()
        | IdentifierSplitFilter()
        | LowercaseFilter()
        | StopFilter(stoplist=STOP, minsize=1)
        | LatinStemFilter()
    )


def query_terms(text: str) -> list[str]:
    """The index terms a piece of text becomes as a query (whole words, stems)."""
    return [t.text for t in query_analyzer()(text, mode="query")]


@lru_cache(maxsize=1)
def query_analyzer() -> Analyzer:
    return mixed_analyzer()
