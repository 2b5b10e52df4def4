"""Escaping by construction: catalog strings reach the page as text, never as markup."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paperkb.sitegen import build_site, generate_pages
from paperkb.sitegen.escape import md_inline, one_line, safe_url
from paperkb.sitegen.sanitize import TAGS as NOTE_TAGS
from paperkb.sitegen.sanitize import render_markdown
from site_render import census, make_catalog, to_html

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "[click](javascript:alert(1))",
    "{: onclick=alert(1)}",
    "\n\n<script>alert(2)</script>\n\n# injected",
    "-->",
    "`code` *em* $x$ \\(y\\) ++ctrl++ | a | b |",
]
# Tags the generated pages may hold; a payload that becomes any other tag got through.
PAGE_TAGS = {
    "a", "b", "code", "details", "div", "em", "figcaption", "figure", "h1", "h2", "input", "label", "li", "ol",
    "option", "output", "p", "pre", "select", "span", "strong", "summary", "table", "tbody", "td", "th", "thead",
    "tr", "ul", "form", "rect", "svg", "text", "title",
}  # fmt: skip

_piece = st.sampled_from(
    list("ab <>&\"'`*_[](){}#!|$\\:=/-+.\n\t~^@%中文") + ["javascript:", "<script>", "onerror=", "-->", "\\("]
)
text = st.lists(_piece, min_size=1, max_size=30).map("".join).filter(lambda s: s.strip())


def _entry(value: str, reason: str, notes: str | None = None) -> dict:
    notes = value if notes is None else notes
    return {
        "id": "probe",
        "kind": "paper",
        "title": value,
        "authors": [value, "B. Author"],
        "year": 2020,
        "venue": value,
        "doi": "10.1234/" + value.replace("\n", ""),
        "abstract": value,
        "links": {"url": "https://example.org/" + value.replace(" ", ""), "code": "javascript:alert(1)"},
        "tags": ["t"],
        "status": "unread",
        "priority": 1,
        "notes": {"en": notes, "zh": notes},
        "summary": {"en": notes},
        "translations": {"zh": notes},
        "refimpl": {"none": reason},
        "sources": [value],
        "added": "2026-11-23",
    }


def _pages(tmp_path, value: str, reason: str | None = None, notes: str | None = None):
    catalog = make_catalog([_entry(value, reason or value, notes)], {"t": (value, value)}, tmp_path / "catalog.yaml")
    site = build_site(catalog, tmp_path)
    return {p.path: to_html(p.markdown) for p in generate_pages(catalog, site=site)}


def _assert_inert(html: str, where: str) -> None:
    doc = census(html)
    for tag, attrs in doc.tags:
        assert tag in PAGE_TAGS | NOTE_TAGS, f"{where}: unexpected <{tag}>"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"{where}: event handler {name} on <{tag}>"
            if name in ("href", "src"):
                assert value is not None and not value.strip().lower().startswith(("javascript:", "data:")), where


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=text)
def test_random_metadata_is_shown_as_text_on_every_page(tmp_path, value):
    pages = _pages(tmp_path, value)
    for path, html in pages.items():
        _assert_inert(html, path)
    entry = census(pages["entries/probe.md"])
    # The title is the heading's text, character for character (markdown read none of it).
    assert entry.texts["h1"][0].rstrip("¶") == one_line(value)
    byline = next(t for t in entry.texts["p"] if "B. Author" in t)
    assert one_line(value) in " ".join(byline.split())


def test_known_payloads_in_every_field_stay_inert(tmp_path):
    for payload in PAYLOADS:
        pages = _pages(tmp_path, "Title " + payload, "reason " + payload)
        for path, html in pages.items():
            _assert_inert(html, f"{path} with {payload!r}")
            assert "<script" not in html and "<svg onload" not in html, path


def test_a_newline_in_a_title_cannot_open_a_block(tmp_path):
    html = _pages(tmp_path, "Good title\n\n## Injected\n\n<div>x</div>", notes="plain")["entries/probe.md"]
    doc = census(html)
    assert "Injected" not in " ".join(doc.texts.get("h2", []))
    assert doc.texts["h1"][0].rstrip("¶") == "Good title ## Injected <div>x</div>"


def test_md_inline_keeps_text_and_drops_syntax():
    assert md_inline("a*b*") == "a\\*b\\*"
    assert md_inline("x\n# y") == "x \\# y"
    assert md_inline("<b>&") == "&lt;b&gt;&amp;"
    assert md_inline("\\(x\\)") == "\\\\&#40;x\\\\&#41;"  # never an arithmatex formula


def test_safe_url_allows_http_https_and_relative_only():
    assert safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert safe_url("http://example.org") == "http://example.org"
    assert safe_url("../entries/adain/") == "../entries/adain/"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:x",
        "data:text/html,x",
        "vbscript:x",
        "//evil.example/x",
        "java\tscript:x",
        "https:///nohost",
        "file:///etc/passwd",
        "\\\\evil",
    ):
        assert safe_url(bad) is None, bad


def test_notes_keep_formatting_but_lose_scripts_handlers_and_javascript_links():
    html = str(
        render_markdown(
            "**bold** [ok](https://example.org) [bad](javascript:alert(1)) <a href='JAVASCRIPT:x'>c</a>\n\n"
            "<script>alert(1)</script><img src=x onerror=alert(1)> <b onclick=x>b</b> <span style='x'>s</span>\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n$x^2$\n"
        )
    )
    assert "<strong>bold</strong>" in html and '<a href="https://example.org"' in html
    assert "<table>" in html and '<span class="arithmatex">\\(x^2\\)</span>' in html
    assert "<script" not in html and "onerror" not in html and "onclick" not in html and "style=" not in html
    assert "javascript" not in html.lower()
