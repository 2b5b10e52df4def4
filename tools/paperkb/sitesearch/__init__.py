"""The site's search: one weighted record per entry, indexed on every ``mkdocs build``.

``records`` turns entries into weighted text (and, for the benchmark's Pagefind
baseline, into the HTML Pagefind indexes), ``postings`` writes the index files the
browser's engine reads, ``vocabulary`` the word lists the search box uses for Chinese
queries and typos, ``build`` writes ``<site>/search-index/`` and ``background`` runs it
beside the pages. The browser side is ``docs/javascripts/search.js`` and
``docs/javascripts/search-engine.js``.
"""

from .build import build_search_index

__all__ = ["build_search_index"]
