"""The catalog's entries as Python objects, with the YAML lines they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from . import yamlsafe

STATUSES = ("unread", "reading", "read")
KINDS = ("paper", "trick", "question")


@dataclass(frozen=True)
class Tag:
    slug: str
    en: str
    zh: str

    @property
    def label(self) -> str:
        """The name shown on the site: English beside Chinese."""
        return f"{self.en} · {self.zh}" if self.zh else self.en


@dataclass
class Entry:
    """One catalog entry: the raw mapping plus where it sits in the file."""

    data: dict[str, Any]
    index: int
    node: Node | None = field(default=None, repr=False)

    # -- typed views of the raw data (the validator guarantees the types) --
    @property
    def id(self) -> str:
        value = self.data.get("id")
        return value if isinstance(value, str) else f"#{self.index + 1}"

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def title(self) -> str:
        return str(self.data.get("title", ""))

    @property
    def authors(self) -> list[str]:
        return list(self.data.get("authors") or [])

    @property
    def year(self) -> int | None:
        return self.data.get("year")

    @property
    def venue(self) -> str | None:
        return self.data.get("venue")

    @property
    def doi(self) -> str | None:
        return self.data.get("doi")

    @property
    def abstract(self) -> str | None:
        return self.data.get("abstract")

    @property
    def links(self) -> dict[str, str]:
        return dict(self.data.get("links") or {})

    @property
    def tags(self) -> list[str]:
        return list(self.data.get("tags") or [])

    @property
    def status(self) -> str:
        return str(self.data.get("status", "unread"))

    @property
    def priority(self) -> int | None:
        return self.data.get("priority")

    @property
    def highlight(self) -> bool:
        """The author highlighted the entry (bold in the Notion export); not a priority."""
        return self.data.get("highlight") is True

    @property
    def arxiv_version(self) -> str | None:
        """The arXiv version the author cited ("v2"), beside the versionless ``links.arxiv``."""
        return self.data.get("arxiv_version")

    @property
    def notes(self) -> dict[str, str]:
        """The author's own words, verbatim."""
        return dict(self.data.get("notes") or {})

    @property
    def subpages(self) -> list[dict[str, str]]:
        """The entry's Notion sub-pages the export does not contain: ``{title, path}``, verbatim."""
        value = self.data.get("subpages")
        return [dict(i) for i in value if isinstance(i, dict)] if isinstance(value, list) else []

    @property
    def translations(self) -> dict[str, str]:
        """The project's translation of the notes (``en`` translates ``notes.zh``)."""
        return dict(self.data.get("translations") or {})

    @property
    def summary(self) -> dict[str, str]:
        """A short description written by the project."""
        return dict(self.data.get("summary") or {})

    @property
    def refimpl_targets(self) -> list[str]:
        value = self.data.get("refimpl")
        return list(value) if isinstance(value, list) else []

    @property
    def refimpl_none_reason(self) -> str | None:
        value = self.data.get("refimpl")
        return value.get("none") if isinstance(value, dict) else None

    @property
    def sources(self) -> list[str]:
        return list(self.data.get("sources") or [])

    @property
    def added(self) -> str | None:
        return self.data.get("added")

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1 if self.node is not None else 1

    def line_of(self, *path: str | int) -> int:
        """1-based line of a field (``entry.line_of("links", "arxiv")``)."""
        return yamlsafe.line_of(self.node, path) if self.node is not None else 1


@dataclass
class Catalog:
    path: Path
    tags: dict[str, Tag]
    entries: list[Entry]
    data: Any = field(default=None, repr=False)
    node: Node | None = field(default=None, repr=False)
    duplicate_keys: list[yamlsafe.DuplicateKey] = field(default_factory=list, repr=False)

    def by_id(self) -> dict[str, Entry]:
        return {entry.id: entry for entry in self.entries}

    def line_of(self, *path: str | int) -> int:
        return yamlsafe.line_of(self.node, path)

    @property
    def note_files(self) -> dict[str, list[dict[str, str]]]:
        """Sub-pages of each note file's page that belong to no entry (``note_files:``)."""
        raw = self.data.get("note_files") if isinstance(self.data, dict) else None
        out: dict[str, list[dict[str, str]]] = {}
        for name, value in raw.items() if isinstance(raw, dict) else ():
            items = value.get("subpages") if isinstance(value, dict) else None
            out[str(name)] = [dict(i) for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        return out

    @property
    def papers(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "paper"]

    @property
    def tricks(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "trick"]

    @property
    def questions(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "question"]
