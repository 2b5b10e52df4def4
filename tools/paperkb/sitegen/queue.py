"""What to read: the rules behind the dashboard.

- **Reading now**: entries with status ``reading``, by priority, then title.
- **Up next**: every ``unread`` or ``reading`` entry, by priority (1 first; no priority
  last), then the newest added, then the newest year. A priority on a read entry is
  ignored: it was read already.
- **Recently read**: ``read`` entries by their last change, newest first.
"""

from __future__ import annotations

from collections import Counter

from ..catalog import Catalog, Entry

NO_PRIORITY = 1_000_000


def _desc(text: str | None) -> str:
    # Sort newest first inside an ascending key: invert each character.
    return "".join(chr(0x10FFFF - ord(c)) for c in text or "")


def reading_now(catalog: Catalog) -> list[Entry]:
    return sorted(
        (e for e in catalog.entries if e.status == "reading"),
        key=lambda e: (e.priority or NO_PRIORITY, e.title.casefold()),
    )


def up_next(catalog: Catalog, limit: int | None = None) -> list[Entry]:
    queue = sorted(
        (e for e in catalog.entries if e.status in ("unread", "reading")),
        key=lambda e: (
            e.priority if e.priority is not None else NO_PRIORITY,
            _desc(str(e.added) if e.added else None),
            -(e.year or 0),
            e.title.casefold(),
        ),
    )
    return queue[:limit] if limit else queue


def recently_read(catalog: Catalog, changed: dict[str, str | None], limit: int = 10) -> list[Entry]:
    read = [e for e in catalog.entries if e.status == "read"]
    read.sort(key=lambda e: (_desc(changed.get(e.id) or (str(e.added) if e.added else None)), e.title.casefold()))
    return read[:limit]


def status_per_tag(catalog: Catalog) -> list[tuple[str, Counter[str]]]:
    """``(tag slug, Counter(status))`` for every used tag, largest first."""
    per: dict[str, Counter[str]] = {}
    for e in catalog.entries:
        for t in e.tags:
            per.setdefault(t, Counter())[e.status] += 1
    return sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))


def entries_per_year(catalog: Catalog) -> list[tuple[int, int]]:
    years = Counter(e.year for e in catalog.entries if e.year)
    return sorted(years.items())
