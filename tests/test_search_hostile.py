"""search.py against folders that are not its own, damaged indexes, hostile catalogs
and huge notes: nothing outside its own folder is touched, damage is rebuilt with a
one-line notice, and every failure is one line, exit 1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import search as search_cli  # tools/search.py
from conftest import SEARCH_CATALOG
from paperkb.search import Searcher, index, render

QUERY = "discriminator"


def catalog_copy(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(SEARCH_CATALOG.read_bytes())
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = search_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the index writes only into a folder it made and marked ------------------------
@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_folder_that_is_not_an_index_is_refused_and_left_alone(tmp_path, capsys, monkeypatch, how):
    catalog = catalog_copy(tmp_path)
    precious = tmp_path / "project"
    (precious / ".git").mkdir(parents=True)
    (precious / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (precious / "notes.txt").write_text("mine\n")
    argv = ["--catalog", str(catalog), QUERY]
    if how == "flag":
        argv += ["--index-dir", str(precious)]
    else:
        monkeypatch.setenv(index.ENV_INDEX_DIR, str(precious))
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "not a search index folder" in err and "refusing" in err
    assert sorted(p.name for p in precious.iterdir()) == [".git", "notes.txt"]
    assert (precious / "notes.txt").read_text() == "mine\n"


def test_an_index_path_that_is_a_file_is_refused_and_kept(tmp_path, capsys):
    catalog = catalog_copy(tmp_path)
    target = tmp_path / "index"
    target.write_text("not mine to delete\n")
    code, _, err = run(capsys, "--catalog", str(catalog), "--index-dir", str(target), QUERY)
    assert code == 1 and "is a file" in err and err.count("\n") == 1
    assert target.read_text() == "not mine to delete\n"


def test_a_new_or_empty_folder_is_claimed_with_a_marker(tmp_path, capsys):
    catalog = catalog_copy(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, _ = run(capsys, "--catalog", str(catalog), "--index-dir", str(empty), QUERY)
    assert code == 0 and "discriminator" in out.lower()
    assert (empty / index.MARKER).is_file()
    # a rebuild keeps the marker and may delete only what the index wrote
    code, _, _ = run(capsys, "--catalog", str(catalog), "--index-dir", str(empty), "--rebuild", QUERY)
    assert code == 0 and (empty / index.MARKER).is_file()


# -- damaged indexes are rebuilt with one line on stderr ----------------------------
def _truncate_segments(ix: Path) -> None:
    for seg in ix.glob("*.seg"):
        seg.write_bytes(seg.read_bytes()[:100])


def _delete_segments(ix: Path) -> None:
    for seg in ix.glob("*.seg"):
        seg.unlink()


def _wrong_typed_head(ix: Path) -> None:
    head = json.loads((ix / index.HEAD).read_text())
    head["files"] = ["not", "a", "mapping"]
    head["size"] = "big"
    (ix / index.HEAD).write_text(json.dumps(head))


def _wrong_typed_entries(ix: Path) -> None:
    (ix / index.ENTRIES).write_text(json.dumps({"entries": {"x": 5}}))
    head = json.loads((ix / index.HEAD).read_text())
    head["size"] = 0  # stale: the entries state is read
    (ix / index.HEAD).write_text(json.dumps(head))


def _garbage_toc(ix: Path) -> None:
    for toc in ix.glob("*.toc"):
        toc.write_bytes(b"\x00garbage")


@pytest.mark.parametrize(
    "damage",
    [_truncate_segments, _delete_segments, _wrong_typed_head, _wrong_typed_entries, _garbage_toc],
    ids=["truncated-segments", "missing-segments", "wrong-typed-head", "wrong-typed-entries", "garbage-toc"],
)
def test_damaged_index_is_rebuilt_with_a_notice(tmp_path, damage):
    catalog = catalog_copy(tmp_path)
    ix = tmp_path / "index"
    with Searcher(catalog, ix) as searcher:
        expected = [h.id for h in searcher.search(QUERY).hits]
    assert expected
    damage(ix)
    notices: list[str] = []
    with Searcher(catalog, ix, notice=notices.append) as searcher:
        got = [h.id for h in searcher.search(QUERY).hits]
    assert got == expected
    assert len(notices) == 1 and "damaged" in notices[0] and "rebuilding" in notices[0]
    with Searcher(catalog, ix, notice=notices.append) as searcher:  # and it stays repaired
        assert [h.id for h in searcher.search(QUERY).hits] == expected
    assert len(notices) == 1


def test_damaged_index_that_cannot_be_rebuilt_in_place_uses_a_temporary_one(tmp_path, monkeypatch):
    catalog = catalog_copy(tmp_path)
    ix = tmp_path / "index"
    with Searcher(catalog, ix) as searcher:
        expected = [h.id for h in searcher.search(QUERY).hits]
    _truncate_segments(ix)
    real_create = index.whoosh_index.create_in

    def read_only(dirname, *args, **kwargs):  # what a read-only folder answers (root ignores chmod)
        if Path(dirname) == ix:
            raise PermissionError(13, "Permission denied", str(dirname))
        return real_create(dirname, *args, **kwargs)

    monkeypatch.setattr(index.whoosh_index, "create_in", read_only)
    notices: list[str] = []
    with Searcher(catalog, ix, notice=notices.append) as searcher:
        assert [h.id for h in searcher.search(QUERY).hits] == expected
        scratch = searcher.index_dir
    assert len(notices) == 2 and "temporary index" in notices[1]
    assert not scratch.exists()  # removed on close


# -- hostile catalogs -----------------------------------------------------------------
def test_non_utf8_byte_in_an_entry_is_one_line_with_its_line(tmp_path, capsys):
    catalog = catalog_copy(tmp_path)
    data = catalog.read_bytes()
    at = data.index(b"title:", data.index(b"- id:"))
    catalog.write_bytes(data[:at] + b"title: caf\xe9 " + data[at + len(b"title: ") :])
    line = data[:at].count(b"\n") + 1
    code, out, err = run(capsys, "--catalog", str(catalog), "--index-dir", str(tmp_path / "ix"), QUERY)
    assert code == 1 and out == ""
    assert err == f"{catalog}:{line}: not UTF-8 text (byte 0xe9 cannot be decoded)\n"


def test_terminal_escapes_in_a_title_are_printed_escaped(tmp_path, capsys):
    catalog = catalog_copy(tmp_path)
    text = catalog.read_text(encoding="utf-8")
    at = text.index("title:", text.index("- id:"))
    end = text.index("\n", at)
    text = text[:at] + 'title: "\\e]0;owned\\a\\e[2J Discriminator \\u009b31m"' + text[end:]
    catalog.write_text(text, encoding="utf-8")
    code, out, _ = run(capsys, "--catalog", str(catalog), "--index-dir", str(tmp_path / "ix"), QUERY)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "\\x1b]0;owned\\x07\\x1b[2J Discriminator \\x9b31m" in out
    code, out, _ = run(capsys, "--catalog", str(catalog), "--index-dir", str(tmp_path / "ix"), "--json", QUERY)
    assert "\x1b" not in out and "\x9b" not in out
    titles = [row["title"] for row in json.loads(out)]
    assert "\x1b]0;owned\x07\x1b[2J Discriminator \x9b31m" in titles  # JSON keeps the value, escaped


# -- snippets are linear in the number of matches -----------------------------------------
def test_snippet_window_is_the_densest_one():
    text = "loss " + "x " * 200 + "gan gan gan loss " + "y " * 200
    snip, marks = render.snippet([text], {"gan", "loss"})
    assert "gan gan gan loss" in snip and len(marks) == 4


def test_snippet_scales_linearly_with_matches():
    def cost(n: int) -> float:
        text = "loss gan " * n
        start = time.perf_counter()
        render.snippet([text], {"loss", "gan"})
        return time.perf_counter() - start

    small, large = cost(5_000), cost(50_000)
    # quadratic work would make 10x the matches cost ~100x; linear ~10x
    assert large < small * 40 + 0.05
