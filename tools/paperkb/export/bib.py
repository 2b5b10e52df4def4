"""BibTeX for the catalog's papers, written with bibtexparser.

Keys are the entry ids: unique by the schema and stable as long as the page URL is,
so a key cited in a draft keeps working after the catalog grows.
"""

from __future__ import annotations

import re

from bibtexparser.bibdatabase import BibDatabase
from bibtexparser.bwriter import BibTexWriter

from ..catalog import Entry

_JOURNAL = re.compile(r"journal|transactions|letters|magazine|\bTPAMI\b|\bIJCV\b|\bJMLR\b", re.I)
# Characters that end or break a braced BibTeX value, or mean something to LaTeX.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    **{c: "\\" + c for c in "%&#$_"},
}
_LATEX_RE = re.compile(r"[\\{}%&#$_]")
_CONTROL = re.compile(r"\s+")


def bib_key(entry: Entry) -> str:
    return entry.id


def _value(text: object) -> str:
    return _LATEX_RE.sub(lambda m: _LATEX[m.group()], _CONTROL.sub(" ", str(text)).strip())


def _url(text: str) -> str:
    # URLs and DOIs keep their characters; only the ones that would end the value go.
    return re.sub(r"[\s{}\\%#]", "", text)


def bib_record(entry: Entry) -> dict[str, str]:
    venue = entry.venue
    arxiv = entry.links.get("arxiv")
    if venue and _JOURNAL.search(venue):
        kind, place = "article", {"journal": _value(venue)}
    elif venue and not venue.lower().startswith("arxiv"):
        kind, place = "inproceedings", {"booktitle": _value(venue)}
    else:
        kind, place = (
            ("article" if arxiv else "misc"),
            ({"journal": f"arXiv preprint arXiv:{_url(arxiv)}"} if arxiv else {}),
        )
    record = {"ENTRYTYPE": kind, "ID": bib_key(entry), "title": "{" + _value(entry.title) + "}", **place}
    if entry.authors:
        record["author"] = " and ".join(_value(a) for a in entry.authors)
    if entry.year:
        record["year"] = str(entry.year)
    if entry.doi:
        record["doi"] = _url(entry.doi)
    if arxiv:
        record["eprint"] = _url(arxiv)
        record["archiveprefix"] = "arXiv"
    url = entry.links.get("url") or entry.links.get("pdf")
    if url:
        record["url"] = _url(url)
    return record


def to_bibtex(entries: list[Entry]) -> str:
    """One BibTeX record per paper (tricks and questions have nothing to cite)."""
    db = BibDatabase()
    db.entries = [bib_record(e) for e in entries if e.kind == "paper"]
    writer = BibTexWriter()
    writer.order_entries_by = None  # catalog order
    writer.display_order = ["title", "author", "journal", "booktitle", "year", "doi", "eprint", "archiveprefix", "url"]
    return writer.write(db)
