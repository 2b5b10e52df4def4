"""The one loader every tool, the site hook and the tests use."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from . import yamlsafe
from .model import Catalog, Entry, Tag
from .scan import scan

# Above this size the catalog is parsed entry block by entry block (libyaml with
# PyYAML's composer grows faster than linearly on one large document: 10x the
# entries cost 20x); below it, one parse of the whole file is quick and exact.
BLOCKWISE_MIN_BYTES = 4 * 1024 * 1024
_ONLY_COMMENTS = re.compile(rb"(?:[ \t]*(?:#[^\n]*)?\r?\n?)*")


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
        text = yamlsafe.decode(data)
    except yamlsafe.YamlSyntaxError as exc:
        raise CatalogError([f"{path}:{exc.line}: {exc.message}"]) from None
    return catalog_from_text(text, path)


def _parse_blockwise(text: str) -> tuple[object, MappingNode, list[yamlsafe.DuplicateKey]] | None:
    """The catalog parsed header first, then one entry block at a time, with the same
    data, nodes (marks at the file's lines) and duplicate keys as one parse of the
    whole file; None when the layout is not the usual one or any piece fails to parse
    (the whole file is then parsed, which finds the real error and its line)."""
    raw = text.encode("utf-8")
    scanned = scan(raw)
    if not scanned.blocks or not _ONLY_COMMENTS.fullmatch(raw, scanned.blocks[-1].end):
        return None
    try:
        header, header_node, duplicates = yamlsafe.parse_checked(scanned.header.decode("utf-8"))
        if header is None:
            header, header_node = {}, None
        if not isinstance(header, dict) or "entries" in header:
            return None
        entries, items = [], []
        for block in scanned.blocks:
            data, node, dups = yamlsafe.parse_checked(scanned.text(block))
            if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict)):
                return None
            offset = block.start_line - 1
            yamlsafe.shift_lines(node, offset)
            entries.append(data[0])
            items.append(node.value[0])
            index = len(entries) - 1
            duplicates += [
                yamlsafe.DuplicateKey(("entries", index, *d.path[1:]), d.key, d.line + offset, d.first_line + offset)
                for d in dups
            ]
    except (yamlsafe.YamlSyntaxError, UnicodeDecodeError):
        return None
    line = raw.count(b"\n", 0, len(scanned.header))
    mark = yaml.Mark("catalog", 0, line, 0, None, None)
    key = ScalarNode("tag:yaml.org,2002:str", "entries", mark, mark)
    seq = SequenceNode("tag:yaml.org,2002:seq", items, items[0].start_mark, items[-1].end_mark)
    pairs = list(header_node.value) if isinstance(header_node, MappingNode) else []
    root = MappingNode("tag:yaml.org,2002:map", [*pairs, (key, seq)], mark, mark)
    return {**header, "entries": entries}, root, sorted(duplicates, key=lambda d: d.line)


def catalog_from_text(text: str, path: str | Path = "catalog.yaml") -> Catalog:
    path = Path(path)
    parsed = _parse_blockwise(text) if len(text) >= BLOCKWISE_MIN_BYTES else None
    try:
        data, node, duplicates = parsed or yamlsafe.parse_checked(text)
    except yamlsafe.YamlSyntaxError as exc:
        raise CatalogError([f"{path}:{exc.line}: {exc.message}"]) from None
    tags: dict[str, Tag] = {}
    entries: list[Entry] = []
    if isinstance(data, dict):
        raw_tags = data.get("tags")
        if isinstance(raw_tags, dict):
            for slug, labels in raw_tags.items():
                labels = labels if isinstance(labels, dict) else {}
                tags[str(slug)] = Tag(str(slug), str(labels.get("en", slug)), str(labels.get("zh", "")))
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


def load_catalog(path: str | Path) -> Catalog:
    """Parse and validate; raise :class:`CatalogError` listing every problem."""
    from .validate import validate  # local: validate imports this module

    catalog = read_catalog(path)
    report = validate(catalog)
    if report.errors:
        raise CatalogError([str(p) for p in report.errors])
    return catalog
