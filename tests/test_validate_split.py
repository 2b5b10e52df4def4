"""A large catalog checked in two processes gets the report it gets in one.

``validate_split.validate_file`` cuts the ``entries:`` list at an item line, parses and
checks the entries after it in a forked child, and runs the checks across entries on
both halves' findings. Each test compares it with the one-process run
(``validate(read_catalog(path))``) problem for problem, line for line; and a cut that
could change what the file means must not be taken.
"""

from __future__ import annotations

import threading

import pytest
from paperkb import cli_validate
from paperkb.catalog import read_catalog, validate, validate_split

HEAD = """# a comment before anything
version: 1

tags:
  gan: {en: GAN, zh: 生成对抗网络}
  loss: {en: Loss, zh: 损失}

entries:
"""


def _entry(i: int, dup: bool = False) -> str:
    notes = f"    notes:\n      en: |\n        Note {i} about the generator.\n          indented line\n"
    if i % 3 == 0:
        notes += "      zh: |-\n        判别器 的 笔记\n\n        第二段\n"
    common = "    sources: [seed.md]\n    added: 2026-11-23\n"
    if i % 7 == 3:  # the item on the line after its dash, and a reason for no code
        return (f"  -\n    id: e{i}\n    kind: trick\n    title: Trick {i}\n    tags: [loss]\n    status: read\n"
                f"{notes}    refimpl: {{none: \"habit: a reading habit\"}}\n{common}")
    extra = "    year: 2017\n" if i % 2 else "    authors: [A. Author, 'B: Author']\n"  # warnings: missing metadata
    dup = "    status: read\n" if dup and i % 11 == 5 else ""  # a key twice
    return (
        f"  - id: e{i}\n    kind: paper\n    title: \"Paper {i}: a title\"\n{extra}    tags: [gan, loss]\n"
        f"    status: unread\n{dup}    links:\n      arxiv: \"1703.{i:05d}\"\n{notes}"
        f"    refimpl: [refimpl/adain.py:adain]\n{common}\n  # a comment between entries\n"
    )


def _catalog(n: int = 40, tail: str = "note_files:\n  seed.md:\n    subpages: []\n", dup: bool = False) -> str:
    return HEAD + "".join(_entry(i, dup) for i in range(n)) + tail


def _broken() -> str:
    """Problems of every kind, before and after the middle of the file."""
    text = _catalog(40, tail="", dup=True)
    for i in (8, 30):
        text = text.replace(f"  - id: e{i}\n", f"  - id: e{i}\n    year: 3017\n", 1)
        text = text.replace(f"id: e{i + 1}\n    kind: paper\n", f"id: e{i + 1}\n    kind: paper\n    bogus: 1\n", 1)
        text = text.replace(f"Note {i + 2} about", f"Translated from the Chinese notes: note {i + 2} about", 1)
        text = text.replace(f"1703.{i + 4:05d}", "not an id", 1)
    text = text.replace("id: e33\n    kind: paper\n    title: \"Paper 33: a title\"\n    year: 2017\n    tags: [gan, loss]",
                        "id: e33\n    kind: paper\n    title: \"Paper 33: a title\"\n    year: 2017\n    tags: [gan, nope]")
    text = text.replace("refimpl: [refimpl/adain.py:adain]\n    sources: [seed.md]\n    added: 2026-11-23\n\n"
                        "  # a comment between entries\n  - id: e36", "refimpl: [refimpl/nope.py:X, ../etc/passwd.py:Y]\n"
                        "    sources: [seed.md]\n    added: 2026-11-23\n\n  # a comment between entries\n  - id: e36")
    # ids e3 and e35 again (duplicates across the cut and after it), a note file no entry has
    return text + _entry(3) + _entry(35) + "note_files:\n  unknown.md:\n    subpages: []\n"


def _one_process(path, check_refimpl):
    catalog = read_catalog(path)
    report = validate(catalog, check_refimpl=check_refimpl)
    return report, validate_split.Summary.of(catalog, pending=bool(report.pending))


def _same(path, check_refimpl=True, near=None):
    split = validate_split.validate_file(path, check_refimpl=check_refimpl, near=near)
    assert split is not None  # the cut was taken
    report, summary = split
    expected, expected_summary = _one_process(path, check_refimpl)
    assert [str(p) for p in report.errors] == [str(p) for p in expected.errors]
    assert [str(p) for p in report.warnings] == [str(p) for p in expected.warnings]
    assert report.pending == expected.pending
    assert summary == expected_summary
    return expected


