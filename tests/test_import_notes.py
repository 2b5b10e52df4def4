"""The note importer on the five real seed files, a BibTeX export, and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from paperkb import paths
from paperkb.catalog import read_catalog, validate
from paperkb.importers import bibtex, markdown_notes
from paperkb.importers import text as T
from paperkb.importers.cli import main
from paperkb.importers.record import classify_link, suggest_id, title_keys

SEEDS = paths.REPO_ROOT / "tests" / "fixtures" / "seeds"
FIXTURES = Path(__file__).parent / "fixtures"
BASE = FIXTURES / "import_base_catalog.yaml"
DATE = "2026-11-23"


def seed(prefix: str) -> Path:
    found = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    assert found, f"seed file {prefix}_*.txt not found in {SEEDS}"
    return found[0]


def records(prefix: str) -> list:
    return markdown_notes.parse_file(seed(prefix)).records


def by_title(recs: list, title: str):
    matches = [r for r in recs if r.title == title]
    assert len(matches) == 1, f"{title!r}: {len(matches)} records"
    return matches[0]


def by_arxiv(catalog, arxiv: str):
    matches = [e for e in catalog.entries if e.links.get("arxiv") == arxiv]
    assert len(matches) == 1, f"arXiv {arxiv}: {len(matches)} entries"
    return matches[0]


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yaml"
    shutil.copy(BASE, path)
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """All five seeds imported once into a copy of the three-entry catalog."""
    path = tmp_path_factory.mktemp("imported") / "catalog.yaml"
    shutil.copy(BASE, path)
    assert main([*map(str, sorted(SEEDS.glob("*.txt"))), "--catalog", str(path), "--date", DATE, "-q"]) == 0
    return path, path.read_text(encoding="utf-8")


# -- the link list (000) -------------------------------------------------------
def test_link_list_counts_statuses_and_sections() -> None:
    recs = records("000")
    assert [r.kind for r in recs].count("paper") == 25
    assert sorted(r.title for r in recs if r.kind == "trick") == ["Give wrong labeled pixel penalty", "Hinge loss"]
    unread = {r.links.get("arxiv") for r in recs if r.status == "unread"}
    assert unread == {"1905.05928", "1807.11440", "1908.11628", "1711.10925", "1811.03492", "1806.00069"}
    fsgan = by_title(recs, "Face Swapping GAN (FSGAN)")
    assert fsgan.sections == ["Image Synthesis", "Face swapping: from beginner to give-up"]
    assert fsgan.status is None and fsgan.notes == "Subject agnostic face swapping and reenactiment model."
    danet = by_title(recs, "DANet")
    assert danet.links == {"arxiv": "1809.02983", "code": "https://github.com/junfu1115/DANet"}


def test_formulas_become_code_blocks() -> None:
    recs = records("000")
    hinge = by_title(recs, "Hinge loss")
    assert hinge.kind == "trick"
    assert hinge.notes == "```python\nloss=max(0,1-gt*out)\n```"
    penalty = by_title(recs, "Give wrong labeled pixel penalty")
    assert "```text\nlossfunction(out,gt,reduction=None)*|Sig(out)-gt|\n```" in penalty.notes


def test_struck_note_keeps_its_text_but_not_the_markup() -> None:
    icl = by_title(records("000"), "Independent Components Layer")
    assert icl.status == "unread"
    assert icl.notes == "Combination of batch normalization and dropout layer."


# -- Chinese notes with headings and absent images (001) -----------------------
def test_paper_headings_split_into_papers_with_chinese_notes() -> None:
    recs = records("001")
    assert [r.title for r in recs] == ["pix2pix", "pix2pixHD", "cycleGAN", "starGAN", "SRGAN", "ESRGAN",
                                       "MTCNN", "RetinaFace", "PFLD"]
    pix2pix, hd = recs[0], recs[1]
    assert "**PatchGAN**" in pix2pix.notes and "PatchGAN" not in hd.notes.split("**loss**")[0]
    assert "**语义编辑**" in hd.notes and "多尺度判别器" in hd.notes
    assert all(T.language(r.notes) == "zh" for r in recs)
    assert recs[6].sections == ["其他", "人脸人体"]


def test_absent_images_leave_a_caption_and_no_broken_link() -> None:
    for prefix in ("001", "002", "003"):
        for rec in records(prefix):
            assert "<img" not in rec.notes and "../pics" not in rec.notes and "./figs" not in rec.notes
            assert "](Paper%20Study" not in rec.notes
    gangealing = by_title(records("003"), "GAN-Supervised Dense Visual Alignment")
    assert "*(figure: gan supervised dense visual alignment)*" in gangealing.notes
    cyclegan = by_title(records("001"), "cycleGAN")
    assert cyclegan.notes.count(T.FIGURE_NOTE) == 1  # three images in a row say one thing


# -- the Notion export (002) -----------------------------------------------------
def test_bold_and_priority_marks_set_priority() -> None:
    recs = records("002")
    priorities = {r.title: r.priority for r in recs if r.kind == "paper"}
    assert priorities["Pix2Pix"] == 1 and priorities["AdaIN"] == 2 and priorities["MUNIT"] == 3
    assert priorities["CycleGAN"] is None  # bold, no mark: a highlight, not a priority
    highlighted = {r.title for r in recs if r.highlight}
    assert highlighted == {"Pix2Pix", "CycleGAN", "AdaIN"}
    assert priorities["DCGAN"] is None and priorities["NeRF"] is None
    adain = by_title(recs, "AdaIN")
    assert adain.links == {
        "pdf": "https://openaccess.thecvf.com/content_ICCV_2017/papers/Huang_Arbitrary_Style_Transfer_ICCV_2017_paper.pdf",
        "video": "https://www.youtube.com/watch?v=IIRxJvW6bE4",
    }
    assert by_title(recs, "SPADE").links == {"project": "https://nvlabs.github.io/SPADE/"}


def test_debugging_habit_is_a_trick_with_its_commands_as_code() -> None:
    recs = records("002")
    trick = [r for r in recs if r.kind == "trick"]
    assert len(trick) == 1
    assert "```python\nimport pdb\npdb.set_trace()\n```" in trick[0].notes
    assert "c: continue until next set trace" in trick[0].notes


NOTION = "Paper%20Study%2068e3ebe9fd7a4c5698dd326b5ac62910/"


def test_links_to_absent_notion_sub_pages_are_kept_as_sub_pages() -> None:
    """002's links to sub-pages the export does not contain: each `[notes]` link and each
    entry of the list at the end belongs to its paper; "Rendering" belongs to the page."""
    result = markdown_notes.parse_file(seed("002"))
    assert result.skipped == []
    pages = {r.title: r.subpages for r in result.records if r.subpages}
    assert pages == {
        "Pix2Pix": [{"title": "pix2pix", "path": NOTION + "pix2pix%208376070f7da54a6bb1a9bc73805df563.md"}],
        "CycleGAN": [{"title": "CycleGAN (Unsupervised)",
                      "path": NOTION + "CycleGAN%20(Unsupervised)%20d62c159362424283a87f650643492498.md"}],
        "GAN": [{"title": "GAN", "path": NOTION + "GAN%207ec9ed49b4314d75a25f075cfb41207a.md"}],
        "DCGAN": [{"title": "DCGAN", "path": NOTION + "DCGAN%20c591c03863df4b1eb873f3948bb1e263.md"}],
        "StarGAN": [{"title": "starGAN", "path": NOTION + "starGAN%207866cd2463f34d4e809bfa5e234518f2.md"}],
        "MUNIT": [{"title": "MUNIT", "path": NOTION + "MUNIT%20f8f7473d96ee4cc4b4a8ea80dfc9e9a5.md"}],
        "NeRF": [{"title": "NeRF", "path": NOTION + "NeRF%2060dba35e6d914ba59e0a6fb46935af70.md"}],
    }
    assert result.subpages == [{"title": "Rendering", "path": NOTION + "Rendering%20e61234380d8e46ae9f82afa31090547f.md"}]
    assert all("](Paper%20Study" not in r.notes for r in result.records)  # not in the notes text


def test_a_notes_link_alone_takes_its_title_from_the_file_name(tmp_path: Path) -> None:
    note = tmp_path / "notes.md"
    note.write_text("- Some GAN Smith et al. [[notes](Page%201234/Some%20GAN%20"
                    "0123456789abcdef0123456789abcdef.md)]\n    - a note\n\n[Elsewhere](../outside.md)\n",
                    encoding="utf-8")
    result = markdown_notes.parse_file(note)
    assert [r.subpages for r in result.records] == [
        [{"title": "Some GAN", "path": "Page%201234/Some%20GAN%200123456789abcdef0123456789abcdef.md"}]]
    assert result.subpages == []  # '..' leaves the export: not a sub-page, skipped with its line
    assert [s.what for s in result.skipped] == ["Elsewhere"]


# -- the bilingual numbered list (003) -----------------------------------------
def test_numbered_list_titles_venues_languages() -> None:
    recs = records("003")
    assert len(recs) == 25
    # the link text runs over two lines
    units = by_title(recs, "Understanding the role of individual units in a deep neural network")
    assert units.links == {"pdf": "https://www.pnas.org/content/pnas/117/48/30071.full.pdf"}
    align = by_title(recs, "STYLEALIGN: ANALYSIS AND APPLICATIONS OF ALIGNED STYLEGAN MODELS")
    assert (align.venue, align.year) == ("ICLR 2022", 2022)
    lifelong = by_title(recs, "AN EMPIRICAL INVESTIGATION OF THE ROLE OF PRETRAINING IN LIFELONG LEARNING")
    assert T.language(lifelong.notes) == "en"
    mixed = by_title(recs, "Rethinking the hyperparameters for fine-tuning")
    assert T.language(mixed.notes) == "zh" and "source domain" in mixed.notes  # mixed text kept whole
    act = by_title(recs, "ADAPTIVELY CUSTOMIZING ACTIVATION FUNCTIONS FOR VARIOUS LAYERS")
    assert "```text\nASimoid : fAsimoid = biSigmoid(aiz + ci) + di\n" in act.notes


# -- the experiment notes (004) ------------------------------------------------
def test_experiment_findings_are_tricks_and_cited_papers_are_found() -> None:
    recs = records("004")
    tricks = [r for r in recs if r.kind == "trick"]
    assert len(tricks) == 11  # items 1-10 and 9.5
    assert tricks[0].title == "BatchNorm/InstanceNorm"
    assert tricks[0].notes.startswith("Caused input/output skin color inconsistency")
    assert by_title(recs, "CycleGAN with masking").kind == "trick"
    cited = {r.links["arxiv"]: r for r in recs if r.cited}
    assert set(cited) == {"1706.02932", "1710.09412", "1712.06391", "1711.05139"}
    assert cited["1710.09412"].title == "Mixup" and cited["1712.06391"].title == "least squares loss"
    # struck in 004, where strikethrough retracts a claim: no status from it (the default, read, applies)
    assert cited["1711.05139"].title == "XGAN" and cited["1706.02932"].status is None
    assert any("dropbox.com" in r.notes for r in tricks)  # remote figures stay


# -- the whole import ----------------------------------------------------------
def test_import_counts_and_merges(imported: tuple[Path, str]) -> None:
    path, _ = imported
    catalog = read_catalog(path)
    assert not validate(catalog, check_refimpl=False).errors
    assert (len(catalog.entries), len(catalog.papers), len(catalog.tricks)) == (88, 74, 14)
    by_id = catalog.by_id()
    pix2pix = by_id["pix2pix"]  # 001 heading + 002 table row
    assert pix2pix.sources == ["001_3b67a6d391d6e95e.txt", "002_18dc21780d165c3e.txt"]
    assert "PatchGAN" in pix2pix.notes["zh"] and "Markovian discriminator" in pix2pix.notes["en"]
    assert pix2pix.priority == 1 and pix2pix.links == {"project": "https://phillipi.github.io/pix2pix/"}
    hd = by_arxiv(catalog, "1711.11585")  # 000 link list + 001 heading
    assert hd.id == "pix2pixhd" and len(hd.sources) == 2
    assert hd.notes["en"] == "Enhancer structure.\n" and "G1和G2" in hd.notes["zh"]
    assert hd.tags == ["image-synthesis", "gan"]
    assert by_id["mtcnn"].tags == ["face"]  # Chinese heading matched by its declared zh label
    assert by_arxiv(catalog, "1711.10925").status == "unread"
    assert by_arxiv(catalog, "1706.02932").status == "read"  # cited for a finding; its strikethrough retracts a claim
    assert by_id["adain"].data == read_catalog(BASE).by_id()["adain"].data  # already imported from both files



def test_import_gives_the_committed_catalog_its_sub_pages(imported: tuple[Path, str]) -> None:
    """Importing the seeds afresh writes the same sub-page fields the committed catalog holds."""
    catalog = read_catalog(imported[0])
    committed = read_catalog(paths.DEFAULT_CATALOG)
    got = {e.id: e.subpages for e in catalog.entries if e.subpages}
    want = {e.id: e.subpages for e in committed.entries if e.subpages}
    assert len(got) == 7 and got == want
    assert catalog.note_files == committed.note_files == {
        "002_18dc21780d165c3e.txt": [{"title": "Rendering", "path": NOTION + "Rendering%20e61234380d8e46ae9f82afa31090547f.md"}]}


def test_import_keeps_comments_and_untouched_text(imported: tuple[Path, str]) -> None:
    _, text = imported
    base = BASE.read_text(encoding="utf-8")
    base_head, base_entries = base.split("\nentries:\n")
    head, entries = text.split("\nentries:\n")
    # the three entries were already imported: their text, comment included, is untouched
    assert entries.startswith(base_entries) and "  # a hand-written comment between entries" in entries
    # 002's own sub-page goes in a note_files block just before the entries
    note_files = (
        "\nnote_files:\n  002_18dc21780d165c3e.txt:\n    subpages:\n      - title: Rendering\n"
        f'        path: "{NOTION}Rendering%20e61234380d8e46ae9f82afa31090547f.md"\n'
    )
    assert head.endswith(note_files)
    head = head.removesuffix(note_files)
    # new tags go after the last declared tag; every other header line stays as it was
    added = [line for line in head.splitlines() if line not in base_head.splitlines()]
    assert "  general-structure: {en: General Structure, zh: General Structure}" in added
    assert all(line.startswith("  ") and ": {en: " in line for line in added)
    assert head.replace("".join(f"{line}\n" for line in added), "") == base_head


def test_second_import_changes_nothing(imported: tuple[Path, str], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path, text = imported
    again = tmp_path / "catalog.yaml"
    again.write_text(text, encoding="utf-8")
    assert main([*map(str, sorted(SEEDS.glob("*.txt"))), "--catalog", str(again), "--date", DATE]) == 0
    assert again.read_text(encoding="utf-8") == text
    assert "added 0, merged 0" in capsys.readouterr().out


def test_dry_run_prints_the_plan_and_writes_nothing(catalog_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = catalog_copy.read_bytes()
    mtime = catalog_copy.stat().st_mtime_ns
    assert main([str(seed("000")), "--catalog", str(catalog_copy), "--dry-run", "--date", DATE]) == 0
    out = capsys.readouterr().out
    assert catalog_copy.read_bytes() == before and catalog_copy.stat().st_mtime_ns == mtime
    assert "add   000_c47078682ed5be7a.txt:5 'High Resolution Net (HRNet)' → 'hrnet': new paper" in out
    assert "skip  000_c47078682ed5be7a.txt:26 'AdaIN' → 'adain': already imported" in out
    assert "would add 25, merged 0, skipped 3, new tags 7" in out and "nothing written" in out


def test_trick_matches_an_existing_trick_by_title_and_code(catalog_copy: Path, tmp_path: Path) -> None:
    # a copy of 000 under another name is a new source: its tricks merge instead of duplicating
    other = tmp_path / "005_copy.txt"
    other.write_text(seed("000").read_text(encoding="utf-8"), encoding="utf-8")
    assert main([str(other), "--catalog", str(catalog_copy), "--date", DATE, "-q"]) == 0
    catalog = read_catalog(catalog_copy)
    penalty = [e for e in catalog.tricks if "Penalise" in e.title or "penalty" in e.title.lower()]
    assert [e.id for e in penalty] == ["wrong-pixel-penalty"]
    assert penalty[0].sources == ["000_c47078682ed5be7a.txt", "005_copy.txt"]
    assert "lossfunction(out,gt,reduction=None)" in penalty[0].notes["en"]
    adain = catalog.by_id()["adain"]
    assert adain.sources[-1] == "005_copy.txt" and adain.notes["en"].count("Adaptive instance normalization") == 2


# -- BibTeX ----------------------------------------------------------------------
def test_bibtex_records() -> None:
    result = bibtex.parse_file(FIXTURES / "import_sample.bib")
    assert [s.what for s in result.skipped] == ["notitle"]
    pix, lsgan, husz = result.records
    assert pix.authors == ["Phillip Isola", "Jun-Yan Zhu", "Tinghui Zhou", "Alexei A. Efros"]
    assert (pix.links, pix.venue, pix.year, pix.sections) == ({"arxiv": "1611.07004"}, "CVPR", 2017,
                                                              ["GAN", "Image Translation"])
    assert lsgan.title == "On the Effectiveness of Least Squares Generative Adversarial Networks"
    assert lsgan.links == {"arxiv": "1712.06391"} and lsgan.venue is None
    assert husz.title == "A Paper by Huszár with a DOI" and husz.authors == ["Ferenc Huszár", "Jan van der Berg"]
    assert husz.doi == "10.1000/example.123" and husz.links == {"code": "https://github.com/example/code"}
    assert husz.notes == "Read twice; the loss section is the useful part." and husz.line == 19


def test_bibtex_import_merges_by_arxiv_id(imported: tuple[Path, str], tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(imported[1], encoding="utf-8")
    assert main(["--bibtex", str(FIXTURES / "import_sample.bib"), "--catalog", str(path), "--date", DATE, "-q"]) == 0
    catalog = read_catalog(path)
    pix = by_arxiv(catalog, "1611.07004")
    assert pix.title == "Image-to-Image Translation with Conditional Adversarial Networks" and pix.status == "unread"
    assert pix.tags == ["gan", "image-translation"]  # keywords map onto declared tags
    lsgan = by_arxiv(catalog, "1712.06391")
    assert lsgan.authors == ["Xudong Mao", "Qing Li", "Haoran Xie"] and lsgan.year == 2017
    assert len(lsgan.sources) == 2 and lsgan.sources[-1] == "import_sample.bib"
    assert len(catalog.entries) == 88 + 2  # pix2pix (new: the notes had no arXiv id) and the DOI paper
    assert not validate(catalog, check_refimpl=False).errors


# -- bad input -----------------------------------------------------------------
def test_no_files_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--dry-run"])
    assert exc.value.code == 2


def test_bad_date_is_a_usage_error(catalog_copy: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(seed("000")), "--catalog", str(catalog_copy), "--date", "23/11/2026"])
    assert exc.value.code == 2


def test_missing_note_file(catalog_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = catalog_copy.read_bytes()
    assert main([str(catalog_copy.parent / "nope.txt"), "--catalog", str(catalog_copy)]) == 1
    assert "nope.txt" in capsys.readouterr().err and catalog_copy.read_bytes() == before


def test_broken_catalog_is_reported_with_its_line(catalog_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog_copy.write_text(BASE.read_text(encoding="utf-8").replace("    kind: trick", "    kind: [trick", 1),
                            encoding="utf-8")
    before = catalog_copy.read_bytes()
    assert main([str(seed("000")), "--catalog", str(catalog_copy)]) == 1
    err = capsys.readouterr().err
    assert f"{catalog_copy}:" in err and "YAML syntax error" in err
    assert catalog_copy.read_bytes() == before


def test_invalid_result_is_not_written(catalog_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE.read_text(encoding="utf-8").replace("tags: [debugging]", "tags: [debuging]")
    catalog_copy.write_text(text, encoding="utf-8")
    assert main([str(seed("000")), "--catalog", str(catalog_copy), "--date", DATE]) == 1
    err = capsys.readouterr().err
    assert "entry 'pdb-debugging': unknown tag 'debuging'" in err and "not written" in err
    assert catalog_copy.read_text(encoding="utf-8") == text
    assert not list(catalog_copy.parent.glob(".catalog.yaml.*.tmp"))


# -- small pieces ----------------------------------------------------------------
def test_language_and_code_detection() -> None:
    assert T.language("Dual self attention module.") == "en"
    assert T.language("该论文提出了一个关于GAN的transformer的网络结构，减少了artifacts。") == "zh"
    assert T.language("") == "en"
    assert T.looks_like_code("pdb.set_trace()") and T.looks_like_code("import pdb")
    assert T.looks_like_code("loss=max(0,1-gt*out)")
    assert not T.looks_like_code("c: continue until next set trace")
    assert not T.looks_like_code("Caused input/output skin color inconsistency (light condition, shadow, etc.).")
    assert not T.looks_like_code("GAN loss：和pix2pix一样，使用PatchGAN。")


def test_names_ids_and_links() -> None:
    assert title_keys("Face Swapping GAN (FSGAN)") & title_keys("Face swapping GAN") == set()
    assert "singan" in title_keys("SinGAN: Learning a Generative Model from a Single Natural Image")
    assert suggest_id("High Resolution Net (HRNet)") == "hrnet"
    assert suggest_id("Pix2PixHD: Segmentation to image") == "pix2pixhd"
    assert classify_link("https://arxiv.org/pdf/2112.10762v1.pdf") == ("arxiv", "2112.10762")
    assert classify_link("https://github.com/NVlabs/MUNIT", "project") == ("project", "https://github.com/NVlabs/MUNIT")
    assert classify_link("https://github.com/NVlabs/MUNIT")[0] == "code"
    assert classify_link("https://openreview.net/pdf?id=Qg2vi4ZbHM9")[0] == "pdf"


def test_lists_are_renderable() -> None:
    note = "Feed the output back.\n  - Idea: refine\n  - Result\n    - N=2\n      more of N=2\n  - Done"
    assert T.normalize_lists(note) == (
        "Feed the output back.\n\n- Idea: refine\n- Result\n    - N=2\n        more of N=2\n- Done"
    )
    recursive = by_title(records("004"), "Recursive loop")
    assert "**repeat N times**.\n\n- Idea:" in recursive.notes and "\n    - ![v1_recur](" in recursive.notes


def test_strikethrough_means_unread_only_where_the_file_says_so() -> None:
    # 004 strikes out a retracted claim citing arXiv 1706.02932; its header defines no reading mark.
    recs = records("004")
    assert [r.status for r in recs if r.status] == []
    text = "# Notes\n~~Strikethrough~~ means I have not gone through it.\n\n~~[Some Paper](https://arxiv.org/abs/2001.00001)~~\n"
    (rec,) = markdown_notes.parse_text(text, "x.md").records
    assert rec.status == "unread"


def test_the_import_reports_how_many_entries_got_the_default_status(tmp_path: Path, capsys) -> None:
    path = tmp_path / "catalog.yaml"
    shutil.copy(BASE, path)
    notes = tmp_path / "notes.md"
    notes.write_text("# GAN\n\n[A Linked Paper](https://arxiv.org/abs/2001.00001)\n\n"
                     "[A Noted Paper](https://arxiv.org/abs/2001.00002): Good idea.\n", encoding="utf-8")
    assert main([str(notes), "--catalog", str(path), "--date", DATE, "-q"]) == 0
    assert "default status for 2" in capsys.readouterr().out
    by_arxiv = {e.links.get("arxiv"): e.status for e in read_catalog(path).entries}
    assert (by_arxiv["2001.00001"], by_arxiv["2001.00002"]) == ("unread", "read")
