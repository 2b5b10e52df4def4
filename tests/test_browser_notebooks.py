"""A notebook page of the built site in headless Chromium: its figures load, its links to
and from the entry page work under the site's sub-path, and the console stays clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from paperkb.sitesearch.probe import CHROMIUM, browser_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium chromium-driver)"),
]


def test_notebook_page_shows_its_figures_and_links_back_and_forth(built_site: Path) -> None:
    with browser_page(built_site) as probe:
        page = probe.page
        page.goto(probe.base + "notebooks/adain/")
        page.wait_for_load_state("load")
        widths = page.eval_on_selector_all(".jp-OutputArea-output img", "els => els.map(e => e.naturalWidth)")
        assert len(widths) >= 2 and all(w > 0 for w in widths), widths
        assert "calc_mean_std" in page.inner_text("article")  # the code cells are shown
        page.click("article a[href$='entries/adain/']")
        page.wait_for_load_state("load")
        assert page.url == probe.base + "entries/adain/"
        page.click("article a:text-is('Notebook')")
        page.wait_for_load_state("load")
        assert page.url == probe.base + "notebooks/adain/"
        assert "Notebooks" in page.inner_text("nav.md-nav--primary")
        hrefs = page.eval_on_selector_all("nav.md-nav--primary a", "els => els.map(e => e.href)")  # resolved
        assert len({h for h in hrefs if "/notebooks/" in h}) >= 10, hrefs  # the section lists every notebook
        assert not probe.errors, probe.errors
