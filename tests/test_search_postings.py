"""The site's search index (``sitesearch/postings.py``): the words, weights and files the
browser's engine reads, checked by decoding them back."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from paperkb.sitesearch import postings
from paperkb.sitesearch.records import Record


def _rec(url: str, *fields: tuple[float, str], **filters: tuple[str, ...]) -> Record:
    return Record(url=url, fields=fields, meta={"title": url, "kind": "paper", "status": "read", "year": 2020},
                  filters=filters, body=" ".join(t for _, t in fields))


def test_tokens_are_letters_and_digits_of_any_script_lowercased() -> None:
    assert postings.tokens("Super-Resolution, pix2pix 1703.06868 判别器 特征\u200b对齐 snake_case") == [
        "super", "resolution", "pix2pix", "1703", "06868", "判别器", "特征", "对齐", "snake", "case",
    ]


def test_weighted_counts_add_each_fields_weight_per_occurrence() -> None:
    rec = _rec("a", (7.0, "CycleGAN"), (1.0, "cyclegan cycle cycle"), (0.4, "cycle"))
    assert postings.weighted_counts(rec) == {"cyclegan": 8.0, "cycle": 2.4}


def test_postings_round_trip_with_gaps_and_large_numbers() -> None:
    # Entry numbers past one varint byte (127) and counts past it (12.8 × 10).
    pairs = [(0, 0.1), (1, 7.0), (130, 12.8), (20000, 1234.5)]
    data = postings.encode_postings(pairs)
    assert postings.decode_postings(data) == pairs
    # Gaps, not entry numbers: 0, 1, 129, 19870; counts × 10: 1, 70, 128, 12345.
    assert data[:4] == bytes([0, 1, 1, 70])
    assert data[4:7] == bytes([0x81, 0x01, 0x80]) and data[7] == 0x01  # 129, then 128


def _read_chunks(out: Path) -> dict[str, list[tuple[int, float]]]:
    terms: dict[str, list[tuple[int, float]]] = {}
    manifest = json.loads((out / "index.json").read_text(encoding="utf-8"))
    for number, first in enumerate(manifest["chunks"]):
        blob = (out / f"t{number}.bin").read_bytes()
        (length,) = struct.unpack("<I", blob[:4])
        header = json.loads(blob[4:4 + length])
        assert header[0][0] == first
        offset = 4 + length
        for term, entries, size in header:
            terms[term] = postings.decode_postings(blob[offset:offset + size])
            assert len(terms[term]) == entries
            offset += size
        assert offset == len(blob)
    return terms


def test_the_index_files_decode_to_every_word_of_every_record(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(postings, "CHUNK_BYTES", 40)  # several chunks from a few words
    recs = [
        _rec("entries/a/", (7.0, "Image Translation"), (1.0, "a patch discriminator"), tag=("GAN",)),
        _rec("entries/b/", (7.0, "Patch Match"), (1.0, "patch patch 判别器"), tag=("GAN", "Faces")),
        _rec("entries/c/", (7.0, "Zebra"), (1.0, "horse to zebra"), tag=()),
    ]
    counts = postings.write_index(recs, tmp_path)
    terms = _read_chunks(tmp_path)
    assert counts["chunks"] > 2 and counts["terms"] == len(terms)
    assert terms["patch"] == [(0, 1.0), (1, 9.0)]
    assert terms["zebra"] == [(2, 8.0)]
    assert terms["判别器"] == [(1, 1.0)]
    assert list(terms) == sorted(terms)  # chunks in alphabetical order, as the browser searches them
    assert json.loads((tmp_path / "e" / "1.json").read_text(encoding="utf-8")) == {
        "url": "entries/b/", "title": "entries/b/", "kind": "paper", "status": "read", "year": 2020,
        "body": "Patch Match patch patch 判别器",
    }
    facets = json.loads((tmp_path / "facets.json").read_text(encoding="utf-8"))
    assert facets["names"]["tag"] == ["Faces", "GAN"]
    assert facets["docs"]["tag"] == [[1], [1, 0], []]


def test_the_build_id_changes_with_the_content(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    postings.write_index([_rec("entries/a/", (1.0, "patch"))], one)
    postings.write_index([_rec("entries/a/", (1.0, "patches"))], two)
    build = [json.loads((d / "index.json").read_text(encoding="utf-8"))["build"] for d in (one, two)]
    assert build[0] != build[1]


def test_all_lists_at_once_equal_each_list_alone() -> None:
    import random

    rng = random.Random(3)
    lists = []
    for size in (1, 3, 0, 200, 1, 57):
        docs = sorted(rng.sample(range(40_000), size))
        lists.append([(d, rng.choice([0.04, 0.4, 7.0, 12.8, 99.9, 5000.0, 3e6])) for d in docs])
    assert postings.encode_all(lists) == [postings.encode_postings(pairs) for pairs in lists]
    assert postings.encode_all([]) == []
