"""The benchmark's realistic synthetic notes: words by Zipf's law over a few thousand words."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from paperkb.bench import synth, zipf_synth
from paperkb.catalog import load_catalog


def test_vocabularies_hold_thousands_of_words_with_the_topic_words(tmp_path: Path) -> None:
    en, zh = zipf_synth.vocabularies()
    assert len(en) > 2000 and len(zh) > 2000
    assert len(set(en)) == len(en) and len(set(zh)) == len(zh)
    # The benchmark's query words are in, from common to rare, never among the first ten.
    ranks = [en.index(w) for w in synth._EN_WORDS]
    assert min(ranks) >= 10 and max(ranks) <= 1100


def test_notes_follow_zipfs_law(tmp_path: Path) -> None:
    catalog = load_catalog(zipf_synth.write_zipf_catalog(tmp_path / "catalog.yaml", 200))
    assert len(catalog.entries) == 200
    en, _ = zipf_synth.vocabularies()
    counts = Counter(w for e in catalog.entries for w in e.notes["en"].split())
    assert 190 * 200 <= sum(counts.values()) <= 200 * 200
    # P(rank r) = 1 / ((r + 1) H), H = the harmonic number of the vocabulary's size: the
    # first word is ten times as frequent as the tenth (40,000 draws: within ±25%).
    assert 7.5 < counts[en[0]] / counts[en[9]] < 12.5
    h = sum(1 / (r + 1) for r in range(min(len(en), len(zipf_synth.vocabularies()[1]))))
    assert abs(counts[en[0]] / sum(counts.values()) - 1 / h) < 0.01
    # Thousands of distinct words, where the uniform corpus has about forty.
    assert len(counts) > 1500
    zh_text = "".join(e.notes["zh"] for e in catalog.entries)
    assert len(zh_text) > 200 * 300 and " " not in zh_text.replace("\n", "")


def test_a_drawn_note_that_forms_a_marker_sentence_is_drawn_again() -> None:
    # Random words can form "editors note", which the validator refuses in the author's
    # notes (seen at 10,000 entries): the catalog must stay loadable at any size.
    drawn = iter(["results of the editors note on gans", "clean words only"])
    assert zipf_synth._draw(lambda: next(drawn)) == "clean words only"
