"""Per-entry score vectors, in numpy for large indexes and in plain lists for small ones.

Importing numpy takes about a tenth of a second, a third of the time a query
process may take; a catalog of a few thousand entries is scored as fast with
lists. Both classes have the same methods and give the same numbers (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from whoosh.util.numeric import byte_to_length

B, K1 = 0.75, 1.2  # whoosh's BM25F defaults
BYTE_TO_LENGTH = [float(byte_to_length(b)) for b in range(256)]
NUMPY_FROM = 3000  # entries; below this the lists are as fast and numpy's import is saved


class ListVectors:
    """Dense lists of ``size`` numbers."""

    name = "lists"

    def __init__(self, size: int) -> None:
        self.size = size

    def zeros(self) -> list[float]:
        return [0.0] * self.size

    def mask(self, value: bool = False) -> list[bool]:
        return [value] * self.size

    def ids(self, blocks: list[Sequence[int]], offset: int) -> list[int]:
        out: list[int] = []
        for deltas in blocks:
            out.extend(i + offset for i in accumulate(deltas))
        return out

    def floats(self, blocks: list[Sequence[float]]) -> list[float]:
        return [float(w) for block in blocks for w in block]

    def concat(self, parts: list[list]) -> list:
        return [x for part in parts for x in part]

    def lengths(self, raw: bytes) -> list[float]:
        return [max(BYTE_TO_LENGTH[b], 1.0) for b in raw]

    def bm25(self, weights: list[float], ids: list[int], lengths: list[float], idf: float, avgfl: float) -> list[float]:
        norm = K1 * (1 - B)
        slope = K1 * B / avgfl
        return [idf * (w * (K1 + 1)) / (w + norm + slope * lengths[d]) for w, d in zip(weights, ids, strict=True)]

    def add_at(self, total: list[float], ids: list[int], values: list[float]) -> None:
        for d, v in zip(ids, values, strict=True):
            total[d] += v

    def set_at(self, mask: list[bool], ids: list[int]) -> None:
        for d in ids:
            mask[d] = True

    def and_(self, a: list[bool], b: list[bool]) -> list[bool]:
        return [x and y for x, y in zip(a, b, strict=True)]

    def plus(self, a: list[float], b: list[float]) -> list[float]:
        return [x + y for x, y in zip(a, b, strict=True)]

    def count_positive(self, counts: list[int] | None, a: list[float]) -> list[int]:
        if counts is None:
            counts = [0] * self.size
        return [c + (x > 0) for c, x in zip(counts, a, strict=True)]

    def maximum(self, a: list[float], b: list[float]) -> list[float]:
        return [max(x, y) for x, y in zip(a, b, strict=True)]

    def gain(self, score: list[float], matched: list[int], was: list[float], extra: list[float], factor: float) -> Any:
        """Where ``was`` is 0 and ``extra`` is not: add ``extra * factor`` and one match."""
        gained = [w == 0 and e > 0 for w, e in zip(was, extra, strict=True)]
        score = [s + e * factor if g else s for s, e, g in zip(score, extra, gained, strict=True)]
        matched = [m + g for m, g in zip(matched, gained, strict=True)]
        return score, matched, gained

    def or_(self, a: list[bool], b: list[bool]) -> list[bool]:
        return [x or y for x, y in zip(a, b, strict=True)]

    def count_all(self, matched: list[int], words: int, mask: list[bool]) -> int:
        return sum(1 for m, ok in zip(matched, mask, strict=True) if ok and m == words)

    def order(self, score: list[float], matched: list[int], mask: list[bool]) -> list[int]:
        """Entries with a score, most words matched first, then by score (ties: index order)."""
        candidates = [d for d in range(self.size) if mask[d] and score[d] > 0]
        candidates.sort(key=lambda d: (-matched[d], -score[d]))
        return candidates

    def get(self, vector: Any, docnum: int) -> Any:
        return vector[docnum]


class NumpyVectors(ListVectors):
    """The same operations on numpy arrays."""

    name = "numpy"

    def __init__(self, size: int) -> None:
        import numpy as np

        super().__init__(size)
        self.np = np
        self._table = np.maximum(np.array(BYTE_TO_LENGTH, dtype=np.float64), 1.0)

    def zeros(self) -> Any:
        return self.np.zeros(self.size, dtype=self.np.float64)

    def mask(self, value: bool = False) -> Any:
        return self.np.full(self.size, value, dtype=bool)

    def ids(self, blocks: list[Sequence[int]], offset: int) -> Any:
        np = self.np
        if not blocks:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([np.cumsum(np.asarray(b, dtype=np.int64)) for b in blocks]) + offset

    def floats(self, blocks: list[Sequence[float]]) -> Any:
        np = self.np
        if not blocks:
            return np.empty(0, dtype=np.float64)
        return np.concatenate([np.asarray(b, dtype=np.float64) for b in blocks])

    def concat(self, parts: list) -> Any:
        return self.np.concatenate(parts) if parts else self.np.empty(0, dtype=self.np.int64)

    def lengths(self, raw: bytes) -> Any:
        return self._table[self.np.frombuffer(raw, dtype=self.np.uint8)]

    def bm25(self, weights: Any, ids: Any, lengths: Any, idf: float, avgfl: float) -> Any:
        fl = lengths[ids]
        return idf * (weights * (K1 + 1)) / (weights + K1 * (1 - B) + (K1 * B / avgfl) * fl)

    def add_at(self, total: Any, ids: Any, values: Any) -> None:
        if len(ids):  # bincount: one pass in C, ~10x faster than fancy-index addition
            total += self.np.bincount(ids, weights=values, minlength=self.size)

    def set_at(self, mask: Any, ids: Any) -> None:
        mask[ids] = True

    def and_(self, a: Any, b: Any) -> Any:
        return a & b

    def plus(self, a: Any, b: Any) -> Any:
        return a + b

    def count_positive(self, counts: Any, a: Any) -> Any:
        positive = (a > 0).astype(self.np.int32)
        return positive if counts is None else counts + positive

    def maximum(self, a: Any, b: Any) -> Any:
        return self.np.maximum(a, b)

    def gain(self, score: Any, matched: Any, was: Any, extra: Any, factor: float) -> Any:
        gained = (was == 0) & (extra > 0)
        return score + self.np.where(gained, extra * factor, 0.0), matched + gained, gained

    def or_(self, a: Any, b: Any) -> Any:
        return a | b

    def count_all(self, matched: Any, words: int, mask: Any) -> int:
        return int(((matched == words) & mask).sum())

    def order(self, score: Any, matched: Any, mask: Any) -> list[int]:
        np = self.np
        candidates = np.flatnonzero(mask & (score > 0))
        ranked = candidates[np.lexsort((candidates, -score[candidates], -matched[candidates]))]
        return ranked.tolist()


def for_size(size: int, backend: str | None = None) -> ListVectors:
    """``backend``: "numpy", "lists", or None to choose by the index's size."""
    if backend == "numpy" or (backend is None and size >= NUMPY_FROM):
        return NumpyVectors(size)
    return ListVectors(size)
