"""tools/add_paper.py: identifiers, lookups (recorded), duplicates, merge, byte-exact inserts,
scaffolds, locking and atomic writes. Offline: every HTTP call goes through an injected fetch."""

from __future__ import annotations

import datetime as dt
import difflib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADD_PAPER_CATALOG, make_minimal_repo
from paperkb import paths
from paperkb.addpaper import arxiv, cli, crossref, ids, insert, prompts, scaffold, splice
from paperkb.catalog import blocks, catalog_from_text, read_catalog, summary, validate
from paperkb.catalog.atomic import catalog_lock
from paperkb.catalog.validate import pending_entries, validate_entry
from paperkb.catalog.writer import WriteFailed

REPO = paths.REPO_ROOT
FIXTURES = Path(__file__).parent / "fixtures"
ATOM = (FIXTURES / "arxiv_1703.06868.xml").read_bytes()
ATOM_ERROR = (FIXTURES / "arxiv_error.xml").read_bytes()
TODAY = dt.date(2026, 11, 23)
# Crossref's /works/{doi} answer, trimmed to the fields the lookup reads (format of api.crossref.org).
CROSSREF = json.dumps({
    "status": "ok", "message-type": "work", "message-version": "1.0.0",
    "message": {
        "DOI": "10.1109/CVPR.2017.632", "type": "proceedings-article",
        "title": ["Image-to-Image Translation with Conditional Adversarial Networks"],
        "author": [{"given": "Phillip", "family": "Isola", "sequence": "first"},
                   {"given": "Jun-Yan", "family": "Zhu", "sequence": "additional"},
                   {"given": "Tinghui", "family": "Zhou", "sequence": "additional"},
                   {"given": "Alexei A.", "family": "Efros", "sequence": "additional"}],
        "container-title": ["2017 IEEE Conference on Computer Vision and Pattern Recognition (CVPR)"],
        "published-print": {"date-parts": [[2017, 7]]},
        "issued": {"date-parts": [[2017, 7]]},
        "URL": "http://dx.doi.org/10.1109/CVPR.2017.632",
    },
}).encode()


class Recorder:
    """An injected fetch: answers from recorded bytes, remembers what was asked."""

    def __init__(self, answer: bytes | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, float]] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.calls.append((url, timeout))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def offline(url: str, timeout: float) -> bytes:
    raise OSError("network is unreachable")


def no_input(prompt: str) -> str:
    raise AssertionError(f"prompted although it must not: {prompt}")


def run(argv: list[str], *, catalog: Path, fetch=offline, **kw) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    kw.setdefault("interactive", False)
    kw.setdefault("input_fn", no_input)
    rc = cli.main([*argv, "--catalog", str(catalog)], fetch=fetch, today=TODAY, out=out, err=err, **kw)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the repository layout: the catalog and refimpl/ (never the real ones)."""
    return make_minimal_repo(tmp_path / "repo")


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """The catalog without the AdaIN entry (so the recorded AdaIN answer is a new paper), no refimpl/."""
    root = tmp_path / "fresh"
    root.mkdir()
    text = ADD_PAPER_CATALOG.read_text(encoding="utf-8")
    adain = next(b for b in blocks.split(text).blocks if b.text.lstrip().startswith("- id: adain"))
    lines = text.splitlines(keepends=True)
    del lines[adain.start_line - 1 : adain.end_line]  # the block and the blank line after it
    (root / "catalog.yaml").write_text("".join(lines), encoding="utf-8")
    return root / "catalog.yaml"


def only_added(old: str, new: str) -> list[str]:
    """The lines ``new`` adds to ``old``; fails if anything else changed."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(keepends=True), new.splitlines(keepends=True),
                                      autojunk=False)
    added = []
    for op, _i1, _i2, j1, j2 in matcher.get_opcodes():
        assert op in ("equal", "insert"), f"{op}: the catalog changed beyond the added lines"
        if op == "insert":
            added += new.splitlines(keepends=True)[j1:j2]
    return added


def entries(path: Path) -> list[dict]:
    return [e.data for e in read_catalog(path).entries]


