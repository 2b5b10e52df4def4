"""Safe YAML loading with node marks, via libyaml (``CSafeLoader``).

PyYAML keeps the last of two equal mapping keys without a word; we compose the
node tree first, report duplicates with their line, then construct the data
from the same nodes, so the file is parsed only once.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml is ~10x faster; fall back so a machine without it still works
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps dates as their ISO text (the schema wants strings)."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


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
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(line, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, node


def load_fragment(text: str) -> object:
    """Parse a small piece of YAML (one entry block) safely."""
    return parse(text)[0]


def find_duplicate_keys(node: Node | None) -> list[DuplicateKey]:
    """Every mapping key that occurs twice in the same mapping."""
    found: list[DuplicateKey] = []
    stack: list[tuple[Node, tuple[str | int, ...]]] = [(node, ())] if node else []
    while stack:
        current, path = stack.pop()
        if isinstance(current, MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in current.value:
                key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    found.append(DuplicateKey(path, key, line, seen[key]))
                else:
                    seen[key] = line
                stack.append((value_node, (*path, key)))
        elif isinstance(current, SequenceNode):
            for index, item in enumerate(current.value):
                stack.append((item, (*path, index)))
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
