"""Match records against the catalog and decide, for each, to add, merge or skip.

The same paper met twice (same arXiv id, DOI, link, or name) becomes one entry whose
notes, links, tags and sources are merged. Re-importing a file that is already in an
entry's ``sources`` changes nothing, so an import can be run again safely.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ..catalog.model import Catalog
from ..catalog.summary import bare_arxiv
from . import text as T
from .record import NoteRecord, name_key, slugify, suggest_id, title_keys

STATUS_RANK = {"unread": 0, "reading": 1, "read": 2}
DEFAULT_REFIMPL_REASON = "no reference implementation yet"
_URL_KINDS = ("code", "project", "url", "pdf")
# headings that organise a page without naming a topic
STRUCTURAL_HEADINGS = {"table", "contents", "index", "notes", "misc", "other", "others", "todo", "其他", "目录", "杂项"}
_TRICK_TITLE_MATCH = 0.75  # share of title word stems two tricks must have in common


@dataclass
class Action:
    verb: str  # "add", "merge" or "skip"
    record: NoteRecord | None
    entry_id: str | None
    detail: str = ""

    def __str__(self) -> str:
        where = self.record.where if self.record else ""
        title = f" {self.record.title!r}" if self.record else ""
        target = f" → '{self.entry_id}'" if self.entry_id else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.verb:<5} {where}{title}{target}{detail}"


@dataclass
class Plan:
    entries: list[dict[str, Any]]  # every entry after the import, existing ones first
    existing: int  # how many of ``entries`` were in the catalog before
    changed: set[int] = field(default_factory=set)  # indexes of existing entries that changed
    new_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    defaulted: int = 0  # new entries whose status is the default (the notes do not say)
    # note file → its page's sub-pages: the whole new ``note_files`` mapping, when it changed
    note_files: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    note_file_pages_added: int = 0

    @property
    def added(self) -> list[dict[str, Any]]:
        return self.entries[self.existing :]

    @property
    def has_changes(self) -> bool:
        return bool(self.changed or self.added or self.new_tags or self.note_files)

    def count(self, verb: str) -> int:
        return sum(1 for a in self.actions if a.verb == verb)


def _norm_url(url: str) -> str:
    url = re.sub(r"^https?://(www\.)?", "", url.strip().lower())
    return url.rstrip("/")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def _code_lines(notes: str) -> list[str]:
    lines, inside = [], False
    for line in notes.split("\n"):
        if line.strip().startswith("```"):
            inside = not inside
        elif inside and line.strip():
            lines.append(line)
    return lines


def _stems(title: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", title.casefold()) if len(w) > 2 or w.isdigit()}


def _ends_line(text: str) -> str:
    """Notes end with one newline, as a YAML block scalar reads back."""
    return text.rstrip("\n") + "\n"


def default_status(record: NoteRecord) -> str:
    """The status the notes give, else the default (README, "Status when the notes do not say"):
    ``read`` when the author wrote about the entry or cites it inside a note (for a finding,
    or as a technique adopted), ``unread`` when it is only named or linked."""
    if record.status:
        return record.status
    return "read" if record.notes.strip() or record.cited else "unread"


class _Index:
    """Where each arXiv id, DOI, link and name key points (entry positions)."""

    def __init__(self) -> None:
        self.arxiv: dict[str, int] = {}
        self.doi: dict[str, int] = {}
        self.url: dict[str, int] = {}
        self.key: dict[str, int] = {}

    def add(self, pos: int, entry: dict[str, Any]) -> None:
        if entry.get("kind") != "paper":
            return
        links = entry.get("links") or {}
        if arxiv := bare_arxiv(links.get("arxiv")):
            self.arxiv.setdefault(arxiv, pos)
        if entry.get("doi"):
            self.doi.setdefault(str(entry["doi"]).lower(), pos)
        for kind in _URL_KINDS:
            if links.get(kind):
                self.url.setdefault(_norm_url(links[kind]), pos)
        keys = title_keys(str(entry.get("title", "")))
        if len(name_key(str(entry.get("id", "")))) >= 3:
            keys.add(name_key(str(entry["id"])))
        for key in keys:
            self.key.setdefault(key, pos)


class Planner:
    def __init__(self, catalog: Catalog, today: str) -> None:
        self.entries = [copy.deepcopy(e.data) for e in catalog.entries]
        self.existing = len(self.entries)
        self.initial_sources = [set(e.get("sources") or []) for e in self.entries]
        self.tags = {slug: {"en": t.en, "zh": t.zh} for slug, t in catalog.tags.items()}
        self.plan = Plan(self.entries, self.existing)
        self.today = today
        self.index = _Index()
        for pos, entry in enumerate(self.entries):
            self.index.add(pos, entry)
        self.ids = {str(e.get("id")) for e in self.entries}

    # -- tags -----------------------------------------------------------------
    def tag_for(self, heading: str) -> str | None:
        text = re.split(r"[:：]", heading, maxsplit=1)[0].strip(" #*")
        if not text or text.casefold() in STRUCTURAL_HEADINGS:
            return None
        for slug, labels in self.tags.items():
            if text == labels["zh"] or name_key(text) in (name_key(labels["en"]), name_key(slug)):
                return slug
        if not re.search(r"[A-Za-z]", text):
            return None  # a Chinese heading with no declared tag: no slug can be made from it
        slug = slugify(text)
        if slug in self.tags:
            return slug
        label = text[0].upper() + text[1:]
        self.tags[slug] = {"en": label, "zh": label}
        self.plan.new_tags[slug] = self.tags[slug]
        self.plan.warnings.append(f"new tag '{slug}' ({label}): its Chinese label is a copy of the English one")
        return slug

    def tags_for(self, record: NoteRecord) -> tuple[list[str], list[str]]:
        tags, unmapped = [], []
        for heading in record.sections:
            slug = self.tag_for(heading)
            if slug is None:
                unmapped.append(heading)
            elif slug not in tags:
                tags.append(slug)
        return tags, unmapped

    # -- matching ---------------------------------------------------------------
    def find(self, record: NoteRecord) -> int | None:
        if record.kind == "trick":
            return self._find_trick(record)
        arxiv = bare_arxiv(record.links.get("arxiv"))
        if arxiv and arxiv in self.index.arxiv:
            return self.index.arxiv[arxiv]
        if record.doi and record.doi.lower() in self.index.doi:
            return self.index.doi[record.doi.lower()]
        candidates = [self.index.url.get(_norm_url(record.links[k])) for k in _URL_KINDS if record.links.get(k)]
        candidates += [self.index.key.get(k) for k in title_keys(record.title)]
        for pos in candidates:
            if pos is None:
                continue
            other = bare_arxiv((self.entries[pos].get("links") or {}).get("arxiv"))
            if arxiv and other and other != arxiv:
                continue  # same name, different paper (a journal version, say)
            return pos
        return None

    def _find_trick(self, record: NoteRecord) -> int | None:
        stems = _stems(record.title)
        code = [_squash(line) for line in _code_lines(record.notes)]
        notes = _squash(record.notes)
        for pos, entry in enumerate(self.entries):
            if entry.get("kind") != "trick":
                continue
            theirs = _stems(str(entry.get("title", "")))
            if stems and theirs and len(stems & theirs) / len(stems | theirs) >= _TRICK_TITLE_MATCH:
                return pos
            text = _squash(" ".join((entry.get("notes") or {}).values()))
            if code and all(line in text for line in code):
                return pos
            if notes and len(notes) > 20 and notes in text:
                return pos
        return None

    # -- applying ---------------------------------------------------------------
    def new_id(self, title: str) -> str:
        base = suggest_id(title)
        candidate, n = base, 2
        while candidate in self.ids:
            candidate, n = f"{base}-{n}", n + 1
        self.ids.add(candidate)
        return candidate

    def add(self, record: NoteRecord) -> None:
        tags, unmapped = self.tags_for(record)
        entry: dict[str, Any] = {"id": self.new_id(record.title), "kind": record.kind, "title": record.title}
        for key in ("authors", "year", "venue", "doi"):
            value = getattr(record, key)
            if value:
                entry[key] = value
        if record.links:
            entry["links"] = dict(record.links)
        entry["tags"] = tags
        entry["status"] = default_status(record)
        if not record.status:
            self.plan.defaulted += 1
        if record.priority is not None:
            entry["priority"] = record.priority
        if record.highlight:
            entry["highlight"] = True
        if record.notes:
            entry["notes"] = {T.language(record.notes): _ends_line(record.notes)}
        if record.subpages:
            entry["subpages"] = [dict(s) for s in record.subpages]
        if record.abstract:
            entry["abstract"] = _ends_line(record.abstract)  # the emitter writes a block: it ends a line
        entry["refimpl"] = {"none": DEFAULT_REFIMPL_REASON}
        entry["sources"] = [record.source]
        entry["added"] = self.today
        self.entries.append(entry)
        self.index.add(len(self.entries) - 1, entry)
        detail = f"new {record.kind}"
        if unmapped:
            detail += f"; headings with no tag: {', '.join(unmapped)}"
        self.plan.actions.append(Action("add", record, entry["id"], detail))

    def merge(self, pos: int, record: NoteRecord) -> None:
        entry = self.entries[pos]
        if pos < self.existing and record.source in self.initial_sources[pos]:
            self.plan.actions.append(Action("skip", record, entry["id"], f"already imported from {record.source}"))
            return
        before = copy.deepcopy(entry)
        changes: list[str] = []
        if record.notes:
            lang = T.language(record.notes)
            notes = entry.setdefault("notes", {})
            old = notes.get(lang, "")
            if _squash(record.notes) not in _squash(old):
                merged = (old.rstrip("\n") + "\n\n" + record.notes) if old.strip() else record.notes
                notes[lang] = _ends_line(merged)
                changes.append(f"notes.{lang}")
        known = {s.get("path") for s in entry.get("subpages") or []}
        new_pages = [dict(s) for s in record.subpages if s["path"] not in known]
        if new_pages:
            entry["subpages"] = [*(entry.get("subpages") or []), *new_pages]
            changes.append("subpages")
        links = entry.setdefault("links", {})
        for kind, value in record.links.items():
            if kind not in links:
                links[kind] = value
                changes.append(f"links.{kind}")
        if not links:
            del entry["links"]
        tags, _ = self.tags_for(record)
        new_tags = [t for t in tags if t not in (entry.get("tags") or [])]
        if new_tags:
            entry["tags"] = [*(entry.get("tags") or []), *new_tags]
            changes.append("tags +" + ",".join(new_tags))
        status = default_status(record)
        if STATUS_RANK[status] > STATUS_RANK.get(str(entry.get("status")), 0):
            entry["status"] = status
            changes.append(f"status {status}")
        if record.highlight and entry.get("highlight") is not True:
            entry["highlight"] = True
            changes.append("highlight")
        if record.priority is not None and (entry.get("priority") is None or record.priority < entry["priority"]):
            entry["priority"] = record.priority
            changes.append(f"priority {record.priority}")
        for key in ("authors", "year", "venue", "doi", "abstract"):
            value = getattr(record, key)
            if value and not entry.get(key):
                entry[key] = _ends_line(value) if key == "abstract" else value
                changes.append(key)
        if record.source not in (entry.get("sources") or []):
            entry["sources"] = [*(entry.get("sources") or []), record.source]
            changes.append("sources")
        if entry != before and pos < self.existing:
            self.plan.changed.add(pos)
        self.index.add(pos, entry)
        self.plan.actions.append(Action("merge", record, entry["id"], ", ".join(changes) or "nothing new"))

    def take(self, record: NoteRecord) -> None:
        """Add or merge ``record``; when the result is not a valid entry (a bad DOI, a
        link that is not a URL…), undo it and report the record as skipped, so one
        bad record never stops the others."""
        pos = self.find(record)
        count, ids, tags, new_tags = len(self.entries), set(self.ids), dict(self.tags), dict(self.plan.new_tags)
        before = copy.deepcopy(self.entries[pos]) if pos is not None else None
        was_changed = pos in self.plan.changed
        if pos is None:
            self.add(record)
            pos = len(self.entries) - 1
        else:
            self.merge(pos, record)
        problem = self.problem(self.entries[pos]) if len(self.entries) > pos else None
        if problem is None:
            return
        if before is None:
            del self.entries[count:]
        else:
            self.entries[pos] = before
            if not was_changed:
                self.plan.changed.discard(pos)
        self.ids, self.tags, self.plan.new_tags = ids, tags, new_tags
        self.index = _Index()
        for i, entry in enumerate(self.entries):
            self.index.add(i, entry)
        self.plan.actions[-1] = Action("skip", record, None, problem)

    def problem(self, entry: dict[str, Any]) -> str | None:
        """The first problem the validator finds in ``entry`` alone, or None."""
        from ..catalog.model import Tag
        from ..catalog.validate import validate_entry

        tags = {slug: Tag(slug, t["en"], t["zh"]) for slug, t in {**self.tags, **self.plan.new_tags}.items()}
        report = validate_entry(entry, tags=tags, check_refimpl=False)
        return report.errors[0].message if report.errors else None


def plan_note_files(plan: Plan, catalog: Catalog, file_subpages: dict[str, list[dict[str, str]]]) -> None:
    """Sub-pages of each file's own page (``note_files:``): new ones are added, known ones kept.
    A file is listed only when some entry names it in its sources (the validator's rule).
    When anything is new, ``plan.note_files`` is the whole new mapping."""
    sources = {s for e in plan.entries for s in e.get("sources") or []}
    merged = {name: [dict(s) for s in items] for name, items in catalog.note_files.items()}
    added = 0
    for name, items in file_subpages.items():
        if name not in sources:
            plan.warnings.append(f"{name}: the sub-pages of its page belong to no entry's source; not imported")
            continue
        have = merged.setdefault(name, [])
        for item in items:
            if all(s.get("path") != item["path"] for s in have):
                have.append(dict(item))
                added += 1
    if added:
        plan.note_files = {name: items for name, items in merged.items() if items}
        plan.note_file_pages_added = added


def plan_import(
    catalog: Catalog,
    records: list[NoteRecord],
    *,
    today: str,
    file_subpages: dict[str, list[dict[str, str]]] | None = None,
) -> Plan:
    """What importing ``records`` into ``catalog`` would do; the catalog itself is not touched.
    ``file_subpages`` maps a note file to the sub-pages of its own page (belonging to no record)."""
    planner = Planner(catalog, today)
    for record in records:
        planner.take(record)
    if file_subpages:
        plan_note_files(planner.plan, catalog, file_subpages)
    return planner.plan
