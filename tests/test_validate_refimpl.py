"""Catalog ↔ refimpl/ consistency checks, on a small repository in a temp folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import GOOD_ENTRY, HEADER
from paperkb.catalog import catalog_from_text, validate

MODULE = '''
from .registry import Example, register_example

def adain(x, y):
    return x

def helper():
    return 1

@register_example(covers=[adain])
def adain_example():
    return Example(model=None, inputs=(), output_shapes=())
'''


def make_repo(tmp_path: Path, *, test_text: str = "from refimpl.adain import adain\n", extra: dict | None = None) -> Path:
    (tmp_path / "refimpl" / "tests").mkdir(parents=True)
    (tmp_path / "refimpl" / "adain.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "refimpl" / "registry.py").write_text("")
    (tmp_path / "refimpl" / "tests" / "test_adain.py").write_text(test_text)
    for name, text in (extra or {}).items():
        (tmp_path / "refimpl" / name).write_text(text)
    return tmp_path


def errors_for(repo: Path, entry: str = GOOD_ENTRY) -> list[str]:
    catalog = catalog_from_text(HEADER + entry, repo / "catalog.yaml")
    return [f"{p.path}:{p.line}: {p.where}: {p.message}" for p in validate(catalog, repo_root=repo).errors]


def test_a_covered_and_tested_target_is_clean(tmp_path):
    assert errors_for(make_repo(tmp_path)) == []


def test_target_without_a_test_that_names_it(tmp_path):
    repo = make_repo(tmp_path, test_text="def test_nothing_relevant():\n    assert True\n")
    errors = errors_for(repo)
    assert len(errors) == 1
    assert errors[0].endswith("refimpl target refimpl/adain.py:adain: no test: refimpl/tests/test_adain.py does not test 'adain'")


def test_target_without_a_registered_example(tmp_path):
    repo = make_repo(tmp_path, test_text="from refimpl.adain import helper\n")
    entry = GOOD_ENTRY.replace("refimpl/adain.py:adain", "refimpl/adain.py:helper")
    errors = errors_for(repo, entry)
    assert len(errors) == 1 and "no registered example covers 'helper'" in errors[0]


def test_module_that_no_entry_references(tmp_path):
    repo = make_repo(tmp_path, extra={"orphan.py": "def f():\n    return 0\n"})
    errors = errors_for(repo)
    assert errors == [
        "refimpl/orphan.py:1: module 'orphan': no catalog entry references this module (or a module that imports it)"
    ]


def test_shared_block_imported_by_a_referenced_module_counts_as_reached(tmp_path):
    repo = make_repo(tmp_path, extra={"blocks.py": "def conv():\n    return 0\n"})
    (repo / "refimpl" / "adain.py").write_text("from .blocks import conv\n" + textwrap.dedent(MODULE))
    assert errors_for(repo) == []


def test_file_that_does_not_parse(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "refimpl" / "adain.py").write_text("def broken(:\n")
    errors = errors_for(repo)
    assert len(errors) == 1 and "refimpl/adain.py does not parse" in errors[0]
