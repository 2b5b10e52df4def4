"""Paper metadata from the arXiv API (Atom XML), over an injected HTTP function.

``fetch(url, timeout) -> bytes`` is a parameter everywhere, so tests pass a
recorded response and nothing patches the network underneath.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from .httpget import USER_AGENT, FetchFailed, bounded_get

Fetch = Callable[[str, float], bytes]

API = "https://export.arxiv.org/api/query?id_list={id}"
DEFAULT_TIMEOUT_S = 5.0
__all__ = ["USER_AGENT", "LookupFailed", "PaperMeta", "lookup_arxiv", "parse_atom", "urllib_fetch"]
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}


class LookupFailed(Exception):
    """The lookup could not be done (network, HTTP, unknown id, bad response): one line."""


@dataclass
class PaperMeta:
    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    abstract: str | None = None
    arxiv: str | None = None  # with version, as the API returns it
    doi: str | None = None
    primary_category: str | None = None
    url: str | None = None
    source: str = "manual"  # what the fields came from, kept in the entry's sources


def urllib_fetch(url: str, timeout: float) -> bytes:
    """The default ``fetch``: one bounded HTTP GET (:mod:`.httpget`), errors as :class:`LookupFailed`."""
    try:
        return bounded_get(url, timeout)
    except FetchFailed as exc:
        raise LookupFailed(str(exc)) from None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str | None) -> str:
    """arXiv wraps titles and abstracts at ~80 columns: join the lines back. Control
    characters (terminal escapes) from the answer are dropped, never stored."""
    return re.sub(r"\s+", " ", _CONTROL.sub("", text or "")).strip()


def _abstract(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    paragraphs = [clean(p) for p in re.split(r"\n\s*\n", text.strip())]
    return "\n\n".join(p for p in paragraphs if p) + "\n"


def parse_atom(data: bytes, arxiv_id: str) -> PaperMeta:
    """The first entry of an arXiv API feed; :class:`LookupFailed` for an error entry."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise LookupFailed(f"arXiv API returned something that is not Atom XML ({exc})") from None
    if root.tag != f"{{{NS['atom']}}}feed":  # an HTML error page is no answer about the paper
        raise LookupFailed(f"arXiv API returned something that is not an Atom feed (<{root.tag}>)")
    entries = root.findall("atom:entry", NS)
    if not entries:
        raise LookupFailed(f"arXiv has no paper {arxiv_id}")
    entry = entries[0]
    entry_url = clean(entry.findtext("atom:id", "", NS))
    title = clean(entry.findtext("atom:title", "", NS))
    if "/api/errors" in entry_url or title == "Error":
        detail = clean(entry.findtext("atom:summary", "", NS))
        raise LookupFailed(f"arXiv has no paper {arxiv_id}: {detail or 'error entry'}")
    if not title:
        raise LookupFailed(f"arXiv returned no title for {arxiv_id}")
    authors = [clean(a.findtext("atom:name", "", NS)) for a in entry.findall("atom:author", NS)]
    published = entry.findtext("atom:published", "", NS)
    year = int(published[:4]) if re.match(r"^\d{4}-", published) else None
    found_id = entry_url.rsplit("/abs/", 1)[-1] if "/abs/" in entry_url else arxiv_id
    category = entry.find("arxiv:primary_category", NS)
    doi = clean(entry.findtext("arxiv:doi", "", NS)) or None
    journal = clean(entry.findtext("arxiv:journal_ref", "", NS)) or None
    return PaperMeta(
        title=title,
        authors=[a for a in authors if a],
        year=year,
        # arXiv knows no venue; a journal reference is the closest, otherwise it is a preprint.
        venue=journal or "arXiv preprint",
        abstract=_abstract(entry.findtext("atom:summary", "", NS)),
        arxiv=found_id,
        doi=doi,
        primary_category=category.get("term") if category is not None else None,
        url=f"https://arxiv.org/abs/{re.sub(r'v[0-9]+$', '', found_id)}",
        source=f"arxiv.org/abs/{found_id}",
    )


def fetch_or_fail(fetch: Fetch, url: str, timeout: float) -> bytes:
    """Call ``fetch``; any failure becomes :class:`LookupFailed` (the caller falls back)."""
    try:
        return fetch(url, timeout)
    except LookupFailed:
        raise
    except Exception as exc:  # an injected fetch may raise anything: it is still "lookup failed"
        raise LookupFailed(str(exc) or type(exc).__name__) from None


def lookup_arxiv(arxiv_id: str, fetch: Fetch = urllib_fetch, timeout: float = DEFAULT_TIMEOUT_S) -> PaperMeta:
    return parse_atom(fetch_or_fail(fetch, API.format(id=quote(arxiv_id, safe="/.")), timeout), arxiv_id)
