"""JSON and CSV exports, and the selection both share with BibTeX."""

from __future__ import annotations

import csv
import io
import json

from ..catalog import Entry

EXPORT_FIELDS = ("id", "kind", "title", "authors", "year", "venue", "doi", "arxiv", "status", "priority", "tags", "url")


def select(entries: list[Entry], tag: str | None = None, status: str | None = None) -> list[Entry]:
    return [e for e in entries if (tag is None or tag in e.tags) and (status is None or e.status == status)]


def _row(entry: Entry, site_url: str = "") -> dict:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "title": entry.title,
        "authors": entry.authors,
        "year": entry.year,
        "venue": entry.venue,
        "doi": entry.doi,
        "arxiv": entry.links.get("arxiv"),
        "status": entry.status,
        "priority": entry.priority,
        "tags": entry.tags,
        "url": f"{site_url}entries/{entry.id}/",
    }


def to_json(entries: list[Entry], site_url: str = "") -> str:
    """Every entry's metadata and its full catalog record (notes included)."""
    rows = []
    for e in entries:
        row = _row(e, site_url)
        row["record"] = {k: (str(v) if k == "added" else v) for k, v in e.data.items()}
        rows.append(row)
    return json.dumps({"entries": rows}, ensure_ascii=False, indent=1, default=str) + "\n"


def to_csv(entries: list[Entry], site_url: str = "") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for e in entries:
        row = _row(e, site_url)
        row["authors"] = "; ".join(row["authors"])
        row["tags"] = " ".join(row["tags"])
        # A cell starting with = + - @ is a formula to spreadsheets: keep it text.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v) for k, v in row.items()})
    return out.getvalue()