# --------------------------------------------------------------------- identifiers
@pytest.mark.parametrize(
    ("text", "value", "version"),
    [
        ("1703.06868", "1703.06868", None),
        ("1703.06868v2", "1703.06868", 2),
        ("arXiv:1703.06868v2", "1703.06868", 2),
        ("arxiv: 1703.06868", "1703.06868", None),
        ("https://arxiv.org/abs/1703.06868v2", "1703.06868", 2),
        ("http://arxiv.org/pdf/1703.06868v1.pdf", "1703.06868", 1),
        ("https://export.arxiv.org/abs/2003.08934", "2003.08934", None),
        ("cs/0112017", "cs/0112017", None),
        ("math.GT/0309136v1", "math.GT/0309136", 1),
        ("10.48550/arXiv.1703.06868", "1703.06868", None),
    ],
)
def test_arxiv_identifier_forms(text: str, value: str, version: int | None) -> None:
    found = ids.parse_identifier(text)
    assert (found.kind, found.value, found.version) == ("arxiv", value, version)


@pytest.mark.parametrize(
    "text", ["10.1109/CVPR.2017.632", "doi:10.1109/CVPR.2017.632", "https://doi.org/10.1109/CVPR.2017.632"]
)
def test_doi_identifier_forms(text: str) -> None:
    assert ids.parse_identifier(text) == ids.Identifier("doi", "10.1109/CVPR.2017.632")


@pytest.mark.parametrize("text", ["", "1703.0686", "hello", "https://example.com/abs/1703.06868", "11.1/x"])
def test_bad_identifiers_are_refused(text: str) -> None:
    with pytest.raises(ids.BadIdentifier):
        ids.parse_identifier(text)


def test_proposed_ids_are_short_and_unique() -> None:
    nerf = "NeRF: Representing Scenes as Neural Radiance Fields for View Synthesis"
    assert ids.propose_id(nerf, set()) == "nerf"
    assert ids.propose_id(nerf, {"nerf"}, 2020) == "nerf-2020"
    assert ids.propose_id(nerf, {"nerf", "nerf-2020"}, 2020) == "nerf-2"
    assert ids.propose_id("Image-to-Image Translation with Conditional Adversarial Networks", set()) == (
        "image-image-translation-conditional"
    )
    abstract = "a novel adaptive instance normalization (AdaIN) layer that aligns (CNN) features"
    assert ids.propose_id("Arbitrary Style Transfer with Adaptive Instance Normalization", set(), 2017,
                          abstract) == "adain"
    assert ids.propose_id("Arbitrary Style Transfer", set(), 2017, abstract) == "arbitrary-style-transfer"
    assert ids.module_name("pix2pix-hd") == "pix2pix_hd"
    assert ids.module_name("3d-gan") == "paper_3d_gan"
    assert ids.class_name("pix2pix_hd") == "Pix2pixHd"


# --------------------------------------------------------------------- lookups
def test_arxiv_atom_is_parsed_from_the_recorded_answer() -> None:
    fetch = Recorder(ATOM)
    meta = arxiv.lookup_arxiv("1703.06868", fetch=fetch, timeout=3.0)
    assert fetch.calls == [("https://export.arxiv.org/api/query?id_list=1703.06868", 3.0)]
    assert meta.title == "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization"
    assert meta.authors == ["Xun Huang", "Serge Belongie"]
    assert (meta.year, meta.primary_category, meta.arxiv) == (2017, "cs.CV", "1703.06868v2")
    assert meta.abstract.startswith("Gatys et al. recently introduced a neural algorithm that renders a content image")
    assert "color & spatial controls" in meta.abstract and "\n" not in meta.abstract.rstrip("\n")
    assert meta.source == "arxiv.org/abs/1703.06868v2"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (ATOM_ERROR, "arXiv has no paper 1703.99999"),
        (b"<html>rate limited</htm>", "not Atom XML"),
        (OSError("network is unreachable"), "network is unreachable"),
        (TimeoutError("timed out"), "timed out"),
    ],
)
def test_arxiv_lookup_failures_are_one_line(answer: bytes | Exception, message: str) -> None:
    with pytest.raises(arxiv.LookupFailed, match=message) as info:
        arxiv.lookup_arxiv("1703.99999", fetch=Recorder(answer))
    assert "\n" not in str(info.value)


