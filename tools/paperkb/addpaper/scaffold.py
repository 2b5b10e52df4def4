"""A refimpl module and test to fill in, for a newly added paper.

The module follows the shape of ``refimpl/adain.py`` (docstring, frozen config,
the model, a registered example) but its example is registered with
``pending=True`` and its tests are skipped with "not implemented yet": a
scaffold is listed as pending by the validator and the site, never counted as
a passing implementation. Its placeholder model raises ``NotImplementedError``,
so removing the skip without writing the code fails.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from ..catalog.refimpl_scan import INFRASTRUCTURE
from .ids import class_name
from .insert import AddError, SideFiles

RESERVED = tuple(sorted(INFRASTRUCTURE | {"tests"}))

_MODULE = '''"""{title}.

{byline}Catalog id: ``{entry_id}``.

Scaffold: not implemented yet. The example below is registered as pending, so
the shared smoke test skips it and the validator lists this entry as pending.

Implemented:

* TODO: the equations and sections this module implements (Eq. N: ...).

Deviations from the paper:

* TODO: none yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class {cls}Config:
    width: int = 64  # TODO: the paper's defaults, each commented with its section or table


TINY = {cls}Config(width=8)


class {cls}(nn.Module):
    """TODO: the paper's model. Placeholder: ``forward`` raises until it is written."""

    def __init__(self, config: {cls}Config = {cls}Config()) -> None:
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("{module}: not implemented yet")


# --------------------------------------------------------------------- examples
@register_example(covers=[{cls}], pending=True)
def {module}_model() -> Example:
    g = seeded(0)
    model = {cls}(TINY)
    x = torch.randn(2, 3, 16, 16, generator=g)
    return Example(model=model, inputs=(x,), output_shapes=((2, 3, 16, 16),))
'''

_TEST = '''"""{short} ({ref}): the claims that define the paper (to be written)."""

from __future__ import annotations

import pytest
import torch

from refimpl.{module} import TINY, {cls}

# Pending until the module is implemented: skipped, never counted as passing.
pytestmark = pytest.mark.skip(reason="not implemented yet")


def test_{module}_defining_property() -> None:
    # TODO: the property that defines the paper (an output statistic, a shape the architecture implies...).
    model = {cls}(TINY)
    x = torch.randn(2, 3, 16, 16)
    assert model(x).shape == (2, 3, 16, 16)
'''


def _doc_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', r"\"\"\"")


def _byline(entry: dict[str, Any]) -> str:
    parts = []
    if entry.get("authors"):
        parts.append(", ".join(entry["authors"]) + ".")
    venue = entry.get("venue") or (str(entry["year"]) if entry.get("year") else None)
    if venue:
        parts.append(f"{venue}.")
    arxiv = (entry.get("links") or {}).get("arxiv")
    if arxiv:
        parts.append(f"arXiv:{arxiv}.")
    elif entry.get("doi"):
        parts.append(f"DOI {entry['doi']}.")
    text = " ".join(parts)
    return _wrap(text) + ("\n" if text else "")


def _wrap(text: str, width: int = 88) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "\n".join(lines)


def render_module(entry: dict[str, Any], module: str) -> str:
    title = _wrap(_doc_text(entry.get("title", module)).rstrip("."))
    return _MODULE.format(
        title=title, byline=_doc_text(_byline(entry)), entry_id=entry["id"], cls=class_name(module), module=module
    )


def render_test(entry: dict[str, Any], module: str) -> str:
    arxiv = (entry.get("links") or {}).get("arxiv")
    ref = f"arXiv:{arxiv}" if arxiv else f"catalog id {entry['id']}"
    short = _doc_text(entry.get("title", module).split(":")[0].strip())[:60]
    return _TEST.format(short=short, ref=ref, module=module, cls=class_name(module))


def add_import(init_text: str, module: str) -> str:
    """``refimpl/__init__.py`` with ``module`` imported, keeping the imports sorted.

    Edits the text (comments and everything else stay); a single
    ``from . import x`` line becomes the parenthesized form the import sorter wants.
    """
    tree = ast.parse(init_text)
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module is None]
    names = [a.name for n in imports for a in n.names]
    if module in names:
        raise AddError(f"refimpl/__init__.py already imports {module}")
    lines = init_text.splitlines(keepends=True)
    entry_line = f"    {module},  # noqa: F401\n"
    if len(imports) == 1 and imports[0].end_lineno != imports[0].lineno:  # from . import (\n a,\n b,\n)
        node = imports[0]
        if "noqa" in lines[node.lineno - 1]:  # one noqa on the opening line covers every name
            entry_line = f"    {module},\n"
        body = range(node.lineno, node.end_lineno - 1)  # 0-based indexes of the name lines
        at = next((i for i in body if _name_of(lines[i]) > module), node.end_lineno - 1)
        return "".join(lines[:at] + [entry_line] + lines[at:])
    if len(imports) == 1:  # one 'from . import x' line: rewrite it as a block of both
        node = imports[0]
        both = sorted([*names, module])
        block = "from . import (\n" + "".join(f"    {n},  # noqa: F401\n" for n in both) + ")\n"
        return "".join(lines[: node.lineno - 1] + [block] + lines[node.end_lineno :])
    if imports:  # several one-line imports: add one more in order
        at = next((n.lineno - 1 for n in imports if n.names[0].name > module), imports[-1].end_lineno)
        return "".join(lines[:at] + [f"from . import {module}  # noqa: F401\n"] + lines[at:])
    anchor = next(
        (n.lineno - 1 for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 1),
        len(lines),
    )
    return "".join(lines[:anchor] + [f"from . import {module}  # noqa: F401\n"] + lines[anchor:])


def _name_of(line: str) -> str:
    match = re.match(r"\s*(\w+)", line)
    return match.group(1) if match else ""


def build(repo_root: Path, entry: dict[str, Any], module: str) -> tuple[SideFiles, list[str]]:
    """The scaffold's files and the entry's refimpl targets."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", module) or module in RESERVED:
        raise AddError(f"--module {module!r}: expected a lower-case Python module name, not one of {RESERVED}")
    refimpl = repo_root / "refimpl"
    init = refimpl / "__init__.py"
    if not init.is_file():
        raise AddError(f"{init}: not found; --scaffold needs the refimpl package")
    files = {
        refimpl / f"{module}.py": render_module(entry, module),
        refimpl / "tests" / f"test_{module}.py": render_test(entry, module),
    }
    try:
        add_import(init.read_text(encoding="utf-8"), module)  # fail early if it cannot be placed
    except UnicodeDecodeError:
        raise AddError(f"{init}: not UTF-8 text; --scaffold cannot add the import") from None
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte
        line = f":{exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise AddError(f"{init}{line}: does not parse ({getattr(exc, 'msg', exc)}); fix it before --scaffold") from None
    edits = {init: lambda text: add_import(text, module)}
    return SideFiles(files, edits), [f"refimpl/{module}.py:{class_name(module)}"]
