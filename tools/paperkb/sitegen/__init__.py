"""entries → site pages (markdown), independent of mkdocs and of the theme.

:func:`pages.generate_pages` returns ``{site path: markdown}``; the mkdocs hook
(``tools/site_hooks.py``) only hands those to mkdocs as generated files.
"""

from .pages import SitePage, entry_url, generate_pages, home_counts, render_entry, site_nav

__all__ = ["SitePage", "entry_url", "generate_pages", "home_counts", "render_entry", "site_nav"]
