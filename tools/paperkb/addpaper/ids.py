"""What the user typed → an arXiv id or a DOI; a title → a catalog id and a module name."""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

# New style 1703.06868 (4 or 5 digits after the dot), old style cs/0112017 or math.GT/0309136.
_NEW = r"\d{4}\.\d{4,5}"
_OLD = r"[a-z-]+(?:\.[A-Z]{2})?/\d{7}"
_ARXIV = re.compile(rf"^(?P<id>{_NEW}|{_OLD})(?:v(?P<version>\d+))?$")
_ARXIV_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>(?:{_NEW}|{_OLD})(?:v\d+)?)(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_DOI = re.compile(r"^(10\.\d{4,9}/\S+)$")
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/(10\.\d{4,9}/\S+)$", re.IGNORECASE)
# arXiv mints DOIs for its papers: 10.48550/arXiv.1703.06868 is the arXiv paper itself.
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)

_STOPWORDS = frozenset(
    ("a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "the", "to",
     "via", "with", "without", "towards", "toward", "using")
)


class BadIdentifier(ValueError):
    pass


@dataclass(frozen=True)
class Identifier:
    kind: str  # "arxiv" or "doi"
    value: str  # arXiv id without version, or the DOI as written (case kept)
    version: int | None = None  # arXiv version, when one was given

    @property
    def versioned(self) -> str:
        return f"{self.value}v{self.version}" if self.version else self.value

    def __str__(self) -> str:
        return f"arXiv:{self.versioned}" if self.kind == "arxiv" else f"doi:{self.value}"


def _arxiv(text: str) -> Identifier | None:
    match = _ARXIV.match(text)
    if not match:
        return None
    value = match.group("id")
    if "/" not in value:  # YYMM.NNNN until 2014, YYMM.NNNNN from 2015
        yymm, number = value.split(".")
        if not 1 <= int(yymm[2:]) <= 12 or len(number) != (5 if yymm >= "1501" else 4):
            return None
    version = match.group("version")
    return Identifier("arxiv", match.group("id"), int(version) if version else None)


def parse_identifier(text: str) -> Identifier:
    """Accept ``1703.06868``, ``arXiv:1703.06868v2``, an arxiv.org abs/pdf URL,
    ``10.1109/ICCV.2017.167``, ``doi:…`` or a doi.org URL."""
    raw = text.strip()
    if not raw:
        raise BadIdentifier("empty paper identifier")
    candidate = raw
    if candidate[:6].lower() == "arxiv:":
        candidate = candidate[6:].strip()
    url = _ARXIV_URL.match(candidate)
    if url:
        candidate = url.group("rest")
    found = _arxiv(candidate)
    if found:
        return found
    doi = raw
    if doi[:4].lower() == "doi:":
        doi = doi[4:].strip()
    doi_url = _DOI_URL.match(doi)
    if doi_url:
        doi = doi_url.group(1)
    if _DOI.match(doi):
        arxiv_doi = _ARXIV_DOI.match(doi)
        if arxiv_doi and _arxiv(arxiv_doi.group(1)):
            return _arxiv(arxiv_doi.group(1))  # type: ignore[return-value]
        return Identifier("doi", doi.rstrip(".,;"))
    raise BadIdentifier(
        f"'{text}' is not an arXiv id (1703.06868, arXiv:1703.06868v2, https://arxiv.org/abs/1703.06868) "
        f"nor a DOI (10.1109/ICCV.2017.167)"
    )


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.findall(r"[a-z0-9]+", folded)


def slugify(text: str, max_words: int = 4) -> str:
    words = _ascii_words(text)
    kept = [w for w in words if w not in _STOPWORDS] or words
    return "-".join(kept[:max_words])


def method_name(title: str, abstract: str | None) -> str | None:
    """An acronym the abstract defines for words of the title: "… adaptive instance
    normalization (AdaIN) …" with "Adaptive Instance Normalization" in the title → "AdaIN"."""
    folded_title = " ".join(_ascii_words(title))
    for match in re.finditer(r"\(([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9-]*)\)", abstract or ""):
        acronym = match.group(1)
        capitals = [c for c in acronym if c.isupper()]
        words = re.findall(r"[A-Za-z0-9]+", (abstract or "")[: match.start()])[-len(capitals) :]
        initials = len(words) == len(capitals) and all(
            w[0].lower() == c.lower() for w, c in zip(words, capitals, strict=True)
        )
        if initials and f" {' '.join(words).lower()} " in f" {folded_title} ":
            return acronym
    return None


def propose_id(title: str, existing: Collection[str], year: int | None = None, abstract: str | None = None) -> str:
    """A short, unique catalog id from the title.

    A title that names its method before a colon ("NeRF: Representing Scenes…")
    gives that name, as does an acronym the abstract defines for words of the
    title; otherwise the first few significant words. A clash gets the year,
    then a counter.
    """
    head, sep, _ = title.partition(":")
    method = method_name(title, abstract)
    if sep and 0 < len(head.split()) <= 3:
        base = slugify(head, max_words=3)
    elif method:
        base = slugify(method)
    else:
        base = slugify(title)
    base = base or "paper"
    if base not in existing:
        return base
    if year is not None and f"{base}-{year}" not in existing:
        return f"{base}-{year}"
    n = 2
    while f"{base}-{n}" in existing:
        n += 1
    return f"{base}-{n}"


def module_name(entry_id: str) -> str:
    """Python module name for an entry id: ``pix2pix-hd`` → ``pix2pix_hd``."""
    name = re.sub(r"[^a-z0-9_]", "_", entry_id.lower()).strip("_") or "paper"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"paper_{name}"
    return name


def class_name(module: str) -> str:
    """CamelCase model class for a module: ``pix2pix_hd`` → ``Pix2pixHd``."""
    name = "".join(part[:1].upper() + part[1:] for part in module.split("_") if part)
    name = name if name[:1].isalpha() else f"Paper{name}"
    # "None", "True" would not parse; "Example", "Tiny"… would shadow what the scaffold imports.
    if keyword.iskeyword(name) or name in _SCAFFOLD_NAMES or hasattr(builtins, name):
        name = f"{name}Model"
    return name


# Names a scaffolded module already binds (see scaffold._MODULE).
_SCAFFOLD_NAMES = frozenset({"Example", "register_example", "seeded", "dataclass", "torch", "nn", "TINY"})
