"""The built site's search, driven in headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium chromium-driver)"),
]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(site_url: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        # Only the local site: no external fonts, analytics or CDNs.
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site_url) else route.abort())
        yield page
        browser.close()


def search(page, site_url: str, query: str) -> list[tuple[str, str]]:
    """Type a query in the search box; return (title, href) of the results."""
    page.goto(site_url)
    page.locator("label.md-search__icon, .md-search__input").first.click()
    box = page.locator("input.md-search__input")
    box.fill("")
    box.type(query)
    box.press("End")  # typed CJK text sends no keyup: the search runs on keyup
    page.wait_for_selector(".md-search-result__item", timeout=15000)
    items = page.locator(".md-search-result__item > a")
    results = []
    for i in range(items.count()):
        link = items.nth(i)
        title = link.locator(".md-search-result__article h1, .md-search-result__article h2").first.inner_text()
        results.append((title.replace("\u200b", "").strip(), link.get_attribute("href") or ""))
    return results


def test_english_query_finds_patchgan_in_pix2pix(page, site_url):
    results = search(page, site_url, "PatchGAN")
    assert any("entries/pix2pix/" in href for _, href in results), results


def test_chinese_query_finds_chinese_notes(page, site_url):
    results = search(page, site_url, "判别器")
    hrefs = [href for _, href in results]
    assert any("entries/pix2pixhd/" in h for h in hrefs), results
    assert any("entries/srgan/" in h for h in hrefs), results
