"""Markdown note files → :class:`NoteRecord` s.

Shapes understood (all seen in real notes):

* link lists — ``[Title](url): note`` one per line, ``~~…~~`` around the ones not read yet;
* numbered lists — ``1. [Title](url)`` then a note paragraph (or a bold label and a
  finding, which makes a trick);
* bullet tables — ``- **Name Author et al. [[project](url)][[video](url)] —-1**`` with
  nested bullets as the note (bold = highlighted, ``—-N`` = reading priority N);
* headings as sections — a heading names a topic (it becomes a tag) or, when it is a
  paper's name like ``#### pix2pix（pix2pixHD）``, everything under it is that paper's note;
* loose snippets — ``Label:`` followed by a formula, or bare code lines, make a trick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import subpages as S
from . import text as T
from .record import URL, NoteRecord, classify_link, is_generic_link_text, name_key

_HEADING = re.compile(r"^(#{1,6})\s*(\S.*?)\s*#*\s*$")
_HR = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_NUMBERED = re.compile(r"^\s{0,3}(\d+(?:\.\d+)*)\.\s+(.*)$|^\s{0,3}(\d+(?:\.\d+)*)\.$")
_BULLET = re.compile(r"^[-*+]\s+(.*)$")
_LINK_LINE = re.compile(r"^\s{0,3}(?:~~|\*\*)?\s*\[[^\]]+\]\(" + URL + r"\)")
_LEAD_LINK = re.compile(
    r"^\s*(?P<strike>~~)?\s*(?P<bold>\*\*)?\s*\[(?P<title>(?:[^\]\n]|\n(?!\s*\n))+)\]\(\s*(?P<url>" + URL + r")\s*\)"
)
_BOLD_LINE = re.compile(r"^\s*\*\*(.+?)\*\*\s*$")
_BOLD_LABEL = re.compile(r"^\s*\*\*(.+?)\*\*\s*:?\s*")
_PRIORITY = re.compile(r"\s*(?:—|–|--)\s*-?\s*([1-9])\s*$")
_BRACKET_LINK = re.compile(r"\[\[([^\]]+)\]\(\s*(" + URL + r")\s*\)\]")
_EMPTY_BRACKET = re.compile(r"\[[A-Za-z ]+\](?!\()")
_ET_AL = re.compile(r"\s+[A-Z][\w'’-]+\s+et\s+al\.?\s*$")
_VENUE = re.compile(
    r"\(\s*(?P<venue>(?:ICLR|ICCV|CVPR|ECCV|NeurIPS|NIPS|ICML|AAAI|IJCAI|SIGGRAPH|TPAMI|WACV|BMVC|MICCAI)"
    r"\s*'?(?P<year>\d{4}|\d{2}))\s*\)"
)
_MD_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(\s*(" + URL + r")\s*\)")
_STRUCK = re.compile(r"~~.*?~~", re.S)
_PARENS = re.compile(r"[()（）]")
# A file says what its strikethrough means ("~~Strikethrough~~ means I have not gone through it");
# elsewhere a strikethrough retracts a claim and says nothing about reading.
_STRIKE_MEANS_UNREAD = re.compile(
    r"~~[^~\n]+~~\s*(?:means|=|:)\s*(?:I\s+)?(?:have\s+not|haven't|did\s+not|didn't|not)\s+"
    r"(?:gone\s+through|read|finished)", re.I)


@dataclass(frozen=True)
class Skipped:
    where: str
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what!r}: {self.reason}"


@dataclass
class ParseResult:
    records: list[NoteRecord] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # sub-pages of the file's own page that belong to no record (the catalog's note_files)
    subpages: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Heading:
    index: int
    level: int
    text: str


def _is_sentence(text: str) -> bool:
    return text.rstrip().endswith((".", "。")) or len(text.split()) > 8


def _name_like(text: str) -> bool:
    """'pix2pix（pix2pixHD）', 'MTCNN', 'RetinaFace' look like names; 'Image Translation' does not."""
    if T.has_cjk(text) or _is_sentence(text) or ":" in text:
        return False
    tokens = [t for t in re.split(r"[\s()（）]+", text) if t]
    if not tokens or len(tokens) > 4:
        return False
    return any(re.search(r"\d|[A-Z]{2}|[a-z][A-Z]", t) for t in tokens)


def _headings(lines: list[str]) -> list[_Heading]:
    found, fenced = [], False
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := _HEADING.match(line)):
            found.append(_Heading(index, len(m.group(1)), m.group(2).strip()))
    return found


def _has_items(lines: list[str]) -> bool:
    for line in lines:
        if _LINK_LINE.match(line) or _BULLET.match(line):
            return True
        m = _NUMBERED.match(line)
        if m and (m.group(2) or "").lstrip().startswith(("[", "~~[", "**")):
            return True
    return False


def _paper_headings(lines: list[str], headings: list[_Heading]) -> set[int]:
    """Indexes of headings that name papers: name-like, no name-like heading below, no list of items."""
    result = set()
    for pos, h in enumerate(headings):
        if h.level == 1 or not _name_like(h.text):
            continue
        end, below = len(lines), []
        for later in headings[pos + 1 :]:
            if later.level <= h.level:
                end = later.index
                break
            below.append(later)
        if any(_name_like(b.text) for b in below):
            continue
        if _has_items(lines[h.index + 1 : end]):
            continue
        result.add(h.index)
    return result


def _clean_title(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"(\S)\(", r"\1 (", text)  # 'Net(HRNet)' → 'Net (HRNet)'
    return text.strip("*~ `")


class _Parser:
    def __init__(self, text: str, source: str, base: Path | None) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.source = source
        self.base = base
        self.result = ParseResult()
        self.sections: list[tuple[int, str | None]] = []
        self.loose: NoteRecord | None = None
        self.loose_lines: list[str] = []
        self.subpage_links: list[dict[str, str]] = []  # standalone links to absent sub-pages
        self.strike_means_unread = bool(_STRIKE_MEANS_UNREAD.search("\n".join(self.lines[:10])))

    # -- helpers ------------------------------------------------------------
    def section_names(self) -> list[str]:
        return [text for _, text in self.sections if text]

    def skip(self, index: int, what: str, reason: str) -> None:
        self.result.skipped.append(Skipped(f"{self.source}:{index + 1}", what.strip()[:70], reason))

    def notes(self, lines: list[str]) -> str:
        return T.clean_notes(lines, self.base)

    def close_loose(self) -> None:
        if self.loose is not None:
            self.loose.notes = self.notes(self.loose_lines)
            self.result.records.append(self.loose)
        self.loose, self.loose_lines = None, []

    # -- the walk -----------------------------------------------------------
    def run(self) -> ParseResult:
        headings = _headings(self.lines)
        by_index = {h.index: h for h in headings}
        papers = _paper_headings(self.lines, headings)
        i, n = 0, len(self.lines)
        while i < n:
            line = self.lines[i]
            heading = by_index.get(i)
            if heading is not None:
                self.close_loose()
                self.sections = [(lv, t) for lv, t in self.sections if lv < heading.level]
                if heading.index in papers:
                    i = self.paper_heading(heading, headings)
                    continue
                keep = heading.level > 1 and not _is_sentence(heading.text)
                self.sections.append((heading.level, heading.text if keep else None))
                i += 1
            elif _HR.match(line):
                self.close_loose()
                i += 1
            elif _LINK_LINE.match(line):
                self.close_loose()
                i = self.link_item(i)
            elif _NUMBERED.match(line):
                self.close_loose()
                i = self.numbered_item(i)
            elif _BULLET.match(line):
                self.close_loose()
                i = self.bullet_item(i)
            elif not line.strip():
                i += 1
            else:
                i = self.paragraph(i)
        self.close_loose()
        self.place_subpages()
        return self.result

    def is_subpage(self, target: str) -> bool:
        """A relative link to a page file the export does not contain."""
        if T.is_remote(target) or target.startswith(("mailto:", "#")) or T.local_exists(target, self.base):
            return False
        return S.path_problem(target) is None

    def place_subpages(self) -> None:
        """A Notion export lists a page's sub-pages as bare links. Each belongs to the
        record that already links it (its ``[notes]`` link) or that has its name; the
        rest belong to the file's page itself."""
        papers = [r for r in self.result.records if r.kind == "paper" and not r.cited]
        for item in self.subpage_links:
            owner = next((r for r in papers for s in r.subpages if s["path"] == item["path"]), None)
            if owner is not None:
                for s in owner.subpages:
                    if s["path"] == item["path"]:
                        s["title"] = item["title"]  # the page's own title, as the list writes it
                continue
            key = name_key(item["title"])
            owner = next((r for r in papers if name_key(r.title) == key), None) if len(key) >= 3 else None
            if owner is not None:
                owner.subpages.append(dict(item))
            elif all(s["path"] != item["path"] for s in self.result.subpages):
                self.result.subpages.append(dict(item))

    def _item_end(self, start: int, *, indented_only: bool) -> int:
        """First line after the item that starts at ``start``."""
        j = start + 1
        n = len(self.lines)
        while j < n:
            line = self.lines[j]
            if _HEADING.match(line) or _HR.match(line) or _NUMBERED.match(line) and not line[:1].isspace():
                break
            if _LINK_LINE.match(line) or (_BULLET.match(line) and not line[:1].isspace()):
                break
            if not line.strip():
                k = j
                while k < n and not self.lines[k].strip():
                    k += 1
                if k >= n or not self.lines[k][:1].isspace():
                    break
                j = k
                continue
            if indented_only and not line[:1].isspace():
                break
            j += 1
        return j

    def paper_heading(self, heading: _Heading, headings: list[_Heading]) -> int:
        names = [p.strip() for p in _PARENS.split(heading.text) if p.strip()]
        records = [
            NoteRecord(self.source, heading.index + 1, "paper", name, sections=self.section_names()) for name in names
        ]
        lines_for: dict[int, list[str]] = {id(r): [] for r in records}
        current = records[0]
        end = len(self.lines)
        for later in headings:
            if later.index > heading.index and later.level <= heading.level:
                end = later.index
                break
        for j in range(heading.index + 1, end):
            line = self.lines[j]
            bold = _BOLD_LINE.match(line)
            if bold:
                target = self._match_name(bold.group(1), records)
                if target is not None:
                    current = target
                    continue
            lines_for[id(current)].append(line)
        for record in records:
            record.notes = self.notes(lines_for[id(record)])
            self.result.records.append(record)
        return end

    @staticmethod
    def _match_name(label: str, records: list[NoteRecord]) -> NoteRecord | None:
        key = name_key(label)
        if len(key) < 3:
            return None
        for record in records:
            if name_key(record.title) == key:
                return record
        for record in records:  # '**SRGAN**' under '#### GAN-SRGAN（ESRGAN）'
            if name_key(record.title).endswith(key):
                record.title = label.strip()
                return record
        return None

    def link_item(self, i: int) -> int:
        end = self._item_end(i, indented_only=False)
        # consecutive link lines are separate items; plain lines after one are its note
        self.item(i, self.lines[i].strip(), self.lines[i + 1 : end])
        return end

    def numbered_item(self, i: int) -> int:
        m = _NUMBERED.match(self.lines[i])
        assert m is not None
        first = (m.group(2) or "").strip()
        end = self._item_end(i, indented_only=False)
        more = self.lines[i + 1 : end]
        if not first and not any(line.strip() for line in more):
            self.skip(i, self.lines[i], "empty list item")
            return end
        self.item(i, first, more, numbered=True)
        return end

    def bullet_item(self, i: int) -> int:
        m = _BULLET.match(self.lines[i])
        assert m is not None
        end = self._item_end(i, indented_only=True)
        self.item(i, m.group(1).strip(), self.lines[i + 1 : end])
        return end

    def paragraph(self, i: int) -> int:
        j = i
        while j < len(self.lines) and self.lines[j].strip() and not (
            _HEADING.match(self.lines[j]) or _HR.match(self.lines[j]) or _LINK_LINE.match(self.lines[j])
            or _NUMBERED.match(self.lines[j]) or _BULLET.match(self.lines[j])
        ):
            j += 1
        para = self.lines[i:j]
        code = [line for line in para if T.looks_like_code(line)]
        label = para[0].strip()
        if code and len(para) > 1 and label.endswith((":", "：")) and not T.looks_like_code(label):
            self.close_loose()
            title = label.rstrip(":：").strip()
            self.loose = NoteRecord(self.source, i + 1, "trick", title, sections=self.section_names())
            self.loose_lines = para[1:]
        elif code and self.loose is None:
            self.loose = NoteRecord(self.source, i + 1, "trick", code[0].strip(), sections=self.section_names())
            self.loose_lines = list(para)
        elif self.loose is not None:
            self.loose_lines += ["", *para]
        else:
            self.skip(i, " ".join(line.strip() for line in para), "prose outside any entry")
        return j

    # -- one list item ------------------------------------------------------
    def item(self, i: int, first: str, more: list[str], numbered: bool = False) -> None:
        full = "\n".join([first, *more])
        lead = _LEAD_LINK.match(full)
        if lead:
            self.linked_item(i, full, lead)
        else:
            self.named_item(i, first, more, numbered)

    def linked_item(self, i: int, full: str, lead: re.Match[str]) -> None:
        title = _clean_title(lead.group("title"))
        url = lead.group("url")
        rest = full[lead.end() :]
        head_tail, _, tail = rest.partition("\n")
        struck = lead.group("strike") is not None
        if struck:
            head_tail = head_tail.replace("~~", "", 1) if "~~" in head_tail else head_tail
            if "~~" in head_tail and head_tail.rstrip().endswith("~~"):
                head_tail = head_tail.rstrip()[:-2]
        if lead.group("bold"):
            head_tail = head_tail.replace("**", "", 1)
        record = NoteRecord(self.source, i + 1, "paper", title, sections=self.section_names())
        record.highlight = lead.group("bold") is not None
        if struck and self.strike_means_unread:
            record.status = "unread"
        venue = _VENUE.search(head_tail)
        if venue:
            year = _full_year(venue.group("year"))
            record.venue = re.sub(r"\s*'?\d+$", "", venue.group("venue")).strip() + " " + year
            record.year = int(year)
            head_tail = head_tail[: venue.start()] + head_tail[venue.end() :]
        head_tail = re.sub(r"^\s*[:：]\s*", "", head_tail)
        kind, value = classify_link(url)
        if T.is_remote(url) or kind == "arxiv":
            record.links[kind] = value
        note_lines = [head_tail.strip(), *tail.split("\n")] if tail else [head_tail.strip()]
        record.notes = self.notes(note_lines)
        if not record.links and not record.notes:
            if self.is_subpage(url) and not struck and not lead.group("bold"):
                raw = lead.group("title")
                self.subpage_links.append({"title": raw, "path": url})
            else:
                self.skip(i, title, "a link to a page that is not present, and no note")
            return
        if self.is_subpage(url):
            record.subpages.append({"title": S.title_from_path(url), "path": url})
        self.result.records.append(record)
        self.attach_links(record, i)

    def named_item(self, i: int, first: str, more: list[str], numbered: bool) -> None:
        head = first.strip()
        bold_whole = bool(re.match(r"^\*\*(?!.*\*\*.+\*\*).+\*\*$", head))
        if bold_whole:
            head = head[2:-2].strip()
        priority = None
        if m := _PRIORITY.search(head):
            priority = int(m.group(1))
            head = head[: m.start()]
        labelled = [(label.strip(), url) for label, url in _BRACKET_LINK.findall(head)]
        name = _EMPTY_BRACKET.sub("", _BRACKET_LINK.sub("", head)).replace("`", "").strip()
        et_al = _ET_AL.search(name)
        if et_al:
            name = name[: et_al.start()].strip()
        # In a bullet table a short name is a paper; a numbered list of findings
        # ('9.5. **CycleGAN with masking**') needs a paper's marks to count as one.
        paperish = bool(labelled or et_al or priority) or (
            not numbered and len(name.split()) <= 6 and not re.search(r"[.:;,!?。：]", name)
        )
        if paperish:
            record = NoteRecord(self.source, i + 1, "paper", _clean_title(name), sections=self.section_names())
            record.priority = priority  # only a '—-N' mark is a priority
            record.highlight = bold_whole  # bold is a highlight
            for label, url in labelled:
                if T.is_remote(url):
                    kind, value = classify_link(url, label)
                    record.links.setdefault(kind, value)
                elif self.is_subpage(url) and all(s["path"] != url for s in record.subpages):
                    # '[[notes](Page%20<id>/pix2pix%20<id>.md)]': the entry's own notes page
                    record.subpages.append({"title": S.title_from_path(url), "path": url})
            record.notes = self.notes(more)
        else:
            label = _BOLD_LABEL.match(head)
            if label:
                title = label.group(1).strip().rstrip(":：").strip()
                with_colon = label.group(0).rstrip().endswith((":", "：")) or label.group(1).rstrip().endswith(":")
                # '**Label**: finding' drops the label; '**Mixup** technique …' is a sentence, kept whole
                rest = head[label.end() :] if with_colon or bold_whole else head
            else:
                title, rest = _first_sentence(head), head
            record = NoteRecord(self.source, i + 1, "trick", _clean_title(title), sections=self.section_names())
            record.notes = self.notes([rest, *more])
        self.result.records.append(record)
        self.attach_links(record, i)

    def attach_links(self, record: NoteRecord, i: int) -> None:
        """Links inside a note: a repository is the paper's code, an arXiv paper is a cited entry."""
        struck_spans = [m.span() for m in _STRUCK.finditer(record.notes)]
        for m in _MD_LINK.finditer(record.notes):
            label, url = m.group(1), m.group(2)
            kind, value = classify_link(url, label)
            if kind == "code" and record.kind == "paper":
                record.links.setdefault("code", value)
            elif kind == "arxiv" and value != record.links.get("arxiv"):
                title = label.strip()
                if is_generic_link_text(title):
                    before = record.notes[max(0, m.start() - 120) : m.start()]
                    before = re.split(r"[.;。]\s", before)[-1]
                    bolds = re.findall(r"\*\*(.+?)\*\*", before)
                    title = bolds[-1].strip() if bolds else f"arXiv {value}"
                cited = NoteRecord(self.source, i + 1, "paper", _clean_title(title), sections=record.sections)
                cited.links["arxiv"] = value
                cited.cited = True  # cited for a finding or adopted: the default status is read
                if self.strike_means_unread and any(a <= m.start() < b for a, b in struck_spans):
                    cited.status = "unread"
                self.result.records.append(cited)


def _full_year(year: str) -> str:
    return year if len(year) == 4 else f"20{year}"


def _first_sentence(text: str, limit: int = 80) -> str:
    plain = re.sub(r"[*~`]", "", text).strip()
    sentence = re.split(r"(?<=[.!?])\s", plain, maxsplit=1)[0].rstrip(".")
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def parse_text(text: str, source: str, base: Path | None = None) -> ParseResult:
    """Records in ``text``; ``base`` is the folder relative links and images are resolved from."""
    return _Parser(text, source, base).run()


def parse_file(path: str | Path) -> ParseResult:
    path = Path(path)
    return parse_text(path.read_text(encoding="utf-8"), path.name, path.parent)
