"""The notebooks under docs/notebooks/: each executes without error (through the same
module and cache as the site build), links to an existing entry, and a bug in a refimpl
module it imports makes its run fail."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from conftest import make_minimal_repo
from paperkb.catalog import load_catalog
from paperkb.notebooks import NotebookError, execute_notebook, find_notebooks, source_hash
from paperkb.notebooks.sources import refimpl_dependencies

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = find_notebooks(REPO)


def test_there_are_at_least_ten_notebooks() -> None:
    assert len(NOTEBOOKS) >= 10, [nb.stem for nb in NOTEBOOKS]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_notebook_links_its_entry_and_names_module_and_test(notebook) -> None:
    entries = {e.id for e in load_catalog(REPO / "catalog.yaml").entries}
    assert notebook.entry_id in entries, f"{notebook.source.name}: first cell must link ../../entries/<id>/"
    first_cell = notebook.source.read_text(encoding="utf-8").split("# %%\n", 1)[0]
    modules = re.findall(r"`(refimpl/\w+\.py)`", first_cell)
    tests = re.findall(r"`(refimpl/tests/test_\w+\.py)`", first_cell)
    assert modules and tests, f"{notebook.source.name}: first cell must name the module and its test"
    assert all((REPO / m).is_file() for m in modules + tests)
    imported = {p.relative_to(REPO).as_posix() for p in refimpl_dependencies(notebook.source, REPO)}
    assert set(modules) <= imported, "the notebook must import the module it names (never re-implement it)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_notebook_executes_without_error_and_shows_a_figure(notebook) -> None:
    executed = execute_notebook(notebook, REPO)  # the build's cache: a warm cache costs nothing here
    nb = nbformat.read(executed.path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "a notebook must show at least one figure"
    assert nb.metadata["paperkb"]["source_hash"] == source_hash(notebook.source, REPO)


def _repo_with_adain_notebook(root: Path) -> Path:
    make_minimal_repo(root)
    (root / "docs" / "notebooks").mkdir(parents=True)
    (root / "docs" / "notebooks" / "adain.py").write_bytes((REPO / "docs" / "notebooks" / "adain.py").read_bytes())
    return root


def test_source_hash_follows_imported_refimpl_files_only(tmp_path: Path) -> None:
    root = _repo_with_adain_notebook(tmp_path / "repo")
    (root / "refimpl" / "unrelated.py").write_text("X = 1\n", encoding="utf-8")
    [notebook] = find_notebooks(root)
    before = source_hash(notebook.source, root)
    (root / "refimpl" / "unrelated.py").write_text("X = 2\n", encoding="utf-8")
    assert source_hash(notebook.source, root) == before
    registry = root / "refimpl" / "registry.py"  # imported by adain.py, not by the notebook itself
    registry.write_text(registry.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert source_hash(notebook.source, root) != before
    after_registry = source_hash(notebook.source, root)
    notebook.source.write_text(notebook.source.read_text(encoding="utf-8") + "\n# %%\n1\n", encoding="utf-8")
    assert source_hash(notebook.source, root) != after_registry


def test_a_bug_in_an_imported_refimpl_function_fails_the_run(tmp_path: Path) -> None:
    root = _repo_with_adain_notebook(tmp_path / "repo")
    cache = tmp_path / "cache"
    [notebook] = find_notebooks(root)
    first = execute_notebook(notebook, root, cache)
    assert first.ran and first.path.is_file()
    assert not execute_notebook(notebook, root, cache).ran  # unchanged: served from the cache
    adain = root / "refimpl" / "adain.py"
    code = adain.read_text(encoding="utf-8")
    bug = code.replace("/ c_std + s_mean", "/ c_std + c_mean")  # the content's mean instead of the style's
    assert bug != code
    adain.write_text(bug, encoding="utf-8")
    with pytest.raises(NotebookError) as failure:
        execute_notebook(notebook, root, cache)  # the cached good run must not hide the bug
    message = str(failure.value)
    assert message.startswith("docs/notebooks/adain.py: cell 4 raised AssertionError"), message
    assert nbformat.read(first.path, as_version=4).metadata["paperkb"]["source_hash"] != source_hash(
        notebook.source, root
    )  # nothing of the failed run was written over the cache


def test_nav_lists_the_notebooks_and_entry_pages_link_theirs(write_catalog) -> None:
    from conftest import GOOD_ENTRY
    from paperkb.sitegen import build_site, generate_pages, site_nav
    from paperkb.sitegen.pages import notebook_links

    catalog = load_catalog(write_catalog(GOOD_ENTRY))
    adain = [nb for nb in NOTEBOOKS if nb.entry_id == "adain"]
    [section] = [item["Notebooks"] for item in site_nav(catalog, notebooks=adain) if "Notebooks" in item]
    assert section == [{adain[0].title: "notebooks/adain.ipynb"}]
    assert not any("Notebooks" in item for item in site_nav(catalog))
    site = build_site(catalog, REPO)
    site.notebooks.update(notebook_links(adain))
    [page] = [p for p in generate_pages(catalog, site=site) if p.path == "entries/adain.md"]
    assert 'href="../../notebooks/adain/">Notebook</a>' in page.markdown
    [plain] = [p for p in generate_pages(catalog, REPO) if p.path == "entries/adain.md"]
    assert ">Notebook</a>" not in plain.markdown
