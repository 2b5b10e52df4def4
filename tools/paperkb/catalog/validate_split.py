"""``validate.py`` on a large catalog: the two halves of its entries checked in two processes.

Parsing (PyYAML composes ~40 nodes an entry) and the checks of one entry at a time
are nearly all of the time a 100,000-entry catalog takes, and neither needs the other
entries. So the ``entries:`` list is cut at an item near the middle of the file: a
forked child parses and checks the entries after the cut while this process does
those before it, and sends back what it found (problems, and the ids, sources and
modules the checks across entries need, never the entries themselves). The checks
across entries and of the top level then run once, on both halves' findings, in the
same order as in one process (:func:`validate.combine`), so the report is the same.

The cut changes nothing, or it is not used:

* the part before the cut must parse on its own, with a mapping at the root whose
  last key is ``entries``, holding a block sequence whose items start at the cut's
  column. A quoted scalar or flow collection still open at the cut would make that
  part fail; a block or plain scalar cannot run on into a line indented no more than
  its parent. So in the whole file the cut line starts the next item of ``entries``;
* the part after it is parsed as ``entries:`` plus the rest, with blank lines before
  so that every line number is the file's own;
* the tags every entry is checked against are those written before ``entries:``;
* anything unusual (an alias, a tag, a second document, a key of the root repeated
  or written after the entries and before them, tags after the entries, a syntax
  error) makes the caller check the file in one process as before, which reports it
  as usual.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .. import paths
from . import yamlsafe
from .load import tags_of
from .model import Catalog, Entry, Tag
from .validate import EntryChecks, Report, check_entries, combine, pending_entries

MIN_BYTES = 16_000_000  # about 4,000 entries: below this a second process costs more than it saves
_ENTRIES_KEY = re.compile(rb"^entries:[ \t]*(?:#[^\r\n]*)?\r?\n", re.MULTILINE)
_ITEM = re.compile(rb"^( *)-(?:[ \t]|\r?\n)", re.MULTILINE)
_MAP = "tag:yaml.org,2002:map"


@dataclass
class Summary:
    """What ``validate.py`` prints about a catalog besides its problems."""

    entries: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    tags: int = 0
    pending_ids: list[str] = field(default_factory=list)  # entries whose module is a scaffold

    @classmethod
    def of(cls, catalog: Catalog, pending: bool) -> Summary:
        kinds: dict[str, int] = {}
        for entry in catalog.entries:
            kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
        return cls(len(catalog.entries), kinds, len(catalog.tags), pending_entries(catalog) if pending else [])


@dataclass
class _Half:
    """What the child sends back about the entries after the cut."""

    checks: EntryChecks
    summary: Summary
    tail: list  # (key node, value node, key, value) of the root's keys after ``entries``


def can_fork() -> bool:
    """A second process helps: two CPUs, ``fork``, and no other thread to copy half-done."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return cpus >= 2 and hasattr(os, "fork") and threading.active_count() == 1


def _parse(text: bytes) -> tuple[object, Node, list[yamlsafe.DuplicateKey]] | None:
    """Data, root node and duplicate keys of an ordinary document; None for anything else."""
    loader = yamlsafe._Loader(text)
    try:
        node = loader.get_single_node()
        built = yamlsafe.construct_plain(loader, node, may_alias=b"&" in text) if node is not None else None
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
        yamlsafe._tag_of.cache_clear()
    return None if built is None else (built[0], node, built[1])


def _find_cut(data: bytes, near: int) -> tuple[int, int, int, int] | None:
    """(offset of ``entries:``, offset, line and column of the first item line from ``near`` on)."""
    key = _ENTRIES_KEY.search(data)
    if key is None:
        return None
    first = _ITEM.search(data, key.end())
    if first is None:
        return None
    column = len(first.group(1))
    item = re.compile(rb"^" + re.escape(b" " * column) + rb"-(?:[ \t]|\r?\n)", re.MULTILINE)
    cut = item.search(data, max(near, first.end()))
    if cut is None:
        return None
    return key.start(), cut.start(), data.count(b"\n", 0, cut.start()), column


def _catalog(path: Path, parsed: tuple, tags: dict[str, Tag], seq: SequenceNode) -> Catalog:
    content, root, duplicates = parsed
    entries = [Entry(raw if isinstance(raw, dict) else {}, i, node)
               for i, (raw, node) in enumerate(zip(content["entries"], seq.value, strict=True))]
    return Catalog(path=path, tags=tags, entries=entries, data=content, node=root, duplicate_keys=duplicates)


def _sequence(root: Node, column: int, *, last: bool) -> SequenceNode | None:
    """The block sequence of ``entries``: the root's last key before the cut, its first after."""
    if not isinstance(root, MappingNode) or root.tag != _MAP or not root.value:
        return None
    key, value = root.value[-1 if last else 0]
    if not isinstance(key, ScalarNode) or key.value != "entries":
        return None
    if not isinstance(value, SequenceNode) or value.flow_style or value.start_mark.column != column:
        return None
    return value


