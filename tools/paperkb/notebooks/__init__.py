"""Executed notebooks: ``docs/notebooks/*.py`` (jupytext percent format) run once per change.

:mod:`.sources` finds the notebooks and what they depend on, :mod:`.execute` runs the
stale ones with nbclient into ``.cache/notebooks/``, :mod:`.site` hands the executed
``.ipynb`` files to mkdocs (mkdocs-jupyter renders them).
"""

from .execute import NotebookError, execute_all, execute_notebook
from .sources import Notebook, find_notebooks, source_hash

__all__ = ["Notebook", "NotebookError", "execute_all", "execute_notebook", "find_notebooks", "source_hash"]
