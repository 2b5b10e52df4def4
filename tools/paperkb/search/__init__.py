"""Ranked bilingual full-text search over the catalog (a whoosh index kept up to date)."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import index as _index
from .engine import Engine, Filters
from .query import ParsedQuery, parse
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
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = Path(catalog)
        self.index_dir = Path(index_dir) if index_dir else _index.default_index_dir(self.catalog)
        self.progress = progress
        self.notice = notice or _stderr_notice
        self._scratch: Path | None = None  # a temporary index, when the real one cannot be written
        self._open(rebuild)

    def _open(self, rebuild: bool) -> None:
        """Bring the index up to date and open it; a damaged index (anything that cannot
        be read back) is rebuilt with a one-line notice, in a temporary folder if its
        own cannot be written."""
        try:
            self._open_once(rebuild)
            return
        except _index.SearchIndexError:
            raise
        except Exception as exc:  # whoosh and the state files fail in many ways: all mean "damaged"
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        self.notice(f"search index {self.index_dir} is damaged ({reason}); rebuilding it")
        try:
            self._open_once(True)
            return
        except _index.SearchIndexError:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        self._scratch = Path(tempfile.mkdtemp(prefix="paperkb-search-"))
        self.notice(f"cannot rebuild {self.index_dir} ({reason}); using a temporary index for this search")
        self.index_dir = self._scratch / "index"
        self._open_once(True)

    def _open_once(self, rebuild: bool) -> None:
        self.update = _index.ensure_fresh(self.catalog, self.index_dir, rebuild=rebuild, progress=self.progress)
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
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

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
        try:
            return self._search(parsed, filters, limit, snippets)
        except Exception as exc:  # a segment damaged under an index that opened: rebuild once, retry
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            self.notice(f"search index {self.index_dir} is damaged ({reason}); rebuilding it")
            with contextlib.suppress(Exception):
                self.engine.close()
            self._open(True)
            return self._search(parsed, filters, limit, snippets)

    def _search(self, parsed: ParsedQuery, filters: Filters | None, limit: int, snippets: bool) -> Results:
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


def _stderr_notice(message: str) -> None:
    print(message, file=sys.stderr)


def search(catalog: str | Path, text: str, limit: int = 10, index_dir: str | Path | None = None) -> Results:
    """One query against a catalog (opens the index, updating it first if needed)."""
    with Searcher(catalog, index_dir) as searcher:
        return searcher.search(text, limit=limit)
