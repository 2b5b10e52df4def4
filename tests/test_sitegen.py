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


def test_entry_page_has_title_both_notes_tags_and_refimpl(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY))
    page = render_entry(catalog, catalog.entries[0], REPO_ROOT)
    assert "# Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization" in page
    assert 'tags: ["Style Transfer · 风格迁移"]' in page  # front matter for the tags plugin
    assert '=== "English"\n\n    Align channel-wise mean and std' in page  # linked content tabs
    assert '=== "中文"\n\n    自适应实例归一化' in page
    assert "`refimpl/adain.py` implements `adain`." in page
    assert "pytest refimpl/tests/test_adain.py" in page
    assert "def adain(content: torch.Tensor" in page  # the source, inline
    assert "[arXiv](https://arxiv.org/abs/1703.06868)" in page
    assert '<span class="pkb-badge pkb-status-read">read</span>' in page
    assert '<span class="pkb-badge pkb-priority">priority 2</span>' in page


def test_entry_without_refimpl_shows_the_reason_and_missing_language(write_catalog):
    catalog = load_catalog(write_catalog(TRICK))
    page = render_entry(catalog, catalog.entries[0], REPO_ROOT)
    assert "No reference implementation: a one-line loss" in page
    assert "*暂无中文笔记。*" in page
    assert "Source:" not in page


def test_generated_pages_cover_every_entry_and_used_tag(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY, TRICK))
    pages = {p.path: p for p in generate_pages(catalog, REPO_ROOT)}
    assert {"entries/adain.md", "entries/hinge-loss.md", "papers.md", "tricks.md", "dashboard.md"} <= set(pages)
    assert {"tags/gan.md", "tags/style-transfer.md", "tags/index.md"} <= set(pages)
    assert '<!-- material/tags { include: ["GAN · 生成对抗网络"] } -->' in pages["tags/gan.md"].markdown
    papers = pages["papers.md"].markdown
    assert "[Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization](entries/adain.md)" in papers
    assert "hinge-loss" not in papers and "entries/hinge-loss.md" in pages["tricks.md"].markdown
    dashboard = pages["dashboard.md"].markdown
    assert "1. [Hinge loss](entries/hinge-loss.md) · priority 1" in dashboard  # up next, by priority


def test_table_cells_escape_pipes(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY.replace("title: Arbitrary", "title: A | B Arbitrary")))
    papers = next(p for p in generate_pages(catalog, REPO_ROOT) if p.path == "papers.md").markdown
    assert "[A \\| B Arbitrary" in papers


def test_nav_lists_sections_and_tags_not_entries(write_catalog):
    catalog = load_catalog(write_catalog(GOOD_ENTRY, TRICK))
    nav = site_nav(catalog)
    flat = str(nav)
    assert "entries/" not in flat
    assert {"GAN · 生成对抗网络": "tags/gan.md"} in nav[4]["Tags"]


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
