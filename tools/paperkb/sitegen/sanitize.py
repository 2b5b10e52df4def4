"""Notes and abstracts: markdown rendered to HTML here, then sanitised with nh3.

The author's notes keep their formatting (lists, tables, code, formulas, links); scripts,
event handlers, ``style`` and ``javascript:`` URLs never reach the page. A build may keep
the markdown step's HTML in a :class:`.buildcache.ContentCache`; the sanitiser runs on
every use, cached or not, so what a cache file holds cannot reach the page unsanitised.
"""

from __future__ import annotations

import json
import re
import threading
from importlib.metadata import version

import markdown
import nh3
from markupsafe import Markup

from .buildcache import ContentCache, content_key

# The markdown the notes are written in; the site's own pages use mkdocs.yml's list.
_EXTENSIONS = [
    "abbr",
    "admonition",
    "def_list",
    "footnotes",
    "sane_lists",
    "tables",
    "pymdownx.superfences",
    "pymdownx.highlight",
    "pymdownx.inlinehilite",
    "pymdownx.arithmatex",
]
_CONFIG = {"pymdownx.arithmatex": {"generic": True}, "pymdownx.highlight": {"use_pygments": True}}

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# What the markdown step's output depends on besides the text: a cached piece made with
# other versions or settings is never looked up.
_RENDERER = json.dumps(
    [_EXTENSIONS, _CONFIG, [version(p) for p in ("markdown", "pymdown-extensions", "pygments")]], sort_keys=True
)

_local = threading.local()


def _markdown() -> markdown.Markdown:
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(extensions=_EXTENSIONS, extension_configs=_CONFIG)
    return md


def sanitize(html: str) -> Markup:
    """HTML reduced to the tags markdown produces, with safe URLs only."""
    return Markup(nh3.clean(html, tags=set(TAGS), attributes=ATTRIBUTES, url_schemes=set(URL_SCHEMES)))


def plain_paragraphs(text: str) -> Markup:
    """Fetched text (an abstract) shown as it is: escaped, one ``<p>`` per blank-line block."""
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", text) if b.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(b) for b in blocks)


def _convert(text: str) -> str:
    md = _markdown()
    try:
        return md.convert(text)
    finally:
        md.reset()


def render_markdown(text: str, cache: ContentCache | None = None) -> Markup:
    """The author's markdown as sanitised HTML, ready for an HTML block of a page."""
    if cache is None:
        return sanitize(_convert(text))
    key = content_key(text, _RENDERER)
    html = cache.get(key)
    if not isinstance(html, str):
        html = _convert(text)
        cache.put(key, html)
    return sanitize(html)
