"""One paper or trick found in a note file, before it is matched against the catalog."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlparse

_ARXIV_URL = re.compile(
    r"arxiv\.org/(?:abs|pdf)/([0-9]{4}\.[0-9]{4,5}|[a-z-]+(?:\.[A-Z]{2})?/[0-9]{7})(v[0-9]+)?", re.I
)
_ACRONYM = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]*)\s*\)\s*$")
# a URL in markdown may hold one level of parentheses: 'CycleGAN%20(Unsupervised)%20….md'
URL = r"(?:[^()\s]|\([^()\s]*\))+"
_GENERIC_LINK_TEXT = {"arxiv", "paper", "source paper", "here", "link", "pdf", "project", "projet", "code", "notes"}


@dataclass
class NoteRecord:
    """What one note says about one paper or trick."""

    source: str  # file name, as written to the entry's `sources`
    line: int  # 1-based line in the source file
    kind: str  # "paper" or "trick"
    title: str
    links: dict[str, str] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)  # enclosing headings, outermost first
    notes: str = ""  # markdown, one language or mixed
    status: str | None = None  # None: the importer's default for the kind of mention
    priority: int | None = None
    highlight: bool = False  # bold in a Notion export: the author highlighted it (not a priority)
    cited: bool = False  # only mentioned inside another entry's note
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    abstract: str | None = None
    # Notion sub-pages of this entry that the export does not contain: {title, path}, verbatim
    subpages: list[dict[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def arxiv_id(url: str) -> str | None:
    """The bare arXiv id of an arxiv.org abs/pdf URL (version suffix dropped)."""
    match = _ARXIV_URL.search(url)
    return match.group(1) if match else None


def classify_link(url: str, label: str = "") -> tuple[str, str]:
    """(links key, value) for a URL: an arXiv URL gives its id, a GitHub URL is code, and so on."""
    label = label.strip().lower()
    found = arxiv_id(url)
    if found:
        return "arxiv", found
    host = urlparse(url).netloc.lower().removeprefix("www.")
    path = urlparse(url).path.lower()
    if host in ("youtube.com", "youtu.be", "vimeo.com") or label == "video":
        return "video", url
    if path.endswith(".pdf") or "/pdf" in path and host == "openreview.net":
        return "pdf", url
    if label in ("project", "projet"):
        return "project", url
    if host == "github.com" or label == "code":
        return "code", url
    return "url", url


def is_generic_link_text(text: str) -> bool:
    return text.strip().lower() in _GENERIC_LINK_TEXT


def name_key(text: str) -> str:
    """Letters and digits only, lower-case: 'Cycle GAN' and 'cycleGAN' meet at 'cyclegan'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def title_keys(title: str) -> set[str]:
    """Keys a short name can match: the whole title, its acronym in parentheses, its one-word prefix.

    'Face Swapping GAN(FSGAN)' gives {'faceswappingganfsgan', 'fsgan'}: the title
    without its acronym is deliberately *not* a key, or the FSGAN paper would swallow
    a repository called 'Face swapping GAN'.
    """
    title = unicodedata.normalize("NFKC", title).strip()
    keys = {name_key(title)}
    acronym = _ACRONYM.search(title)
    if acronym:
        keys.add(name_key(acronym.group(1)))
    head, sep, _ = title.partition(":")
    if sep and len(head.split()) == 1:
        keys.add(name_key(head))
    return {k for k in keys if len(k) >= 3}


def slugify(text: str, max_words: int = 6) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:max_words])


def suggest_id(title: str) -> str:
    """A short kebab-case id: the acronym in parentheses, a one-word prefix, or the first words."""
    title = title.strip()
    acronym = _ACRONYM.search(title)
    if acronym:
        return slugify(acronym.group(1))
    head, sep, _ = title.partition(":")
    if sep and len(head.split()) == 1 and slugify(head):
        return slugify(head)
    stop = {"a", "an", "the", "of", "for", "and", "in", "on", "with", "to", "using", "via", "is"}
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()  # Huszár → Huszar
    words = [w for w in re.findall(r"[A-Za-z0-9]+", folded) if w.lower() not in stop]
    return slugify(" ".join(words), max_words=5) or "entry"
