"""Page generation, tested without mkdocs."""

from __future__ import annotations

from conftest import GOOD_ENTRY, REPO_ROOT
from paperkb.catalog import load_catalog
from paperkb.sitegen import generate_pages, render_entry, site_nav

TRICK = """\
  - id: hinge-loss
    kind: trick
    title: Hinge loss
    tags: [gan]
    status: unread
    priority: 1
    notes:
      en: |
        `loss = max(0, 1 - gt * out)`
    refimpl:
      none: a one-line loss
    sources: [000.txt]
    added: 2026-11-22
"""


def test_entry_page_has_header_notes_then_refimpl_then_metadata(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY))
    page = render_entry(catalog, catalog.entries[0], REPO_ROOT)
    assert "# Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization" in page
    assert '<label for="pkb-notes_1">English</label><label for="pkb-notes_2">中文</label>' in page
    assert "<p>Align channel-wise mean and std" in page and "<p>自适应实例归一化" in page
    assert '<code>refimpl/adain.py</code> implements <code>adain</code>.' in page
    assert "make test-entry ID=adain\n.venv/bin/python -m pytest refimpl/tests/test_adain.py" in page
    assert '<a href="https://arxiv.org/abs/1703.06868" rel="noopener">arXiv</a>' in page
    assert '<span class="pkb-badge pkb-status-read">read</span>' in page
    assert "priority 2</span>" not in page  # a read entry's priority is not a badge
    # Order: notes, then the code covering the entry's symbols, the whole module collapsed, metadata last.
    notes, code, whole, meta = (page.index(s) for s in ("## Notes", "def adain(content", "??? example", "<summary>Metadata"))
    assert notes < code < whole < meta
    covered = page[code:whole]
    assert "class AdaINConfig" not in covered and "class AdaINConfig" in page[whole:meta]
    assert "@inproceedings{adain," in page and "<tr><th>Added</th><td>2026-11-23</td></tr>" in page


def test_one_language_notes_open_on_that_language(tmp_path):
    from site_render import make_catalog

    zh_only = {"id": "zh", "kind": "paper", "title": "T", "tags": [], "status": "unread", "refimpl": {"none": "n/a"},
               "notes": {"zh": "只有中文。"}, "translations": {"en": "Chinese only."}, "sources": [], "added": "2026-11-01"}
    catalog = make_catalog([zh_only], {}, tmp_path / "catalog.yaml")
    page = render_entry(catalog, catalog.entries[0], tmp_path)
    assert '<input id="pkb-notes_1" name="pkb-notes" type="radio" /><input checked="checked" id="pkb-notes_2"' in page
    en_tab = page[page.index('lang="en"'):page.index('lang="zh"')]
    assert "Translation (not the author&#39;s words)" in en_tab and "Chinese only." in en_tab
    assert "pkb-author-notes" not in en_tab  # the translation is never shown as the author's words


def test_entry_without_refimpl_shows_the_reason_and_only_its_language(write_catalog):
    catalog = load_catalog(write_catalog(TRICK))
    page = render_entry(catalog, catalog.entries[0], REPO_ROOT)
    assert "No reference implementation: a one-line loss" in page
    assert "中文</label>" not in page  # no empty tab
    assert "Whole module" not in page and "@misc" not in page


def test_generated_pages_cover_every_entry_and_used_tag(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY, TRICK))
    pages = {p.path: p for p in generate_pages(catalog, REPO_ROOT)}
    assert {"entries/adain.md", "entries/hinge-loss.md", "papers.md", "tricks.md", "dashboard.md"} <= set(pages)
    assert {"tags/gan.md", "tags/style-transfer.md", "tags/index.md"} <= set(pages)
    assert 'href="../../entries/hinge-loss/"' in pages["tags/gan.md"].markdown  # the tag page has the table
    papers = pages["papers.md"].markdown
    assert '<a href="../entries/adain/">Arbitrary Style Transfer' in papers
    assert 'href="../entries/adain/"' not in pages["tricks.md"].markdown
    dashboard = pages["dashboard.md"].markdown
    up_next = dashboard[dashboard.index("pkb-up-next"):dashboard.index("## Recently read")]
    assert 'href="../entries/hinge-loss/"' in up_next and "adain" not in up_next  # read entries are not queued


