"""The site build at 1,000 entries against building the same pages as plain markdown.

Both builds run ``mkdocs build`` with the same theme, extensions and plugins on the same
synthetic catalog. The baseline's pages are written beforehand as plain markdown (title,
metadata table, notes in tabs, one table of every entry, tag pages) with no hook; ours
runs the hook: escaping, sanitised notes, queue, charts, related entries, BibTeX, assets.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from .. import paths
from ..catalog import load_catalog
from ..catalog.model import Catalog
from .synth import write_synthetic_catalog

REPEAT = int(os.environ.get("PAPERKB_BENCH_REPEAT", "1"))


def _plain_pages(catalog: Catalog, docs: Path) -> None:
    (docs / "entries").mkdir(parents=True)
    (docs / "tags").mkdir()
    rows = ["| Title | Year | Status | Tags |", "|---|---|---|---|"]
    for e in catalog.entries:
        notes = "".join(
            f'=== "{label}"\n\n' + "".join(f"    {line}\n" for line in e.notes.get(lang, "").splitlines()) + "\n"
            for lang, label in (("en", "English"), ("zh", "中文"))
        )
        meta = f"| | |\n|---|---|\n| Authors | {', '.join(e.authors)} |\n| Year | {e.year} |\n| Venue | {e.venue} |\n"
        (docs / "entries" / f"{e.id}.md").write_text(f"# {e.title}\n\n{meta}\n## Notes\n\n{notes}", encoding="utf-8")
        rows.append(f"| [{e.title}](entries/{e.id}.md) | {e.year} | {e.status} | {', '.join(e.tags)} |")
    (docs / "papers.md").write_text("# Library\n\n" + "\n".join(rows) + "\n", encoding="utf-8")
    for slug, tag in catalog.tags.items():
        members = [f"- [{e.title}](../entries/{e.id}.md)" for e in catalog.entries if slug in e.tags]
        (docs / "tags" / f"{slug}.md").write_text(f"# {tag.label}\n\n" + "\n".join(members) + "\n", encoding="utf-8")


def _config(base: Path, docs: Path, hook: bool, catalog: Path) -> Path:
    config = yaml.safe_load((paths.REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    config.update(docs_dir=str(docs), watch=[], strict=False)
    config["theme"]["custom_dir"] = str(paths.REPO_ROOT / "overrides")
    config["extra"]["catalog"] = str(catalog)
    if hook:
        config["hooks"] = [str(paths.REPO_ROOT / "tools" / "site_hooks.py")]
    else:
        config.pop("hooks", None)
        config.pop("nav", None)
    path = base / ("ours.yml" if hook else "plain.yml")
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _build(config: Path, site: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if result.returncode:
        raise RuntimeError(f"mkdocs build -f {config} failed:\n{result.stderr}")
    return time.perf_counter() - start


def run(n: int = 1000) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        catalog_path = write_synthetic_catalog(base / "catalog.yaml", n)
        catalog = load_catalog(catalog_path)
        plain_docs = base / "plain-docs"
        shutil.copytree(paths.REPO_ROOT / "docs", plain_docs)
        _plain_pages(catalog, plain_docs)
        ours_cfg = _config(base, paths.REPO_ROOT / "docs", True, catalog_path)
        plain_cfg = _config(base, plain_docs, False, catalog_path)
        ours, plain = [], []
        for _ in range(REPEAT):  # alternate, so load on the machine hits both alike
            plain.append(_build(plain_cfg, base / "site-plain"))
            ours.append(_build(ours_cfg, base / "site-ours"))
        p, o = statistics.median(plain), statistics.median(ours)
        pages = sum(1 for _ in (base / "site-ours").rglob("index.html"))
        return [
            f"{n} entries, plain markdown pages, mkdocs build: {p:.1f} s (baseline, median of {REPEAT})",
            f"{n} entries, site build with the hook ({pages} pages): {o:.1f} s = {o / p:.2f}x baseline"
            " (target <= 1.15x)",
        ]
