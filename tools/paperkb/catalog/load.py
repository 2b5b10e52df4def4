"""The one loader every tool, the site hook and the tests use."""

from __future__ import annotations

from pathlib import Path

from . import yamlsafe
from .model import Catalog, Entry, Tag


class CatalogError(Exception):
    """A catalog that cannot be used; ``problems`` are ready-to-print lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_catalog(path: str | Path) -> Catalog:
    """Parse ``path`` into a :class:`Catalog` without judging its content.

    Raises :class:`CatalogError` only when the file cannot be read or is not
    YAML at all; everything else is the validator's job, so it can report all
    problems at once.
    """
    path = Path(path)
    try:
        data = path.read_bytes()  # one read: a writer replacing the file cannot split it
    except FileNotFoundError:
        raise CatalogError([f"{path}: catalog file not found"]) from None
    except OSError as exc:
        raise CatalogError([f"{path}: cannot read catalog: {exc.strerror or exc}"]) from None
    try:
        yamlsafe.decode(data)  # UTF-8, or the line of the first bad byte
    except yamlsafe.YamlSyntaxError as exc:
        raise CatalogError([f"{path}:{exc.line}: {exc.message}"]) from None
    # The checked bytes go to libyaml as they are: a large catalog's text as a str
    # (two bytes a character once it holds Chinese) and libyaml's UTF-8 copy of it
    # would each be about as large as the file.
    with yamlsafe.paused_gc():
        return _catalog_from_text(data, path)


def catalog_from_text(text: str, path: str | Path = "catalog.yaml") -> Catalog:
    path = Path(path)
    with yamlsafe.paused_gc():  # one tree of millions of new objects, built without collections
        return _catalog_from_text(text, path)


def _catalog_from_text(text: str | bytes, path: Path) -> Catalog:
    try:
        data, node, duplicates = yamlsafe.parse_checked(text)
    except yamlsafe.YamlSyntaxError as exc:
        raise CatalogError([f"{path}:{exc.line}: {exc.message}"]) from None
    tags = tags_of(data)
    entries: list[Entry] = []
    if isinstance(data, dict):
        raw_entries = data.get("entries")
        entries_node = yamlsafe.child(node, "entries")
        if isinstance(raw_entries, list):
            for index, raw in enumerate(raw_entries):
                entry_node = yamlsafe.child(entries_node, index)
                entries.append(Entry(raw if isinstance(raw, dict) else {}, index, entry_node))
    return Catalog(
        path=path,
        tags=tags,
        entries=entries,
        data=data,
        node=node,
        duplicate_keys=duplicates,
    )


def tags_of(data: object) -> dict[str, Tag]:
    """The catalog's ``tags:`` as :class:`Tag` objects (what the validator checks against)."""
    tags: dict[str, Tag] = {}
    raw_tags = data.get("tags") if isinstance(data, dict) else None
    if isinstance(raw_tags, dict):
        for slug, labels in raw_tags.items():
            labels = labels if isinstance(labels, dict) else {}
            tags[str(slug)] = Tag(str(slug), str(labels.get("en", slug)), str(labels.get("zh", "")))
    return tags


def load_catalog(path: str | Path) -> Catalog:
    """Parse and validate; raise :class:`CatalogError` listing every problem."""
    from .validate import validate  # local: validate imports this module

    catalog = read_catalog(path)
    report = validate(catalog)
    if report.errors:
        raise CatalogError([str(p) for p in report.errors])
    return catalog
