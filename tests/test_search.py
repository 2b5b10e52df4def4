"""Search: index, incremental updates, query handling, ranking, output, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import search as search_cli
from paperkb.catalog import blocks
from paperkb.catalog.scan import scan
from paperkb.search import Filters, Searcher, glossary, index, zh
from paperkb.search.engine import Engine, damerau_distance
from paperkb.search.query import parse
from paperkb.search.render import snippet

FIXTURE = Path(__file__).parent / "fixtures" / "search_catalog.yaml"




@pytest.fixture()
def catalog_copy(tmp_path: Path) -> Path:
    catalog = tmp_path / "catalog.yaml"
    shutil.copy(FIXTURE, catalog)
    return catalog


def ids(searcher: Searcher, query: str, **kwargs: object) -> list[str]:
    return [h.id for h in searcher.search(query, **kwargs).hits]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = search_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- Chinese segmentation ------------------------------------------------------
def test_segmentation_is_jiebas(tmp_path: Path) -> None:
    import jieba

    reference = jieba.Tokenizer()
    reference.initialize()
    segmenter = zh.Segmenter(cache_dir=tmp_path)
    runs = zh.CJK_RUN.findall(FIXTURE.read_text(encoding="utf-8"))
    runs += ["中华人民共和国成立了", "循环一致性损失函数", "生成对抗网络的判别器"]
    assert len(runs) > 50
    for run in runs:
        ours = [word for word, _ in segmenter.cut_for_search(run)]
        assert ours == list(reference.cut_for_search(run, HMM=False)), run
        assert segmenter.cut(run) == list(reference.cut(run, HMM=False)), run
    assert (tmp_path / "zh-dict.marshal").is_file()  # the compact dictionary is cached


def test_english_query_never_loads_the_chinese_dictionary(searcher: Searcher) -> None:
    fresh = zh.Segmenter()
    previous, zh._default = zh._default, fresh
    try:
        searcher.search("perceptual losses")
        assert fresh._shards is None
        searcher.search("感知损失")
        assert fresh._shards is not None
    finally:
        zh._default = previous


# -- scanning the catalog without parsing it ---------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        FIXTURE.read_text(encoding="utf-8"),
        "entries:\n- id: a\n  x: 1   \n\n\n- id: b\n  y: 2\n\nfoo: 1\n",
        "version: 1\nentries:\n  - id: a\n    n: |\n      t\n\n      u\n  # c\n  - id: b\n",
        "entries:\n  - id: a\n    n: |\n      text\n      # a markdown heading ends the notes\n\n# between\n  - id: b\n",
        "entries: []\n",
        "tags: {}\n",
    ],
)
def test_scan_finds_the_same_blocks_as_the_catalog_splitter(text: str) -> None:
    fast = scan(text.encode("utf-8"))
    slow = blocks.split(text)
    assert [(b.start_line, b.digest) for b in fast.blocks] == [(b.start_line, b.digest) for b in slow.blocks]
    for raw, block in zip(fast.blocks, slow.blocks, strict=True):
        assert fast.parse(raw) == block.parse()


# -- the index and its incremental updates -------------------------------------------
def test_index_is_updated_incrementally(catalog_copy: Path, tmp_path: Path) -> None:
    where = tmp_path / "ix"
    first = index.ensure_fresh(catalog_copy, where)
    assert first.rebuilt and first.added == 25 and first.total == 25
    assert index.ensure_fresh(catalog_copy, where) == index.UpdateReport(total=25)  # nothing to do

    text = catalog_copy.read_text(encoding="utf-8")
    edited = text.replace("Heavy elastic data augmentation", "Heavy elastic zanzibarish augmentation")
    edited = edited.replace(
        "  - id: fpn\n", "  - id: focal-loss\n    kind: paper\n    title: Focal Loss for Dense Object Detection\n"
        "    tags: [detection, loss]\n    status: unread\n    notes:\n      en: Down-weights easy negatives.\n"
        "    refimpl: {none: x}\n    sources: [x]\n    added: 2026-11-23\n\n  - id: fpn\n",
    )
    start = edited.index("  - id: dcgan")
    edited = edited[:start].rstrip() + "\n"  # the last entry is deleted
    catalog_copy.write_text(edited, encoding="utf-8")
    report = index.ensure_fresh(catalog_copy, where)
    assert (report.added, report.removed, report.rebuilt, report.total) == (2, 1, False, 25)
    with Searcher(catalog_copy, where) as s:
        assert ids(s, "zanzibarish") == ["unet"]
        unet_words = [r.matched for r in s.engine.run(parse("elastic data"), limit=25).ranked
                      if s.engine.stored(r.docnum)["id"] == "unet"]
        assert unet_words == [1]  # the old text is gone from the index
        assert ids(s, "focal")[:1] == ["focal-loss"]
        assert "dcgan" not in ids(s, "strided convolutions LeakyReLU", limit=25)
        assert "dcgan" not in set(index.ids_in(where)) and "focal-loss" in set(index.ids_in(where))

    rebuilt = index.ensure_fresh(catalog_copy, where, rebuild=True)
    assert rebuilt.rebuilt and rebuilt.added == 25


def test_changed_tag_labels_reindex_only_entries_with_that_tag(catalog_copy: Path, tmp_path: Path) -> None:
    where = tmp_path / "ix"
    index.ensure_fresh(catalog_copy, where)
    text = catalog_copy.read_text(encoding="utf-8")
    relabelled = text.replace("debugging: {en: Debugging, zh: 调试}", "debugging: {en: Bug Hunting, zh: 调试}")
    catalog_copy.write_text(relabelled, encoding="utf-8")
    report = index.ensure_fresh(catalog_copy, where)
    assert (report.added, report.removed) == (1, 0)
    with Searcher(catalog_copy, where) as s:
        assert ids(s, "bug hunting") == ["pdb-debugging"]


def test_changed_refimpl_code_reindexes_its_entries(tmp_path: Path) -> None:
    (tmp_path / "refimpl").mkdir()
    module = tmp_path / "refimpl" / "toy.py"
    module.write_text('def quokka_block():\n    """Stacks quokka layers."""\n', encoding="utf-8")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "tags:\n  gan: {en: GAN, zh: 生成对抗网络}\nentries:\n"
        "  - id: toy\n    kind: paper\n    title: Toy\n    tags: [gan]\n    status: read\n"
        "    refimpl: [refimpl/toy.py:quokka_block]\n    sources: [x]\n    added: 2026-11-23\n"
        "  - id: other\n    kind: paper\n    title: Other\n    tags: [gan]\n    status: read\n"
        "    refimpl: {none: x}\n    sources: [x]\n    added: 2026-11-23\n",
        encoding="utf-8",
    )
    where = tmp_path / "ix"
    index.ensure_fresh(catalog, where)
    with Searcher(catalog, where) as s:
        assert ids(s, "quokka") == ["toy"]
    module.write_text('def quokka_block():\n    """Stacks wombat layers."""\n', encoding="utf-8")
    report = index.ensure_fresh(catalog, where)
    assert (report.added, report.removed) == (1, 0)
    with Searcher(catalog, where) as s:
        assert ids(s, "wombat") == ["toy"]


def test_broken_entry_is_one_line_error_and_index_keeps_working(
    catalog_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "ix"
    index.ensure_fresh(catalog_copy, where)
    text = catalog_copy.read_text(encoding="utf-8")
    broken = text.replace("    title: Gradient clipping\n", "    title: [Gradient clipping\n")
    catalog_copy.write_text(broken, encoding="utf-8")
    line = broken[: broken.index("[Gradient clipping")].count("\n") + 1
    code, out, err = run_cli(capsys, "gradient", "--catalog", str(catalog_copy), "--index-dir", str(where))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"{catalog_copy}:" in err and "Traceback" not in err
    reported = int(err.split(":")[1])
    assert line <= reported <= line + 2
    catalog_copy.write_text(text, encoding="utf-8")  # fixed: the old index is still sound
    code, out, _ = run_cli(capsys, "gradient", "clipping", "--catalog", str(catalog_copy), "--index-dir", str(where))
    assert code == 0 and "gradient-clipping" in out


# -- ranking ---------------------------------------------------------------------------
def test_scores_equal_whooshs_own_bm25f(searcher: Searcher) -> None:
    from paperkb.search.engine import PROSE_FIELDS
    from whoosh.query import And, Or, Term

    for text in ("perceptual loss", "discriminator", "style transfer normalization", "判别器 梯度"):
        parsed = parse(text)
        query = And([Or([Term(f, c.term) for f in PROSE_FIELDS] + [Term("authors", c.raw)]) for c in parsed.clauses])
        native = {hit.docnum: hit.score for hit in searcher.engine.searcher.search(query, limit=None)}
        ours = searcher.engine.run(parsed, limit=100)
        complete = {r.docnum: r.relevance for r in ours.ranked if r.matched == len(parsed.clauses)}
        assert native, text
        assert complete.keys() == native.keys(), text
        for docnum, score in native.items():
            assert complete[docnum] == pytest.approx(score, rel=1e-5), text


def test_numpy_and_list_scoring_agree(searcher: Searcher) -> None:
    lists = Engine(searcher.index_dir, backend="lists")
    arrays = Engine(searcher.index_dir, backend="numpy")
    try:
        for text in ("generator discriminator", "感知损失", "normalizaton", "label smoothing gan"):
            a = lists.run(parse(text), Filters(status="read"), limit=25)
            b = arrays.run(parse(text), Filters(status="read"), limit=25)
            assert [(r.docnum, r.matched) for r in a.ranked] == [(r.docnum, r.matched) for r in b.ranked]
            assert [r.relevance for r in a.ranked] == pytest.approx([r.relevance for r in b.ranked])
    finally:
        lists.close()
        arrays.close()


def test_entries_matching_every_word_come_first(searcher: Searcher) -> None:
    results = searcher.search("perceptual super-resolution discriminator", limit=25)
    matched = [searcher.engine.run(parse("perceptual super-resolution discriminator"), limit=25).ranked[i].matched
               for i in range(len(results.hits))]
    assert matched == sorted(matched, reverse=True)
    assert matched[0] == 4 and matched[-1] < 4  # "super-resolution" is two words
    assert results.hits[0].id in {"esrgan", "srgan"}


def test_title_matches_outrank_passing_mentions(searcher: Searcher) -> None:
    assert ids(searcher, "spectral normalization")[0] == "spectral-norm"
    assert ids(searcher, "instance normalization")[0] in {"instance-norm", "adain"}


def test_quoted_phrase_puts_exact_order_first(searcher: Searcher) -> None:
    phrase = ids(searcher, '"real images"')  # words in this order only in esrgan's notes
    plain = ids(searcher, "real images")
    assert phrase[0] == "esrgan"
    assert set(phrase) == set(plain)
    assert ids(searcher, '"mean squared error"')[0] == "ddpm"


def test_fuzzy_fallback_finds_misspelled_words(searcher: Searcher) -> None:
    results = searcher.search("discrimnator")
    assert results.fuzzy_terms and {h.id for h in results.hits} >= {"spectral-norm", "pix2pix"}
    assert all(h.fuzzy for h in results.hits)
    assert ids(searcher, "spectal normalisation")[0] == "spectral-norm"
    assert searcher.search("discriminator").fuzzy_terms == {}  # spelled right: no fallback


@pytest.mark.parametrize("text", ['"cycle consistency', "AND", "OR OR", "(", "-", '"', '""', "NOT (", "*", "::", "   "])
def test_malformed_queries_are_plain_words(searcher: Searcher, text: str) -> None:
    results = searcher.search(text)
    assert isinstance(results.hits, list)


def test_unbalanced_quote_is_searched_as_words(searcher: Searcher) -> None:
    assert ids(searcher, '"cycle consistency') == ids(searcher, "cycle consistency")
    assert parse('"cycle consistency').phrases == []


# -- cross-language -----------------------------------------------------------------------
def test_glossary_translations_are_on_stems_and_substrings() -> None:
    from paperkb.search.analyzers import query_terms

    found = glossary.translations(query_terms("two discriminators and a perceptual loss"), "")
    assert "判别器" in found and "感知损失" in found
    assert "cycle consistency" in glossary.translations([], "加入循环一致性损失")
    assert glossary.translations(query_terms("a perceptual study of losses"), "") == []
    assert glossary.translations(query_terms("the discriminator"), "判别器") == []  # already bilingual


def test_english_query_finds_chinese_only_notes(searcher: Searcher) -> None:
    assert "cyclegan" in ids(searcher, "cycle consistency")[:3]
    assert "wgan-gp" in ids(searcher, "gradient penalty")[:3]
    assert "nerf" in ids(searcher, "volume rendering")[:3]


def test_chinese_query_finds_english_only_notes(searcher: Searcher) -> None:
    assert "perceptual-losses" in ids(searcher, "感知损失")[:3]
    assert "spectral-norm" in ids(searcher, "谱归一化")[:3]
    assert "pdb-debugging" in ids(searcher, "断点")[:3]


def test_code_of_the_reference_implementation_is_searchable(searcher: Searcher) -> None:
    assert ids(searcher, "AdaINStyleTransfer") == ["adain"]
    assert ids(searcher, "reflection padding") == ["adain"]  # only in the module's docstring


# -- filters -----------------------------------------------------------------------------
def test_filters(searcher: Searcher) -> None:
    everything = set(ids(searcher, "network", limit=50))
    read = set(ids(searcher, "network", filters=Filters(status="read"), limit=50))
    assert read and read < everything
    assert set(ids(searcher, "gan", filters=Filters(kind="trick"), limit=50)) == {"label-smoothing"}
    years = ids(searcher, "network", filters=Filters(years=(2015, 2016)), limit=50)
    assert years and set(years) <= {"unet", "faster-rcnn", "batch-norm", "mtcnn", "perceptual-losses",
                                    "instance-norm", "dcgan"}
    tagged = ids(searcher, "network", filters=Filters(tags=("detection", "face")), limit=50)
    assert tagged == ["mtcnn"]


def test_tag_by_either_label(searcher: Searcher) -> None:
    assert searcher.tag_slug("风格迁移") == searcher.tag_slug("style transfer") == "style-transfer"
    assert searcher.tag_slug("nonsense") is None


# -- output and CLI -------------------------------------------------------------------------
def test_snippet_marks_matches_in_a_window() -> None:
    text = "word " * 100 + "the perceptual losses of a network " + "word " * 100
    cut, marks = snippet([text], {"perceptu", "loss"}, width=80)
    assert len(cut) <= 82 and cut.startswith("…") and cut.endswith("…")
    assert [cut[a:b] for a, b in marks] == ["perceptual", "losses"]
    cut, marks = snippet(["用生成对抗网络做超分辨率"], {"超分辨率"})
    assert [cut[a:b] for a, b in marks] == ["超分辨率"]


def test_cli_json_is_only_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(
        capsys, "perceptual", "loss", "--json", "--catalog", str(FIXTURE), "--index-dir", str(tmp_path / "ix")
    )
    assert code == 0
    rows = json.loads(out)
    assert rows and all(set(r) == {"id", "title", "kind", "status", "score", "url", "snippet"} for r in rows)
    assert rows[0]["id"] == "perceptual-losses" and rows[0]["url"] == "entries/perceptual-losses/"
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert "\x1b[" not in out


def test_cli_text_output_and_colour(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch) -> None:
    where = str(tmp_path / "ix")
    code, out, _ = run_cli(capsys, "判别器", "--limit", "3", "--catalog", str(FIXTURE), "--index-dir", where)
    assert code == 0 and "\x1b[" not in out
    first = out.splitlines()[0]
    assert first.startswith(" 1. ") and "[" in first
    monkeypatch.setattr(search_cli, "_colour", lambda stream: True)
    code, out, _ = run_cli(capsys, "discriminator", "--catalog", str(FIXTURE), "--index-dir", where)
    assert "\x1b[1;31m" in out  # the match is highlighted


def test_cli_filters_and_bad_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = ["--catalog", str(FIXTURE), "--index-dir", str(tmp_path / "ix"), "--json"]
    code, out, _ = run_cli(capsys, "network", "--tag", "目标检测", "--year", "2015-2016", *base)
    assert code == 0 and {r["id"] for r in json.loads(out)} == {"faster-rcnn", "mtcnn"}
    for bad in (["--year", "20x5"], ["--year", "2020-2010"], ["--limit", "0"], ["--status", "done"]):
        with pytest.raises(SystemExit) as exit_info:
            search_cli.main(["x", *bad, *base])
        assert exit_info.value.code == 2
    capsys.readouterr()
    code, _, err = run_cli(capsys, "x", "--tag", "nope", *base)
    assert code == 2 and "unknown tag" in err
    code, _, err = run_cli(capsys, "x", "--catalog", str(tmp_path / "missing.yaml"))
    assert code == 1 and "not found" in err


def test_damerau_distance() -> None:
    assert damerau_distance("discrimn", "discrimin", 2) == 1
    assert damerau_distance("percpetu", "perceptu", 2) == 1  # a transposition is one edit
    assert damerau_distance("abc", "xyz", 1) == 2


def test_authors_are_searchable_with_or_without_accents(searcher: Searcher) -> None:
    assert ids(searcher, "Belongie") == ["adain"]
    assert ids(searcher, "huszar") == ids(searcher, "Huszár") == ["srgan"]
    assert set(ids(searcher, "Kaiming He")[:2]) == {"faster-rcnn", "fpn"}


def test_catalog_without_entries(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("version: 1\ntags: {}\nentries: []\n", encoding="utf-8")
    with Searcher(catalog, tmp_path / "ix") as s:
        assert s.search("anything").hits == []


def test_warm_query_process_stays_light(tmp_path: Path) -> None:
    """A query on a fresh index never imports torch, jieba, the validator, or (small index) numpy."""
    import subprocess
    import sys

    index.ensure_fresh(FIXTURE, tmp_path)
    argv = ["判别器 perceptual", "--catalog", str(FIXTURE), "--index-dir", str(tmp_path)]
    script = (
        "import contextlib, io, sys\n"
        f"sys.path.insert(0, {str(Path(search_cli.__file__).parent)!r})\n"
        "import search\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert search.main({argv!r}) == 0\n"
        "heavy = {'torch', 'jieba', 'numpy', 'jsonschema', 'paperkb.catalog.validate'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_chinese_highlight_marks_the_typed_word(searcher: Searcher) -> None:
    hit = next(h for h in searcher.search("判别器").hits if h.id == "wgan-gp")
    marked = {hit.snippet[a:b] for a, b in hit.marks}
    assert "判别器" in marked and "器" not in marked


def test_chinese_phrase_is_a_run_of_characters(searcher: Searcher) -> None:
    assert ids(searcher, '"循环一致性损失"')[0] == "cyclegan"
    cyclegan = searcher.engine.searcher.document_number(id="cyclegan")
    assert searcher.engine.contains_phrase(cyclegan, ("身份", "损失"))
    assert not searcher.engine.contains_phrase(cyclegan, ("损失", "身份"))


def test_long_indexing_reports_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "PROGRESS_EVERY", 10)
    calls: list[tuple[int, int]] = []
    report = index.ensure_fresh(FIXTURE, tmp_path / "ix", progress=lambda done, total: calls.append((done, total)))
    total = report.total
    assert calls and calls[-1] == (total, total)
    assert [done for done, _ in calls] == [*range(10, total, 10), total]
    calls.clear()
    index.ensure_fresh(FIXTURE, tmp_path / "ix", progress=lambda done, total: calls.append((done, total)))
    assert calls == []  # nothing changed: nothing to report


def test_cli_progress_goes_to_stderr_only_for_long_work(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    report = search_cli._progress_printer(sys.stderr)
    report(10, 20)
    assert capsys.readouterr().err == ""  # small catalogs index silently
    report(1000, 1000)
    captured = capsys.readouterr()
    assert captured.err == "\rindexing the catalog: 1000/1000 entries\n" and captured.out == ""


def test_summaries_and_translations_are_searched_below_the_authors_notes(tmp_path: Path) -> None:
    from conftest import HEADER

    def entry(eid: str, field: str, lang: str = "en") -> str:
        return (f"  - id: {eid}\n    kind: paper\n    title: Paper {eid}\n    tags: [gan]\n    status: read\n"
                f"    {field}:\n      {lang}: |\n        The zebraflux module reshapes the features.\n"
                f"    refimpl: {{none: none yet}}\n    sources: [s]\n    added: 2026-11-23\n")

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(HEADER + entry("from-summary", "summary") + entry("from-translation", "translations")
                       + entry("from-notes", "notes"), encoding="utf-8")
    with Searcher(catalog, tmp_path / "index") as s:
        found = [h.id for h in s.search("zebraflux").hits]
    assert found[0] == "from-notes" and set(found) == {"from-notes", "from-summary", "from-translation"}


def test_notion_sub_pages_are_not_indexed_as_notes(tmp_path: Path) -> None:
    """Sub-page titles and paths are links the export cannot follow, not the author's notes
    text: the path's Notion ids and its words find nothing; the notes still do."""
    from paperkb import paths

    catalog = tmp_path / "catalog.yaml"
    shutil.copy(paths.DEFAULT_CATALOG, catalog)
    with Searcher(catalog, tmp_path / "index") as s:
        assert "cyclegan" not in ids(s, "Unsupervised", limit=200)  # only its sub-page's title says it
        assert "pix2pix" not in ids(s, "Study", limit=200)  # a word of every 002 sub-page path
        assert "pix2pix" in ids(s, "Markovian discriminator")
