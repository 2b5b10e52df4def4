"""Hand the executed notebooks to mkdocs as files whose source folder is the cache."""

from __future__ import annotations

import os
from pathlib import Path

from mkdocs.structure.files import File

from .execute import CACHE_DIR, execute_all
from .sources import Notebook, find_notebooks

OFF_ENV = "PAPERKB_NOTEBOOKS"  # "off": a site without notebooks (the bench's baseline)


def site_notebooks(repo_root: Path) -> list[Notebook]:
    """The notebooks the site shows: all of them, or none with PAPERKB_NOTEBOOKS=off."""
    return [] if os.environ.get(OFF_ENV) == "off" else find_notebooks(repo_root)


def notebook_files(config, repo_root: Path, notebooks: list[Notebook]) -> list[File]:  # noqa: ANN001 - mkdocs' config
    """Execute the stale ones of ``notebooks``, then one mkdocs ``File`` per executed ``.ipynb``.

    mkdocs-jupyter (whose ``on_files`` runs after ours) wraps each into a page.
    """
    cache_root = repo_root / CACHE_DIR
    executed = execute_all(notebooks, repo_root, cache_root)
    return [
        File(e.notebook.site_path, src_dir=str(cache_root), dest_dir=config["site_dir"],
             use_directory_urls=config["use_directory_urls"])
        for e in executed
    ]
