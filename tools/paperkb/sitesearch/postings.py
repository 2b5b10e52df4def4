"""The site's own search index: term chunks, one small file per entry, filter columns.

Written into ``<site>/search-index/`` from the entry records (``records.py``) and read
by ``docs/javascripts/search-engine.js`` in the browser:

- ``index.json``: the number of entries, a build id (appended to every other file's
  URL, so a browser never mixes two builds), and the first term of each chunk;
- ``t<k>.bin``: the terms in one alphabetical range with their posting lists. A query
  word loads only the chunk(s) its prefix falls in. Format: a little-endian uint32
  header length, a JSON header ``[[term, entries, bytes], ...]``, then each term's
  postings in the header's order: pairs of varints (entry number minus the previous
  one, the term's weighted count in that entry × 10);
- ``e/<n>.json``: one entry's title, URL, kind, status, year and notes (the excerpt is
  cut from them), fetched for the results shown only;
- ``facets.json``: the filter values of every entry, fetched when a filter is chosen.

Why not Pagefind, which the project used before: its search returns, for every
matching page, all the locations of every matched word, and scores them in
WebAssembly before the page can show anything. For a word found in thousands of
entries that took 170-390 ms a query at 10,000 entries on a 2-core machine; here the
weighted counts are summed ahead of time, so a query adds up a few typed arrays
(``make bench ONLY=sitesearch`` measures both on the same queries).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from array import array
from collections import defaultdict
from pathlib import Path

from .records import Record

FOLDER = "search-index"
MANIFEST = "index.json"
FACETS = "facets.json"
CHUNK_BYTES = 48 * 1024  # a chunk is cut once its header and postings pass this size
SCALE = 10  # weighted counts are stored × 10, as integers
# Letters and digits of any script, as the browser's /[\p{L}\p{N}]+/gu splits a query.
TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """The words of ``text`` as the index and the search box both see them."""
    return TOKEN.findall(text.lower())


def weighted_counts(record: Record) -> dict[str, float]:
    """Σ weight × occurrences of each word over the record's fields."""
    counts: dict[str, float] = defaultdict(float)
    for weight, text in record.fields:
        for word in tokens(text):
            counts[word] += weight
    return counts


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def encode_postings(postings: list[tuple[int, float]]) -> bytes:
    """(entry number, weighted count) pairs, entry numbers rising, as varint pairs."""
    out = bytearray()
    previous = 0
    for doc, count in postings:
        _varint(doc - previous, out)
        _varint(max(1, round(count * SCALE)), out)
        previous = doc
    return bytes(out)


