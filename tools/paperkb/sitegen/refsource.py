"""The source an entry covers: the top-level definitions its catalog targets name."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from .escape import one_line


@lru_cache(maxsize=512)
def _definitions(path: Path, mtime_ns: int) -> tuple[str, dict[str, tuple[int, int]]]:
    text = path.read_text(encoding="utf-8")
    spans: dict[str, tuple[int, int]] = {}
    for node in ast.parse(text, filename=str(path)).body:
        names: list[str] = []
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        # Decorators belong to the definition they decorate.
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        for name in names:
            spans[name] = (first, node.end_lineno or node.lineno)
    return text, spans


def module_source(path: Path) -> str:
    return _definitions(path, path.stat().st_mtime_ns)[0]


def symbol_source(path: Path, symbols: list[str]) -> str:
    """The named top-level definitions, in file order, separated by a blank line.

    A name the module only imports (``from .adain import adain``) has no definition
    here and is skipped; with none found, the whole module is the answer.
    """
    text, spans = _definitions(path, path.stat().st_mtime_ns)
    lines = text.splitlines()
    found = sorted({spans[s] for s in symbols if s in spans})
    if not found:
        return text
    return "\n\n".join("\n".join(lines[a - 1 : b]) for a, b in found) + "\n"


def fence_for(code: str, char: str = "`") -> str:
    """A code fence longer than any run of fence characters inside the code."""
    longest = run = 0
    for c in code:
        run = run + 1 if c == char else 0
        longest = max(longest, run)
    return char * max(3, longest + 1)


def code_block(code: str, lang: str = "", title: str | None = None, indent: int = 0) -> Markup:
    """A fenced markdown code block that no content can close early.

    The code is repository source or text the site generated, shown verbatim: markdown
    escapes it, so it goes in unescaped here, inside a fence longer than any it holds.
    """
    fence = fence_for(code)
    info = lang + (f' title="{one_line(title).replace(chr(34), "")}"' if title else "")
    pad = " " * indent
    body = "\n".join(pad + line if line.strip() else "" for line in code.rstrip("\n").splitlines())
    return Markup(f"{pad}{fence}{info}\n{body}\n{pad}{fence}")
