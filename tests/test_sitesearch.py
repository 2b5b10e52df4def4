"""The site search's records and index: what the browser searches for each entry, built
without a browser."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import pytest
from paperkb.catalog import load_catalog
from paperkb.sitesearch.records import chinese_words, english_stems, entry_record, filter_values, records, spaced
from paperkb.sitesearch.vocabulary import LETTERS, vocabulary, vocabulary_files

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def _catalog():
    return load_catalog(REPO / "catalog.yaml")


def _record(entry_id: str) -> str:
    catalog = _catalog()
    entry = catalog.by_id()[entry_id]
    labels = {slug: (tag.en, tag.zh) for slug, tag in catalog.tags.items()}
    return entry_record(entry, labels, (REPO,)).html


def test_one_record_per_entry_at_its_page() -> None:
    catalog = _catalog()
    recs = records(catalog, REPO)
    assert [r.url for r in recs] == [f"entries/{e.id}/" for e in catalog.entries]


def test_chinese_is_cut_into_jieba_words() -> None:
    assert spaced("把内容特征对齐") == " 把 内容 特征 对齐 "
    assert spaced("AdaIN 风格迁移 works") == "AdaIN  风格 迁移  works"


def test_record_has_title_filters_and_meta() -> None:
    html = _record("adain")
    assert '<h1 data-pagefind-meta="title">Arbitrary Style Transfer' in html
    assert '<span data-pagefind-filter="kind" data-pagefind-ignore>paper</span>' in html
    assert 'data-pagefind-filter="year" data-pagefind-ignore>2017</span>' in html
    assert '<span data-pagefind-filter="tag" data-pagefind-ignore>Style Transfer</span>' in html
    assert "1703.06868" in html and "Belongie" in html


def test_glossary_names_in_the_other_language() -> None:
    # The title says "Style Transfer" and "Normalization": their Chinese names are indexed
    # beside it, cut into words as a Chinese query will be.
    html = _record("adain")
    assert "风格 迁移" in html and "归一化" in html


def test_refimpl_adds_symbols_and_docstring_start_but_never_source() -> None:
    html = _record("adain")
    assert "AdaINStyleTransfer" in html
    source = (REPO / "refimpl" / "adain.py").read_text(encoding="utf-8")
    assert "def forward" in source and "def forward" not in html
    assert "import torch" not in html


def test_metadata_is_escaped() -> None:
    catalog = _catalog()
    entry = catalog.entries[0]
    entry = dataclasses.replace(entry, data={**entry.data, "title": 'x<script>alert(1)</script>" onerror="y'})
    labels = {slug: (tag.en, tag.zh) for slug, tag in catalog.tags.items()}
    html = entry_record(entry, labels, (REPO,)).html
    assert "<script>" not in html and 'onerror="y' not in html
    assert "&lt;script&gt;" in html


@functools.cache
def _records():
    return records(_catalog(), REPO)


def test_vocabulary_has_typo_targets_and_chinese_words() -> None:
    vocab = vocabulary(_catalog(), _records())
    assert {"pix2pix", "perceptual", "consistency", "radiance"} <= set(vocab["latin"])
    assert {"判别", "风格", "迁移"} <= set(vocab["zh"])
    # Read back from the records, the list still holds every word (and part of a word)
    # jieba cuts the notes into: a Chinese query is cut into the index's words.
    notes = " ".join(str(v) for e in _catalog().entries for v in e.notes.values())
    assert chinese_words(notes) <= set(vocab["zh"])
    assert vocab["latin"] == sorted(vocab["latin"])


def test_filter_values_are_the_records_filters() -> None:
    values = filter_values(_catalog())
    recs = _records()
    for name, listed in values.items():
        assert listed == sorted(set(listed)) and listed, name
        # Exactly the values the records carry: a listed value always finds something.
        assert set(listed) == {v for r in recs for v in r.filters.get(name, ())}, name
    assert "Style Transfer" in values["tag"] and "paper" in values["kind"] and "2017" in values["year"]


def test_vocabulary_files_split_latin_words_by_first_letter() -> None:
    vocab = vocabulary(_catalog(), _records())
    files = vocabulary_files(_catalog(), _records())
    # Every letter has a file, also an empty one: the browser never asks for a missing file.
    assert set(files) == {"zh.json", *(f"latin-{c}.json" for c in LETTERS)}
    assert files["zh.json"] == vocab["zh"]
    for letter in LETTERS:
        assert all(w.startswith(letter) for w in files[f"latin-{letter}.json"]), letter
    assert sorted(w for c in LETTERS for w in files[f"latin-{c}.json"]) == vocab["latin"]
    assert "pix2pix" in files["latin-p.json"]


def test_english_stems_equal_the_analyzer_on_every_entry() -> None:
    from paperkb.search import analyzers

    texts = [e.title + "\n" + " ".join(str(v) for v in e.notes.values()) for e in _catalog().entries]
    texts.append("Pix2Pix's super-resolution, 1703.06868 and AdaIN 风格迁移; the discriminators")
    for text in texts:
        assert english_stems(text) == analyzers.query_terms(text), text[:60]


def test_benchmarks_page_shows_corpus_share_steps_and_load(tmp_path) -> None:
    import json

    from paperkb.sitegen.pages import render_benchmarks

    row = {"entries": 1000, "engine": "pagefind", "corpus": "<i>zipf</i>", "build_s": 60.0, "index_s": 12.0,
           "index_share": 0.25, "records_s": 4.5, "pagefind_s": 7.0, "load_average": 2.56,
           "complete_median_ms": 81.0, "complete_p95_ms": 140.4, "inpage_median_ms": 52.2, "inpage_p95_ms": 97.0}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"rows": [row, {"entries": 10, "engine": "lunr"}]}), encoding="utf-8")
    page = render_benchmarks(path)
    assert "<td>12.0 s (records 4.5 s, Pagefind 7.0 s)</td>" in page
    assert "<td>25 %</td>" in page and "<td>81 ms / 140 ms</td>" in page and "<td>2.6</td>" in page
    assert "<td>52 ms / 97 ms</td>" in page  # the search box's own measure
    assert "<i>" not in page and "&lt;i&gt;zipf" in page
    assert "<td>uniform</td>" in page  # rows from before the corpus was recorded


def test_notion_sub_pages_are_not_in_the_record() -> None:
    """The record holds what the page shows as text worth finding: not sub-page paths or titles."""
    for entry_id, page_id in (("cyclegan", "d62c159362424283a87f650643492498"), ("dcgan", "c591c03863df4b1eb873f3948bb1e263")):
        html = _record(entry_id)
        assert page_id not in html and "Paper%20Study" not in html and "Paper Study" not in html
    assert "(Unsupervised)" not in _record("cyclegan")


def test_an_index_whose_entry_file_is_empty_is_incomplete(tmp_path) -> None:
    from paperkb.sitesearch.build import ENTRY, _complete

    assert not _complete(tmp_path)  # no entry file
    (tmp_path / ENTRY).write_text("", encoding="utf-8")
    assert not _complete(tmp_path)
    (tmp_path / ENTRY).write_text('{"version":"1.5.2","languages":{}}', encoding="utf-8")
    assert not _complete(tmp_path)
    (tmp_path / ENTRY).write_text('{"languages":{"en":{"hash":"en_1","page_count":3}}}', encoding="utf-8")
    assert _complete(tmp_path)


def test_the_index_holds_every_entry_and_nothing_is_left_beside_it(tmp_path) -> None:
    from paperkb.sitesearch import build

    catalog = _catalog()
    subset = dataclasses.replace(catalog, entries=catalog.entries[:7])
    out = build.build_search_index(subset, tmp_path, REPO, quiet=True)
    assert out == tmp_path / "search-index"
    assert json.loads((out / "index.json").read_text(encoding="utf-8"))["entries"] == 7
    assert sorted(p.name for p in (out / "e").iterdir()) == [f"{i}.json" for i in range(7)]
    assert (out / "words" / "filters.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["search-index"]  # no temporary folder left


def test_a_failed_index_leaves_the_previous_one_in_place(tmp_path, monkeypatch) -> None:
    from paperkb.sitesearch import build, postings

    catalog = dataclasses.replace(_catalog(), entries=_catalog().entries[:3])
    out = build.build_search_index(catalog, tmp_path, REPO, quiet=True)
    before = (out / "index.json").read_bytes()

    def broken(recs, folder):
        (folder / "t0.bin").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(postings, "write_index", broken)
    with pytest.raises(OSError, match="disk full"):
        build.build_search_index(catalog, tmp_path, REPO, quiet=True)
    assert (out / "index.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["search-index"]


def test_the_pagefind_baseline_holds_every_entry(tmp_path) -> None:
    from paperkb.sitesearch import build

    recs = records(dataclasses.replace(_catalog(), entries=_catalog().entries[:4]), REPO)
    out = build.build_pagefind_index(recs, tmp_path)
    assert build._complete(out) and build._page_count(out) == 4
    assert len(list((out / "fragment").iterdir())) == 4
    assert not list(tmp_path.glob(".pagefind.tmp*"))
