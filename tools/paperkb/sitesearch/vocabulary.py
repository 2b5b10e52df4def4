"""The words the browser needs beside the index (``search-index/words/``).

Chinese: the words the index holds (read back from the records), so the search box
can cut a Chinese query into them (longest match first) the way the records were cut.

Latin: the words it suggests when a query finds nothing. The engine matches prefixes
but has no typo tolerance. When a word of a query is no
known word's prefix and finds (almost) nothing, the search box looks up the closest
word in this list (edit distance, in the browser) and searches that too, saying so.
The list holds every word of titles, authors, tags, glossary terms and refimpl
symbols, then the words of the notes by the number of entries that use them, up to
``LIMIT`` words: a typo of a word that only one note out of thousands uses is rare.

The files are split so that a query fetches only what it needs (at 10,000 entries
the whole list is a few hundred KB): ``zh.json`` only for a Chinese query, and
``latin-<letter>.json``, the words starting with that letter, for a Latin word that
starts with it. A typo is looked for among the words that share its first letter.
"""

from __future__ import annotations

import re
from collections import Counter

from ..catalog import Catalog
from ..search.glossary import TERMS
from .records import Record, chinese_words, indexed_chinese

LIMIT = 20_000
LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def vocabulary(catalog: Catalog, recs: list[Record], limit: int = LIMIT) -> dict[str, list[str]]:
    """``{"latin": words for typo suggestions, "zh": the Chinese words of the index}``;
    ``recs`` are the catalog's records (``records.records``)."""
    return {"latin": latin_words(catalog, limit), "zh": sorted(_chinese(catalog, recs))}


def vocabulary_files(catalog: Catalog, recs: list[Record], limit: int = LIMIT) -> dict[str, list[str]]:
    """``{file name: its words}``: ``zh.json`` and one ``latin-<letter>.json`` per letter
    (also an empty one, so the browser never asks for a missing file)."""
    vocab = vocabulary(catalog, recs, limit)
    files = {"zh.json": vocab["zh"]}
    for letter in LETTERS:
        files[f"latin-{letter}.json"] = [w for w in vocab["latin"] if w.startswith(letter)]
    return files


def _chinese(catalog: Catalog, recs: list[Record]) -> set[str]:
    # The tags' and the glossary's names also when no entry uses them yet: a query for
    # one is then cut as the index will cut it once an entry does.
    words = indexed_chinese(recs)
    for tag in catalog.tags.values():
        words |= chinese_words(tag.zh)
    for _, zh in TERMS:
        for name in zh:
            words |= chinese_words(name)
    for entry in catalog.entries:  # the title is indexed as written, too
        words |= chinese_words(entry.title)
    return words


def latin_words(catalog: Catalog, limit: int = LIMIT) -> list[str]:
    core: set[str] = set()
    for slug, tag in catalog.tags.items():
        core |= _words(f"{slug.replace('-', ' ')} {tag.en}")
    for en, _ in TERMS:
        core |= _words(en)
    notes: Counter[str] = Counter()
    for entry in catalog.entries:
        core |= _words(entry.title)
        core |= _words(" ".join(entry.authors))
        core |= _words(" ".join(t.partition(":")[2] for t in entry.refimpl_targets))
        text = " ".join(str(v) for v in entry.notes.values())
        notes.update(_words(text))
    rest = [w for w, _ in notes.most_common() if w not in core]
    return sorted(core | set(rest[: max(0, limit - len(core))]))