def test_crossref_work_is_parsed() -> None:
    fetch = Recorder(CROSSREF)
    meta = crossref.lookup_doi("10.1109/CVPR.2017.632", fetch=fetch)
    assert fetch.calls[0][0] == "https://api.crossref.org/works/10.1109/CVPR.2017.632"
    assert meta.title == "Image-to-Image Translation with Conditional Adversarial Networks"
    assert meta.authors[0] == "Phillip Isola" and meta.authors[-1] == "Alexei A. Efros"
    assert (meta.year, meta.doi) == (2017, "10.1109/CVPR.2017.632")
    assert meta.venue.endswith("(CVPR)")


# --------------------------------------------------------------------- adding
@pytest.mark.parametrize(
    ("given", "asked"),
    [
        ("1703.06868", "id_list=1703.06868"),
        ("arXiv:1703.06868v2", "id_list=1703.06868v2"),
        ("https://arxiv.org/abs/1703.06868v2", "id_list=1703.06868v2"),
        ("10.48550/arXiv.1703.06868", "id_list=1703.06868"),
    ],
)
def test_add_from_arxiv_appends_only_the_new_entry(fresh: Path, given: str, asked: str) -> None:
    old = fresh.read_text(encoding="utf-8")
    fetch = Recorder(ATOM)
    rc, out, err = run([given, "--no-input", "--tags", "style-transfer,normalization", "--note-en", "AdaIN."],
                       catalog=fresh, fetch=fetch)
    assert rc == 0, err
    assert fetch.calls[0][0].endswith(asked)
    new = fresh.read_text(encoding="utf-8")
    added = only_added(old, new)
    assert new.startswith(old) and added[0] == "\n" and added[1] == "  - id: adain\n"
    entry = entries(fresh)[-1]
    assert entry["title"] == "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization"
    assert entry["authors"] == ["Xun Huang", "Serge Belongie"] and entry["year"] == 2017
    assert entry["links"] == {"arxiv": "1703.06868"} and entry["status"] == "unread"
    assert entry["sources"] == ["arxiv.org/abs/1703.06868v2"] and entry["added"] == "2026-11-23"
    assert entry["notes"] == {"en": "AdaIN.\n"} and entry["abstract"].startswith("Gatys et al.")
    report = validate(read_catalog(fresh), repo_root=REPO)
    assert report.errors == []
    line = new.splitlines().index("  - id: adain") + 1
    assert f"catalog.yaml:{line}: added entry 'adain'" in out


def test_offline_fallback_is_one_line_then_uses_the_flags(fresh: Path) -> None:
    rc, _, err = run(["1703.06868", "--no-input", "--title", "Arbitrary Style Transfer (offline)",
                      "--authors", "Xun Huang, Serge Belongie", "--year", "2017", "--venue", "ICCV 2017"],
                     catalog=fresh)
    assert rc == 0, err
    failure = [line for line in err.splitlines() if "failed" in line]
    assert len(failure) == 1 and "network is unreachable" in failure[0] and "--title" in failure[0]
    entry = entries(fresh)[-1]
    assert entry["links"] == {"arxiv": "1703.06868"} and entry["venue"] == "ICCV 2017"
    assert entry["authors"] == ["Xun Huang", "Serge Belongie"] and entry["sources"] == ["manual"]


def test_offline_without_a_title_and_no_input_fails_cleanly(fresh: Path) -> None:
    before = fresh.read_bytes()
    rc, _, err = run(["1703.06868", "--no-input"], catalog=fresh)
    assert rc == 1 and "no title" in err and "--title" in err
    assert fresh.read_bytes() == before


