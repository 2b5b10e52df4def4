"""Catalog ↔ refimpl/, both ways, at run time (the validator checks the same statically)."""

from __future__ import annotations

import importlib
from collections import defaultdict

import pytest
from conftest import REPO_ROOT
from paperkb.catalog import load_catalog
from paperkb.catalog.refimpl_scan import paper_modules, scan_module

import refimpl
from refimpl.registry import EXAMPLES

CATALOG = load_catalog(REPO_ROOT / "catalog.yaml")
TARGETS = sorted({t for e in CATALOG.entries for t in e.refimpl_targets})


@pytest.mark.parametrize("target", TARGETS)
def test_every_catalog_target_is_importable_and_covered_by_an_example(target):
    file, symbol = target.split(":")
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    assert hasattr(module, symbol), f"{target}: not defined"
    covering = [name for name, spec in EXAMPLES.items() if target in spec.covers]
    assert covering, f"{target} is in the catalog but no registered example covers it"


def test_static_scan_agrees_with_the_runtime_registry():
    runtime: dict[str, set[str]] = defaultdict(set)
    for spec in EXAMPLES.values():
        for target in spec.covers:
            file, symbol = target.split(":")
            runtime[file].add(symbol)
    for path in paper_modules(REPO_ROOT / "refimpl"):
        file = f"refimpl/{path.name}"
        assert set(scan_module(path).covered) == runtime.get(file, set()), file


def test_every_module_is_imported_by_the_package():
    for path in paper_modules(REPO_ROOT / "refimpl"):
        assert hasattr(refimpl, path.stem), f"refimpl/__init__.py does not import {path.stem}"


def test_no_entry_keeps_a_placeholder_reason():
    placeholders = {"to be linked", "todo", "tbd", "pending"}
    bad = [e.id for e in CATALOG.entries if (e.refimpl_none_reason or "").strip().lower() in placeholders]
    assert bad == []
