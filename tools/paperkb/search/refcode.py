"""Searchable text from an entry's reference implementation: symbol names and docstrings.

Read with ``ast`` so searching never imports the modules (nor torch).
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=256)
def _module_text(path: Path, mtime_ns: int) -> dict[str, str]:
    """``{symbol: "name docstring method names…", "": module docstring}``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    out = {"": ast.get_docstring(tree) or ""}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            pieces = [node.name, ast.get_docstring(node) or ""]
            for inner in getattr(node, "body", []):
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and not inner.name.startswith("__"):
                    pieces += [inner.name, ast.get_docstring(inner) or ""]
            out[node.name] = "\n".join(p for p in pieces if p)
    return out


def resolve(target_file: str, roots: tuple[Path, ...]) -> Path | None:
    for root in roots:
        candidate = root / target_file
        if candidate.is_file():
            return candidate
    return None


def code_text(targets: list[str], roots: tuple[Path, ...]) -> tuple[str, dict[str, tuple[int, int]]]:
    """Text for the ``code`` field and the ``(mtime_ns, size)`` of each file read.

    ``targets`` are catalog refimpl targets such as ``refimpl/adain.py:adain``.
    """
    pieces: list[str] = []
    files: dict[str, tuple[int, int]] = {}
    for target in targets:
        file_part, _, symbol = str(target).partition(":")
        path = resolve(file_part, roots)
        if path is None:
            continue
        stat = path.stat()
        module = _module_text(path, stat.st_mtime_ns)
        if str(path) not in files:
            pieces.append(module.get("", ""))  # the module docstring, once per file
        files[str(path)] = (stat.st_mtime_ns, stat.st_size)
        pieces.append(module.get(symbol, symbol))
    return "\n".join(p for p in pieces if p), files