def _half(text: bytes, column: int, *, before_cut: bool) -> tuple[tuple, SequenceNode] | None:
    """A part parsed, and its ``entries`` sequence, if the part is one the cut may use."""
    parsed = _parse(text)
    if parsed is None:
        return None
    content, root, duplicates = parsed
    seq = _sequence(root, column, last=before_cut)
    if seq is None or not isinstance(content, dict) or not isinstance(content.get("entries"), list):
        return None
    if any(d.path == () for d in duplicates):  # a root key twice: the one-process run names it
        return None
    return parsed, seq


def _second_half(
    data: bytes, cut: int, cut_line: int, column: int, path: Path, tags: dict[str, Tag], repo_root: Path,
    check_refimpl: bool,
) -> _Half | None:
    """The child's whole job: parse and check the entries after the cut."""
    half = _half(b"\n" * (cut_line - 1) + b"entries:\n" + data[cut:], column, before_cut=False)
    if half is None:
        return None
    parsed, seq = half
    content, root, _ = parsed
    catalog = _catalog(path, parsed, tags, seq)
    checks = check_entries(catalog, repo_root, check_refimpl)
    tail = [(k, v, key, value) for (k, v), (key, value) in zip(root.value[1:], list(content.items())[1:], strict=True)]
    return _Half(checks, Summary.of(catalog, bool(checks.pending)), tail)


def _child(out: int, *args: object) -> None:
    try:
        payload = pickle.dumps(_second_half(*args), protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[arg-type]
    except BaseException:  # noqa: BLE001 - whatever it is, the parent checks the file itself
        payload = pickle.dumps(None)
    with os.fdopen(out, "wb") as pipe:
        pipe.write(payload)


def validate_file(
    path: Path,
    *,
    repo_root: Path | None = None,
    check_refimpl: bool = True,
    progress: Callable[[str], None] | None = None,
    near: int | None = None,
) -> tuple[Report, Summary] | None:
    """The report :func:`validate.validate` gives for the catalog at ``path``, and its
    summary, from two processes; None when the file cannot be cut safely (near byte
    ``near``, by default its middle) or cannot be read: then check it in one process."""
    repo_root = repo_root or paths.REPO_ROOT
    try:
        data = path.read_bytes()
        yamlsafe.decode(data)
    except (OSError, yamlsafe.YamlSyntaxError):
        return None
    found = _find_cut(data, len(data) // 2 if near is None else near)
    if found is None:
        return None
    entries_key, cut, cut_line, column = found
    try:  # the tags every entry is checked against, from before the entries
        head = yamlsafe.parse_checked(data[:entries_key].decode("utf-8"))[0]
    except yamlsafe.YamlSyntaxError:
        return None
    if not isinstance(head, dict) or not isinstance(head.get("tags"), dict):
        return None
    tags = tags_of(head)
    if progress is not None:
        progress(f"checking the entries before line {cut_line + 1:,} here, those after it in a second process")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which coverage does not follow
        os.close(read_end)
        try:
            _child(write_end, data, cut, cut_line, column, path, tags, repo_root, check_refimpl)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        try:
            here = None if progress is None else (lambda stage: progress(f"{stage} before line {cut_line + 1:,}"))
            mine = _first_half(data[:cut], column, path, head, tags, repo_root, check_refimpl, here)
            payload = pipe.read()
        except BaseException:
            os.kill(pid, signal.SIGKILL)  # it may be blocked writing to a pipe nobody will read
            raise
        finally:
            os.waitpid(pid, 0)
    theirs = pickle.loads(payload) if payload else None
    if mine is None or theirs is None:
        return None
    catalog, checks, summary = mine
    if any(key in catalog.data for _, _, key, _ in theirs.tail):
        return None  # a root key on both sides: the one-process run reports the duplicate
    if progress is not None:
        progress("checks across entries")
    top = dict(catalog.data)
    for _, _, key, value in theirs.tail:
        top[key] = value
    root = MappingNode(_MAP, [*catalog.node.value, *((k, v) for k, v, _, _ in theirs.tail)],
                       catalog.node.start_mark, catalog.node.end_mark)
    whole = Catalog(path=path, tags=tags, entries=[], data=top, node=root, duplicate_keys=[])
    report = combine(whole, [checks, theirs.checks], repo_root, check_refimpl)
    kinds = dict(summary.kinds)
    for kind, count in theirs.summary.kinds.items():
        kinds[kind] = kinds.get(kind, 0) + count
    total = Summary(summary.entries + theirs.summary.entries, kinds, len(tags),
                    summary.pending_ids + theirs.summary.pending_ids)
    return report, total


def _first_half(
    text: bytes, column: int, path: Path, head: dict, tags: dict[str, Tag], repo_root: Path, check_refimpl: bool,
    progress: Callable[[str], None] | None,
) -> tuple[Catalog, EntryChecks, Summary] | None:
    half = _half(text, column, before_cut=True)
    if half is None or half[0][0].get("tags") != head.get("tags"):
        return None
    parsed, seq = half
    catalog = _catalog(path, parsed, tags, seq)
    checks = check_entries(catalog, repo_root, check_refimpl, progress)
    return catalog, checks, Summary.of(catalog, bool(checks.pending))
