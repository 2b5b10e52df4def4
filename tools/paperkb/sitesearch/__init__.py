"""The site's search: one Pagefind record per entry, written after ``mkdocs build``.

``records`` turns entries into the HTML Pagefind indexes (never served: only the
indexer sees it), ``vocabulary`` the term list the browser falls back to for typos,
and ``build`` runs Pagefind and writes ``<site>/pagefind/``. The browser side is
``docs/javascripts/search.js``.
"""

from .build import build_search_index

__all__ = ["build_search_index"]
