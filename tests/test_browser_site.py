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
    subpages:
      - title: {yaml.safe_dump(X, default_style='"').strip()}
        path: "Page/x\\"><img src=x onerror=alert(8)>.md"
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
  - id: labelled
    kind: paper
    title: Every kind of text on one page
    tags: [gan]
    status: read
    abstract: |
      Fetched abstract words.
    notes:
      en: |
        The author's own sentence.
    subpages:
      - title: labelled notes page
        path: "Page%20ab/labelled%20notes%20page%200123456789abcdef0123456789abcdef.md"
    translations:
      zh: |
        作者的原话（译文）。
    summary:
      en: |
        Summary words by the project.
      zh: |
        项目写的摘要。
    refimpl:
      none: no code for this one
    sources: [x.txt]
    added: 2026-11-22
"""
).replace("\nentries:\n", """
note_files:
  x.txt:
    subpages:
      - {title: Rendering, path: "Page%20ab/Rendering%20e61234380d8e46ae9f82afa31090547f.md"}

entries:
""", 1)




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


# Every block of text the author did not write, and the selector of its visible label.
ADDED_TEXT = {
    ".pkb-summary": ".pkb-added-label",
    ".pkb-translation": ".pkb-added-label",
    ".pkb-abstract": "summary",
    ".pkb-subpages": ".pkb-added-label",
    ".pkb-file-subpages": ".pkb-added-label",
}
_UNLABELLED = """(roots, pairs) => roots.flatMap(root => pairs.flatMap(([block, label]) =>
    [...root.querySelectorAll(block)].filter(b => b.checkVisibility()).filter(b => {
        const l = b.querySelector(label);
        return !(l && l.checkVisibility() && l.innerText.trim().length > 0);
    }).map(b => block)))"""


def test_text_the_author_did_not_write_is_labelled(payload_site, browser):
    """Summary, translation, abstract and Notion sub-pages: each shown with a visible label
    wherever it is visible; the author's notes carry none; a sub-page is never a link."""
    server = _Server(payload_site)
    try:
        page = Tab(browser, server.url).open("entries/labelled/")
        pairs = list(ADDED_TEXT.items())

        def unlabelled() -> list[str]:
            return page.locator("article").evaluate_all(_UNLABELLED, pairs)

        author = page.locator(".tabbed-block[lang=en] .pkb-author-notes")
        assert author.is_visible() and author.inner_text().strip() == "The author's own sentence."
        assert author.locator(".pkb-added-label").count() == 0
        summary = page.locator(".tabbed-block[lang=en] .pkb-summary")
        assert summary.locator(".pkb-added-label").text_content() == "Summary (added by paperkb)"
        assert "Summary words by the project." in summary.inner_text()
        subpages = page.locator(".pkb-subpages")
        assert subpages.is_visible() and "Notion sub-page (not exported)" in subpages.locator(".pkb-added-label").text_content()
        assert "labelled notes page" in subpages.inner_text() and subpages.locator("a").count() == 0
        assert page.locator(".pkb-abstract > summary").inner_text() == "Abstract (from arXiv)"
        assert unlabelled() == []
        page.locator(".pkb-notes .tabbed-labels label", has_text="中文").click()
        translation = page.locator(".tabbed-block[lang=zh] .pkb-translation")
        assert translation.is_visible() and translation.locator(".pkb-added-label").text_content() == "译文（非作者原文）"
        assert unlabelled() == []
        page.locator("details.pkb-meta > summary").click()
        own = page.locator(".pkb-meta .pkb-file-subpages")
        assert own.is_visible() and "Notion sub-page (not exported)" in own.locator(".pkb-added-label").text_content()
        assert "Rendering" in own.inner_text() and own.locator("a").count() == 0
        assert unlabelled() == []
        # the hostile sub-page is text too: no element, no link from its path
        payload = Tab(browser, server.url).open("entries/payload/")
        assert "<script>window.__pkb_xss=1" in payload.locator(".pkb-subpages").inner_text()
        assert payload.locator(".pkb-subpages img, .pkb-subpages a").count() == 0
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


def test_katex_loads_only_on_a_page_with_a_formula(payload_site, browser):
    server = _Server(payload_site)
    try:
        def katex_files(path: str) -> list[str]:
            page = Tab(browser, server.url).open(path)
            names = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
            page.close()
            return sorted(n.rsplit("/", 1)[1] for n in names if "/vendor/katex/" in n and not n.endswith(".woff2"))

        assert katex_files("entries/zh-only/") == ["auto-render.min.js", "katex.min.css", "katex.min.js"]
        assert katex_files("") == [] and katex_files("library/") == []
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
