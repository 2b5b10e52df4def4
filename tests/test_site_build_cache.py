"""What keeps the site build fast changes nothing on the page: HTML blocks set aside, caches."""

from __future__ import annotations

import json

import pytest
from conftest import REPO_ROOT
from paperkb.bench import bench_site
from paperkb.bench.synth import write_synthetic_catalog
from paperkb.catalog import load_catalog
from paperkb.sitegen import build_site, generate_pages, related
from paperkb.sitegen import sanitize as sanitize_mod
from paperkb.sitegen.blocks import placeholder, restore
from paperkb.sitegen.buildcache import CACHE_ENV, ContentCache
from paperkb.sitegen.pages import render_site_bench
from site_render import make_catalog, to_html
from test_site_escaping import PAYLOADS, _entry

HOSTILE_NOTES = "**bold** $x^2$ <!-- a comment --> <script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


def test_pages_render_the_same_with_their_html_blocks_set_aside(tmp_path):
    entries = [dict(_entry(p, p, HOSTILE_NOTES), id=f"e{i}") for i, p in enumerate(PAYLOADS)]
    catalog = make_catalog(entries, {"t": (PAYLOADS[0], PAYLOADS[1])}, tmp_path / "catalog.yaml")
    pages = generate_pages(catalog, site=build_site(catalog, tmp_path))
    assert sum(1 for p in pages if p.blocks) >= len(entries) + 2  # entries, library, tag page
    for page in pages:
        whole = to_html(page.markdown)
        # What mkdocs does: the body through markdown, then the blocks put back.
        assert restore(to_html(page.body), page.blocks) == whole, page.path
        for block in page.blocks:
            assert block not in page.body


def test_only_this_builds_placeholders_are_restored():
    assert restore(placeholder(0), ["<p>x</p>"]) == "<p>x</p>"
    forged = "<!--pkb-html-0000000000000000-0-->"
    assert restore(forged, ["<p>x</p>"]) == forged


def test_cached_notes_html_is_reused_and_sanitised_again(tmp_path, monkeypatch):
    cache = ContentCache(tmp_path / "notes.json")
    first = sanitize_mod.render_markdown(HOSTILE_NOTES, cache)
    cache.save()
    assert "<strong>bold</strong>" in first and "<script" not in first

    def no_convert(text):
        raise AssertionError("converted again")

    monkeypatch.setattr(sanitize_mod, "_convert", no_convert)
    again = ContentCache(tmp_path / "notes.json")
    assert sanitize_mod.render_markdown(HOSTILE_NOTES, again) == first
    # A tampered cache file still cannot put a script on the page.
    data = json.loads((tmp_path / "notes.json").read_text())
    data = {k: v + '<script>alert(1)</script><a href="javascript:x" onclick="y">l</a>' for k, v in data.items()}
    (tmp_path / "notes.json").write_text(json.dumps(data))
    html = sanitize_mod.render_markdown(HOSTILE_NOTES, ContentCache(tmp_path / "notes.json"))
    assert "<script" not in html and "javascript:" not in html and "onclick" not in html


def test_related_words_come_from_the_cache_on_the_next_build(tmp_path, monkeypatch):
    catalog = load_catalog(write_synthetic_catalog(tmp_path / "catalog.yaml", 30))
    first = related.related_entries(catalog, tmp_path)

    def no_tokens(text):
        raise AssertionError("segmented again")

    monkeypatch.setattr(related, "_tokens", no_tokens)
    second = related.related_entries(catalog, tmp_path)
    assert {k: [(r.entry.id, r.reasons) for r in v] for k, v in second.items()} == {
        k: [(r.entry.id, r.reasons) for r in v] for k, v in first.items()
    }


def test_cache_keeps_this_builds_pieces_first_then_older_ones_up_to_its_cap(tmp_path):
    path = tmp_path / "c.json"
    old = ContentCache(path, cap=3)
    for k in "abc":
        old.put(k, k.upper())
    old.save()
    new = ContentCache(path, cap=3)
    assert new.get("b") == "B"
    new.put("d", "D")
    new.save()
    assert list(json.loads(path.read_text())) == ["b", "d", "a"]


def test_the_benchmark_baseline_has_a_plain_page_for_every_generated_page(tmp_path):
    catalog = load_catalog(write_synthetic_catalog(tmp_path / "catalog.yaml", 25))
    site = build_site(catalog, bench_site.paths.REPO_ROOT)
    bench_site._plain_pages(site, tmp_path / "docs")
    plain = {p.relative_to(tmp_path / "docs").as_posix() for p in (tmp_path / "docs").rglob("*.md")}
    ours = {p.path for p in generate_pages(catalog, site=site)}
    assert ours <= plain, ours - plain
    tables = (tmp_path / "docs" / "papers.md").read_text()
    assert tables.count("\n| [") == 25  # one markdown table row per entry


def test_site_bench_figures_render_with_ratios(tmp_path):
    assert render_site_bench(tmp_path / "missing.json") is None
    path = tmp_path / "site-bench.json"
    path.write_text(json.dumps({
        "date": "2026-12-01", "machine": "<b>x86_64</b>", "entries": 1000, "pages": 1016, "plain_pages": 1016,
        "repeat": 2, "load_average": [2.0, 3.5], "plain_s": 40.0, "warm_s": 44.0, "cold_s": 60.0, "index_s": 11.0,
    }))
    page = render_site_bench(path)
    assert "<td>40.0 s</td><td>1.00×</td>" in page
    assert "<td>44.0 s</td><td>1.10×</td>" in page and "<td>60.0 s</td><td>1.50×</td>" in page
    assert "25% of the warm build" in page and "load average 2.0–3.5" in page
    assert "<b>" not in page


def test_blame_line_times_match_the_line_porcelain_reading(tmp_path):
    import subprocess

    from paperkb.sitegen.dates import _line_times

    # Reference: every line's committer-time from --line-porcelain, read independently.
    out = subprocess.run(["git", "blame", "--line-porcelain", "--", "catalog.yaml"], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout
    expected = [0] + [int(x.split(" ", 1)[1]) for x in out.splitlines() if x.startswith("committer-time ")]
    times = _line_times(REPO_ROOT / "catalog.yaml")
    assert times == expected and len(set(expected[1:])) > 1  # more than one commit in the history
    assert _line_times(tmp_path / "catalog.yaml") is None  # no git repository there
