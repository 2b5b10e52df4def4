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


class _Shape(Exception):
    """The answer is JSON but not a Crossref work record; the message says where."""


def _strings(value: object, what: str) -> list[str]:
    """A Crossref list of strings (``title``, ``container-title``); a lone string is accepted."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Shape(f"'{what}' is not a list of strings")
    return value


def _year(message: dict) -> int | None:
    for key in ("published-print", "published-online", "issued", "created"):
        date = message.get(key)
        if date is None:
            continue
        if not isinstance(date, dict):
            raise _Shape(f"'{key}' is not an object")
        parts = date.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            first = parts[0][0]
            if isinstance(first, int) and not isinstance(first, bool):
                return first
    return None


def _work(message: object, doi: str) -> PaperMeta:
    if not isinstance(message, dict):
        raise _Shape("'message' is not an object")
    titles = _strings(message.get("title"), "title")
    if not titles or not titles[0].strip():
        raise LookupFailed(f"Crossref has no title for {doi}")
    authors = []
    people = message.get("author") or []
    if not isinstance(people, list):
        raise _Shape("'author' is not a list")
    for person in people:
        if not isinstance(person, dict):
            raise _Shape("an 'author' is not an object")
        parts = [p for p in (person.get("given"), person.get("family")) if isinstance(p, str) and p]
        name = " ".join(parts) or person.get("name")
        if isinstance(name, str) and clean(name):
            authors.append(clean(name))
    event = message.get("event")
    venue = (_strings(message.get("container-title"), "container-title") or [None])[0]
    if not venue and isinstance(event, dict) and isinstance(event.get("name"), str):
        venue = event["name"]
    abstract = message.get("abstract")
    found_doi, url = message.get("DOI"), message.get("URL")
    return PaperMeta(
        title=clean(titles[0]),
        authors=authors,
        year=_year(message),
        venue=clean(venue) or None if venue else None,
        abstract=_strip_markup(abstract) + "\n" if isinstance(abstract, str) and abstract.strip() else None,
        doi=found_doi if isinstance(found_doi, str) and found_doi else doi,
        url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else f"https://doi.org/{doi}",
        source=f"doi.org/{doi}",
    )


def parse_work(data: bytes, doi: str) -> PaperMeta:
    """A Crossref ``/works/DOI`` answer; :class:`LookupFailed` for anything else."""
    try:
        answer = json.loads(data)
    except ValueError:  # also UnicodeDecodeError
        raise LookupFailed(f"Crossref answered something that is not JSON for {doi}") from None
    if not isinstance(answer, dict) or "message" not in answer:
        raise LookupFailed(f"Crossref returned no record for {doi}")
    try:
        return _work(answer["message"], doi)
    except _Shape as exc:
        raise LookupFailed(f"Crossref's answer for {doi} is not a work record: {exc}") from None


def lookup_doi(doi: str, fetch: Fetch = urllib_fetch, timeout: float = DEFAULT_TIMEOUT_S) -> PaperMeta:
    return parse_work(fetch_or_fail(fetch, API.format(doi=quote(doi, safe="/.()-_;:")), timeout), doi)
