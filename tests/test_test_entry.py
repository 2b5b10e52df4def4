"""``make test-entry ID=...``: runs one entry's tests, and prints catalog text escaped."""

from __future__ import annotations

import importlib.util
import subprocess

import pytest
from conftest import GOOD_ENTRY, REPO_ROOT

_spec = importlib.util.spec_from_file_location("test_entry_cli", REPO_ROOT / "tools" / "test_entry.py")
test_entry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(test_entry)

ESCAPES = ("\x1b", "\x07", "\x9b")


def test_an_entry_with_code_runs_its_module_tests_and_its_examples(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda cmd, cwd: calls.append(cmd) or 0)
    assert test_entry.main(["adain"]) == 0
    (cmd,) = calls
    assert "refimpl/tests/test_adain.py" in cmd and "refimpl/tests/test_examples.py" in cmd
    assert cmd[cmd.index("-k") + 1] == "adain"


def test_an_unknown_id_is_a_usage_error_printed_escaped(capsys):
    with pytest.raises(SystemExit) as exit_:
        test_entry.main(["no\x1b]0;pwned\x07such"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "no entry" in err and not any(c in err for c in ESCAPES)


def test_a_reason_for_no_code_is_printed_escaped(write_catalog, capsys):
    entry = GOOD_ENTRY.replace(
        "    refimpl:\n      - refimpl/adain.py:adain\n", '    refimpl: {none: "survey: \\e]0;pwned\\a\\e[2Jreview"}\n'
    )
    path = write_catalog(entry)
    assert test_entry.main(["adain", "--catalog", str(path)]) == 0
    out = capsys.readouterr().out
    assert "has no reference implementation: survey:" in out and not any(c in out for c in ESCAPES)


def test_a_broken_catalog_is_one_line_a_problem_printed_escaped(write_catalog, capsys):
    path = write_catalog(GOOD_ENTRY.replace("- id: adain", '- id: "ad\\e[2Jain"', 1))
    assert test_entry.main(["adain", "--catalog", str(path)]) == 1
    err = capsys.readouterr().err
    assert "id: control character" in err and not any(c in err for c in ESCAPES)
