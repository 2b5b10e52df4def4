"""The reading tools of the site: queue, charts, related entries, dates, test status, mutation page."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from conftest import GOOD_ENTRY, REPO_ROOT
from paperkb.catalog import load_catalog
from paperkb.sitegen import queue
from paperkb.sitegen.charts import status_bars, year_columns
from paperkb.sitegen.dates import entry_dates
from paperkb.sitegen.pages import render_mutation
from paperkb.sitegen.refsource import code_block, symbol_source
from paperkb.sitegen.related import related_entries
from paperkb.testing.results import module_status
from site_render import make_catalog


def _e(id_, status, priority=None, added="2026-11-01", year=2020, tags=(), notes=None):
    return {"id": id_, "kind": "paper", "title": id_.upper(), "status": status, "priority": priority,
            "added": added, "year": year, "tags": list(tags), "notes": notes or {}, "refimpl": {"none": "x"}}


def test_up_next_orders_by_priority_then_newest_added_then_newest_year(tmp_path):
    catalog = make_catalog([
        _e("read-p1", "read", 1),                      # read: never queued, whatever its priority
        _e("old", "unread", None, "2026-10-01", 2021),
        _e("new", "unread", None, "2026-11-20", 2015),
        _e("p2", "reading", 2, "2026-01-01", 2010),
        _e("p1", "unread", 1, "2025-01-01", 2001),
        _e("new-later-year", "unread", None, "2026-11-20", 2019),
    ], {}, tmp_path / "c.yaml")
    assert [e.id for e in queue.up_next(catalog)] == ["p1", "p2", "new-later-year", "new", "old"]
    assert [e.id for e in queue.reading_now(catalog)] == ["p2"]
    changed = {"read-p1": "2026-11-30"}
    assert [e.id for e in queue.recently_read(catalog, changed)] == ["read-p1"]


def test_status_chart_draws_one_bar_part_per_status_with_widths_in_proportion():
    svg = str(status_bars([("GAN", Counter(read=3, unread=1)), ("<b>", Counter(reading=2))], width=640, label_w=190))
    assert svg.count('class="pkb-fill-read"') == 2  # one bar part and the legend
    # scale: (640 - 190 - 40) / 4 per entry
    assert 'width="307.5" height="16" class="pkb-fill-read"' in svg and 'width="102.5"' in svg
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    years = str(year_columns([(2015, 1), (2017, 4)]))
    assert years.count("<rect") == 2 and ">2016<" in years  # the empty year keeps its place


def test_related_entries_follow_refimpl_imports_both_ways():
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    related = related_entries(catalog, REPO_ROOT)
    adain = {r.entry.id: r.reasons for r in related["adain"]}
    assert "munit" in adain and any("refimpl/munit.py imports adain" in r for r in adain["munit"])
    assert any("used by" in r for r in adain["munit"])
    cyclegan = {r.entry.id: r.reasons for r in related["cyclegan"]}
    assert any(r.startswith("builds on") and "imports pix2pix" in r for r in cyclegan["pix2pix"])
    assert all(len(v) <= 8 for v in related.values())


def test_similar_notes_match_across_entries_in_chinese(tmp_path):
    catalog = make_catalog([
        _e("a", "read", notes={"zh": "判别器 使用 谱归一化 稳定 训练 生成器"}),
        _e("b", "read", notes={"zh": "谱归一化 让 判别器 训练 更 稳定"}),
        _e("c", "read", notes={"en": "a survey of point clouds"}),
        _e("d", "read", notes={"en": "point clouds and meshes"}),
    ], {}, tmp_path / "c.yaml")
    related = related_entries(catalog, tmp_path)
    assert [r.entry.id for r in related["a"]] == ["b"] and "similar notes" in related["a"][0].reasons[0]


def test_dates_come_from_git_with_a_fallback_without_git(write_catalog):
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    dates = entry_dates(catalog)
    added, changed = dates["adain"]
    assert added == "2026-11-23" and changed >= added
    plain = load_catalog(write_catalog(GOOD_ENTRY))
    assert entry_dates(plain)["adain"] == ("2026-11-23", "2026-11-23")  # tmp_path is no git repository


def test_symbol_source_shows_only_the_named_definitions_with_decorators():
    src = symbol_source(REPO_ROOT / "refimpl" / "adain.py", ["adain"])
    assert src.startswith("def adain(") and "class AdaINConfig" not in src
    assert code_block("```\nx\n", "python").startswith("````python\n")  # a fence the code cannot close


def test_results_plugin_records_outcomes_the_site_reads(tmp_path):
    (tmp_path / "refimpl" / "tests").mkdir(parents=True)
    (tmp_path / "refimpl" / "tests" / "test_toy.py").write_text(
        "import pytest\ndef test_ok():\n    pass\ndef test_bad():\n    assert 0\n"
        "@pytest.mark.skip\ndef test_skip():\n    pass\n")
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "paperkb.testing.results_plugin", "refimpl"],
                   cwd=tmp_path, capture_output=True, env={"PYTHONPATH": str(REPO_ROOT / "tools"), "PATH": "/usr/bin"})
    data = json.loads((tmp_path / ".cache" / "test-results.json").read_text())
    assert {k: v["outcome"] for k, v in data["tests"].items()} == {
        "refimpl/tests/test_toy.py::test_ok": "passed",
        "refimpl/tests/test_toy.py::test_bad": "failed",
        "refimpl/tests/test_toy.py::test_skip": "skipped",
    }
    status = module_status(data, "toy")
    assert (status.passed, status.failed, status.skipped, status.ok) == (1, 1, 1, False)
    assert module_status(None, "toy") is None


def test_mutation_page_renders_reports_and_survivors(tmp_path):
    assert render_mutation(tmp_path / "absent") is None
    (tmp_path / "adain.json").write_text(json.dumps({
        "module": "refimpl/adain.py", "mutants": 10, "killed": 8, "survived": 1, "equivalent": 1, "score": 0.89,
        "survivors": [{"line": 12, "original": "a < b", "mutated": "a <= b"}], "date": "2026-12-01"}))
    page = render_mutation(tmp_path)
    assert "<td><code>refimpl/adain.py</code></td><td>10</td><td>8</td><td>1</td><td>1</td><td>0.89</td>" in page
    assert "<td>12</td><td><code>a &lt; b</code></td><td><code>a &lt;= b</code></td>" in page
