"""tools/validate.py: every kind of problem, with its message and line number."""

from __future__ import annotations

import re

import pytest
from conftest import GOOD_ENTRY, HEADER
from paperkb.catalog import CatalogError, load_catalog, read_catalog, validate
from paperkb.cli_validate import main


def run(path, capsys) -> tuple[int, list[str], str]:
    code = main(["--catalog", str(path)])
    out, err = capsys.readouterr()
    return code, [line for line in err.splitlines() if not line.endswith("entries")], out


def line_of(path, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def test_clean_catalog_exits_0_with_a_one_line_summary(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY)
    code, errors, out = run(path, capsys)
    assert code == 0 and errors == []
    assert re.fullmatch(r".*: ok, 1 entries \(1 papers, 0 tricks\), 2 tags, 0 warning\(s\)\n", out)


def test_the_committed_catalog_is_valid(capsys):
    assert main([]) == 0, capsys.readouterr().err


def test_yaml_syntax_error_names_the_line(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("    status: read\n", "    status: [read\n"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert len(errors) == 1 and errors[0].startswith(f"{path}:") and "YAML syntax error" in errors[0]
    # libyaml reports the line where the unclosed flow sequence is detected
    assert int(errors[0].split(":")[1]) >= line_of(path, "status: [read")


def test_duplicate_mapping_key_is_reported_not_silently_dropped(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("    status: read\n", "    status: read\n    status: unread\n"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    first = line_of(path, "status: read")
    assert errors == [
        f"{path}:{first + 1}: entry 'adain': duplicate key 'status' (first at line {first}); "
        "YAML would keep only the last"
    ]


def test_duplicate_ids(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY, GOOD_ENTRY.replace("1703.06868", "1703.06869"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    first, second = line_of(path, "- id: adain"), line_of(path, "- id: adain", 2)
    assert errors == [f"{path}:{second}: entry 'adain': duplicate id 'adain' (first defined at line {first})"]


def test_unknown_tag_suggests_close_matches(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("tags: [style-transfer]", "tags: [style-transfr]"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert errors == [
        f"{path}:{line_of(path, 'style-transfr')}: entry 'adain': unknown tag 'style-transfr'; "
        "did you mean style-transfer?"
    ]


def test_invalid_status(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("status: read", "status: done"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert errors == [
        f"{path}:{line_of(path, 'status: done')}: entry 'adain': status 'done' is not one of unread, reading, read"
    ]


@pytest.mark.parametrize("bad", ["github.com/xunhuang1995/AdaIN-style", "https://localhost-typo/x", "ftp://x.org/a"])
def test_url_that_is_not_a_url(write_catalog, capsys, bad):
    path = write_catalog(GOOD_ENTRY.replace("https://github.com/xunhuang1995/AdaIN-style", bad))
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:{line_of(path, 'code: ')}: entry 'adain': links.code: ")
    assert "is not a URL" in errors[0]


@pytest.mark.parametrize("year", [1850, 2999])
def test_year_out_of_range(write_catalog, capsys, year):
    path = write_catalog(GOOD_ENTRY.replace("year: 2017", f"year: {year}"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:{line_of(path, 'year:')}: entry 'adain': year {year} is out of range (1900-")


def test_unquoted_arxiv_id_read_as_float_gets_a_precise_fix(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace('arxiv: "1703.06868"', "arxiv: 1703.10590"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert errors == [
        f"{path}:{line_of(path, 'arxiv:')}: entry 'adain': links.arxiv: arXiv id must be a quoted string: "
        'YAML read 1703.10590 as the number 1703.1059; write arxiv: "1703.10590"'
    ]


def test_malformed_arxiv_string(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace('"1703.06868"', '"17-03"'))
    code, errors, _ = run(path, capsys)
    assert code == 1 and len(errors) == 1 and "'17-03' is not an arXiv id" in errors[0]


def test_refimpl_target_file_missing(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("refimpl/adain.py:adain", "refimpl/nope.py:adain"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    line = line_of(path, "refimpl/nope.py")
    assert f"{path}:{line}: entry 'adain': refimpl target refimpl/nope.py:adain: no file refimpl/nope.py" in errors


def test_refimpl_symbol_not_defined(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("refimpl/adain.py:adain", "refimpl/adain.py:AdaINN"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    line = line_of(path, "refimpl/adain.py:AdaINN")
    assert errors[0].startswith(
        f"{path}:{line}: entry 'adain': refimpl target refimpl/adain.py:AdaINN: 'AdaINN' is not defined in "
        "refimpl/adain.py; did you mean"
    )


def test_refimpl_symbol_without_registered_example(write_catalog, capsys):
    # TINY is defined in adain.py but no example covers it
    path = write_catalog(GOOD_ENTRY.replace("refimpl/adain.py:adain", "refimpl/adain.py:TINY"))
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert any("no registered example covers 'TINY'" in e for e in errors)


def test_missing_required_field_and_unknown_field(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("    kind: paper\n", "    kind: paper\n    colour: blue\n").replace(
        "    status: read\n", ""
    ))
    code, errors, _ = run(path, capsys)
    assert code == 1
    entry_line = line_of(path, "- id: adain")
    assert f"{path}:{entry_line}: entry 'adain': 'status' is a required property" in errors
    assert any("Additional properties are not allowed ('colour' was unexpected)" in e for e in errors)


def test_all_problems_are_reported_at_once_sorted_by_line(write_catalog, capsys):
    path = write_catalog(
        GOOD_ENTRY.replace("status: read", "status: done").replace("year: 2017", "year: 1800")
    )
    code, errors, _ = run(path, capsys)
    assert code == 1 and len(errors) == 2
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines)


def test_not_a_mapping(write_catalog, capsys):
    path = write_catalog(header="- just\n- a list\n")
    code, errors, _ = run(path, capsys)
    assert code == 1 and errors == [f"{path}:1: catalog: the catalog must be a mapping with 'tags' and 'entries'"]


def test_missing_file_is_one_line_not_a_traceback(tmp_path, capsys):
    code, errors, _ = run(tmp_path / "absent.yaml", capsys)
    assert code == 1 and errors == [f"{tmp_path / 'absent.yaml'}: catalog file not found"]


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--no-such-flag"])
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_missing_metadata_is_a_warning_not_an_error(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("    venue: ICCV 2017\n", ""))
    assert main(["--catalog", str(path), "--warnings"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}:{line_of(path, '- id: adain')}: entry 'adain': missing metadata: venue" in err


def test_load_catalog_raises_with_the_same_lines(write_catalog):
    path = write_catalog(GOOD_ENTRY.replace("status: read", "status: done"))
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    assert exc.value.problems == [str(p) for p in validate(read_catalog(path)).errors]


def test_safe_loading_refuses_python_tags(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("title: Arbitrary", "title: !!python/object/apply:os.system ['echo hi']\n    x: Arbitrary"))
    code, errors, _ = run(path, capsys)
    assert code == 1 and errors and "YAML" in errors[0]


def test_header_is_kept_as_schema_reference():
    text = (HEADER.splitlines()[0])
    assert text == "# yaml-language-server: $schema=./catalog.schema.json"


@pytest.mark.parametrize(
    ("reason", "warned"),
    [
        ("dataset: the images cannot be shipped here", False),
        ("habit: a debugging habit", False),
        ("survey: it proposes no method", False),
        ("application: a complete tool", False),
        ("study: an empirical study", False),
        ("question: a research question, not a method", False),
        ("a survey; it proposes no method", True),  # the kind must come first
        ("dataset the images", True),  # ... followed by a colon
        ("model: not a kind", True),
    ],
)
def test_none_reason_must_start_with_an_accepted_kind(write_catalog, capsys, reason, warned):
    path = write_catalog(GOOD_ENTRY.replace("    refimpl:\n      - refimpl/adain.py:adain\n",
                                            f"    refimpl:\n      none: '{reason}'\n"))
    assert main(["--catalog", str(path), "--warnings"]) == 0  # a warning, not an error
    err = capsys.readouterr().err
    message = (f"warning: {path}:{line_of(path, 'none:')}: entry 'adain': refimpl none reason should start with "
               "one of survey:, dataset:, habit:, application:, study:")
    assert (message in err) is warned


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [("zh", "不需要学习仿射参数。（译注：据英文笔记补写）"), ("en", "Content and style. (Translated from the Chinese notes.)"),
     ("en", "A summary (added) by us."), ("en", "Machine translation of the notes."), ("zh", "译者注：补充。")],
)
def test_a_marker_sentence_inside_the_authors_notes_is_refused_with_its_line(write_catalog, capsys, lang, sentence):
    text = "Align channel-wise mean and std of content features to the style's." if lang == "en" else \
        "自适应实例归一化：对齐内容特征与风格特征的均值和方差。"
    path = write_catalog(GOOD_ENTRY.replace(text, f"{text}\n        {sentence}"))
    code, errors, _ = run(path, capsys)
    assert code == 1 and len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:{line_of(path, sentence)}: entry 'adain': notes.{lang}:")
    assert f"translations.{lang}" in errors[0]


def test_translations_summary_highlight_and_questions_are_valid(write_catalog, capsys):
    entry = GOOD_ENTRY.replace("    priority: 2\n", "    priority: 2\n    highlight: true\n").replace(
        "    refimpl:\n", "    translations:\n      en: |\n        (translated) Adaptive instance norm.\n"
        "    summary:\n      en: |\n        Added by the project.\n    refimpl:\n", 1).replace(
        '      arxiv: "1703.06868"\n', '      arxiv: "1703.06868"\n    arxiv_version: "v2"\n'.replace("    arxiv_v", "    arxiv_v"))
    entry = entry.replace('    arxiv_version: "v2"\n', "").replace("    tags: [style-transfer]\n",
                                                                  '    arxiv_version: "v2"\n    tags: [style-transfer]\n')
    question = GOOD_ENTRY.replace("id: adain", "id: a-question").replace("kind: paper", "kind: question").replace(
        'arxiv: "1703.06868"', 'arxiv: "1703.06869"').replace(
        "title: Arbitrary Style Transfer", "title: Could Arbitrary Style Transfer")
    path = write_catalog(entry, question)
    code, errors, _ = run(path, capsys)
    assert errors == [] and code == 0
    bad = write_catalog(entry.replace("highlight: true", "highlight: 1").replace('"v2"', '"2"'))
    code, errors, _ = run(bad, capsys)
    assert code == 1 and any("highlight" in e for e in errors) and any("arxiv_version" in e for e in errors)


def test_marker_patterns_leave_ordinary_notes_alone():
    from paperkb.catalog.markers import find_marker

    for text in ("生成器 翻译注意力 判别器", "papers on machine translation use attention", "机器翻译模型", "We added noise."):
        assert find_marker(text) is None, text
    assert find_marker("第一行\n不需要。（译注：据英文笔记补写）") == (1, "（译注")


SUBPAGE = '    subpages:\n      - title: pix2pix\n        path: "Paper%20Study%20ab12/pix2pix%20cd34.md"\n'


def with_subpage(title: str = "pix2pix", path: str = "Paper%20Study%20ab12/pix2pix%20cd34.md") -> str:
    item = f"    subpages:\n      - title: {title}\n        path: {path}\n"
    return GOOD_ENTRY.replace("    refimpl:\n", item + "    refimpl:\n")


def test_sub_pages_of_an_entry_and_of_a_note_file_are_valid(write_catalog, capsys):
    header = HEADER.replace("entries:\n", "note_files:\n  000_c47078682ed5be7a.txt:\n    subpages:\n"
                            "      - {title: Rendering, path: \"Page/Rendering%20e612.md\"}\n\nentries:\n")
    path = write_catalog(GOOD_ENTRY.replace("    refimpl:\n", SUBPAGE + "    refimpl:\n"), header=header)
    code, errors, _ = run(path, capsys)
    assert (code, errors) == (0, [])
    catalog = read_catalog(path)
    assert catalog.entries[0].subpages == [{"title": "pix2pix", "path": "Paper%20Study%20ab12/pix2pix%20cd34.md"}]
    assert catalog.note_files == {"000_c47078682ed5be7a.txt": [{"title": "Rendering", "path": "Page/Rendering%20e612.md"}]}


@pytest.mark.parametrize(("path", "why"), [
    ('"../secret.md"', "leaves the export"),
    ('"Page/%2E%2E/%2e%2e/secret.md"', "leaves the export"),
    ('"https://example.org/x.md"', "not a relative path"),
    ('"javascript:alert(1)"', "not a relative path"),
    ('"//evil.example/x.md"', "not a relative path"),
    ('"/etc/passwd"', "not a relative path"),
    ('"C:/x.md"', "not a relative path"),
    ('"Page\\\\x.md"', "use '/'"),
    ('"Page/x%0A.md"', "control character U+000A"),
    ('"Page/x\\e.md"', "control character U+001B"),
])
def test_a_sub_page_path_must_stay_relative_and_inside_the_export(write_catalog, capsys, path, why):
    catalog = write_catalog(with_subpage(path=path))
    code, errors, _ = run(catalog, capsys)
    line = line_of(catalog, "        path: ")
    assert code == 1 and len(errors) == 1, errors
    assert errors[0].startswith(f"{catalog}:{line}: entry 'adain': subpages[1].path: ") and why in errors[0]


def test_a_sub_page_title_is_one_clean_line_and_paths_are_not_repeated(write_catalog, capsys):
    catalog = write_catalog(with_subpage(title='"pix\\u2028pix"'))
    code, errors, _ = run(catalog, capsys)
    assert code == 1 and "subpages[1].title: control character U+2028" in errors[0]
    twice = with_subpage().replace("    refimpl:\n", "      - {title: again, path: \"Paper%20Study%20ab12/pix2pix%20cd34.md\"}\n"
                                   "    refimpl:\n", 1)
    code, errors, _ = run(write_catalog(twice), capsys)
    assert code == 1 and errors[0].endswith("subpages[2].path: the same sub-page as item 1")


def test_note_files_name_a_source_and_hold_valid_sub_pages(write_catalog, capsys):
    header = HEADER.replace("entries:\n", "note_files:\n  999_unknown.txt:\n    subpages:\n"
                            "      - {title: Rendering, path: \"../x.md\"}\n\nentries:\n")
    path = write_catalog(GOOD_ENTRY, header=header)
    code, errors, _ = run(path, capsys)
    assert code == 1
    assert errors == [
        f"{path}:{line_of(path, '999_unknown.txt')}: note file '999_unknown.txt': no entry has this file in its sources",
        f"{path}:{line_of(path, '../x.md')}: note file '999_unknown.txt': subpages[1].path: '../x.md' leaves the export ('..')",
    ]
