"""Paper metadata for a DOI from the Crossref REST API (JSON), over the injected fetch."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from .arxiv import DEFAULT_TIMEOUT_S, Fetch, LookupFailed, PaperMeta, clean, fetch_or_fail, urllib_fetch

API = "https://api.crossref.org/works/{doi}"


def _strip_markup(text: str) -> str:
    """Crossref abstracts are JATS XML fragments (<jats:p>…</jats:p>)."""
    text = re.sub(r"</?jats:p[^>]*>", "\n\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    paragraphs = [clean(p) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def parse_work(data: bytes, doi: str) -> PaperMeta:
    try:
        message = json.loads(data)["message"]
    except (ValueError, KeyError, TypeError):
        raise LookupFailed(f"Crossref returned no record for {doi}") from None
    titles = message.get("title") or []
    if not titles:
        raise LookupFailed(f"Crossref has no title for {doi}")
    authors = []
    for person in message.get("author") or []:
        name = " ".join(p for p in (person.get("given"), person.get("family")) if p) or person.get("name")
        if name:
            authors.append(clean(name))
    year = None
    for key in ("published-print", "published-online", "issued", "created"):
        parts = (message.get(key) or {}).get("date-parts") or [[None]]
        if parts and parts[0] and isinstance(parts[0][0], int):
            year = parts[0][0]
            break
    venue = (message.get("container-title") or [None])[0] or (message.get("event") or {}).get("name")
    abstract = _strip_markup(message["abstract"]) + "\n" if message.get("abstract") else None
    return PaperMeta(
        title=clean(titles[0]),
        authors=authors,
        year=year,
        venue=clean(venue) if venue else None,
        abstract=abstract,
        doi=message.get("DOI") or doi,
        url=message.get("URL") or f"https://doi.org/{doi}",
        source=f"doi.org/{doi}",
    )


def lookup_doi(doi: str, fetch: Fetch = urllib_fetch, timeout: float = DEFAULT_TIMEOUT_S) -> PaperMeta:
    return parse_work(fetch_or_fail(fetch, API.format(doi=quote(doi, safe="/.()-_;:")), timeout), doi)
