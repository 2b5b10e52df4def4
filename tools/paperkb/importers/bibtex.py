"""BibTeX exports (Zotero, JabRef) → :class:`NoteRecord` s, through bibtexparser."""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
from bibtexparser.bparser import BibTexParser
from bibtexparser.customization import convert_to_unicode, splitname

from .markdown_notes import ParseResult, Skipped
from .record import NoteRecord, arxiv_id, classify_link

_ARXIV_IN_TEXT = re.compile(r"arXiv:\s*([0-9]{4}\.[0-9]{4,5})", re.I)
_RAW_ENTRY = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s{}()]+)[ \t]*,", re.M)
_NOT_ENTRIES = {"comment", "string", "preamble"}


class BibtexError(Exception):
    pass


def _plain(value: str) -> str:
    """Braces protect case in BibTeX; they mean nothing to a reader."""
    return re.sub(r"\s+", " ", value.replace("{", "").replace("}", "")).strip()


def _authors(value: str) -> list[str]:
    names = []
    for raw in re.split(r"\s+and\s+", _plain(value)):
        if not raw.strip() or raw.strip().lower() == "others":
            continue
        try:
            parts = splitname(raw.strip(), strict_mode=False)
        except Exception:  # bibtexparser raises a bare InvalidName on odd input
            names.append(raw.strip())
            continue
        names.append(" ".join([*parts["first"], *parts["von"], *parts["last"], *parts["jr"]]).strip())
    return [n for n in names if n]


def _entry_line(text: str, key: str) -> int:
    match = re.search(r"@\w+\s*\{\s*" + re.escape(key) + r"\s*,", text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def record_from_entry(entry: dict[str, str], source: str, line: int) -> NoteRecord | None:
    title = _plain(entry.get("title", ""))
    if not title:
        return None
    record = NoteRecord(source, line, "paper", title, status="unread")
    if entry.get("author"):
        record.authors = _authors(entry["author"])
    year = re.search(r"\d{4}", entry.get("year", "") or entry.get("date", ""))
    if year:
        record.year = int(year.group(0))
    venue = _plain(entry.get("booktitle") or entry.get("journal") or entry.get("journaltitle") or "")
    arxiv = None
    if entry.get("eprint") and (entry.get("archiveprefix") or entry.get("eprinttype") or "").lower() == "arxiv":
        arxiv = re.sub(r"v\d+$", "", entry["eprint"].strip())
    if not arxiv and (m := _ARXIV_IN_TEXT.search(venue)):
        arxiv = m.group(1)
    if venue and not venue.lower().startswith(("arxiv", "corr")):
        record.venue = venue
    if entry.get("doi"):
        record.doi = entry["doi"].strip().removeprefix("https://doi.org/")
    url = (entry.get("url") or "").strip()
    if url:
        kind, value = classify_link(url)
        if kind == "arxiv":
            arxiv = arxiv or value
        else:
            record.links[kind] = value
    if arxiv or (url and arxiv_id(url)):
        record.links["arxiv"] = arxiv or arxiv_id(url) or ""
    keywords = entry.get("keywords") or entry.get("mendeley-tags") or ""
    record.sections = [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()]
    notes = entry.get("annote") or entry.get("note") or ""
    if notes and not _ARXIV_IN_TEXT.fullmatch(notes.strip()):
        record.notes = _plain(notes)
    if entry.get("abstract"):
        record.abstract = _plain(entry["abstract"])
    return record


def parse_text(text: str, source: str) -> ParseResult:
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False, interpolate_strings=True)
    parser.customization = convert_to_unicode
    try:
        database = bibtexparser.loads(text, parser=parser)
    except Exception as exc:  # the library raises several unrelated types on broken input
        raise BibtexError(f"{source}: not a BibTeX file: {exc}") from None
    result = ParseResult()
    # bibtexparser drops an entry it cannot read (an unbalanced brace) without a word:
    # every entry written in the file is either a record or reported as skipped.
    parsed_keys = {entry.get("ID") for entry in database.entries}
    for match in _RAW_ENTRY.finditer(text):
        if match.group(1).lower() not in _NOT_ENTRIES and match.group(2) not in parsed_keys:
            line = text.count("\n", 0, match.start()) + 1
            result.skipped.append(
                Skipped(f"{source}:{line}", match.group(2), "cannot be read (unbalanced braces or quotes?)")
            )
    for entry in database.entries:
        line = _entry_line(text, entry.get("ID", ""))
        record = record_from_entry(entry, source, line)
        if record is None:
            result.skipped.append(Skipped(f"{source}:{line}", entry.get("ID", "?"), "no title"))
        else:
            result.records.append(record)
    return result


def parse_file(path: str | Path) -> ParseResult:
    path = Path(path)
    return parse_text(path.read_text(encoding="utf-8"), path.name)
