"""Hostile and broken catalogs: the loader and the validator answer with one line
naming the file and line, quickly, and never open anything outside refimpl/."""

from __future__ import annotations

import re
import time

import pytest
from conftest import GOOD_ENTRY, HEADER
from paperkb.catalog import CatalogError, read_catalog, validate
from paperkb.catalog.validate import url_problem
from paperkb.cli_validate import main

BOMB = "".join(
    f"{a}: &{a} [{', '.join([f'*{b}'] * 9) if b else ', '.join(['lol'] * 9)}]\n"
    for a, b in zip("abcdefghi", [None, *"abcdefgh"], strict=True)
)


def line_of(path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def errors_of(path, capsys, *extra: str) -> tuple[int, list[str]]:
    code = main(["--catalog", str(path), *extra])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if not line.endswith("entries")]


# -- YAML the loader refuses before constructing anything -----------------------
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("tags: {}\nentries: &e [*e]\n", 2, "recursive alias"),
        ("tags: {}\nentries:\n  - id: a\n    notes: &n {en: *n}\n", 4, "recursive alias"),
        (BOMB + "tags: {}\nentries: []\n", None, "YAML aliases expand too far"),
        ("tags: {}\nentries: " + "[" * 500 + "]" * 500 + "\n", 2, "nests too deeply"),
        ("tags: {}\nentries:\n  - id: a\n    title: caf\xe9\n", 4, "not UTF-8"),
    ],
    ids=["recursive-sequence", "recursive-mapping", "alias-bomb", "deep-nesting", "latin-1-byte"],
)
def test_hostile_yaml_is_one_line_with_its_line_fast(tmp_path, capsys, text, line, message):
    path = tmp_path / "catalog.yaml"
    path.write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode("utf-8"))
    start = time.perf_counter()
    code, errors = errors_of(path, capsys, "--no-refimpl")
    elapsed = time.perf_counter() - start
    assert code == 1 and len(errors) == 1, errors
    assert message in errors[0]
    found = re.match(rf"{re.escape(str(path))}:(\d+): ", errors[0])
    assert found, errors[0]
    if line is not None:
        assert int(found.group(1)) == line
    assert elapsed < 5  # generous: the old walk never finished


def test_aliases_used_in_moderation_still_load(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("x-authors: &who [A. Author, B. Author]\n" + HEADER.split("\n", 1)[1] + GOOD_ENTRY.replace(
        "    authors: [Xun Huang, Serge Belongie]\n", "    authors: *who\n"), encoding="utf-8")
    catalog = read_catalog(path)
    assert catalog.entries[0].authors == ["A. Author", "B. Author"]


def test_a_large_catalog_without_aliases_is_not_an_alias_bomb(tmp_path):
    path = tmp_path / "catalog.yaml"
    keys = ", ".join(f"k{i}: {{en: a, zh: b}}" for i in range(60_000))  # 180k nodes, no alias
    path.write_text(f"tags: {{{keys}}}\nentries: []\n", encoding="utf-8")
    assert len(read_catalog(path).tags) == 60_000


def test_merge_keys_are_not_duplicate_keys(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "tags: {}\nx-base: &base {kind: paper, status: read}\nentries:\n  - <<: *base\n    status: unread\n    id: a\n",
        encoding="utf-8",
    )
    catalog = read_catalog(path)
    assert catalog.duplicate_keys == []
    assert catalog.entries[0].data == {"kind": "paper", "status": "unread", "id": "a"}


@pytest.mark.parametrize("written", ["0x7E3", "33:37", "03741", "2_017", "0o3741"])
def test_years_only_decimal_as_written(write_catalog, capsys, written):
    path = write_catalog(GOOD_ENTRY.replace("year: 2017", f"year: {written}"))
    assert read_catalog(path).entries[0].data["year"] == written  # kept as the text, not 2019 or 2017
    code, errors = errors_of(path, capsys)
    assert code == 1
    assert errors == [f"{path}:{line_of(path, 'year:')}: entry 'adain': year must be a decimal number like 2017, not {written!r}"]


# -- schema patterns, lengths, reserved names -----------------------------------
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("- id: adain", '- id: "adain\\n"', "does not match"),
        ("- id: adain", "- id: " + "a" * 81, "is too long (at most 80 characters)"),
        ("- id: adain", "- id: index", "'index' is a name the site uses for its own pages"),
        ("- id: adain", "- id: entries", "'entries' is a name the site uses for its own pages"),
        ("added: 2026-11-23", 'added: "2026-11-23\\n"', "does not match"),
        ('arxiv: "1703.06868"', 'arxiv: "1703.06868\\n"', "is not an arXiv id"),
    ],
    ids=["id-newline", "id-too-long", "id-index", "id-entries", "added-newline", "arxiv-newline"],
)
def test_schema_rules(write_catalog, capsys, old, new, expected):
    path = write_catalog(GOOD_ENTRY.replace(old, new))
    code, errors = errors_of(path, capsys)
    assert code == 1
    hits = [e for e in errors if expected in e]
    assert hits, errors
    assert re.match(rf"{re.escape(str(path))}:\d+: entry ", hits[0])


def test_reserved_tag_slug_is_refused(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY, header=HEADER.replace("  gan: {en: GAN", "  index: {en: GAN"))
    code, errors = errors_of(path, capsys)
    assert code == 1
    assert errors == [f"{path}:5: tag 'index': 'index' is a name the site uses for its own pages; choose another"]