def test_terminal_prompts_for_missing_fields_with_defaults(fresh: Path) -> None:
    answers = iter(["A Paper Typed By Hand", "Ann Author, Bo Author", "2021", "", "https://example.org/p", "",
                    "gan"])
    asked: list[str] = []

    def answer(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    rc, _, err = run([], catalog=fresh, interactive=True, input_fn=answer)
    assert rc == 0, err
    assert asked[0].startswith("Title") and asked[5].startswith("Catalog id [paper-typed-hand]")
    entry = entries(fresh)[-1]
    assert entry["id"] == "paper-typed-hand" and entry["year"] == 2021 and entry["tags"] == ["gan"]
    assert entry["authors"] == ["Ann Author", "Bo Author"] and "venue" not in entry
    assert entry["links"] == {"url": "https://example.org/p"}


def test_no_input_never_prompts_even_on_a_terminal(fresh: Path) -> None:
    rc, _, err = run(["--no-input", "--title", "Scripted Paper"], catalog=fresh, interactive=True)
    assert rc == 0, err
    assert entries(fresh)[-1]["id"] == "scripted-paper"


def test_doi_is_looked_up_on_crossref(fresh: Path) -> None:
    rc, _, err = run(["https://doi.org/10.1109/CVPR.2017.632", "--no-input", "--tags", "gan,image-translation"],
                     catalog=fresh, fetch=Recorder(CROSSREF))
    assert rc == 0, err
    entry = entries(fresh)[-1]
    assert entry["doi"] == "10.1109/CVPR.2017.632" and entry["authors"][0] == "Phillip Isola"
    assert entry["sources"] == ["doi.org/10.1109/CVPR.2017.632"] and "links" not in entry


def test_doi_offline_keeps_the_doi_and_the_flags(fresh: Path) -> None:
    rc, _, err = run(["10.1109/CVPR.2017.632", "--no-input", "--title", "pix2pix", "--year", "2017"], catalog=fresh)
    assert rc == 0, err
    assert "failed" in err
    entry = entries(fresh)[-1]
    assert (entry["doi"], entry["title"], entry["year"]) == ("10.1109/CVPR.2017.632", "pix2pix", 2017)


@pytest.mark.parametrize(
    "argv",
    [["hello"], ["--priority", "12", "--title", "x"], ["--status", "done", "--title", "x"], ["--year", "soon"]],
)
def test_bad_arguments_exit_2(fresh: Path, argv: list[str]) -> None:
    before = fresh.read_bytes()
    rc, _, _ = run([*argv, "--no-input"], catalog=fresh)
    assert rc == 2
    assert fresh.read_bytes() == before


# --------------------------------------------------------------------- duplicates and merge
@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["1703.06868v1", "--title", "Other"], "arXiv 1703.06868"),
        (["https://arxiv.org/abs/1703.06868", "--title", "Other"], "arXiv 1703.06868"),
        (["--title", "ARBITRARY style-transfer in real time, with adaptive instance normalization!"], "title"),
    ],
)
def test_duplicates_are_refused_naming_the_entry_and_line(repo: Path, argv: list[str], why: str) -> None:
    catalog = repo / "catalog.yaml"
    before = catalog.read_bytes()
    rc, _, err = run([*argv, "--no-input", "--offline"], catalog=catalog)
    assert rc == 1
    line = before.decode().splitlines().index("  - id: adain") + 1
    assert f"catalog.yaml:{line}: entry 'adain' already has {why}" in err and "--merge" in err
    assert catalog.read_bytes() == before


def test_a_known_arxiv_id_is_refused_before_any_lookup(repo: Path) -> None:
    fetch = Recorder(ATOM)
    rc, _, err = run(["arXiv:1703.06868v1", "--no-input"], catalog=repo / "catalog.yaml", fetch=fetch)
    assert rc == 1 and "entry 'adain' already has arXiv 1703.06868" in err
    assert fetch.calls == []