def encode_runs(docs, counts, sizes) -> list[bytes]:  # noqa: ANN001 - numpy arrays
    """``encode_postings`` of consecutive runs of (entry number, weighted count) pairs,
    ``sizes`` pairs each, computed for all of them at once with numpy: byte by byte in
    Python it was half of the index's time at 10,000 entries."""
    import numpy as np

    docs = np.asarray(docs, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    total = len(docs)
    starts = np.cumsum(sizes) - sizes
    deltas = docs.copy()
    deltas[1:] -= docs[:-1]
    nonempty = starts[sizes > 0]
    deltas[nonempty] = docs[nonempty]  # each run counts from 0
    values = np.empty(2 * total, dtype=np.int64)
    values[0::2] = deltas
    values[1::2] = np.maximum(1, np.rint(np.asarray(counts, dtype=np.float64) * SCALE)).astype(np.int64)
    widths = np.ones_like(values)
    for shift in range(7, 63, 7):
        widths += values >= (1 << shift)
    ends = np.cumsum(widths)
    first = ends - widths
    out = np.zeros(int(ends[-1]) if total else 0, dtype=np.uint8)
    for k in range(int(widths.max()) if total else 0):
        has = widths > k
        more = (widths[has] > k + 1).astype(np.int64) << 7
        out[first[has] + k] = ((values[has] >> (7 * k)) & 0x7F) | more
    blob = out.tobytes()
    # A run's bytes end with its last pair's count: pair number start + size - 1.
    result, offset = [], 0
    for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
        if not size:
            result.append(b"")
            continue
        end = int(ends[2 * (start + size) - 1])
        result.append(blob[offset:end])
        offset = end
    return result


def encode_all(lists: list[list[tuple[int, float]]]) -> list[bytes]:
    """``encode_postings`` of each list (``encode_runs`` on the lists one after another)."""
    return encode_runs([d for pairs in lists for d, _ in pairs], [c for pairs in lists for _, c in pairs],
                       [len(pairs) for pairs in lists])


def decode_postings(data: bytes) -> list[tuple[int, float]]:
    """The inverse of ``encode_postings`` (the browser's decoder does the same)."""
    values, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        values.append(value)
        value, shift = 0, 0
    docs, doc = [], 0
    for delta, count in zip(values[::2], values[1::2], strict=True):
        doc += delta
        docs.append((doc, count / SCALE))
    return docs


def _chunk_file(terms: list[tuple[str, int, bytes]]) -> bytes:
    header = [[term, df, len(data)] for term, df, data in terms]
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return struct.pack("<I", len(head)) + head + b"".join(data for _, _, data in terms)


def _facets(recs: list[Record]) -> dict:
    names: dict[str, list[str]] = {}
    columns: dict[str, list] = {}
    for name in sorted({n for rec in recs for n in rec.filters}):
        values = sorted({v for rec in recs for v in rec.filters.get(name, ())})
        names[name] = values
        number = {v: i for i, v in enumerate(values)}
        columns[name] = [[number[v] for v in rec.filters.get(name, ())] for rec in recs]
    return {"names": names, "docs": columns}


def write_index(recs: list[Record], out: Path) -> dict[str, int]:
    """Write the index of ``recs`` (entry number = position) into the empty folder
    ``out``; returns counts for the build's log: entries, terms, chunks, bytes."""
    import numpy as np

    # Every (word, entry, weighted count) as three flat arrays, then ordered by word
    # (a stable sort keeps each word's entries rising, as they were appended).
    ids: dict[str, int] = {}
    word_ids, docs, counts = array("q"), array("q"), array("d")
    for doc, rec in enumerate(recs):
        for word, count in weighted_counts(rec).items():
            word_ids.append(ids.setdefault(word, len(ids)))
            docs.append(doc)
            counts.append(count)
    terms = sorted(ids)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[[ids[t] for t in terms]] = np.arange(len(terms))
    ranked = rank[np.frombuffer(word_ids, dtype=np.int64)] if ids else np.zeros(0, dtype=np.int64)
    order = np.argsort(ranked, kind="stable")
    sizes = np.bincount(ranked, minlength=len(terms))
    encoded = encode_runs(np.frombuffer(docs, dtype=np.int64)[order], np.frombuffer(counts)[order], sizes)
    digest = hashlib.sha256()
    chunks: list[list[tuple[str, int, bytes]]] = [[]]
    size = 0
    for term, df, data in zip(terms, sizes.tolist(), encoded, strict=True):
        # A rare word costs more in the header than in its postings (synthetic ids).
        cost = len(data) + len(term.encode("utf-8")) + 12
        if size and size + cost > CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append((term, df, data))
        size += cost
    total = 0
    first_terms = []
    for number, chunk in enumerate(chunks):
        blob = _chunk_file(chunk)
        digest.update(blob)
        (out / f"t{number}.bin").write_bytes(blob)
        first_terms.append(chunk[0][0] if chunk else "")
        total += len(blob)
    docs = out / "e"
    docs.mkdir()
    for number, rec in enumerate(recs):
        body = json.dumps({"url": rec.url, **rec.meta, "body": rec.body}, ensure_ascii=False, separators=(",", ":"))
        digest.update(body.encode("utf-8"))
        (docs / f"{number}.json").write_text(body, encoding="utf-8")
    facets = json.dumps(_facets(recs), ensure_ascii=False, separators=(",", ":"))
    digest.update(facets.encode("utf-8"))
    (out / FACETS).write_text(facets, encoding="utf-8")
    manifest = {"version": 1, "entries": len(recs), "build": digest.hexdigest()[:12], "chunks": first_terms}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return {"entries": len(recs), "terms": len(terms), "chunks": len(chunks), "bytes": total}
