"""Ranked bilingual full-text search over the catalog (a whoosh index kept up to date)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import index as _index
from .engine import Engine, Filters
from .query import parse
from .render import Hit, snippet

__all__ = ["Engine", "Filters", "Hit", "Results", "Searcher", "search"]


@dataclass
class Results:
    hits: list[Hit]
    total: int
    fuzzy_terms: dict[str, list[str]] = field(default_factory=dict)


class Searcher:
    """An up-to-date index of one catalog, opened once and queried many times."""

    def __init__(
        self,
        catalog: str | Path,
        index_dir: str | Path | None = None,
        rebuild: bool = False,
        progress: _index.Progress | None = None,
    ) -> None:
        self.catalog = Path(catalog)
        self.index_dir = Path(index_dir) if index_dir else _index.default_index_dir(self.catalog)
        self.update = _index.ensure_fresh(self.catalog, self.index_dir, rebuild=rebuild, progress=progress)
        self.tags = _index.tag_table(self.index_dir)
        self.engine = Engine(self.index_dir)

    def refresh(self) -> _index.UpdateReport:
        """Re-index what changed in the catalog since the index was opened."""
        report = _index.ensure_fresh(self.catalog, self.index_dir)
        if report.added or report.removed or report.rebuilt:
            self.engine.close()
            self.engine = Engine(self.index_dir)
            self.tags = _index.tag_table(self.index_dir)
        return report

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tag_slug(self, name: str) -> str | None:
        """A tag given by slug or by either label (case-insensitive)."""
        wanted = name.strip().casefold()
        for slug, (en, zh) in self.tags.items():
            if wanted in (slug.casefold(), en.casefold(), zh.casefold()):
                return slug
        return None

    def search(self, text: str, filters: Filters | None = None, limit: int = 10, snippets: bool = True) -> Results:
        parsed = parse(text)
        outcome = self.engine.run(parsed, filters, limit)
        hits = []
        for ranked in outcome.ranked:
            stored = self.engine.stored(ranked.docnum)
            slugs = [s for s in (stored.get("tags") or "").split(",") if s]
            labels = []
            for slug in slugs:
                en, zh = self.tags.get(slug, (slug, ""))
                labels.append(f"{en} · {zh}" if zh else en)
            text_snippet, marks = "", []
            if snippets:
                sources = [stored.get("notes_en", ""), stored.get("notes_zh", ""), stored.get("title", ""),
                           stored.get("added", "")]
                text_snippet, marks = snippet(sources, outcome.highlight)
            hits.append(
                Hit(
                    id=stored["id"],
                    title=stored.get("title", ""),
                    kind=stored.get("kind", ""),
                    status=stored.get("status", ""),
                    score=ranked.score,
                    tags=labels,
                    snippet=text_snippet,
                    marks=marks,
                    fuzzy=ranked.fuzzy,
                )
            )
        return Results(hits, outcome.total, outcome.fuzzy_terms)


def search(catalog: str | Path, text: str, limit: int = 10, index_dir: str | Path | None = None) -> Results:
    """One query against a catalog (opens the index, updating it first if needed)."""
    with Searcher(catalog, index_dir) as searcher:
        return searcher.search(text, limit=limit)
