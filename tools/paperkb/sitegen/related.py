"""Related entries, each with its reason, computed once per build for every entry.

Three signals: code reuse (a refimpl module importing another: "builds on" / "used by"),
shared tags (rarer tags count more), and similar notes (tf-idf over both languages, the
Chinese segmented with jieba). Each signal is an inverted index, so the cost grows with
the number of entries that share something, not with every pair.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Catalog, Entry, refimpl_scan
from .buildcache import ContentCache, cache_dir, content_key

MAX_RELATED = 8
TOP_TERMS = 25  # per entry: enough to match notes, few enough to stay fast
MIN_SIMILARITY = 0.12
# A term in more than this share of entries says little and makes its posting list long:
# left out, the similarity pass stays near-linear however alike the notes are.
MAX_DF_SHARE = 0.05
MIN_DF_CAP = 20
MAX_TAG_MEMBERS = 50  # a tag on more entries than this (or 5%) relates too much to mean much
TOKEN_CACHE = "related-tokens.json"  # in the build cache (buildcache.cache_dir)
TOKENS_VERSION = "1"  # bump when _tokens changes what it returns

_WORD = re.compile(r"[a-z][a-z0-9]+(?:-[a-z0-9]+)*")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_STOP = frozenset(
    "the and for with that this from are was were its into not but can use used using which their than then "
    "also has have more when what how all one two per each via our they them there these those such only".split()
)


@dataclass(frozen=True)
class Related:
    entry: Entry
    reasons: tuple[str, ...]
    score: float


def _modules(entry: Entry) -> set[str]:
    return {Path(t.split(":", 1)[0]).stem for t in entry.refimpl_targets}


_jieba = None


def _segmenter():
    """jieba, imported and its dictionary loaded once, only when some text is not cached."""
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(60)
        jieba.initialize()
        _jieba = jieba
    return _jieba


def _tokens(text: str) -> list[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    runs = _CJK.findall(text)
    if runs:
        lcut = _segmenter().lcut
        for run in runs:
            words.extend(w for w in lcut(run, HMM=False) if len(w) >= 2)
    return words


def _entry_text(entry: Entry) -> str:
    parts = [entry.title]
    for field in ("notes", "summary", "translations"):
        value = entry.data.get(field)
        if isinstance(value, dict):
            parts.extend(str(v) for v in value.values() if v)
    return "\n".join(parts)


def _text_vectors(entries: list[Entry], cache: ContentCache) -> list[dict[str, float]]:
    # Segmenting Chinese is most of this module's time: the words are kept between builds.
    token_lists = []
    for e in entries:
        text = _entry_text(e)
        key = content_key(text, TOKENS_VERSION)
        words = cache.get(key)
        if not isinstance(words, list):
            words = _tokens(text)
            cache.put(key, words)
        token_lists.append(words)
    cache.save()
    counts = [Counter(words) for words in token_lists]
    df = Counter(t for c in counts for t in c)
    n = len(entries)
    cap = max(MIN_DF_CAP, int(MAX_DF_SHARE * n))
    vectors = []
    for c in counts:
        weights = {
            t: (1 + math.log(k)) * math.log((1 + n) / (1 + df[t])) for t, k in c.items() if 1 < df[t] <= cap
        }
        top = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:TOP_TERMS])
        norm = math.sqrt(sum(w * w for w in top.values())) or 1.0
        vectors.append({t: w / norm for t, w in top.items()})
    return vectors


def related_entries(catalog: Catalog, repo_root: Path) -> dict[str, list[Related]]:
    entries = catalog.entries
    ids = [e.id for e in entries]
    score: list[dict[int, float]] = [defaultdict(float) for _ in entries]
    reasons: list[dict[int, list[str]]] = [defaultdict(list) for _ in entries]

    # Code reuse: module -> entries that implement it; entry -> modules its modules import.
    covering: dict[str, list[int]] = defaultdict(list)
    modules = [_modules(e) for e in entries]
    for i, mods in enumerate(modules):
        for m in mods:
            covering[m].append(i)
    imports: dict[str, set[str]] = {}
    for m in covering:
        path = repo_root / "refimpl" / f"{m}.py"
        imports[m] = (
            set(refimpl_scan.scan_module(path).imports) - refimpl_scan.INFRASTRUCTURE if path.is_file() else set()
        )
    for i, mods in enumerate(modules):
        for m in mods:
            for dep in sorted(imports.get(m, set()) - mods):
                for j in covering.get(dep, []):
                    if j != i:
                        score[i][j] += 10
                        reasons[i][j].append(f"builds on its code (refimpl/{m}.py imports {dep})")
                        score[j][i] += 10
                        reasons[j][i].append(f"used by its code (refimpl/{m}.py imports {dep})")

    # Shared tags, weighted by rarity.
    by_tag: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(entries):
        for t in e.tags:
            by_tag[t].append(i)
    tag_cap = max(MAX_TAG_MEMBERS, int(MAX_DF_SHARE * len(entries)))
    for tag, members in by_tag.items():
        if len(members) > tag_cap:
            continue
        weight = 1 / math.log(2 + len(members))
        label = catalog.tags[tag].en if tag in catalog.tags else tag
        for i in members:
            for j in members:
                if i != j:
                    score[i][j] += weight
                    reasons[i][j].append(f"tag: {label}")

    # Similar notes.
    vectors = _text_vectors(entries, ContentCache(cache_dir(repo_root) / TOKEN_CACHE))
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, vec in enumerate(vectors):
        for t, w in vec.items():
            postings[t].append((i, w))
    for i, vec in enumerate(vectors):
        dots: dict[int, float] = defaultdict(float)
        for t, w in vec.items():
            for j, v in postings[t]:
                if j != i:
                    dots[j] += w * v
        for j, sim in dots.items():
            if sim >= MIN_SIMILARITY:
                score[i][j] += 2 * sim
                reasons[i][j].append(f"similar notes ({sim:.2f})")

    result: dict[str, list[Related]] = {}
    for i in range(len(entries)):
        best = sorted(score[i].items(), key=lambda kv: (-kv[1], ids[kv[0]]))[:MAX_RELATED]
        result[ids[i]] = [Related(entries[j], _merge_reasons(reasons[i][j]), s) for j, s in best]
    return result


def _merge_reasons(reasons: list[str]) -> tuple[str, ...]:
    tags = [r.removeprefix("tag: ") for r in reasons if r.startswith("tag: ")]
    rest = [r for r in dict.fromkeys(reasons) if not r.startswith("tag: ")]
    return tuple(rest + ([f"shared tags: {', '.join(tags)}"] if tags else []))
