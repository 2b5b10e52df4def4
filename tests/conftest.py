"""Fixtures shared by the catalog, site and tool tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

HEADER = """\
# yaml-language-server: $schema=./catalog.schema.json
version: 1

tags:
  gan: {en: GAN, zh: 生成对抗网络}
  style-transfer: {en: Style Transfer, zh: 风格迁移}

entries:
"""

GOOD_ENTRY = """\
  - id: adain
    kind: paper
    title: Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization
    authors: [Xun Huang, Serge Belongie]
    year: 2017
    venue: ICCV 2017
    links:
      arxiv: "1703.06868"
      code: https://github.com/xunhuang1995/AdaIN-style
    tags: [style-transfer]
    status: read
    priority: 2
    notes:
      en: |
        Align channel-wise mean and std of content features to the style's.
      zh: |
        自适应实例归一化：对齐内容特征与风格特征的均值和方差。
    refimpl:
      - refimpl/adain.py:adain
    sources: [000_c47078682ed5be7a.txt]
    added: 2026-11-23
"""


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[..., Path]:
    """Write HEADER + entries (dedented) to a temporary catalog.yaml."""

    def write(*entries: str, header: str = HEADER) -> Path:
        path = tmp_path / "catalog.yaml"
        body = "".join(textwrap.dedent(e) if not e.startswith("  - ") else e for e in entries)
        path.write_text(header + body, encoding="utf-8")
        return path

    return write


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=900,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once per test session from the repository's catalog."""
    site = tmp_path_factory.mktemp("site")
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", site)
    assert result.returncode == 0, result.stderr
    return site


ADD_PAPER_CATALOG = REPO_ROOT / "tests" / "fixtures" / "add_paper_catalog.yaml"
MINIMAL_REFIMPL = ("registry.py", "conftest.py", "adain.py", "tests/test_adain.py", "tests/test_examples.py")


def make_minimal_repo(root: Path) -> Path:
    """A small copy of the repository layout (a 3-entry catalog, refimpl/ with AdaIN
    only) for tools that write: tests never touch the real catalog or refimpl/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.yaml").write_text(ADD_PAPER_CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
    for name in MINIMAL_REFIMPL:
        target = root / "refimpl" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((REPO_ROOT / "refimpl" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (root / "refimpl" / "__init__.py").write_text(
        '"""Reference implementations."""\n\nfrom . import (  # noqa: F401\n    adain,\n)\n'
        "from .registry import EXAMPLES, Example, register_example\n\n"
        '__all__ = ["EXAMPLES", "Example", "register_example"]\n',
        encoding="utf-8",
    )
    return root


SEARCH_CATALOG = REPO_ROOT / "tests" / "fixtures" / "search_catalog.yaml"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory):
    """A search index over the small labelled search catalog, in a temporary folder."""
    from paperkb.search import Searcher

    base = tmp_path_factory.mktemp("search")
    catalog = base / "catalog.yaml"
    catalog.write_bytes(SEARCH_CATALOG.read_bytes())
    with Searcher(catalog, base / "index") as s:
        yield s
