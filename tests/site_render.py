"""Helpers for the page tests: markdown → HTML as mkdocs renders it, and an HTML census."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import markdown
import yaml
from paperkb.catalog import Catalog, Entry, Tag

REPO_ROOT = Path(__file__).resolve().parents[1]


def _extensions() -> tuple[list[str], dict]:
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    names, options = [], {}
    for item in config["markdown_extensions"]:
        if isinstance(item, dict):
            ((name, opts),) = item.items()
            names.append(name)
            options[name] = opts or {}
        else:
            names.append(item)
    return names, options


def to_html(page_markdown: str) -> str:
    """A generated page's body as mkdocs renders it (front matter dropped)."""
    body = page_markdown.split("\n---\n", 1)[1] if page_markdown.startswith("---\n") else page_markdown
    names, options = _extensions()
    return markdown.Markdown(extensions=names, extension_configs=options).convert(body)


@dataclass
class Census(HTMLParser):
    """Every tag, attribute and text run of a document, with the text inside each tag."""

    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)
    _open: list[tuple[str, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in {"br", "hr", "img", "input", "meta", "link"}:
            self._open.append((tag, []))

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                name, parts = self._open.pop(i)
                self.texts.setdefault(name, []).append("".join(parts))
                break

    def handle_data(self, data):
        for _, parts in self._open:
            parts.append(data)


def census(html: str) -> Census:
    parser = Census()
    parser.feed(html)
    parser.close()
    return parser


def make_catalog(entries: list[dict], tags: dict[str, tuple[str, str]], path: Path) -> Catalog:
    """A catalog built directly (no schema): for fields the schema does not know yet."""
    return Catalog(
        path=path,
        tags={slug: Tag(slug, en, zh) for slug, (en, zh) in tags.items()},
        entries=[Entry(data, i) for i, data in enumerate(entries)],
    )
