"""Properties over generated input (hypothesis): valid catalogs survive load → write →
load unchanged, and no string makes the loader, the validator, the query parser or the
importers raise anything but their own clean error. Bounded to stay fast."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paperkb.catalog import CatalogError, catalog_from_text, validate
from paperkb.catalog.emit import entry_to_yaml
from paperkb.importers import bibtex, markdown_notes
from paperkb.search.query import parse

BOUNDED = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER = "version: 1\n\ntags:\n  gan: {en: GAN, zh: 生成对抗网络}\n  loss: {en: Loss, zh: 损失}\n\nentries:\n"

_LETTERS = string.ascii_letters + string.digits + " -.()/+" + "生成对抗网络风格迁移"
words = st.text(alphabet=_LETTERS, min_size=1, max_size=40).map(str.strip).filter(bool)
# Items of flow lists hold commas, colons and hashes too ('0,' once came back as 0).
items = st.text(alphabet=_LETTERS + ",:#'", min_size=1, max_size=40).map(str.strip).filter(bool)
slugs = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,30}\Z").filter(
    lambda s: s not in {"index", "tags", "entries", "search", "assets", "papers", "tricks", "dashboard",
                        "about", "howto", "sitemap", "stylesheets", "javascripts", "gpu-smoke", "404"}
)
# Lines may start or end with spaces or a tab (a first line starting with spaces needs
# an indentation indicator), and a note may end with no line break or several.
note_lines = st.lists(st.text(alphabet=_LETTERS + "#*`$=:\t", max_size=60), min_size=1, max_size=6)
notes = st.builds(lambda lines, end: "\n".join(lines) + end, note_lines, st.sampled_from(["\n", "", "\n\n"])).filter(
    lambda t: t.strip()
)


@st.composite
def entries(draw: st.DrawFn, entry_id: str) -> dict:
    entry: dict = {"id": entry_id, "kind": draw(st.sampled_from(["paper", "trick"])), "title": draw(words)}
    if draw(st.booleans()):
        entry["authors"] = draw(st.lists(items, min_size=1, max_size=3))
    if draw(st.booleans()):
        entry["year"] = draw(st.integers(1900, 2026))
    if draw(st.booleans()):
        entry["venue"] = draw(words)
    if draw(st.booleans()):
        arxiv = draw(st.from_regex(r"\A[0-9]{4}\.[0-9]{5}\Z"))
        entry["links"] = {"arxiv": arxiv, "code": f"https://github.com/{draw(slugs)}/x"}
    entry["tags"] = draw(st.lists(st.sampled_from(["gan", "loss"]), unique=True, max_size=2))
    entry["status"] = draw(st.sampled_from(["unread", "reading", "read"]))
    if draw(st.booleans()):
        entry["priority"] = draw(st.integers(1, 9))
    if draw(st.booleans()):
        entry["notes"] = {"en": draw(notes), "zh": draw(notes)}
    entry["refimpl"] = {"none": "no code for this one"}
    entry["sources"] = draw(st.lists(items, min_size=1, max_size=2))
    entry["added"] = "2026-11-23"
    return entry


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict]:
    ids = draw(st.lists(slugs, min_size=1, max_size=5, unique=True))
    return [draw(entries(i)) for i in ids]


@BOUNDED
@given(catalogs())
def test_valid_catalogs_round_trip_unchanged(generated):
    text = HEADER + "\n".join(entry_to_yaml(e) for e in generated)
    catalog = catalog_from_text(text)
    assert [e.data for e in catalog.entries] == generated
    assert validate(catalog, check_refimpl=False).errors == []
    again = catalog_from_text(HEADER + "\n".join(entry_to_yaml(e.data) for e in catalog.entries))
    assert [e.data for e in again.entries] == generated


yaml_ish = st.lists(st.sampled_from([*"ab:- \n\t[]{}&*!|>'\"#%@`,?0x7E3\x1b\xe9生\\", "<<", "&a ", "*a"]),
                   max_size=60).map("".join)


@BOUNDED
@given(st.one_of(yaml_ish, st.text(max_size=200), st.builds(lambda t: HEADER + t, yaml_ish)))
def test_no_string_makes_the_loader_or_the_validator_raise(text):
    try:
        catalog = catalog_from_text(text)
    except CatalogError as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems)
        return
    report = validate(catalog, check_refimpl=False)
    assert all(p.line >= 1 for p in report.errors)


@BOUNDED
@given(st.text(max_size=200))
def test_no_string_makes_the_query_parser_raise(text):
    parse(text)


bib_ish = st.lists(st.sampled_from([*"@article{}=,\"\n title author and year 2019 #%\\", "abstract"]),
                  max_size=80).map("".join)


@BOUNDED
@given(st.one_of(bib_ish, st.text(max_size=200)))
def test_no_string_makes_the_bibtex_importer_raise(text):
    try:
        result = bibtex.parse_text(text, "x.bib")
    except bibtex.BibtexError as exc:
        assert "\n" not in str(exc)
        return
    assert all(r.title for r in result.records)


md_ish = st.lists(st.sampled_from([*"#-*~[]()1. \n—:`$", "https://x.org/a", "](", "**"]), max_size=80).map("".join)


@BOUNDED
@given(st.one_of(md_ish, st.text(max_size=200)))
def test_no_string_makes_the_markdown_importer_raise(text):
    markdown_notes.parse_text(text, "notes.md")
