"""The built site used as a reader uses it, in headless Chromium (Debian's), offline."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import HEADER, REPO_ROOT, mkdocs_build
from paperkb.catalog import load_catalog
from paperkb.sitesearch.probe import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium chromium-driver)"),
]

# Every field a catalog string reaches carries a payload; a payload that runs sets
# window.__pkb_xss or opens a dialog. The payloads are ones the validator lets through
# (it refuses line breaks in titles and unencoded quotes in URLs before any page is built).
X = '<script>window.__pkb_xss=1;alert(1)</script><img src=x onerror="window.__pkb_xss=2;alert(2)">'
XSS_CATALOG = (
    HEADER.replace(
        "  gan: {en: GAN, zh: 生成对抗网络}",
        "  gan: {en: 'GAN --> " + X.replace("'", "''") + "', zh: '生成 " + X.replace("'", "''") + "'}",
    )
    + f"""\
  - id: payload
    kind: paper
    title: {yaml.safe_dump("Payload " + X + " <script>alert(3)</script>", default_style='"').strip()}
    authors: [{yaml.safe_dump(X, default_style='"').strip()}]
    year: 2020
    venue: {yaml.safe_dump(X, default_style='"').strip()}
    doi: "10.1234/x\\"><img/src/onerror=alert(4)>"
    abstract: {yaml.safe_dump(X, default_style='"').strip()}
    links:
      url: "https://example.org/%22%3E%3Csvg/onload=alert(5)%3E"
    tags: [gan]
    status: unread
    notes:
      en: {yaml.safe_dump(X + " [click](javascript:alert(6)) <a href='javascript:alert(7)'>a</a>", default_style='"').strip()}
      zh: {yaml.safe_dump(X, default_style='"').strip()}
    refimpl:
      none: {yaml.safe_dump("none " + X, default_style='"').strip()}
    sources: [{yaml.safe_dump(X, default_style='"').strip()}]
    added: 2026-11-20
  - id: zh-only
    kind: paper
    title: 只有中文笔记的论文
    tags: [style-transfer]
    status: unread
    notes:
      zh: |
        只有中文。公式 $E = mc^2$ 与 \\(a^2 + b^2\\)。
    refimpl:
      none: no code for this one
    sources: [x.txt]
    added: 2026-11-21
"""
)




class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server:
    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def payload_site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("xss")
    (base / "catalog.yaml").write_text(XSS_CATALOG, encoding="utf-8")
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    config.update(docs_dir=str(REPO_ROOT / "docs"), hooks=[str(REPO_ROOT / "tools" / "site_hooks.py")], watch=[])
    config["extra"]["catalog"] = str(base / "catalog.yaml")
    config["theme"]["custom_dir"] = str(REPO_ROOT / "overrides")
    (base / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = mkdocs_build(base / "mkdocs.yml", base / "site")
    assert result.returncode == 0, result.stderr
    return base / "site"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Tab:
    """A page that records dialogs, console errors and uncaught exceptions."""

    def __init__(self, browser, base_url: str, width: int = 1280, height: int = 800) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.base_url = base_url
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # Only the local site: no fonts, analytics or CDNs (and a payload's image fails fast).
        self.page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base_url) else r.abort())

    def open(self, path: str):
        self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        return self.page


@pytest.fixture(scope="module")
def real(built_site, browser) -> Iterator[Tab]:
    server = _Server(built_site)
    tab = Tab(browser, server.url)
    yield tab
    tab.page.close()
    server.close()


def test_payloads_in_every_field_never_run(payload_site, browser):
    server = _Server(payload_site)
    try:
        tab = Tab(browser, server.url)
        for path in ("", "dashboard/", "papers/", "tags/", "tags/gan/", "entries/payload/", "entries/zh-only/"):
            page = tab.open(path)
            assert page.evaluate("window.__pkb_xss === undefined"), path
            assert (
                page.locator("script:not([src])").evaluate_all(
                    "els => els.filter(e => e.textContent.includes('__pkb_xss')).length"
                )
                == 0
            ), path
        assert tab.dialogs == []
        # The payloads are shown as text.
        page = tab.open("entries/payload/")
        assert "<script>window.__pkb_xss=1" in page.locator("h1").inner_text()
        assert page.locator("a[href^='javascript']").count() == 0
    finally:
        server.close()


def test_chinese_only_entry_opens_on_chinese_and_renders_math(payload_site, browser):
    server = _Server(payload_site)
    try:
        page = Tab(browser, server.url).open("entries/zh-only/")
        assert page.locator(".pkb-notes .tabbed-block[lang=zh]").is_visible()
        assert page.locator(".pkb-notes .tabbed-labels label").all_inner_texts() == ["中文"]
        notes = page.locator(".pkb-notes")
        assert notes.locator(".katex").count() == 2
        assert "\\(" not in notes.inner_text() and "$E" not in notes.inner_text()
    finally:
        server.close()


def test_up_next_lists_unread_entries_by_priority_then_added_then_year(real):
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    queue = [e for e in catalog.entries if e.status in ("unread", "reading")]
    queue.sort(key=lambda e: (e.priority or 99, -int(str(e.added).replace("-", "")), -(e.year or 0)))
    page = real.open("dashboard/")
    hrefs = page.locator(".pkb-up-next li > a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert hrefs, "the queue is empty"
    ids = [h.rstrip("/").rsplit("/", 1)[-1] for h in hrefs]
    assert {e.status for e in catalog.entries if e.id in ids} <= {"unread", "reading"}
    by_id = catalog.by_id()
    keys = [(by_id[i].priority or 99, -int(str(by_id[i].added).replace("-", "")), -(by_id[i].year or 0)) for i in ids]
    assert keys == sorted(keys) and len(ids) == min(15, len(queue))
    assert page.locator("svg.pkb-chart").count() == 2


def test_library_sorts_by_year_and_filters_by_status(real):
    page = real.open("papers/")
    rows = page.locator("#pkb-library tbody tr:not([hidden])")
    total = rows.count()
    years = lambda: [int(y or 0) for y in page.locator("#pkb-library tbody tr td:nth-child(2)").all_inner_texts()]  # noqa: E731
    header = page.locator("#pkb-library th", has_text="Year")
    header.click()
    first = years()
    header.click()
    second = years()
    assert first != second and sorted(first) in (first, first[::-1]) and second == first[::-1]
    page.select_option("select[name=status]", "unread")
    unread = sum(1 for e in load_catalog(REPO_ROOT / "catalog.yaml").entries if e.status == "unread")
    assert rows.count() == unread < total
    assert page.locator(".pkb-count").inner_text().startswith(f"{unread} of {total}")


def test_entry_page_shows_notes_above_the_source_bibtex_and_related(real, browser):
    page = real.open("entries/adain/")
    notes_y = page.locator(".pkb-notes").bounding_box()["y"]
    source_y = page.locator("h2#reference-implementation ~ div.highlight").first.bounding_box()["y"]
    assert notes_y < source_y
    assert "@inproceedings{adain," in page.locator(".pkb-bibtex").inner_text()
    related = page.locator(".pkb-related a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert any(h.endswith("entries/munit/") for h in related), related
    assert not page.locator("details.pkb-meta").evaluate("d => d.open")
    phone = Tab(browser, real.base_url, 390, 844).open("entries/adain/")
    assert phone.locator(".pkb-notes").bounding_box()["y"] < 844  # notes above the fold on a phone


def test_pages_log_no_console_errors(real):
    for path in ("", "dashboard/", "papers/", "tags/", "entries/adain/", "gpu-smoke/"):
        real.open(path)
    assert real.errors == [] and real.dialogs == []
