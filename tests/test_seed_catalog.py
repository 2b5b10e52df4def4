"""The committed catalog holds everything the five seed note files hold, once."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from paperkb import paths
from paperkb.catalog import provenance, read_catalog, subpages, validate
from paperkb.catalog.summary import bare_arxiv, normalize_title
from paperkb.importers import markdown_notes
from paperkb.importers.merge import plan_import

SEEDS = paths.REPO_ROOT / "tests" / "fixtures" / "seeds"
ARXIV_LINK = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})")
STRUCK_ARXIV = re.compile(r"~~\s*\[[^\]]+\]\(https?://arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})")

# ids other parts of the project (reference implementations, docs) rely on
CANONICAL = {
    "gan": "1406.2661", "dcgan": "1511.06434", "pix2pix": "1611.07004", "pix2pixhd": "1711.11585",
    "cyclegan": "1703.10593", "stargan": "1711.09020", "munit": "1804.04732", "funit": "1905.01723",
    "tunit": "2006.06500", "spade": "1903.07291", "adain": "1703.06868", "singan": "1905.01164",
    "progan": "1710.10196", "stylegan": "1812.04948", "srgan": "1609.04802", "esrgan": "1809.00219",
    "perceptual-loss": "1603.08155", "lpips": "1801.03924", "deep-image-prior": "1711.10925",
    "user-guided-colorization": "1705.02999", "everybody-dance-now": "1808.07371", "nerf": "2003.08934",
    "glide": "2112.10741", "styleswin": "2112.10762", "transgan-nuts-and-bolts": "2110.13107",
    "edt-low-level-transformer": "2112.10175", "one-shot-generative-domain-adaptation": "2111.09876",
    "vision-aided-gan": "2112.09130", "gan-ensembling": "2104.14551", "gangealing": "2112.05143",
    "network-dissection-units": "2009.05041", "rewriting-gan": "2007.15646", "eqgan-sa": "2112.00718",
    "positional-encoding-gan": "2012.05217", "stylealign": "2110.11323", "triple-consistency-loss": "1811.03492",
    "domain-intersection-difference": "1908.11628", "fsgan": "1908.05932", "styleaug": "2112.09260",
    "mtcnn": "1604.02878", "retinaface": "1905.00641", "arcface": "1801.07698", "pfld": "1902.10859",
    "hrnet": "1904.04514", "danet": "1809.02983", "mixup": "1710.09412", "lsgan": "1611.04076",
}
REPOSITORIES = {
    "faceswap-gan": "https://github.com/shaoanlu/faceswap-GAN",
    "fewshot-face-translation-gan": "https://github.com/shaoanlu/fewshot-face-translation-GAN",
}
NAMED_WITHOUT_LINK = ("mtcnn", "retinaface", "arcface", "pfld", "sphereface", "cosface", "normface", "facenet",
                      "center-loss", "stylegan2", "mae", "alphagan", "celeba", "lsgan")


@pytest.fixture(scope="module")
def catalog():
    return read_catalog(paths.DEFAULT_CATALOG)


@pytest.fixture(scope="module")
def seed_texts() -> dict[str, str]:
    files = sorted(SEEDS.glob("*.txt"))
    assert len(files) == 5, f"expected the five seed files in {SEEDS}"
    return {f.name: f.read_text(encoding="utf-8") for f in files}


def arxiv_ids(catalog) -> Counter:
    return Counter(bare_arxiv(e.links.get("arxiv")) for e in catalog.entries if e.links.get("arxiv"))


def test_catalog_is_valid(catalog) -> None:
    report = validate(catalog, check_refimpl=False)
    assert report.errors == []


def test_every_arxiv_id_in_the_seeds_is_in_the_catalog(catalog, seed_texts) -> None:
    in_seeds = {m for text in seed_texts.values() for m in ARXIV_LINK.findall(text)}
    assert len(in_seeds) == 42
    assert sorted(in_seeds - set(arxiv_ids(catalog))) == []


def test_struck_entries_are_unread(catalog, seed_texts) -> None:
    # Only 000's header says strikethrough means "not gone through"; in 004 it retracts a claim.
    struck = set(STRUCK_ARXIV.findall(seed_texts["000_c47078682ed5be7a.txt"]))
    assert len(struck) == 6
    status = {bare_arxiv(e.links.get("arxiv")): e.status for e in catalog.entries}
    assert {arxiv: status[arxiv] for arxiv in struck} == dict.fromkeys(struck, "unread")


def test_no_paper_appears_twice(catalog) -> None:
    assert [a for a, n in arxiv_ids(catalog).items() if n > 1] == []
    titles = Counter(normalize_title(e.title) for e in catalog.papers)
    assert [t for t, n in titles.items() if n > 1] == []
    dois = Counter(e.data["doi"].lower() for e in catalog.papers if e.data.get("doi"))
    assert [d for d, n in dois.items() if n > 1] == []
    urls = Counter(
        v.rstrip("/").lower() for e in catalog.papers for k, v in e.links.items() if k in ("code", "project")
    )
    assert [u for u, n in urls.items() if n > 1] == []


def test_canonical_ids(catalog) -> None:
    by_id = catalog.by_id()
    assert {i: by_id[i].links.get("arxiv") for i in CANONICAL if i in by_id} == CANONICAL
    assert {i: by_id[i].links.get("code") for i in REPOSITORIES} == REPOSITORIES


def test_papers_named_without_a_link_are_entries(catalog) -> None:
    by_id = catalog.by_id()
    for entry_id in NAMED_WITHOUT_LINK:
        entry = by_id[entry_id]
        assert entry.kind == "paper" and entry.authors and entry.year
        assert entry.links.get("arxiv") or entry.id == "center-loss"  # ECCV 2016, never on arXiv
        assert entry.sources and (entry.notes or entry.summary.get("en") and entry.summary.get("zh"))


def test_tricks_and_findings_each_have_an_entry(catalog) -> None:
    tricks = {e.id: e for e in catalog.tricks}
    from_004 = [e for e in tricks.values() if "004_77bf642135204b2e.txt" in e.sources]
    assert len(from_004) == 11  # numbered items 1-10 and 9.5
    assert {"wrong-pixel-penalty", "hinge-loss", "vgg-perceptual-features", "pdb-debugging"} <= set(tricks)
    assert "```python\nimport pdb\npdb.set_trace()\n```" in tricks["pdb-debugging"].notes["en"]
    assert "```python\nloss=max(0,1-gt*out)\n```" in tricks["hinge-loss"].notes["en"]
    assert tricks["cyclegan-masking"].status == "reading"


def test_merged_entries_keep_every_source(catalog) -> None:
    by_id = catalog.by_id()
    assert by_id["pix2pix"].sources == ["001_3b67a6d391d6e95e.txt", "002_18dc21780d165c3e.txt"]
    assert by_id["pix2pixhd"].sources == ["000_c47078682ed5be7a.txt", "001_3b67a6d391d6e95e.txt"]
    assert by_id["funit"].sources == ["000_c47078682ed5be7a.txt", "002_18dc21780d165c3e.txt"]
    assert by_id["pix2pix"].priority == 1 and by_id["adain"].priority == 2 and by_id["munit"].priority == 3


def test_notes_are_searchable_in_both_languages(catalog) -> None:
    """The author's notes in one language, the project's translation in the other, never mixed."""
    def wordless(text: str) -> bool:  # figures only, or one name ("ArcFace"): nothing to translate
        lines = [line for line in text.splitlines() if not provenance.ignorable(line)]
        return len(lines) <= 1 and len(" ".join(lines).split()) <= 1

    one_language = [e.id for e in catalog.entries if e.notes and not all(
        e.notes.get(lang) or e.translations.get(lang) for lang in ("en", "zh"))
        and not all(wordless(t) for t in e.notes.values())]
    assert one_language == []
    # A translation translates the author's notes in the other language, never the same one.
    misplaced = [e.id for e in catalog.entries for lang in e.translations
                 if not e.notes.get("zh" if lang == "en" else "en")]
    assert misplaced == []


def test_sources_are_seed_files_and_tags_are_bilingual(catalog, seed_texts) -> None:
    allowed = set(seed_texts)
    assert {s for e in catalog.entries for s in e.sources} == allowed
    assert all(tag.en and tag.zh and tag.zh != tag.en or tag.en in ("CLIP", "3D") for tag in catalog.tags.values())
    unused = set(catalog.tags) - {t for e in catalog.entries for t in e.tags}
    assert unused == set()


def test_importing_the_seeds_again_adds_nothing(catalog) -> None:
    records = [r for f in sorted(SEEDS.glob("*.txt")) for r in markdown_notes.parse_file(f).records]
    plan = plan_import(catalog, records, today="2026-11-23")
    assert (plan.count("add"), plan.count("merge"), plan.has_changes) == (0, 0, False)
    assert plan.count("skip") == len(records)


# --------------------------------------------------------------------- whose words
# Seed lines that belong to no entry: each file's own introduction.
FILE_INTRODUCTIONS = {
    ("000_c47078682ed5be7a.txt", 2), ("003_473e5c6dfde20fb7.txt", 2), ("003_473e5c6dfde20fb7.txt", 3),
    ("004_77bf642135204b2e.txt", 2),
}
_LEAD_LINK = re.compile(r"^(?:\d+(?:\.\d+)*\.\s+)?(?:~~)?\s*\[[^\]]+\]\([^)]*\)\s*(?:\([A-Z]+ \d{4}\))?\s*:?\s*")
_TABLE_ROW = re.compile(r"^- (?:\*\*)?[A-Z][\w.\- ]*(?: et al\.)? ?\[")
_LABEL = re.compile(r"^\d+(?:\.\d+)*\.\s+(?:\*\*[^*]+\*\*:?\s*)?")


def seed_body_lines(name: str, text: str) -> list[tuple[int, str]]:
    """(line number, text) of each line of the author's notes in a seed file: not a heading,
    a rule, a title (a link item's link, a table row, a numbered item's bold label), an
    introduction or a sub-page link (checked verbatim against ``subpages``, below); what
    follows a title on its line is body."""
    lines = text.splitlines()
    out = []
    continued = False  # the second line of a link title wrapped over two lines
    for number, line in enumerate(lines, 1):
        opens = line.count("[") > line.count("]")
        if continued or line.lstrip().startswith("#") or (name, number) in FILE_INTRODUCTIONS:
            continued = False
            continue
        continued = opens
        if opens or provenance.is_subpage_line(line):
            continue
        body = provenance.normalise(line)
        if not body or re.fullmatch(r"-{3,}", body) or _TABLE_ROW.match(body):
            continue
        if re.fullmatch(r"\*\*[^*]{1,30}\*\*", body):
            continue  # a bold label naming the paper or part that follows (an entry's title)
        body = _LABEL.sub("", _LEAD_LINK.sub("", body, count=1), count=1)
        if body.count("~~") == 1:
            body = body.replace("~~", "")
        if body.strip():
            out.append((number, body.strip()))
    return out


def test_every_seed_body_line_is_in_an_author_notes_field(catalog, seed_texts) -> None:
    notes = [provenance.normalise(line) for e in catalog.entries for t in e.notes.values() for line in t.splitlines()]
    missing = [f"{name}:{number}: {body[:60]}" for name, text in seed_texts.items()
               for number, body in seed_body_lines(name, text) if not any(body in n for n in notes)]
    assert missing == []


def test_every_author_notes_line_comes_from_a_seed_line(catalog, seed_texts) -> None:
    seeds = provenance.seed_lines(seed_texts.values())
    added = [f"{e.id} notes.{lang}: {line[:60]}" for e in catalog.entries for lang, text in e.notes.items()
             for line in provenance.untraced_lines(text, seeds)]
    assert added == []


def test_the_fidelity_check_catches_added_and_edited_text(seed_texts) -> None:
    seeds = provenance.seed_lines(seed_texts.values())
    assert provenance.untraced_lines("Using multiscale patch generator to learn the distribution of target nature "
                                     "image.(ICCV19 Best Paper)", seeds) == []
    assert provenance.untraced_lines("Using multiscale patch generators.", seeds) == ["Using multiscale patch generators."]
    edited = "lossfunction(out, gt, reduction=None) * (torch.sigmoid(out) - gt).abs()"
    assert provenance.untraced_lines(edited, seeds) == [edited]
    assert provenance.untraced_lines("*(figure not included)*\n```text", seeds) == []


def test_the_authors_formula_and_sentences_are_restored(catalog) -> None:
    by_id = catalog.by_id()
    assert "lossfunction(out,gt,reduction=None)*|Sig(out)-gt|" in by_id["wrong-pixel-penalty"].notes["en"]
    assert by_id["adain"].notes["en"].strip() == "Adaptive instance normalization using in style transfer."
    recipe = by_id["esrgan"].translations["en"]
    assert [n for n in "12345" if f"\n{n}. " in recipe[recipe.index("Training:"):]] == list("12345")
    assert "Chinese" not in by_id["vit"].notes.get("zh", "") and not by_id["vit"].notes


def test_highlight_is_not_a_priority(catalog) -> None:
    by_id = catalog.by_id()
    assert {e.id for e in catalog.entries if e.highlight} == {"pix2pix", "cyclegan", "adain"}
    assert by_id["cyclegan"].priority is None  # bold in the export, and no '—-N' mark
    assert {e.id: e.priority for e in catalog.entries if e.priority is not None} == {
        "pix2pix": 1, "adain": 2, "munit": 3}


def test_marks_and_metadata_the_seeds_give(catalog) -> None:
    by_id = catalog.by_id()
    assert by_id["arxiv-1706-02932"].status == "read" and "face-swap" not in by_id["arxiv-1706-02932"].tags
    assert {e.id: e.arxiv_version for e in catalog.entries if e.arxiv_version} == {
        "independent-components-layer": "v1", "arxiv-1706-02932": "v2", "styleswin": "v1",
        "edt-low-level-transformer": "v1", "ssl-small-datasets": "v1", "glide": "v1"}
    assert all(not v.get("arxiv", "").count("v") for v in (e.links for e in catalog.entries))
    assert "3d" not in by_id["active-appearance-model"].tags and "3d" not in by_id["thin-plate-spline"].tags
    assert "tool" in by_id["faceswap-gan"].tags and "tool" in by_id["fewshot-face-translation-gan"].tags
    assert (by_id["gan"].title, by_id["gan"].venue) == ("Generative Adversarial Nets", "NeurIPS 2014")
    assert by_id["retinaface"].venue == "CVPR 2020"
    questions = {e.id for e in catalog.questions}
    assert {"seeded-segmentation-medical", "sr-foreground-background-mask"} <= questions


# --------------------------------------------------------------------- Notion sub-pages
def catalog_subpages(catalog) -> list[tuple[str, dict]]:
    """(owner, item): an entry id, or 'note_files:<file>' for a file's own page."""
    return [(e.id, s) for e in catalog.entries for s in e.subpages] + [
        (f"note_files:{name}", s) for name, items in catalog.note_files.items() for s in items]


