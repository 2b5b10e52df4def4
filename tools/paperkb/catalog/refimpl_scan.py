"""Read ``refimpl/`` modules statically (``ast``), so checking the catalog
against the code never imports torch."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# Modules that hold the harness, not a paper: no entry needs to reference them.
INFRASTRUCTURE = frozenset({"__init__", "registry", "conftest"})
REGISTER_DECORATOR = "register_example"


@dataclass(frozen=True)
class ModuleInfo:
    path: Path
    symbols: frozenset[str]  # top-level classes, functions and assignments
    covered: frozenset[str]  # symbols named in some ``@register_example(covers=...)``
    examples: tuple[str, ...]  # names of the registered example functions
    imports: frozenset[str]  # sibling refimpl modules it imports
    pending: frozenset[str] = field(default_factory=frozenset)  # examples marked pending


def _decorator_call(decorator: ast.expr) -> ast.Call | None:
    if isinstance(decorator, ast.Call):
        func = decorator.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == REGISTER_DECORATOR:
            return decorator
    return None


@lru_cache(maxsize=512)
def _scan(path: Path, mtime_ns: int) -> ModuleInfo:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    symbols: set[str] = set()
    covered: set[str] = set()
    examples: list[str] = []
    pending: set[str] = set()
    imports: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            symbols.add(node.name)
            for decorator in getattr(node, "decorator_list", []):
                call = _decorator_call(decorator)
                if call is None:
                    continue
                examples.append(node.name)
                for keyword in call.keywords:
                    if keyword.arg == "covers" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                        for item in keyword.value.elts:
                            if isinstance(item, ast.Name):
                                covered.add(item.id)
                            elif isinstance(item, ast.Attribute):
                                covered.add(item.attr)
                    if keyword.arg == "pending" and isinstance(keyword.value, ast.Constant) and keyword.value.value:
                        pending.add(node.name)
        elif isinstance(node, ast.Assign):
            symbols.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            symbols.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .pix2pix import PatchDiscriminator
                imports.add(node.module.split(".")[0])
                symbols.update(a.asname or a.name for a in node.names)
            elif node.level == 1:  # from . import pix2pix
                imports.update(a.name for a in node.names)
            elif node.module and node.module.startswith("refimpl."):
                imports.add(node.module.split(".")[1])
                symbols.update(a.asname or a.name for a in node.names)
            elif node.module == "refimpl":
                imports.update(a.name for a in node.names)
    return ModuleInfo(
        path=path,
        symbols=frozenset(symbols),
        covered=frozenset(covered),
        examples=tuple(examples),
        imports=frozenset(imports),
        pending=frozenset(pending),
    )


def scan_module(path: Path) -> ModuleInfo:
    return _scan(path, path.stat().st_mtime_ns)


def paper_modules(refimpl_dir: Path) -> list[Path]:
    """Every module under ``refimpl/`` except the harness and the tests."""
    inside = refimpl_dir.resolve()
    return sorted(
        p
        for p in refimpl_dir.glob("*.py")
        if p.stem not in INFRASTRUCTURE
        and not p.stem.startswith("test_")
        and p.resolve().is_relative_to(inside)  # a link to a file elsewhere is not ours to read
    )


def test_file_for(module: Path) -> Path:
    return module.parent / "tests" / f"test_{module.stem}.py"


def test_mentions(module: Path, symbol: str) -> bool:
    """Whether the module's test file names the symbol (a word, not a substring)."""
    test = test_file_for(module)
    if not test.is_file():
        return False
    text = test.read_text(encoding="utf-8", errors="replace")  # a bad byte is no reason to crash
    return re.search(rf"\b{re.escape(symbol)}\b", text) is not None
