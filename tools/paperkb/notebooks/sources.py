"""Find the notebooks, their entry, title, and the refimpl modules they depend on."""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

NOTEBOOK_DIR = "docs/notebooks"
# The first cell links back to its entry page; the link is also how we learn the entry id.
ENTRY_LINK = re.compile(r"\]\(\.\./\.\./entries/([a-z0-9][a-z0-9-]*)/\)")
TITLE = re.compile(r"^# # (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Notebook:
    source: Path  # docs/notebooks/<stem>.py
    stem: str
    title: str
    entry_id: str | None

    @property
    def site_path(self) -> str:
        """The executed notebook's path in the site (relative to a docs folder)."""
        return f"notebooks/{self.stem}.ipynb"


def find_notebooks(repo_root: Path) -> list[Notebook]:
    """Every ``docs/notebooks/*.py`` except helpers starting with ``_``, sorted by name."""
    notebooks = []
    for path in sorted((repo_root / NOTEBOOK_DIR).glob("*.py")):
        if path.name.startswith("_"):
            continue
        text = path.read_text(encoding="utf-8")
        title = TITLE.search(text)
        entry = ENTRY_LINK.search(text)
        notebooks.append(
            Notebook(path, path.stem, title.group(1).strip() if title else path.stem, entry.group(1) if entry else None)
        )
    return notebooks


def _refimpl_imports(text: str, package_module: str | None = None) -> set[str]:
    """Names of ``refimpl`` modules imported by ``text`` (absolute, or relative inside refimpl)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "refimpl" and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            relative_inside = node.level == 1 and package_module is not None
            if node.level == 0 and node.module and node.module.split(".")[0] == "refimpl":
                parts = node.module.split(".")
            elif relative_inside:
                parts = ["refimpl", *(node.module.split(".") if node.module else [])]
            else:
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from refimpl import adain, mixup
                found.update(alias.name for alias in node.names)
    return found


def refimpl_dependencies(source: Path, repo_root: Path) -> list[Path]:
    """The ``refimpl/*.py`` files a notebook imports, followed through their own imports."""
    refimpl = repo_root / "refimpl"
    todo = list(_refimpl_imports(source.read_text(encoding="utf-8")))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        path = refimpl / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        todo.extend(_refimpl_imports(path.read_text(encoding="utf-8"), package_module=name))
    return [refimpl / f"{name}.py" for name in sorted(seen)]


def source_hash(source: Path, repo_root: Path) -> str:
    """A content hash of the notebook's text and of every refimpl file it depends on."""
    digest = hashlib.sha256()
    for path in [source, *refimpl_dependencies(source, repo_root)]:
        name = path.relative_to(repo_root).as_posix() if path.is_relative_to(repo_root) else path.name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