def test_every_seed_sub_page_link_is_in_the_catalog_verbatim(catalog, seed_texts) -> None:
    """A sub-page block ('[pix2pix](Paper%20Study%20…/pix2pix%20….md)') is the markdown of
    exactly one catalog sub-page, title and path byte for byte, held by an entry (or the
    file's page) whose sources name that seed file."""
    by_id = catalog.by_id()
    written = {}
    for owner, item in catalog_subpages(catalog):
        written.setdefault(subpages.as_markdown(item), []).append(owner)
    lines = [(name, n, line.strip()) for name, text in seed_texts.items()
             for n, line in enumerate(text.splitlines(), 1) if provenance.is_subpage_line(line)]
    assert len(lines) == 8  # 002: "Rendering" and the seven pages listed at the end
    missing = [f"{name}:{n}: {line}" for name, n, line in lines if len(written.get(line, [])) != 1]
    assert missing == []
    for name, _, line in lines:
        owner = written[line][0]
        sources = [owner.split(":", 1)[1]] if owner.startswith("note_files:") else by_id[owner].sources
        assert name in sources, (line, owner)
    assert {o for o, _ in catalog_subpages(catalog)} == {
        "pix2pix", "cyclegan", "gan", "dcgan", "munit", "nerf", "stargan", "note_files:002_18dc21780d165c3e.txt"}


