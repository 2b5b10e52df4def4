"""Synthetic catalogs whose notes read like real ones: words drawn by a Zipf law.

``synth.py`` draws every word of a note from ~40 topic words, so each of them is in
nearly every note. That is fine for the catalog tools, but not for a search index: each
query term's posting list then covers the whole catalog, and every query scores every
entry. Real notes use a few thousand words, a handful of them everywhere ("the",
图像) and most of them in a few notes only.

Here each word of a note is drawn from a ranked vocabulary with probability
proportional to 1 / (rank + 1) (Zipf's law; the ranks come from real text):

- English: the words of this repository's own notes and titles, most frequent first,
  then those of the reference implementations' docstrings and the docs.
- Chinese: the words of the notes, cut by jieba (the project's segmenter), then
  jieba's dictionary words by their frequency there.

``synth.py``'s topic words are placed at ranks spread from common to rare (log-uniform
between 10 and 1,000), so the benchmark's queries find a realistic range of entries,
from most of them to a few. Notes keep ``synth.py``'s shape: ~400 words, half English,
half Chinese (written without spaces, as a reader writes it).
"""

from __future__ import annotations

import ast
import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .. import paths
from ..catalog import markers
from ..catalog.emit import entry_to_yaml
from ..search.zh import CJK_RUN, default_segmenter, jieba_dictionary
from . import synth

VOCABULARY_SIZE = 4000  # per language
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


def _ranked(counts: Counter[str]) -> list[str]:
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _catalog_texts(repo_root: Path) -> tuple[list[str], list[str]]:
    from ..catalog import load_catalog

    english, chinese = [], []
    for entry in load_catalog(repo_root / "catalog.yaml").entries:
        english.append(entry.title)
        for field in ("notes", "summary", "translations"):
            value = entry.data.get(field)
            if isinstance(value, dict):
                english.append(str(value.get("en", "")))
                chinese.append(str(value.get("zh", "")))
    return english, chinese


def _other_english(repo_root: Path) -> list[str]:
    texts = []
    for path in sorted((repo_root / "refimpl").glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        if doc:
            texts.append(doc)
    texts += [p.read_text(encoding="utf-8") for p in sorted((repo_root / "docs").glob("*.md"))]
    return texts


def _jieba_words() -> list[str]:
    freq: dict[str, int] = {}
    with jieba_dictionary().open(encoding="utf-8") as handle:
        for line in handle:
            word, _, rest = line.partition(" ")
            if _HAN_WORD.match(word):
                freq[word] = int(rest.split(" ", 1)[0])
    return _ranked(Counter(freq))


def _merge(*ranked: list[str], size: int) -> list[str]:
    return list(itertools.islice(dict.fromkeys(itertools.chain(*ranked)), size))


def _with_topics(words: list[str], topics: list[str], rng: random.Random) -> list[str]:
    """``words`` with each topic word moved to a log-uniform rank in [10, 1000]."""
    rest = [w for w in words if w not in set(topics)]
    placed = sorted((round(math.exp(rng.uniform(math.log(10), math.log(1000)))), t) for t in topics)
    for offset, (rank, topic) in enumerate(placed):
        rest.insert(rank + offset, topic)
    return rest[: len(words)]


@lru_cache(maxsize=4)
def vocabularies(repo_root: Path = paths.REPO_ROOT, size: int = VOCABULARY_SIZE) -> tuple[list[str], list[str]]:
    """(English words, Chinese words), most frequent first, ``size`` of each."""
    english, chinese = _catalog_texts(repo_root)
    en_counts = Counter(w.lower() for text in english for w in _LATIN.findall(text) if len(w) > 1)
    other = Counter(w.lower() for text in _other_english(repo_root) for w in _LATIN.findall(text) if len(w) > 1)
    segmenter = default_segmenter()
    zh_counts = Counter(
        w for text in chinese for run in CJK_RUN.findall(text) for w in segmenter.cut(run) if len(w) > 1
    )
    rng = random.Random(0)
    en = _with_topics(_merge(_ranked(en_counts), _ranked(other), size=size), list(synth._EN_WORDS), rng)
    zh = _with_topics(_merge(_ranked(zh_counts), _jieba_words(), size=size), list(synth._ZH_WORDS), rng)
    return en, zh


def _zipf_weights(n: int) -> list[float]:
    return list(itertools.accumulate(1 / (rank + 1) for rank in range(n)))


def zipf_entry(
    index: int, rng: random.Random, en: list[str], zh: list[str], cum: list[float], words: int = 400
) -> dict:
    entry = synth.synth_entry(index, rng, words=0)
    title = " ".join(w.title() for w in rng.choices(en[50:], k=2))
    entry["title"] = f"Synthetic {title} Study {index}"
    entry["notes"] = {
        "en": _draw(lambda: synth._wrap(" ".join(rng.choices(en, cum_weights=cum, k=words // 2)))),
        "zh": _draw(lambda: synth._wrap("".join(rng.choices(zh, cum_weights=cum, k=words // 2)), 40)),
    }
    return entry


def _draw(note: Callable[[], str]) -> str:
    """A note without a marker sentence: words drawn at random can form one ("editors
    note"), which the validator rightly refuses in the author's notes; draw again."""
    for _ in range(100):
        text = note()
        if markers.find_marker(text) is None:
            return text
    raise RuntimeError("the synthetic vocabulary keeps forming marker sentences")


def write_zipf_catalog(path: str | Path, n: int, seed: int = 0) -> Path:
    """Write an ``n``-entry catalog with Zipf-distributed notes; returns the path."""
    en, zh = vocabularies()
    size = min(len(en), len(zh))
    en, zh, cum = en[:size], zh[:size], _zipf_weights(size)
    rng = random.Random(seed)
    path = Path(path)
    head = ["# yaml-language-server: $schema=./catalog.schema.json\n", "version: 1\n", "\n", "tags:\n"]
    head += [f"  {slug}: {{en: {label}, zh: {zh_label}}}\n" for slug, (label, zh_label) in synth.TAGS.items()]
    head += ["\n", "entries:\n"]
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(head)
        for i in range(n):
            handle.write(entry_to_yaml(zipf_entry(i, rng, en, zh, cum)))
            handle.write("\n")
    return path
