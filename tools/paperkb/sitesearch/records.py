"""One search record per entry: what a reader searches, weighted, with filters.

Weights follow the terminal search: title first, then authors, tags and the arXiv id,
then the author's notes, then text the project added (summary, translations), then
the reference implementation's symbol names and docstring summary (never its source).
Chinese text is cut into jieba's words (spaces between them), as the terminal search
cuts it; a block of terms carries the parts of long words and the glossary's
other-language names of the terms the entry mentions, so 判别器 finds notes that only
say *discriminator*, and the reverse.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..catalog import Catalog, Entry
from ..search import analyzers, glossary, refcode
from ..search.zh import default_segmenter, has_cjk

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"[*_`#>~|]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True)
class Record:
    url: str  # relative to the site root, e.g. "entries/adain/"
    # What the index reads: (weight, text) per part, Chinese already cut; the title first.
    fields: tuple[tuple[float, str], ...] = ()
    meta: dict[str, object] = field(default_factory=dict)  # title, kind, status, year
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind, status, tag, year
    body: str = ""  # the notes as plain text (Chinese cut): excerpts come from here

    @property
    def html(self) -> str:
        """The same record as a page for Pagefind (the bench's baseline): the title as its
        heading, each other part a paragraph with its weight (the notes, weight 1, plain,
        so Pagefind draws excerpts from them)."""
        title = _esc(self.meta.get("title", ""))
        parts = [f'<html lang="en"><head><title>{title}</title></head><body>',
                 f'<h1 data-pagefind-meta="title">{title}</h1>']
        rest = list(self.fields[1:])
        if rest:
            parts.append(_paragraph(*rest.pop(0)))
        for name in ("kind", "status", "year"):
            if self.meta.get(name) is not None:
                parts.append(f'<span data-pagefind-meta="{name}" data-pagefind-ignore>{_esc(self.meta[name])}</span>')
        for name, values in self.filters.items():
            parts += [f'<span data-pagefind-filter="{name}" data-pagefind-ignore>{_esc(v)}</span>' for v in values]
        parts += [_paragraph(weight, text) for weight, text in rest]
        parts.append("</body></html>")
        return "\n".join(parts)


def _paragraph(weight: float, text: str) -> str:
    return f"<p>{_esc(text)}</p>" if weight == 1.0 else f'<p data-pagefind-weight="{weight:g}">{_esc(text)}</p>'


def plain(markdown: str) -> str:
    """Markdown notes as the words a reader sees (links keep their text)."""
    return _MARKUP.sub(" ", _LINK.sub(r"\1", markdown))


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _bilingual(value: object) -> tuple[str, str]:
    if isinstance(value, dict):
        return _text(value.get("en")), _text(value.get("zh"))
    return _text(value), ""


@lru_cache(maxsize=65536)
def _cut(run: str) -> tuple[tuple[str, bool], ...]:
    """jieba's words of one Chinese run with the parts of long ones, ``(word, is_part)``:
    cut once, used for the record's text, its terms and the browser's word list."""
    return tuple(default_segmenter().cut_for_search(run))


def spaced(text: str) -> str:
    """Chinese runs cut into jieba's words, separated by spaces.

    The index splits words at spaces and punctuation; the search box cuts a Chinese
    query into the same words (longest match against ``chinese_words``) and joins
    them back when it shows an excerpt.
    """
    if not has_cjk(text):
        return text
    return _CJK_RUN.sub(lambda m: " " + " ".join(w for w, part in _cut(m.group()) if not part) + " ", text)


def chinese_words(text: str) -> set[str]:
    """Every word a Chinese query may be cut into: jieba's words and their parts."""
    if not has_cjk(text):
        return set()
    return {word for run in _CJK_RUN.findall(text) for word, _ in _cut(run)}


def indexed_chinese(recs: list[Record]) -> set[str]:
    """The Chinese words the records hold, read back from their text.

    ``spaced`` puts spaces between jieba's words and the terms block holds their parts,
    so each run of Chinese characters in a record is one word. Reading them back costs a
    regular expression; cutting the notes again would cost as much as the records step
    (at 10,000 entries there are more distinct runs than ``_cut`` caches).
    """
    return {word for rec in recs for _, text in rec.fields for word in _CJK_RUN.findall(text)}


@lru_cache(maxsize=1 << 17)
def _chunk_stems(chunk: str) -> tuple[str, ...]:
    return tuple(analyzers.query_terms(chunk))


def english_stems(text: str) -> list[str]:
    """``analyzers.query_terms(text)``, one whitespace-separated chunk at a time, cached.

    The analyzer's tokens never span whitespace and its filters look at one token at
    a time, so this is the same list; notes reuse most of their words, and analysing
    each distinct word once makes the records step several times faster.
    """
    return [stem for chunk in text.split() for stem in _chunk_stems(chunk)]


def search_terms(english: str, chinese: str) -> list[str]:
    """The parts of long Chinese words (人脸识别 -> 人脸, 识别), and glossary names in
    the other language."""
    terms: list[str] = []
    if has_cjk(chinese):
        for run in _CJK_RUN.findall(chinese):
            terms.extend(word for word, part in _cut(run) if part)
    terms.extend(spaced(t) for t in glossary.translations(english_stems(english), chinese))
    return list(dict.fromkeys(terms))  # each once, in order


def _docstring_summary(code: str, words: int = 80) -> str:
    """The start of the module docstring (title, the paper's terms), not the whole text."""
    return " ".join(code.split()[:words])


def entry_record(entry: Entry, tag_labels: dict[str, tuple[str, str]], roots: tuple[Path, ...]) -> Record:
    data = entry.data
    notes_en, notes_zh = _bilingual(data.get("notes"))
    summary_en, summary_zh = _bilingual(data.get("summary"))
    trans_en, trans_zh = _bilingual(data.get("translations"))
    labels = [tag_labels.get(t, (t, "")) for t in entry.tags]
    arxiv = entry.links.get("arxiv", "")
    code, _ = refcode.code_text(entry.refimpl_targets, roots)
    code_summary = _docstring_summary(code)
    symbols = " ".join(t.partition(":")[2] for t in entry.refimpl_targets)
    english = "\n".join([entry.title, notes_en, summary_en, trans_en, *(en for en, _ in labels)])
    chinese = "\n".join([entry.title, notes_zh, summary_zh, trans_zh, *(zh for _, zh in labels)])
    year = entry.year if isinstance(entry.year, int) and not isinstance(entry.year, bool) else None

    notes = [spaced(plain(text)) for text in (notes_en, notes_zh) if text]
    meta = " ".join([*entry.authors, *(f"{en} {zh}" for en, zh in labels), f"arXiv {arxiv}" if arxiv else ""])
    added = [spaced(plain(text)) for text in (summary_en, summary_zh, trans_en, trans_zh) if text]
    terms = search_terms(english, chinese)
    # Weights: the title as a page's first heading (7, as Pagefind weighs an <h1>); its
    # key terms in the other language nearly as much: 超分辨率 should find
    # "…Super-Resolution…" as readily as the English does; then authors, tags and the
    # arXiv id; the author's notes; the glossary terms; the text the project added; and
    # the reference implementation's names and docstring start (never its source).
    fields: list[tuple[float, str]] = [(7.0, entry.title), (5.0, spaced(" ".join(search_terms(entry.title, ""))))]
    fields += [(1.0, text) for text in notes]
    fields.append((3.0, spaced(meta)))
    fields += [(0.6, text) for text in added]
    if symbols or code_summary:
        fields.append((0.4, f"{symbols} {code_summary}"))
    if terms:
        fields.append((0.8, " ".join(terms)))
    filters: dict[str, tuple[str, ...]] = {"kind": (str(entry.kind),), "status": (str(entry.status),)}
    if entry.data.get("highlight") is True:
        filters["highlight"] = ("highlighted",)
    if year is not None:
        filters["year"] = (str(year),)
    filters["tag"] = tuple(en for en, _ in labels)

    return Record(
        url=f"entries/{entry.id}/", fields=tuple(fields),
        meta={"title": entry.title, "kind": str(entry.kind), "status": str(entry.status), "year": year},
        filters=filters, body="\n".join(notes),
    )


def filter_values(catalog: Catalog) -> dict[str, list[str]]:
    """The values of the filters the search box offers (kind, status, tag, year), as the
    records name them, sorted: written beside the index so that the box can list them
    without loading every entry's filter values, which load only when one is chosen."""
    tag_labels = {slug: tag.en for slug, tag in catalog.tags.items()}
    values: dict[str, set[str]] = {"kind": set(), "status": set(), "tag": set(), "year": set()}
    for entry in catalog.entries:
        values["kind"].add(str(entry.kind))
        values["status"].add(str(entry.status))
        values["tag"].update(tag_labels.get(t, t) for t in entry.tags)
        if isinstance(entry.year, int) and not isinstance(entry.year, bool):
            values["year"].add(str(entry.year))
    return {name: sorted(found) for name, found in values.items()}


def iter_records(catalog: Catalog, repo_root: Path) -> Iterator[Record]:
    """The entries' records one at a time, in catalog order."""
    tag_labels = {slug: (tag.en, tag.zh) for slug, tag in catalog.tags.items()}
    roots = (repo_root,)
    return (entry_record(e, tag_labels, roots) for e in catalog.entries)


def records(catalog: Catalog, repo_root: Path) -> list[Record]:
    return list(iter_records(catalog, repo_root))