def test_a_clean_catalog_gets_the_same_report_and_summary(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(_catalog(), encoding="utf-8")
    expected = _same(path)
    assert not expected.errors and len(expected.warnings) >= 20  # warnings on both sides of the cut


@pytest.mark.parametrize("check_refimpl", [True, False])
def test_problems_on_both_sides_of_the_cut_are_the_same_problems_at_the_same_lines(tmp_path, check_refimpl):
    path = tmp_path / "catalog.yaml"
    path.write_text(_broken(), encoding="utf-8")
    expected = _same(path, check_refimpl)
    messages = " ".join(str(p) for p in expected.errors)
    for words in ("year 3017", "bogus", "marks text the project added", "not an arXiv id", "unknown tag 'nope'",
                  "duplicate id 'e3'", "duplicate id 'e35'", "duplicate key 'status'", "no entry has this file"):
        assert words in messages, words
    assert ("no file refimpl/nope.py" in messages) == check_refimpl


@pytest.mark.parametrize("before", [1, 2, 3, 17, 38, 39])
def test_any_cut_gives_the_same_report(tmp_path, before):
    """Cut before any entry, the last one too, and before an item whose content starts
    on the line after its dash."""
    path = tmp_path / "catalog.yaml"
    text = _broken()
    path.write_text(text, encoding="utf-8")
    data = text.encode("utf-8")
    _same(path, near=data.index(f"id: e{before}\n".encode()) - 8)


CUTS_THAT_MUST_NOT_BE_TAKEN = {  # text, and the line the cut is tried at
    # a block scalar at the root after the entries, holding lines that look like items
    "root block scalar": (
        HEAD + _entry(0) + _entry(1) + "readme: |\n" + "".join(f"  - id: fake{i}\n" for i in range(80)),
        "  - id: fake40",
    ),
    # a quoted scalar running over an item-like line
    "quoted scalar": (HEAD + _entry(0) + '  - id: q\n    title: "a\n  - id: inside\n    quote"\n' + _entry(1),
                      "  - id: inside"),
    # a second list of entries after the first: the child's would be a duplicate of its own first key
    "entries twice": (HEAD + "".join(_entry(i) for i in range(20)) + "entries:\n" + _entry(50), "  - id: e11\n"),
    # a root key on both sides of the cut
    "root key twice": (HEAD + "".join(_entry(i) for i in range(20)) + "version: 2\n", "  - id: e11\n"),
    # the tags after the entries: the entries before the cut would be checked without them
    "tags after entries": (HEAD.replace("tags:", "old_tags:") + "".join(_entry(i) for i in range(20))
                           + "tags:\n  gan: {en: GAN}\n", "  - id: e11\n"),
    # an anchor before the cut, its alias after it
    "alias across": (
        HEAD + _entry(0).replace("tags: [gan, loss]", "tags: &t [gan, loss]")
        + "".join(_entry(i) for i in range(1, 20)) + "  - id: z\n    tags: *t\n",
        "  - id: e11\n",
    ),
    # a second document after the entries
    "two documents": (HEAD + "".join(_entry(i) for i in range(20)) + "---\nother: 1\n", "  - id: e11\n"),
    # entries written as a flow sequence
    "flow entries": ("version: 1\ntags: {}\nentries: [\n" + "".join(f"  {{id: f{i}}},\n" for i in range(60)) + "]\n",
                     "  {id: f30}"),
    # a syntax error after the cut: the one-process run reports it at its line
    "syntax error": (HEAD + "".join(_entry(i) for i in range(20)) + "  - id: broken\n    title: [unclosed\n",
                     "  - id: e11\n"),
}


@pytest.mark.parametrize("case", sorted(CUTS_THAT_MUST_NOT_BE_TAKEN))
def test_a_cut_that_could_change_the_meaning_is_not_taken(tmp_path, case):
    text, line = CUTS_THAT_MUST_NOT_BE_TAKEN[case]
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    assert validate_split.validate_file(path, near=text.encode().index(line.encode())) is None


@pytest.mark.parametrize("text", [_catalog(), _broken(), CUTS_THAT_MUST_NOT_BE_TAKEN["syntax error"][0]],
                         ids=["clean", "broken", "syntax error"])
def test_validate_py_prints_the_same_in_two_processes(tmp_path, capsys, monkeypatch, text):
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    argv = ["--catalog", str(path), "--warnings"]
    monkeypatch.setattr(validate_split, "MIN_BYTES", 1 << 62)
    one = cli_validate.main(argv), capsys.readouterr()
    monkeypatch.setattr(validate_split, "MIN_BYTES", 1)
    monkeypatch.setattr(validate_split, "can_fork", lambda: True)  # other tests may have left threads running
    taken = []
    real = validate_split.validate_file
    monkeypatch.setattr(validate_split, "validate_file", lambda *a, **k: taken.append(real(*a, **k)) or taken[-1])
    two = cli_validate.main(argv), capsys.readouterr()
    assert taken and (taken[0] is None) == (text is CUTS_THAT_MUST_NOT_BE_TAKEN["syntax error"][0])
    assert two[0] == one[0]
    assert two[1].out == one[1].out
    # progress lines aside, the same lines on stderr
    assert [x for x in two[1].err.splitlines() if not x.startswith("validate.py: ")] == one[1].err.splitlines()


def test_no_second_process_while_another_thread_runs(monkeypatch):
    monkeypatch.setattr(validate_split.os, "sched_getaffinity", lambda pid: {0, 1})  # two CPUs
    monkeypatch.setattr(validate_split.threading, "active_count", lambda: 1)
    assert validate_split.can_fork()
    monkeypatch.setattr(validate_split.os, "sched_getaffinity", lambda pid: {0})
    assert not validate_split.can_fork()  # one CPU: a second process would only take turns with this one
    monkeypatch.undo()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:  # a fork would copy the other thread half-way through whatever it does
        assert not validate_split.can_fork()
    finally:
        stop.set()
        other.join()
