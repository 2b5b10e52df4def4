"""tools/mark.py: reading marks set in place, one or two changed lines per entry."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADD_PAPER_CATALOG
from paperkb import marks, paths
from paperkb.catalog import read_catalog


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(ADD_PAPER_CATALOG.read_bytes())
    return path


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def entry(path: Path, entry_id: str):
    return read_catalog(path).by_id()[entry_id]


def test_one_id_changes_one_line(catalog: Path, capsys) -> None:
    before = catalog.read_text(encoding="utf-8")
    assert entry(catalog, "pdb-debugging").status == "read"
    assert marks.main(["pdb-debugging", "reading", "--catalog", str(catalog)]) == 0
    after = catalog.read_text(encoding="utf-8")
    assert changed_lines(before, after) == ["-    status: read", "+    status: reading"]
    assert "entry 'pdb-debugging': reading (was read)" in capsys.readouterr().out
    assert entry(catalog, "pdb-debugging").status == "reading"


def test_many_ids_with_a_priority(catalog: Path) -> None:
    before = catalog.read_text(encoding="utf-8")
    assert marks.main(["adain", "wrong-pixel-penalty", "unread", "--priority", "4", "--catalog", str(catalog)]) == 0
    diff = changed_lines(before, catalog.read_text(encoding="utf-8"))
    # adain: status and priority lines changed; wrong-pixel-penalty: status changed, a priority line added
    assert diff.count("+    status: unread") == 2 and diff.count("+    priority: 4") == 2
    assert len([d for d in diff if d.startswith("-")]) == 3 and len(diff) == 7
    for eid in ("adain", "wrong-pixel-penalty"):
        assert (entry(catalog, eid).status, entry(catalog, eid).priority) == ("unread", 4)


def test_no_priority_and_highlight(catalog: Path) -> None:
    before = catalog.read_text(encoding="utf-8")
    assert marks.main(["adain", "read", "--no-priority", "--highlight", "--catalog", str(catalog)]) == 0
    e = entry(catalog, "adain")
    assert e.priority is None and e.highlight is True and e.status == "read"
    assert changed_lines(before, catalog.read_text(encoding="utf-8")) == ["-    priority: 2", "+    highlight: true"]
    assert marks.main(["adain", "read", "--no-highlight", "--catalog", str(catalog)]) == 0
    assert entry(catalog, "adain").highlight is False


def test_an_unknown_id_writes_nothing_and_names_it(catalog: Path, capsys) -> None:
    before = catalog.read_bytes()
    assert marks.main(["adain", "adian", "read", "--catalog", str(catalog)]) == 1
    err = capsys.readouterr().err
    assert "no entry 'adian'" in err and "did you mean adain" in err and len(err.strip().splitlines()) == 1
    assert catalog.read_bytes() == before


@pytest.mark.parametrize("argv", [[], ["adain"], ["adain", "done"], ["adain", "read", "--priority", "0"],
                                  ["adain", "read", "--priority", "1", "--no-priority"]])
def test_bad_arguments_exit_2(catalog: Path, argv: list[str]) -> None:
    before = catalog.read_bytes()
    assert marks.main([*argv, "--catalog", str(catalog)]) == 2
    assert catalog.read_bytes() == before


def test_a_crlf_catalog_keeps_its_line_ends(catalog: Path) -> None:
    catalog.write_bytes(catalog.read_bytes().replace(b"\n", b"\r\n"))
    before = catalog.read_bytes()
    assert marks.main(["pdb-debugging", "unread", "--catalog", str(catalog)]) == 0
    after = catalog.read_bytes()
    assert after.count(b"\n") == after.count(b"\r\n") == before.count(b"\n")
    assert after.replace(b"status: unread", b"status: read", 1).count(b"status: read") == before.count(b"status: read")


def test_the_script_runs(catalog: Path) -> None:
    result = subprocess.run([sys.executable, str(paths.REPO_ROOT / "tools" / "mark.py"), "adain", "reading",
                             "--catalog", str(catalog)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert entry(catalog, "adain").status == "reading"
