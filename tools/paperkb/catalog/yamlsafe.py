"""Safe YAML loading with node marks, via libyaml (``CSafeLoader``).

PyYAML keeps the last of two equal mapping keys without a word; we compose the
node tree first, report duplicates with their line, then construct the data
from the same nodes, so the file is parsed only once.

Aliases are checked on the node tree before anything is constructed: an alias
that refers to itself, nesting deeper than any catalog needs, and aliases that
expand to far more nodes than the file holds (an "alias bomb") are refused, so
no later walk over the data can run forever. Integers are read as written:
only decimal digits make a number (YAML 1.1's ``0x7E3``, ``03741`` and
``33:37`` stay the text they are, for the schema to refuse).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml
import yaml.reader
import yaml.resolver
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml is ~10x faster; fall back so a machine without it still works
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader


_MEMO_SIZE = 1 << 17  # distinct scalars whose tag is remembered during one parse


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _tag_of(kind: type, value: str | None, implicit: object) -> str:
    return _RESOLVER.resolve(kind, value, implicit)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps dates as their ISO text (the schema wants strings)."""

    # libyaml's composer asks for the tag of every node (~40 an entry), and a catalog
    # repeats the same keys and words in every entry. This loader has no path
    # resolvers, so a tag depends on the node's kind and text alone: a C-level memo
    # answers most of these calls without running Python code or the resolver's
    # regexes. ``parse_checked`` empties it after each parse, so it keeps nothing alive.
    resolve = staticmethod(_tag_of)


_RESOLVER = yaml.resolver.Resolver()
assert not _Loader.yaml_path_resolvers, "the memo in _tag_of assumes no path resolvers"

_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)

_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_DEPTH = 64  # a catalog nests 5 levels deep (catalog, entries, entry, notes, text)
MAX_ALIASES = 10_000  # references to an already composed node
MAX_EXTRA_NODES = 100_000  # nodes aliases may add beyond those written in the file