def test_duplicate_doi_is_refused_whatever_its_case(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    rc, _, err = run(["10.1109/CVPR.2017.632", "--no-input", "--title", "pix2pix"], catalog=catalog)
    assert rc == 0, err
    before = catalog.read_bytes()
    rc, _, err = run(["doi:10.1109/cvpr.2017.632", "--no-input", "--title", "Another name"], catalog=catalog)
    assert rc == 1 and "entry 'pix2pix' already has DOI" in err
    assert catalog.read_bytes() == before


def test_explicit_id_that_is_taken_is_refused(repo: Path) -> None:
    rc, _, err = run(["--no-input", "--title", "A different paper", "--id", "adain"], catalog=repo / "catalog.yaml")
    assert rc == 1 and "id 'adain' is taken" in err


def test_merge_adds_notes_and_sources_keeping_the_rest(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    text = text.replace("    status: read\n    priority: 2\n", "    status: read  # read twice\n    priority: 2\n", 1)
    catalog.write_text(text, encoding="utf-8")
    rc, out, err = run(["1703.06868v2", "--merge", "--no-input", "--note-en", "Second reading: alpha blends.",
                        "--note-zh", "第二遍：alpha 插值。"], catalog=catalog, fetch=Recorder(ATOM))
    assert rc == 0, err
    assert "merged into entry 'adain'" in out
    new = catalog.read_text(encoding="utf-8")
    diff = [d for d in difflib.unified_diff(text.splitlines(), new.splitlines(), lineterm="", n=0)
            if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    assert "    status: read  # read twice" in new  # the comment inside the entry is kept
    assert diff == [
        "+",
        "+        Second reading: alpha blends.",
        "+",
        "+        第二遍：alpha 插值。",
        "-    sources: [000_c47078682ed5be7a.txt, 002_18dc21780d165c3e.txt]",
        "+    sources: [000_c47078682ed5be7a.txt, 002_18dc21780d165c3e.txt, arxiv.org/abs/1703.06868v2]",
    ]
    assert len(entries(catalog)) == 3
    assert validate(read_catalog(catalog), repo_root=repo).errors == []
    again = catalog.read_bytes()
    rc, out, _ = run(["1703.06868", "--merge", "--no-input", "--note-en", "Second reading: alpha blends."],
                     catalog=catalog, fetch=Recorder(ATOM))
    assert rc == 0 and "nothing written" in out and catalog.read_bytes() == again


def test_merge_without_a_match_is_refused(fresh: Path) -> None:
    rc, _, err = run(["--merge", "--no-input", "--title", "Not in the catalog"], catalog=fresh)
    assert rc == 1 and "nothing to merge into" in err


# --------------------------------------------------------------------- byte-exact rewrites
COMMENTED = """\
# top comment, kept
version: 1   # trailing comment
tags:
  # the vocabulary
  gan: {en: GAN, zh: 生成对抗网络}
  loss: {en: 'Loss Function', zh: "损失函数"}

entries:
  # first entry
  - id: first
    kind: trick
    title: 'Quoted: title'
    tags: [gan]
    status: read
    refimpl: {none: "flow style kept"}
    sources: [a.txt]
    added: 2026-01-01

  - id: second    # odd spacing, kept
    kind: trick
    title: Second
    tags: []
    status: unread
    refimpl:
      none: nothing to run
    sources:
      - b.txt
    added: 2026-01-02
# closing comment
"""


_HEAD, _ENTRIES = COMMENTED.split("entries:\n")
TAGS_LAST = "version: 1\n\nentries:\n" + _ENTRIES + "\n" + _HEAD[_HEAD.index("tags:") :].rstrip("\n") + "\n"


@pytest.mark.parametrize("full_check_bytes", [0, insert.FULL_CHECK_BYTES], ids=["fast-path", "full-check"])
def test_comments_quoting_and_blank_lines_are_kept(tmp_path: Path, full_check_bytes: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(COMMENTED, encoding="utf-8")
    summary.load_summaries(catalog, tmp_path / ".cache" / "paperkb")
    if full_check_bytes == 0:  # the fast path reads the head and the tail, never splits the whole text

        def whole_split(text: str) -> None:
            raise AssertionError("the fast path split the whole catalog")

        monkeypatch.setattr(blocks, "split", whole_split)
    entry = {"id": "third", "kind": "trick", "title": "Third: with a colon", "tags": ["loss"], "status": "unread",
             "refimpl": {"none": "a habit"}, "sources": ["manual"], "added": "2026-11-23"}
    outcome = insert.add_entry(catalog, entry, repo_root=tmp_path, full_check_bytes=full_check_bytes)
    new = catalog.read_text(encoding="utf-8")
    # After the last entry, before the closing comment (it belongs to no entry)
    body, closing = COMMENTED.split("# closing comment\n")
    assert new == body + "\n" + outcome.entry_text + "# closing comment\n" + closing
    assert outcome.line == len(body.splitlines()) + 2
    assert [e.id for e in read_catalog(catalog).entries] == ["first", "second", "third"]


def test_new_tag_and_entry_are_the_only_changes(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(COMMENTED, encoding="utf-8")
    rc, _, err = run(["--no-input", "--title", "NeRF: Radiance Fields", "--tags", "nerf,gan",
                      "--new-tag", "nerf", "Neural Radiance Fields", "神经辐射场"], catalog=catalog)
    assert rc == 0, err
    new = catalog.read_text(encoding="utf-8")
    added = only_added(COMMENTED, new)
    assert added[0] == "  nerf: {en: Neural Radiance Fields, zh: 神经辐射场}\n"
    assert new.splitlines()[6] == "  nerf: {en: Neural Radiance Fields, zh: 神经辐射场}"  # after the last tag
    loaded = read_catalog(catalog)
    assert loaded.tags["nerf"].zh == "神经辐射场" and loaded.entries[-1].tags == ["nerf", "gan"]
    assert validate(loaded, repo_root=tmp_path).errors == []


def test_summary_cache_written_after_an_add_matches_a_cold_read(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(COMMENTED, encoding="utf-8")
    cache = tmp_path / ".cache" / "paperkb"
    rc, _, err = run(["--no-input", "--title", "Cached", "--new-tag", "x", "X", "叉", "--tags", "x"], catalog=catalog)
    assert rc == 0, err
    warm = summary.load_summaries(catalog, cache)
    shutil.rmtree(cache)
    cold = summary.load_summaries(catalog, cache)
    assert warm == cold and [s.id for s in cold] == ["first", "second", "cached"]


@pytest.mark.parametrize(
    "text",
    [
        TAGS_LAST,  # a top-level key after the entries: the slow path inserts before it
        COMMENTED.rstrip("\n"),  # no final newline
        COMMENTED.split("entries:")[0] + "entries:\n",  # no entries yet
    ],
    ids=["tags-after-entries", "no-final-newline", "empty"],
)
def test_unusual_layouts_still_parse_with_one_more_entry(tmp_path: Path, text: str) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(text, encoding="utf-8")
    before = len(catalog_from_text(text).entries)
    rc, _, err = run(["--no-input", "--title", "Odd Layout", "--tags", "loss"], catalog=catalog)
    assert rc == 0, err
    after = read_catalog(catalog)
    assert len(after.entries) == before + 1 and after.entries[-1].id == "odd-layout"
    assert after.entries[-1].tags == ["loss"] and set(after.tags) == {"gan", "loss"}
    assert validate(after, repo_root=tmp_path).errors == []


def test_dry_run_prints_entry_and_diff_and_writes_nothing(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    before = catalog.read_bytes()
    init = (repo / "refimpl" / "__init__.py").read_bytes()
    rc, out, err = run(["--no-input", "--dry-run", "--scaffold", "--title", "NeRF: Radiance Fields", "--tags", "gan"],
                       catalog=catalog)
    assert rc == 0, err
    n = len(before.decode().splitlines())
    assert "  - id: nerf\n" in out and f"@@ -{n - 2},3 +{n - 2}," in out and "+  - id: nerf\n" in out
    assert "would create refimpl/nerf.py" in out and "would edit refimpl/__init__.py" in out
    assert catalog.read_bytes() == before and (repo / "refimpl" / "__init__.py").read_bytes() == init
    assert not (repo / "refimpl" / "nerf.py").exists()


def test_edit_opens_the_entry_and_uses_what_was_saved(fresh: Path) -> None:
    seen: list[str] = []

    def editor(text: str) -> str:
        seen.append(text)
        return text.replace("status: unread", "status: reading")

    rc, _, err = run(["--no-input", "--edit", "--title", "Edited"], catalog=fresh, edit=editor)
    assert rc == 0, err
    assert seen[0].startswith("  - id: edited\n") and entries(fresh)[-1]["status"] == "reading"


def test_edit_text_runs_the_editor_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\np.write_text(p.read_text().upper())\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    assert prompts.edit_text("status: unread\n") == "STATUS: UNREAD\n"


def test_an_invalid_edit_writes_nothing(fresh: Path) -> None:
    before = fresh.read_bytes()
    rc, _, err = run(["--no-input", "--edit", "--title", "Edited"], catalog=fresh,
                     edit=lambda text: text.replace("status: unread", "status: [unclosed"))
    assert rc == 1 and "edited entry" in err
    rc, _, err = run(["--no-input", "--edit", "--title", "Edited"], catalog=fresh,
                     edit=lambda text: text.replace("status: unread", "status: done"))
    assert rc == 1 and "status 'done' is not one of" in err
    assert fresh.read_bytes() == before


# --------------------------------------------------------------------- tags
def test_unknown_tag_is_refused_with_close_matches(repo: Path) -> None:
    before = (repo / "catalog.yaml").read_bytes()
    rc, _, err = run(["--no-input", "--title", "T", "--tags", "style-transfr"], catalog=repo / "catalog.yaml")
    assert rc == 1
    assert "unknown tag 'style-transfr': did you mean style-transfer?" in err and "--new-tag style-transfr" in err
    assert (repo / "catalog.yaml").read_bytes() == before


def test_new_tag_needs_both_labels(repo: Path) -> None:
    rc, _, err = run(["--no-input", "--title", "T", "--new-tag", "nerf", "NeRF", " "], catalog=repo / "catalog.yaml")
    assert rc == 1 and "both labels" in err


# --------------------------------------------------------------------- scaffold
def test_scaffold_creates_pending_module_and_test_and_links_them(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = repo / "catalog.yaml"
    rc, out, err = run(["2003.08934", "--no-input", "--scaffold", "--title",
                        "NeRF: Representing Scenes as Neural Radiance Fields for View Synthesis", "--year", "2020",
                        "--authors", "Ben Mildenhall, Pratul P. Srinivasan", "--venue", "ECCV 2020"], catalog=catalog)
    assert rc == 0, err
    module = (repo / "refimpl" / "nerf.py").read_text(encoding="utf-8")
    test = (repo / "refimpl" / "tests" / "test_nerf.py").read_text(encoding="utf-8")
    assert "@register_example(covers=[Nerf], pending=True)" in module and "raise NotImplementedError" in module
    assert "Deviations from the paper" in module and "arXiv:2003.08934" in module and "``nerf``" in module
    assert 'pytest.mark.skip(reason="not implemented yet")' in test and "Nerf(TINY)" in test
    init = (repo / "refimpl" / "__init__.py").read_text(encoding="utf-8")
    assert "    adain,\n    nerf,\n)" in init
    entry = entries(catalog)[-1]
    assert entry["refimpl"] == ["refimpl/nerf.py:Nerf"]
    report = validate(read_catalog(catalog), repo_root=repo)
    assert report.errors == [] and report.pending == ["refimpl/nerf.py:Nerf"]
    assert pending_entries(read_catalog(catalog), repo_root=repo) == ["nerf"]
    monkeypatch.setattr(paths, "REPO_ROOT", repo)
    from paperkb import cli_validate

    assert cli_validate.main(["--catalog", str(catalog)]) == 0
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if Path(ruff).exists():
        lint = subprocess.run([ruff, "check", "--config", str(REPO / "pyproject.toml"), "refimpl"], cwd=repo,
                              capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout


def test_validator_cli_lists_pending_entries(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    catalog = repo / "catalog.yaml"
    assert run(["--no-input", "--scaffold", "--title", "Pending One"], catalog=catalog)[0] == 0
    monkeypatch.setattr(paths, "REPO_ROOT", repo)
    from paperkb import cli_validate

    assert cli_validate.main(["--catalog", str(catalog)]) == 0
    assert "refimpl pending (not implemented yet): pending-one" in capsys.readouterr().out


def test_add_import_keeps_the_imports_sorted() -> None:
    block = (
        '"""Doc."""\n\nfrom . import (\n    adain,  # noqa: F401\n    pix2pix,  # noqa: F401\n)\n'
        "from .registry import X\n"
    )
    assert scaffold.add_import(block, "cyclegan").splitlines()[3:6] == [
        "    adain,  # noqa: F401", "    cyclegan,  # noqa: F401", "    pix2pix,  # noqa: F401"
    ]
    assert scaffold.add_import(block, "zeta").splitlines()[5] == "    zeta,  # noqa: F401"
    with pytest.raises(insert.AddError):
        scaffold.add_import(block, "adain")


def test_scaffold_is_undone_when_the_catalog_write_fails(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    before, init = catalog.read_bytes(), (repo / "refimpl" / "__init__.py").read_bytes()
    entry = {"id": "undone", "kind": "paper", "title": "Undone", "tags": [], "status": "unread",
             "sources": ["manual"], "added": "2026-11-23"}
    side, targets = scaffold.build(repo, entry, "undone")
    entry["refimpl"] = targets

    def crash() -> None:
        raise OSError("disk full")

    with pytest.raises(WriteFailed, match=r"catalog.yaml: cannot write: disk full; .*nothing was changed"):
        insert.add_entry(catalog, entry, side_files=side, repo_root=repo, before_write=crash)
    assert catalog.read_bytes() == before and (repo / "refimpl" / "__init__.py").read_bytes() == init
    assert not (repo / "refimpl" / "undone.py").exists()
    assert not (repo / "refimpl" / "tests" / "test_undone.py").exists()


def test_scaffold_never_overwrites_a_module(repo: Path) -> None:
    (repo / "refimpl" / "nerf.py").write_text("# mine\n", encoding="utf-8")
    before = (repo / "catalog.yaml").read_bytes()
    rc, _, err = run(["--no-input", "--scaffold", "--title", "NeRF: x"], catalog=repo / "catalog.yaml")
    assert rc == 1 and "already exists" in err
    assert (repo / "refimpl" / "nerf.py").read_text() == "# mine\n" and (repo / "catalog.yaml").read_bytes() == before


# --------------------------------------------------------------------- validation of one entry
def test_validate_entry_reports_what_validate_reports(tmp_path: Path) -> None:
    bad = COMMENTED.replace("    status: unread\n", "    status: done\n    year: 1492\n").replace(
        "tags: []", "tags: [gann]")
    path = tmp_path / "catalog.yaml"
    whole = validate(catalog_from_text(bad, path), repo_root=tmp_path)
    loaded = catalog_from_text(bad, path)
    target = loaded.entries[1]
    alone = validate_entry(target, tags=loaded.tags, path=path, repo_root=tmp_path)
    assert [str(p) for p in alone.errors] == [str(p) for p in whole.errors]
    messages = " | ".join(p.message for p in alone.errors)
    assert "status 'done'" in messages and "unknown tag 'gann'" in messages and "year 1492" in messages


def test_validate_entry_shifts_lines_of_a_parsed_fragment() -> None:
    _, entry = insert._parse_entry("  - id: x\n    kind: paper\n    title: X\n    tags: []\n    status: nope\n"
                                   "    refimpl: {none: why not}\n    sources: [s]\n    added: 2026-01-01\n")
    report = validate_entry(entry, tags={}, line_offset=99, check_refimpl=False)
    assert [(p.line, p.where) for p in report.errors] == [(104, "entry 'x'")]


# --------------------------------------------------------------------- lock and atomic write
def test_a_writer_waiting_past_the_lock_timeout_gets_a_clear_message(fresh: Path) -> None:
    before = fresh.read_bytes()
    with catalog_lock(fresh):
        rc, _, err = run(["--no-input", "--title", "Blocked", "--lock-timeout", "0.2"], catalog=fresh)
    assert rc == 1 and "another process is writing the catalog" in err and "0.2 s" in err
    assert fresh.read_bytes() == before


def test_temporary_files_of_a_killed_writer_are_cleaned_up(fresh: Path) -> None:
    stale = fresh.with_name(f"{splice.temp_prefix(fresh)}abc123.tmp")
    stale.write_text("half a catalog", encoding="utf-8")
    assert run(["--no-input", "--title", "Cleaner"], catalog=fresh)[0] == 0
    assert not stale.exists()


def test_splice_copies_unchanged_ranges_exactly(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    splice.splice_file(path, [splice.Splice(10, 0, b"AB"), splice.Splice(600_000, 3, b"")])
    assert path.read_bytes() == data[:10] + b"AB" + data[10:600_000] + data[600_003:]
    assert list(tmp_path.glob(".f.txt.*.tmp")) == []