def test_nav_keeps_sections_visible_and_lists_no_tag_or_entry(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY, TRICK))
    nav = site_nav(catalog)
    flat = str(nav)
    assert "entries/" not in flat and "tags/gan.md" not in flat
    assert [next(iter(item)) for item in nav][-3:] == ["GPU smoke results", "How-to", "About"]
    assert "Mutation testing" in str(site_nav(catalog, mutation=True))


def test_gpu_smoke_page_renders_recorded_results(tmp_path):
    from paperkb.sitegen.pages import render_gpu_smoke

    assert "No GPU run has been recorded yet" in render_gpu_smoke(tmp_path / "absent.json")
    results = tmp_path / "gpu.json"
    results.write_text(
        '{"device": "NVIDIA H100", "torch": "2.13.0", "cuda": "13.0", "date": "2026-11-23", "results": ['
        '{"test": "refimpl/tests/test_examples.py::test_cuda_step_time[adain.adain_operation]",'
        ' "outcome": "passed", "ms_per_step": 0.42},'
        '{"test": "refimpl/tests/test_examples.py::test_cuda_matches_cpu[adain.adain_operation]",'
        ' "outcome": "failed"}]}'
    )
    page = render_gpu_smoke(results)
    assert "| NVIDIA H100 | 2.13.0 | 13.0 | 2026-11-23 |" in page
    assert "| `adain.adain_operation` | test_cuda_step_time | ✅ pass | 0.42 |" in page
    assert "| `adain.adain_operation` | test_cuda_matches_cpu | ❌ failed |  |" in page


def test_benchmarks_page_renders_the_recorded_figures_escaped(tmp_path) -> None:
    import json

    from paperkb.sitegen.pages import render_benchmarks

    assert render_benchmarks(tmp_path / "missing.json") is None
    path = tmp_path / "bench.json"
    row = {"entries": 1000, "engine": "<script>alert(1)</script>", "build_s": 92.25, "index_s": 3.0,
           "first_result_s": 0.5, "first_result_inpage_s": 0.375, "first_query_kb": 120.4, "query_median_ms": 40.2,
           "query_p95_ms": None}
    path.write_text(json.dumps({"date": "2026-12-01", "machine": "x86_64, 2 cores", "rows": [row]}), encoding="utf-8")
    page = render_benchmarks(path)
    assert "<td>1000</td>" in page and "<td>92.2 s</td>" in page and "<td>120 KB</td>" in page
    assert "<td>0.50 s / 0.38 s</td>" in page  # as the driver waited / as the page measured
    assert "<td>—</td>" in page  # a figure not measured
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_sub_pages_are_labelled_escaped_text_never_links(tmp_path):
    from paperkb.catalog.model import Catalog, Entry

    hostile = {"title": "<script>alert(1)</script> pix2pix", "path": "Page%20ab/x%20cd.md\" onmouseover=\"alert(2)"}
    entry = {"id": "p", "kind": "paper", "title": "T", "tags": [], "status": "read", "refimpl": {"none": "n/a"},
             "subpages": [hostile, {"title": "GAN", "path": "Page%20ab/GAN%2012.md"}],
             "sources": ["002.txt"], "added": "2026-11-01"}
    catalog = Catalog(path=tmp_path / "catalog.yaml", tags={}, entries=[Entry(entry, 0)],
                      data={"note_files": {"002.txt": {"subpages": [{"title": "Rendering", "path": "Page/R%2099.md"}]}}})
    page = render_entry(catalog, catalog.entries[0], tmp_path)
    block = page[page.index('<div class="pkb-added pkb-subpages">'):]
    block = block[:block.index("</div>")]
    assert '<p class="pkb-added-label">Notion sub-page (not exported)' in block
    assert "&lt;script&gt;alert(1)&lt;/script&gt; pix2pix" in block and "<script>" not in page
    assert "&#34; onmouseover=&#34;alert(2)" in block
    assert "<a " not in block and "href" not in block and "](" not in block  # text, not a link
    meta = page[page.index("<th>From notes</th>"):]
    assert "its Notion sub-page (not exported):</span> <span class=\"pkb-subpage-title\"" in meta
    assert ">Rendering</span>" in meta and "href" not in meta.split("</tr>")[0]
