"""The real site build: mkdocs + the hook + mkdocs-material, strict."""

from __future__ import annotations

import json

import yaml
from conftest import GOOD_ENTRY, REPO_ROOT, mkdocs_build
from paperkb.catalog import load_catalog


def test_every_entry_has_a_page(built_site):
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    for entry in catalog.entries:
        assert (built_site / "entries" / entry.id / "index.html").is_file(), entry.id


def test_papers_table_links_every_paper(built_site):
    html = (built_site / "papers" / "index.html").read_text(encoding="utf-8")
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    for entry in catalog.papers:
        assert f'href="../entries/{entry.id}/"' in html, entry.id


def test_tag_pages_list_their_entries_with_both_labels(built_site):
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    entry = next(e for e in catalog.entries if e.tags)
    slug = entry.tags[0]
    html = (built_site / "tags" / slug / "index.html").read_text(encoding="utf-8")
    assert catalog.tags[slug].zh in html and catalog.tags[slug].en in html
    assert f"entries/{entry.id}/" in html


def test_home_page_shows_counts(built_site):
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    html = (built_site / "index.html").read_text(encoding="utf-8")
    assert "paperkb:counts" not in html
    assert f"<strong>{len(catalog.entries)}</strong> entries" in html
    assert f"<strong>{len(catalog.papers)}</strong> papers" in html


def test_the_build_writes_one_search_record_per_entry(built_site):
    from paperkb.catalog import load_catalog

    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    index = built_site / "search-index"
    manifest = json.loads((index / "index.json").read_text(encoding="utf-8"))
    assert manifest["entries"] == len(catalog.entries) == len(list((index / "e").iterdir()))
    first = json.loads((index / "e" / "0.json").read_text(encoding="utf-8"))
    assert first["url"] == f"entries/{catalog.entries[0].id}/" and first["title"] == catalog.entries[0].title
    words = index / "words"
    assert "pix2pix" in json.loads((words / "latin-p.json").read_text(encoding="utf-8"))
    assert json.loads((words / "zh.json").read_text(encoding="utf-8"))


def test_invalid_catalog_fails_the_build_with_the_validator_message(tmp_path):
    bad = tmp_path / "catalog.yaml"
    text = (REPO_ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    header = text.split('HEADER = """\\\n', 1)[1].split('"""', 1)[0]
    bad.write_text(header + GOOD_ENTRY.replace("status: read", "status: done"), encoding="utf-8")
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(REPO_ROOT / "docs")
    config["hooks"] = [str(REPO_ROOT / "tools" / "site_hooks.py")]
    config["extra"]["catalog"] = str(bad)
    config["watch"] = []
    config["theme"]["custom_dir"] = str(REPO_ROOT / "overrides")
    config_path = tmp_path / "mkdocs.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = mkdocs_build(config_path, tmp_path / "site")
    assert result.returncode != 0
    line = bad.read_text().splitlines().index("    status: done") + 1
    assert f"{bad}:{line}: entry 'adain': status 'done' is not one of unread, reading, read" in result.stderr
    assert "Traceback" not in result.stderr


def test_404_page_points_to_the_main_sections(built_site):
    html = (built_site / "404.html").read_text(encoding="utf-8")
    assert "Page not found" in html
    assert 'href="/dashboard/"' in html and 'href="/papers/"' in html and 'href="/tags/"' in html


def test_sidebar_lists_sections_not_tags(built_site):
    html = (built_site / "dashboard" / "index.html").read_text(encoding="utf-8")
    nav = html[html.index('class="md-nav md-nav--primary"'):html.index('class="md-content"')]
    for section in ("Reading dashboard", "Library", "Tags", "GPU smoke results", "How-to", "About"):
        assert section in nav
    assert "tags/gan/" not in nav


def test_benchmarks_page_shows_the_recorded_site_build(built_site):
    data = json.loads((REPO_ROOT / "docs" / "data" / "site-bench.json").read_text(encoding="utf-8"))
    html = (built_site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    assert f"Site build at {data['entries']} entries" in html
    assert f"<td>{data['warm_s']:.1f} s</td><td>{data['warm_s'] / data['plain_s']:.2f}×</td>" in html
    assert f"<td>{data['plain_s']:.1f} s</td><td>1.00×</td>" in html
