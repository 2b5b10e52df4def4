"""Loading: one safe loader with line numbers, text blocks, the summary cache and the emitter."""

from __future__ import annotations

import os

import pytest
from conftest import GOOD_ENTRY, HEADER, REPO_ROOT
from paperkb.bench.synth import write_synthetic_catalog
from paperkb.catalog import CatalogError, catalog_from_text, load_catalog, read_catalog
from paperkb.catalog import blocks as catalog_blocks
from paperkb.catalog import summary as summary_module
from paperkb.catalog.emit import entry_to_yaml, parse_entry_text
from paperkb.catalog.summary import load_summaries, normalize_title

TRICK = """\
  - id: pdb-debugging
    kind: trick
    title: Debugging with pdb
    tags: [gan]
    status: unread
    refimpl:
      none: a habit, not a model
    sources: [002.txt]
    added: 2026-11-23
"""


def test_entries_keep_their_line_numbers(write_catalog):
    path = write_catalog(GOOD_ENTRY, "\n", TRICK)
    catalog = read_catalog(path)
    lines = path.read_text().splitlines()
    adain, trick = catalog.entries
    assert lines[adain.line - 1].strip() == "- id: adain"
    assert lines[trick.line - 1].strip() == "- id: pdb-debugging"
    assert lines[adain.line_of("links", "arxiv") - 1].strip() == 'arxiv: "1703.06868"'
    assert lines[adain.line_of("tags", 0) - 1].strip() == "tags: [style-transfer]"


def test_dates_stay_text_and_arxiv_ids_stay_strings(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY))
    entry = catalog.entries[0]
    assert entry.added == "2026-11-23"
    assert entry.links["arxiv"] == "1703.06868"
    assert catalog.tags["gan"].label == "GAN · 生成对抗网络"


def test_the_repository_catalog_loads():
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    assert catalog.entries and all(e.id for e in catalog.entries)
    assert len({e.id for e in catalog.entries}) == len(catalog.entries)


def test_syntax_error_raises_catalog_error_with_line():
    with pytest.raises(CatalogError) as exc:
        catalog_from_text(HEADER + "  - id: x\n    title: [unclosed\n", "c.yaml")
    assert exc.value.problems[0].startswith("c.yaml:")
    assert "YAML syntax error" in exc.value.problems[0]


def test_blocks_split_one_block_per_entry_and_parse_alone(write_catalog):
    text = write_catalog(GOOD_ENTRY, "\n# a comment between entries\n", TRICK).read_text()
    layout = catalog_blocks.split(text)
    assert [b.parse()["id"] for b in layout.blocks] == ["adain", "pdb-debugging"]
    assert layout.blocks[0].start_line == text.splitlines().index("  - id: adain") + 1
    assert layout.end_of_entries == len(text.splitlines()) + 1
    # The same entry text gives the same digest wherever it sits
    again = catalog_blocks.split(HEADER + TRICK + "\n" + GOOD_ENTRY)
    assert {b.digest for b in again.blocks} == {b.digest for b in layout.blocks}


def test_summary_cache_reparses_only_changed_blocks(tmp_path, monkeypatch):
    path = write_synthetic_catalog(tmp_path / "catalog.yaml", 50)
    cache = tmp_path / "cache"
    first = load_summaries(path, cache)
    assert len(first) == 50 and first[3].id == "synth-00003"

    parsed: list[int] = []
    original = summary_module._parse_for_summaries
    monkeypatch.setattr(
        summary_module,
        "_parse_for_summaries",
        lambda scanned, todo: parsed.extend(b.start_line for b in todo) or original(scanned, todo),
    )

    assert load_summaries(path, cache) == first  # unchanged file: no parsing at all
    assert parsed == []

    text = path.read_text().replace("Study 7\n", "Study Seven\n", 1)
    path.write_text(text)
    os.utime(path, ns=(1, 1))  # make sure size/mtime differ from the cached stat
    updated = load_summaries(path, cache)
    assert len(parsed) == 1  # only the edited entry was parsed again
    assert updated[7].title.endswith("Study Seven") and updated[8] == first[8]


def test_normalized_titles_ignore_case_and_punctuation():
    assert normalize_title("Pix2Pix: Image-to-Image Translation!") == normalize_title("pix2pix image to image translation")


def test_emitted_entries_parse_back_identically(write_catalog):
    catalog = read_catalog(write_catalog(GOOD_ENTRY, TRICK))
    for entry in catalog.entries:
        text = entry_to_yaml(entry.data)
        assert parse_entry_text(text) == entry.data
        assert '"1703.06868"' in text or "arxiv" not in text  # arXiv ids always quoted


def test_a_comment_line_inside_notes_stays_in_its_entry():
    text = HEADER + "  - id: a\n    notes:\n      en: |\n        text\n        # heading at the end\n\n  # between entries\n" + TRICK
    first = catalog_blocks.split(text).blocks[0]
    assert first.text.endswith("# heading at the end\n")
    assert first.parse()["notes"]["en"] == "text\n# heading at the end\n"


def test_summaries_equal_a_full_parse_of_each_entry(write_catalog, tmp_path):
    # Summaries skip the notes when parsing; they must still agree with the whole entry.
    path = write_catalog(GOOD_ENTRY, "\n", TRICK)
    catalog = read_catalog(path)
    summaries = load_summaries(path, tmp_path / "cache")
    for entry, s in zip(catalog.entries, summaries, strict=True):
        assert (s.id, s.title, s.status, s.year, list(s.tags)) == (
            entry.id, entry.title, entry.status, entry.year, entry.tags
        )
        assert s.arxiv == entry.links.get("arxiv") and s.line == entry.line


def test_summaries_read_folded_titles_and_flow_links(write_catalog, tmp_path):
    entry = GOOD_ENTRY.replace(
        "    title: Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization\n",
        "    title: >-\n      Arbitrary Style Transfer\n\n      in Real-time\n",
    ).replace(
        '    links:\n      arxiv: "1703.06868"\n      code: https://github.com/xunhuang1995/AdaIN-style\n',
        '    links: {arxiv: "1703.06868v2", code: "https://github.com/xunhuang1995/AdaIN-style"}\n',
    )
    path = write_catalog(entry)
    (s,) = load_summaries(path, tmp_path / "cache")
    assert s.title == read_catalog(path).entries[0].title == "Arbitrary Style Transfer\nin Real-time"
    assert s.arxiv == "1703.06868" and s.tags == ("style-transfer",) and s.year == 2017
