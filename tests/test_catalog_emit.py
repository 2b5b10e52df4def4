"""The emitter writes every value so that it reads back as written: flow-list items
quoted for a flow context, notes as literal blocks with the indicators they need."""

from __future__ import annotations

import pytest
from conftest import HEADER
from paperkb.catalog import catalog_from_text, validate
from paperkb.catalog.emit import entry_to_yaml, parse_entry_text

BASE = {
    "id": "x",
    "kind": "paper",
    "title": "T",
    "tags": [],
    "status": "read",
    "refimpl": {"none": "study: x"},
    "sources": ["s"],
    "added": "2026-01-01",
}

# Strings with a meaning of their own to YAML, in a flow list, a plain field and a link.
ITEMS = [
    "0,",  # written as [0,] it read back as [0]
    "0", ",", "a, b", "[x]", "{y}", " lead", "trail ", "#c", "a #c", "a: b", "-", "- a", "null", "~", "yes",
    "No", "0x10", "1_000", "33:37", "2026-01-01", "1e3", ".inf", "生成对抗网络", "\tt", "'", '"', "&a", "*a",
    "!t", "%", "@", "`", "? q", "|", ">", "=", "<<",
]
# Notes: the author's words, byte for byte.
NOTES = [
    "  indented first line\nsecond\n",  # needed an indentation indicator
    "    code block first\n\nthen text\n",
    "   \n\nafter a line of spaces\n",
    "\tleading tab\n",
    "trailing spaces   \n",
    "has # inside\n",
    "key: value\n",
    "-\n",
    "null\n",
    "~\n",
    "yes\n",
    "0x10\n",
    "生成对抗网络\n  缩进的第二行\n",
    "no final line break",
    "two final line breaks\n\n",
    "\n",
    "a line\n   \nof spaces between\n",
    "a\r\nwindows line end\n",  # no block holds a carriage return: double-quoted
    "x\x85y\n",
]


@pytest.mark.parametrize("item", ITEMS)
def test_flow_list_items_fields_and_links_read_back_as_written(item):
    entry = {**BASE, "title": item, "venue": item, "authors": [item, "b"], "tags": [item], "sources": [item],
             "links": {"arxiv": "1703.06868", "code": item}, "refimpl": {"none": item}}
    assert parse_entry_text(entry_to_yaml(entry)) == entry


def test_a_comma_item_keeps_its_quotes():
    text = entry_to_yaml({**BASE, "authors": ["0,", "a"]})
    assert "    authors: ['0,', a]\n" in text


@pytest.mark.parametrize("note", NOTES)
def test_notes_and_abstracts_read_back_verbatim(note):
    entry = {**BASE, "notes": {"en": note, "zh": note}, "abstract": note}
    assert parse_entry_text(entry_to_yaml(entry)) == entry


def test_a_first_line_with_spaces_gets_an_indentation_indicator():
    text = entry_to_yaml({**BASE, "notes": {"en": "  indented\nnot\n"}})
    assert "      en: |2\n          indented\n        not\n" in text


def test_ordinary_notes_keep_the_plain_block_style():
    text = entry_to_yaml({**BASE, "notes": {"en": "first\n  second\n"}})
    assert "      en: |\n        first\n          second\n" in text


def test_a_multi_line_title_stays_inside_its_entry():
    entry = {**BASE, "title": "two\nlines"}
    catalog = catalog_from_text(HEADER + entry_to_yaml(entry) + entry_to_yaml({**entry, "id": "y"}))
    assert [e.data for e in catalog.entries] == [entry, {**entry, "id": "y"}]
    assert any("title: control character U+000A" in str(p) for p in validate(catalog, check_refimpl=False).errors)