def test_every_notes_link_to_a_sub_page_is_in_the_catalog(catalog, seed_texts) -> None:
    """The '[notes](…)' links inside 002's table rows point at the same sub-pages, and the
    entry of that row holds them."""
    inline = [(n, text_, path) for name, text in seed_texts.items() for n, line in enumerate(text.splitlines(), 1)
              if not provenance.is_subpage_line(line) for text_, path in provenance.page_links(line)]
    assert [(n, t) for n, t, _ in inline] == [(27, "notes"), (38, "notes"), (65, "notes"), (86, "notes")]
    owners = {item["path"]: owner for owner, item in catalog_subpages(catalog)}
    assert {n: owners.get(path) for n, _, path in inline} == {27: "pix2pix", 38: "cyclegan", 65: "gan", 86: "nerf"}


def test_every_catalog_sub_page_is_a_seed_link(catalog, seed_texts) -> None:
    """The other way: no sub-page title or path the seed files do not hold, word for word."""
    seed_lines = {line.strip() for text in seed_texts.values() for line in text.splitlines()}
    invented = [f"{owner}: {subpages.as_markdown(item)}" for owner, item in catalog_subpages(catalog)
                if subpages.as_markdown(item) not in seed_lines]
    assert invented == []


def test_venues_filled_from_the_venues_own_pages(catalog) -> None:
    """Venues the seeds do not give, each confirmed by a public source (title as the venue prints it):
    edt: ijcai.org/proceedings/2023/121 (its title and four authors); sdssl: the official README
    (github.com/hagiss/SDSSL, "[WACV 2023]"); pretraining-lifelong-learning: jmlr.org/papers/v24/22-0496;
    lsgan-effectiveness: IEEE TPAMI 41(12):2947-2960, Dec 2019 (scholars.cityu.edu.hk);
    one-shot-generative-domain-adaptation: ICCV 2023 (paperswithcode's proceedings links);
    transgan-nuts-and-bolts: the authors' arXiv comment (2110.13107v3, "CVPR2023 Workshop AI4CC")."""
    by_id = catalog.by_id()
    assert {i: by_id[i].venue for i in ("edt-low-level-transformer", "sdssl", "pretraining-lifelong-learning",
                                        "lsgan-effectiveness", "one-shot-generative-domain-adaptation",
                                        "transgan-nuts-and-bolts")} == {
        "edt-low-level-transformer": "IJCAI 2023", "sdssl": "WACV 2023", "pretraining-lifelong-learning": "JMLR 2023",
        "lsgan-effectiveness": "TPAMI 2019", "one-shot-generative-domain-adaptation": "ICCV 2023",
        "transgan-nuts-and-bolts": "CVPR Workshops 2023"}
    # the year is the venue's, as for every other entry with a venue
    assert {i: by_id[i].year for i in ("edt-low-level-transformer", "sdssl", "pretraining-lifelong-learning",
                                       "lsgan-effectiveness", "one-shot-generative-domain-adaptation", "retinaface",
                                       "transgan-nuts-and-bolts")} == {
        "edt-low-level-transformer": 2023, "sdssl": 2023, "pretraining-lifelong-learning": 2023,
        "lsgan-effectiveness": 2019, "one-shot-generative-domain-adaptation": 2023, "retinaface": 2020,
        "transgan-nuts-and-bolts": 2023}
    # RetinaFace at CVPR 2020: its title and authors there (insightface.ai/retinaface, the authors' BibTeX)
    assert by_id["retinaface"].title == "RetinaFace: Single-Shot Multi-Level Face Localisation in the Wild"
    assert by_id["retinaface"].authors == ["Jiankang Deng", "Jia Guo", "Evangelos Ververas", "Irene Kotsia",
                                           "Stefanos Zafeiriou"]
    edt = by_id["edt-low-level-transformer"]
    assert edt.title == "On Efficient Transformer-Based Image Pre-training for Low-Level Vision"
    assert edt.authors == ["Wenbo Li", "Xin Lu", "Shengju Qian", "Jiangbo Lu"] and edt.arxiv_version == "v1"
    assert by_id["centered-object-bias"].authors == ["Gergely Szabó", "András Horváth"]  # the paper's byline
