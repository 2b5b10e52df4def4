"""Chinese word segmentation: jieba's dictionary and algorithm, loaded in milliseconds.

jieba builds a prefix dictionary of ~500,000 keys before its first cut, which
costs about a second per process. A query of a few characters needs only the
dictionary words that start with those characters, so the dictionary is kept in
a cache file as one string of words per first character; a cut parses just the
shards for the characters it meets. The segmentation is jieba's own
(``cut_for_search`` / ``cut`` with ``HMM=False``: the DAG of dictionary words and
the maximum-probability route over it); the tests check that both agree.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import re
from math import log
from pathlib import Path

from .. import paths

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_FORMAT = 1


def jieba_dictionary() -> Path:
    """jieba's bundled dict.txt, found without importing jieba (its import is slow)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise RuntimeError("jieba is not installed; it is needed to segment Chinese text")
    return Path(spec.origin).parent / "dict.txt"


def _build_shards(source: Path) -> tuple[int, dict[str, str]]:
    freq: dict[str, int] = {}
    total = 0
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.strip().split(" ")
            if len(parts) < 2 or not parts[0]:
                continue
            count = int(parts[1])
            freq[parts[0]] = count  # a repeated word keeps its last count, as in jieba
            total += count
    grouped: dict[str, list[str]] = {}
    for word, count in freq.items():
        grouped.setdefault(word[0], []).append(f"{word}\t{count}")
    return total, {first: "\n".join(items) for first, items in grouped.items()}


class Segmenter:
    """jieba's segmentation over a lazily parsed copy of its dictionary."""

    def __init__(self, cache_dir: str | Path | None = None, source: str | Path | None = None) -> None:
        self._cache_dir = Path(cache_dir) if cache_dir else paths.CACHE_DIR
        self._source = Path(source) if source else None
        self._shards: dict[str, str] | None = None
        self._freq: dict[str, int] = {}  # words, and their prefixes with 0, as jieba's FREQ
        self._loaded: set[str] = set()
        self._logtotal = 0.0

    # -- dictionary ----------------------------------------------------------
    def _load(self) -> None:
        source = self._source or jieba_dictionary()
        stat = source.stat()
        key = f"{_FORMAT}:{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        cache = self._cache_dir / "zh-dict.marshal"
        try:
            stored_key, total, shards = marshal.loads(cache.read_bytes())
            if stored_key != key:
                raise ValueError("stale dictionary cache")
        except (OSError, ValueError, EOFError, TypeError):
            total, shards = _build_shards(source)
            try:
                self._cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
                tmp.write_bytes(marshal.dumps((key, total, shards)))
                os.replace(tmp, cache)
            except OSError:
                pass  # read-only checkout: rebuild in memory each time
        self._shards = shards
        self._logtotal = log(total)

    def _need(self, text: str) -> None:
        if self._shards is None:
            self._load()
        assert self._shards is not None
        freq = self._freq
        for first in set(text) - self._loaded:
            self._loaded.add(first)
            shard = self._shards.get(first)
            if not shard:
                continue
            for item in shard.split("\n"):
                word, count = item.split("\t")
                freq[word] = int(count)
                for end in range(1, len(word)):
                    freq.setdefault(word[:end], 0)

    def word_frequency(self, word: str) -> int:
        self._need(word[:1])
        return self._freq.get(word, 0)

    # -- jieba's algorithm ---------------------------------------------------
    def _route(self, run: str) -> list[str]:
        # jieba's DAG and its maximum-probability route, in one backward pass: the
        # dictionary words starting at each position are met as the route is scored,
        # not stored first. Scores and ties (the longer word wins) are jieba's.
        freq = self._freq
        n = len(run)
        logtotal = self._logtotal
        score = [0.0] * (n + 1)
        end = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            best, best_end = None, k
            i = k
            frag = run[k]
            while i < n and frag in freq:
                count = freq[frag]
                if count:
                    value = log(count) - logtotal + score[i + 1]
                    if best is None or value >= best:
                        best, best_end = value, i
                i += 1
                frag = run[k : i + 1]
            if best is None:  # no dictionary word starts here: the character alone
                best = log(freq.get(run[k]) or 1) - logtotal + score[k + 1]
            score[k], end[k] = best, best_end
        words = []
        x = 0
        while x < n:
            y = end[x] + 1
            words.append(run[x:y])
            x = y
        return words

    def cut(self, run: str) -> list[str]:
        """Segment one run of Chinese characters (jieba ``cut(HMM=False)``)."""
        if not run:
            return []
        self._need(run)
        return self._route(run)

    def cut_for_search(self, run: str) -> list[tuple[str, bool]]:
        """Words plus the dictionary words inside long ones, as ``(word, is_part)``.

        Parts come before their word, in jieba's ``cut_for_search`` order.
        """
        freq = self._freq
        out: list[tuple[str, bool]] = []
        for word in self.cut(run):
            size = len(word)
            if size > 2:
                out.extend((word[i : i + 2], True) for i in range(size - 1) if freq.get(word[i : i + 2]))
            if size > 3:
                out.extend((word[i : i + 3], True) for i in range(size - 2) if freq.get(word[i : i + 3]))
            out.append((word, False))
        return out


_default: Segmenter | None = None


def default_segmenter() -> Segmenter:
    global _default
    if _default is None:
        _default = Segmenter()
    return _default


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None
