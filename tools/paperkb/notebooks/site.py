"""Hand the executed notebooks to mkdocs as files whose source folder is the cache."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

from .execute import CACHE_DIR, execute_all
from .sources import find_notebooks


def notebook_files(config, repo_root: Path) -> list[File]:  # noqa: ANN001 - mkdocs' config object
    """Execute stale notebooks, then one mkdocs ``File`` per executed ``.ipynb``.

    mkdocs-jupyter (whose ``on_files`` runs after ours) wraps each into a page.
    """
    cache_root = repo_root / CACHE_DIR
    executed = execute_all(find_notebooks(repo_root), repo_root, cache_root)
    return [
        File(e.notebook.site_path, src_dir=str(cache_root), dest_dir=config["site_dir"],
             use_directory_urls=config["use_directory_urls"])
        for e in executed
    ]