def _construct_int(loader: yaml.BaseLoader, node: ScalarNode) -> int | str:
    text = loader.construct_scalar(node)
    return int(text) if _DECIMAL.fullmatch(text) else text


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class YamlSyntaxError(Exception):
    """The text is not valid YAML; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class DuplicateKey:
    path: tuple[str | int, ...]  # path of the mapping holding the key
    key: str
    line: int  # line of the second occurrence
    first_line: int


def parse(text: str) -> tuple[object, Node | None]:
    """Parse one YAML document; return ``(data, root node)``."""
    data, node, _ = parse_checked(text)
    return data, node


def parse_checked(text: str | bytes) -> tuple[object, Node | None, list[DuplicateKey]]:
    """Parse one YAML document; return ``(data, root node, duplicate keys)``.

    The node tree is checked (aliases, nesting, duplicate keys) before the data is
    constructed from it; :class:`YamlSyntaxError` names the line of a problem.
    ``text`` may be the UTF-8 bytes (already checked by :func:`decode`): libyaml
    reads them as they are, where a str is first copied into UTF-8.
    """
    loader = _Loader(text)
    try:
        with paused_gc():
            node = loader.get_single_node()
            may_alias = (b"&" if isinstance(text, bytes) else "&") in text  # type: ignore[operator]
            built = construct_plain(loader, node, may_alias=may_alias) if node is not None else None
            if built is not None:
                data, duplicates = built
            else:
                duplicates = find_duplicate_keys(node)
                data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(line, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: a line, not an offset
        # libyaml's offset counts the bytes of the UTF-8 text, whatever it was given
        raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        line = raw.count(b"\n", 0, exc.position) + 1 if isinstance(exc.position, int) else 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "?")
        raise YamlSyntaxError(line, f"YAML error: character U+{char:04X} is not allowed ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"YAML error: {' '.join(str(exc).split())}") from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the constructor shallow
        raise YamlSyntaxError(1, "YAML nests too deeply") from None
    finally:
        loader.dispose()
        _tag_of.cache_clear()
    return data, node, duplicates


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a large tree of new objects is built.

    Each collection walks every object still young, so building millions of nodes
    and values with the collector on costs about twice as much, more the larger the
    file; the tree holds no cycles (recursive aliases are refused), so nothing
    collectable piles up meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_TAG = "tag:yaml.org,2002:"
_STR, _INT, _NULL, _BOOL, _FLOAT = _TAG + "str", _TAG + "int", _TAG + "null", _TAG + "bool", _TAG + "float"
_TIMESTAMP, _SEQ, _MAP = _TAG + "timestamp", _TAG + "seq", _TAG + "map"


class _NotPlain(Exception):
    """The document uses something :func:`construct_plain` leaves to PyYAML."""


def construct_plain(
    loader: yaml.BaseLoader, root: Node, *, may_alias: bool = True
) -> tuple[object, list[DuplicateKey]] | None:
    """The data and the duplicate keys of an ordinary document, in one walk.

    Ordinary means what a catalog is made of: mappings with scalar keys, sequences,
    and strings, decimal integers, booleans, nulls, floats and dates, nesting no
    deeper than ``MAX_DEPTH``. The values are those ``loader.construct_document``
    gives. Anything else (an alias, a merge key, a key that is not a scalar, another
    tag) returns None, and the caller takes the checked general path
    (:func:`find_duplicate_keys`, then PyYAML's constructor), which also reports
    alias and nesting problems. ``may_alias=False`` says the text holds no ``&``, so
    no node can be reached twice and the walk need not remember the nodes it visits.
    """
    seen: set[int] | None = set() if may_alias else None
    has_duplicates = False

    def scalar(node: ScalarNode) -> object:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):  # dates stay their ISO text, as in _Loader
            return node.value
        if tag == _INT:
            return _construct_int(loader, node)
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return loader.construct_yaml_bool(node)  # type: ignore[attr-defined]
        if tag == _FLOAT:
            return loader.construct_yaml_float(node)  # type: ignore[attr-defined]
        raise _NotPlain

    def build(node: Node, depth: int) -> object:
        nonlocal has_duplicates
        if depth >= MAX_DEPTH:
            raise _NotPlain
        if seen is not None:
            if id(node) in seen:
                raise _NotPlain
            seen.add(id(node))
        kind = type(node)
        if kind is ScalarNode:
            return scalar(node)
        if kind is SequenceNode and node.tag == _SEQ:
            items = []
            for item in node.value:
                if type(item) is ScalarNode and seen is None:
                    items.append(scalar(item))
                else:
                    items.append(build(item, depth + 1))
            return items
        if kind is MappingNode and node.tag == _MAP:
            mapping: dict[object, object] = {}
            names: set[str] = set()
            for key_node, value_node in node.value:
                if type(key_node) is not ScalarNode or key_node.tag == MERGE_TAG:
                    raise _NotPlain
                if seen is not None:
                    if id(key_node) in seen:
                        raise _NotPlain
                    seen.add(id(key_node))
                name = key_node.value
                if name in names:
                    has_duplicates = True
                names.add(name)
                key = scalar(key_node)
                if type(value_node) is ScalarNode and seen is None:
                    mapping[key] = scalar(value_node)
                else:
                    mapping[key] = build(value_node, depth + 1)
            return mapping
        raise _NotPlain

    try:
        data = build(root, 0)
    except _NotPlain:
        return None
    # Rare: the general walk names each duplicate with its path, in its usual order.
    return data, find_duplicate_keys(root) if has_duplicates else []


def decode(data: bytes) -> str:
    """UTF-8 text of a catalog's bytes; :class:`YamlSyntaxError` names the line of a bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise YamlSyntaxError(line, f"not UTF-8 text (byte 0x{bad} cannot be decoded)") from None


def load_fragment(text: str) -> object:
    """Parse a small piece of YAML (one entry block) safely."""
    return parse(text)[0]


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _children(node: Node) -> list[Node]:
    """The nodes the walk visits below ``node`` (scalar keys are not visited or counted)."""
    if isinstance(node, MappingNode):
        return [n for key, value in node.value for n in ((value,) if isinstance(key, ScalarNode) else (key, value))]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def find_duplicate_keys(node: Node | None) -> list[DuplicateKey]:
    """Every mapping key that occurs twice in the same mapping (merge keys ``<<`` aside).

    Walks each node once, however many aliases refer to it, and raises
    :class:`YamlSyntaxError` for a recursive alias, nesting deeper than
    ``MAX_DEPTH``, or aliases that expand too far (see the module docstring).
    """
    found: list[DuplicateKey] = []
    if node is None:
        return found
    done: dict[int, int] = {}  # id(node) -> number of nodes it expands to
    open_: set[int] = set()  # nodes whose subtree is being walked (the ancestors)
    aliases = 0
    worst = (0, 1)  # (expanded size, line) of the largest aliased node
    stack: list[tuple[Node, tuple[str | int, ...], bool]] = [(node, (), False)]
    while stack:
        current, path, leaving = stack.pop()
        key = id(current)
        if leaving:
            open_.discard(key)
            done[key] = 1 + sum(done[id(c)] for c in _children(current))
            continue
        if key in open_:
            raise YamlSyntaxError(_line(current), "YAML alias refers to itself (a recursive alias)")
        if key in done:
            aliases += 1
            worst = max(worst, (done[key], _line(current)))
            if aliases > MAX_ALIASES:
                raise YamlSyntaxError(_line(current), f"YAML aliases expand too far (more than {MAX_ALIASES})")
            continue
        if len(path) > MAX_DEPTH:
            raise YamlSyntaxError(_line(current), f"YAML nests too deeply (more than {MAX_DEPTH} levels)")
        open_.add(key)
        stack.append((current, path, True))
        if isinstance(current, MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in current.value:
                if key_node.tag == MERGE_TAG:
                    stack.append((value_node, path, False))
                    continue
                name = key_node.value if isinstance(key_node, ScalarNode) else str(key_node)
                line = _line(key_node)
                if name in seen:
                    found.append(DuplicateKey(path, name, line, seen[name]))
                else:
                    seen[name] = line
                if not isinstance(key_node, ScalarNode):
                    stack.append((key_node, path, False))
                stack.append((value_node, (*path, name), False))
        elif isinstance(current, SequenceNode):
            for index, item in enumerate(current.value):
                stack.append((item, (*path, index), False))
    written = len(done)
    if done[id(node)] > written + MAX_EXTRA_NODES:
        raise YamlSyntaxError(worst[1], f"YAML aliases expand too far ({done[id(node)]:,} nodes from {written:,})")
    return sorted(found, key=lambda d: d.line)


def child(node: Node | None, key: str | int) -> Node | None:
    """The value node at ``key`` (mapping key or sequence index), or None."""
    if isinstance(node, MappingNode) and isinstance(key, str):
        for key_node, value_node in reversed(node.value):  # last wins, like PyYAML
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value_node
    if isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def line_of(node: Node | None, path: tuple[str | int, ...] | list[str | int]) -> int:
    """1-based line of the deepest node reachable along ``path``."""
    line = node.start_mark.line + 1 if node is not None else 1
    current = node
    for key in path:
        current = child(current, key)
        if current is None:
            break
        line = current.start_mark.line + 1
    return line


def raw_scalar(node: Node | None, path: tuple[str | int, ...]) -> str | None:
    """The source text of the scalar at ``path`` (before YAML typed it)."""
    current = node
    for key in path:
        current = child(current, key)
    return current.value if isinstance(current, ScalarNode) else None
