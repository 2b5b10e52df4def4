"""The site search's records: what Pagefind indexes for each entry, built without a browser."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from paperkb.catalog import load_catalog
from paperkb.sitesearch.records import entry_record, records, spaced
from paperkb.sitesearch.vocabulary import vocabulary

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


def test_vocabulary_has_typo_targets_and_chinese_words() -> None:
    vocab = vocabulary(_catalog())
    assert {"pix2pix", "perceptual", "consistency", "radiance"} <= set(vocab["latin"])
    assert {"判别", "风格", "迁移"} <= set(vocab["zh"])
    assert vocab["latin"] == sorted(vocab["latin"])


def test_notion_sub_pages_are_not_in_the_record() -> None:
    """The record holds what the page shows as text worth finding: not sub-page paths or titles."""
    for entry_id, page_id in (("cyclegan", "d62c159362424283a87f650643492498"), ("dcgan", "c591c03863df4b1eb873f3948bb1e263")):
        html = _record(entry_id)
        assert page_id not in html and "Paper%20Study" not in html and "Paper Study" not in html
    assert "(Unsupervised)" not in _record("cyclegan")
