"""mkdocs hook: hands the catalog's generated pages to mkdocs. No logic lives here.

The pages come from :mod:`paperkb.sitegen`, which tests call directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))  # mkdocs loads hooks by path

from paperkb import paths  # noqa: E402
from paperkb.catalog import CatalogError, load_catalog  # noqa: E402
from paperkb.export import to_bibtex, to_json  # noqa: E402
from paperkb.notebooks import NotebookError  # noqa: E402
from paperkb.notebooks.site import notebook_files, site_notebooks  # noqa: E402
from paperkb.sitegen import build_site, generate_pages, site_nav  # noqa: E402
from paperkb.sitegen.assets import MissingAssets, vendored_files  # noqa: E402
from paperkb.sitegen.blocks import restore  # noqa: E402
from paperkb.sitegen.home import COUNTS_MARKER  # noqa: E402
from paperkb.sitegen.pages import (  # noqa: E402
    MUTATION_DIR,
    SEARCH_BENCH,
    SITE_BENCH,
    notebook_links,
    render_counts,
)
from paperkb.sitesearch import background  # noqa: E402
from paperkb.sitesearch.build import SearchBuildError  # noqa: E402

_state: dict = {}


def on_config(config):
    catalog_path = Path(config["config_file_path"]).parent / config.get("extra", {}).get("catalog", "catalog.yaml")
    root = paths.REPO_ROOT  # refimpl/, node_modules/ and test results live beside the hook
    try:
        catalog = load_catalog(catalog_path)
    except CatalogError as exc:
        # Same messages as tools/validate.py, one per line.
        raise PluginError("invalid catalog:\n" + "\n".join(exc.problems)) from None
    try:
        _state["assets"] = vendored_files(root)
    except MissingAssets as exc:
        raise PluginError(str(exc)) from None
    _state["catalog"] = catalog
    _state["site"] = build_site(catalog, root)
    _state["notebooks"] = site_notebooks(root)
    _state["site"].notebooks.update(notebook_links(_state["notebooks"]))
    benchmarks = (root / SEARCH_BENCH).is_file() or (root / SITE_BENCH).is_file()
    config["nav"] = site_nav(
        catalog, mutation=any((root / MUTATION_DIR).glob("*.json")), benchmarks=benchmarks,
        notebooks=_state["notebooks"],
    )
    return config


# Before mkdocs-jupyter's on_files (priority 0), which wraps the executed notebooks as pages.
@event_priority(50)
def on_files(files, config):
    site = _state["site"]
    _state["blocks"] = {}
    for page in generate_pages(_state["catalog"], site=site):
        files.append(File.generated(config, page.path, content=page.body))
        if page.blocks:
            _state["blocks"][page.path] = page.blocks
    files.append(File.generated(config, "catalog.bib", content=to_bibtex(site.catalog.entries)))
    files.append(File.generated(config, "catalog.json", content=to_json(site.catalog.entries)))
    for source, dest in _state["assets"]:
        files.append(File.generated(config, dest, abs_src_path=str(source)))
    try:
        for file in notebook_files(config, paths.REPO_ROOT, _state["notebooks"]):
            files.append(file)
    except NotebookError as exc:
        raise PluginError(f"notebook failed: {exc}") from None
    return files


def on_page_markdown(markdown, page, config, files):
    if COUNTS_MARKER in markdown:
        return markdown.replace(COUNTS_MARKER, render_counts(_state["site"]))
    return markdown


# First, so every other plugin sees the page whole.
@event_priority(100)
def on_page_content(html, page, config, files):
    blocks = _state.get("blocks", {}).get(page.file.src_uri)
    return restore(html, blocks) if blocks else html


def _search_on() -> bool:
    return os.environ.get("PAPERKB_SITE_SEARCH") != "off"  # "off": the bench's lunr baseline


def on_pre_build(config):
    # The index needs the catalog only: it is built beside the pages (on the other core).
    if _search_on():
        _state["search"] = background.start(
            _state["catalog"], Path(config["site_dir"]), Path(config["config_file_path"]).parent
        )


def on_post_build(config):
    job = _state.pop("search", None)
    if job is None:
        return
    try:
        job.finish(Path(config["site_dir"]))
    except SearchBuildError as exc:
        raise PluginError(str(exc)) from None


def on_build_error(error):
    job = _state.pop("search", None)
    if job is not None:
        job.cancel()
