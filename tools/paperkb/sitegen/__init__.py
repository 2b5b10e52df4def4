"""entries → site pages (markdown with escaped HTML blocks), independent of mkdocs.

:func:`pages.generate_pages` returns the pages; the mkdocs hook (``tools/site_hooks.py``)
only hands those to mkdocs as generated files.
"""

from .pages import Site, SitePage, build_site, entry_url, generate_pages, home_counts, render_entry, site_nav

__all__ = ["Site", "SitePage", "build_site", "entry_url", "generate_pages", "home_counts", "render_entry", "site_nav"]