# -- control characters -----------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("title: Arbitrary", 'title: "\\e]0;pwned\\a\\e[2JArbitrary', "title"),
        ("[Xun Huang,", '["Xun\\e[2J Huang",', "authors.0"),
        ("venue: ICCV 2017", 'venue: "ICCV\\u009b2017"', "venue"),
        ("tags: [style-transfer]", 'tags: ["style-transfer\\n"]', "tags.0"),
        ("code: https://github.com", 'code: "https://github.com\\a', "links.code"),
        ("- id: adain", '- id: "ad\\tain"', "id"),
    ],
    ids=["title-osc", "author-csi", "venue-c1", "tag-newline", "link-bel", "id-tab"],
)
def test_control_characters_are_refused(write_catalog, capsys, old, new, field):
    entry = GOOD_ENTRY.replace(old, new)
    if new.count('"') % 2:  # close the quoted scalar opened above
        entry = entry.replace("Instance Normalization\n", 'Instance Normalization"\n', 1) if "title" in new else \
            entry.replace("AdaIN-style\n", 'AdaIN-style"\n', 1)
    path = write_catalog(entry)
    code, errors = errors_of(path, capsys)
    assert code == 1
    assert any(f"{field}: control character" in e for e in errors), errors
    assert all("\x1b" not in e and "\x07" not in e and "\x9b" not in e for e in errors)  # printed escaped


# -- links: http(s) only, parsed with urllib ---------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        "https://x.org/)<script>alert(1)</script>",
        "javascript:alert(1)//x.org",
        "file:///etc/passwd",
        "https://x.org/a b",
        'https://x.org/"onmouseover="x',
        "https://[::1/",
        "https://x.org:port/",
        "https:///nohost",
        "data:text/html,<b>x</b>",
    ],
)
def test_url_problem_refuses(bad):
    assert url_problem(bad) is not None


@pytest.mark.parametrize(
    "good", ["https://github.com/a/b", "http://localhost:8000/x", "https://x.org/a_(b)?q=1&r=%20#frag"]
)
def test_url_problem_accepts(good):
    assert url_problem(good) is None


def test_bad_link_is_one_line_with_its_line(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("https://github.com/xunhuang1995/AdaIN-style", '"https://x.org/)<script>"'))
    code, errors = errors_of(path, capsys)
    assert code == 1
    assert errors == [
        f"{path}:{line_of(path, 'code:')}: entry 'adain': links.code: 'https://x.org/)<script>' is not a URL "
        "(character '<' must be percent-encoded)"
    ]


# -- refimpl targets stay inside refimpl/ --------------------------------------------
@pytest.mark.parametrize(
    "target",
    ["/etc/passwd:root", "/proc/self/environ:PATH", "refimpl/../../etc/passwd.py:x", "refimpl/link.py:secret"],
)
def test_refimpl_targets_outside_refimpl_are_never_opened(tmp_path, capsys, monkeypatch, target):
    repo = tmp_path / "repo"
    (repo / "refimpl").mkdir(parents=True)
    outside = tmp_path / "foreign_module.py"
    outside.write_bytes(b"secret_name_1 = 1\nsecret_name_2 = 2\n\xff\xfe")
    (repo / "refimpl" / "link.py").symlink_to(outside)
    path = repo / "catalog.yaml"
    path.write_text(HEADER + GOOD_ENTRY.replace("refimpl/adain.py:adain", target), encoding="utf-8")
    opened: list[str] = []
    import builtins
    import io

    real_open, real_io_open = builtins.open, io.open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    try:
        report = validate(read_catalog(path), repo_root=repo)
    finally:
        monkeypatch.setattr(builtins, "open", real_open)
        monkeypatch.setattr(io, "open", real_io_open)
    assert not [f for f in opened if f.endswith(("passwd", "passwd.py", "environ", "foreign_module.py", "link.py"))]
    assert report.errors
    text = "\n".join(str(p) for p in report.errors)
    assert "secret_name" not in text


def test_refimpl_target_that_is_not_text_is_one_line(tmp_path):
    repo = tmp_path / "repo"
    (repo / "refimpl").mkdir(parents=True)
    (repo / "refimpl" / "blob.py").write_bytes(b"\x00\xff\xfe binary")
    path = repo / "catalog.yaml"
    path.write_text(HEADER + GOOD_ENTRY.replace("refimpl/adain.py:adain", "refimpl/blob.py:x"), encoding="utf-8")
    report = validate(read_catalog(path), repo_root=repo)
    lines = [str(p) for p in report.errors if "blob" in str(p)]
    assert lines and "cannot read refimpl/blob.py: not UTF-8 text" in lines[0]


def test_every_error_has_a_line(write_catalog):
    path = write_catalog(GOOD_ENTRY.replace("status: read", "status: done").replace("year: 2017", "year: 0x7E3"))
    report = validate(read_catalog(path), check_refimpl=False)
    assert report.errors and all(p.line > 1 for p in report.errors)


def test_catalog_error_for_bad_bytes_names_the_line(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_bytes(b"tags: {}\nentries:\n  - id: a\n    title: \xff\xfe\n")
    with pytest.raises(CatalogError) as caught:
        read_catalog(path)
    assert caught.value.problems == [f"{path}:4: not UTF-8 text (byte 0xff cannot be decoded)"]
