"""The site build at 1,000 entries against building the same pages as plain markdown.

Both builds run ``mkdocs build`` with the same theme, markdown extensions, plugins (less
mkdocs-jupyter in the baseline, see ``_config``), nav and static files on the same
synthetic catalog (committed to a scratch git repository, so the dates come from
``git blame`` as on the real site). The baseline's pages are
written beforehand, outside the timing, as the plain markdown an author would write for
the same content: every entry page (header, notes in language tabs, reference
implementation, related entries, citation, metadata table), the library and tricks
tables and one table per tag (markdown tables with the same eight columns), the tag
index and the dashboard. Ours runs the hook, which makes those pages from the catalog
(escaping, sanitised notes, queue, charts, related entries, BibTeX, assets), while
the site search's index is written in a second process beside the pages.

The search index is timed apart: the hook prints how long it took and how long the
build waited for it after the pages, and the mkdocs build figure is the wall time less
that wait. Ours is built cold (an empty ``PAPERKB_CACHE_DIR``:
every note rendered and segmented anew) and then warm (the cache that build left), as
after any edit. Notebooks are off in both (``PAPERKB_NOTEBOOKS=off``): they do not grow
with the catalog and are cached by their own step. Figures go to ``docs/data/site-bench.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
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
from ..catalog.model import Catalog, Entry
from ..export import to_bibtex, to_json
from ..sitegen import build_site, site_nav
from ..sitegen.assets import vendored_files
from ..sitegen.buildcache import CACHE_ENV
from ..sitegen.pages import MUTATION_DIR, SEARCH_BENCH, Site, render_benchmarks, render_gpu_smoke, render_mutation
from .synth import write_synthetic_catalog

REPEAT = int(os.environ.get("PAPERKB_BENCH_REPEAT", "1"))
RESULTS = paths.REPO_ROOT / "docs" / "data" / "site-bench.json"
TARGET = 1.15
_INDEX_LINE = re.compile(r"search: indexed \d+ entries in ([\d.]+) s")
_WAITED = re.compile(r"the build waited ([\d.]+) s")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def _table(site: Site, entries: list[Entry], root: str) -> str:
    """The library table as a markdown table: the eight columns of the site's."""
    tags = site.catalog.tags
    rows = ["| Title | Year | Status | Priority | Kind | Tags | Added | Code |", "|---|---|---|---|---|---|---|---|"]
    for e in sorted(entries, key=lambda e: (-(e.year or 0), e.title.casefold())):
        tag_links = ", ".join(f"[{tags[t].en}]({root}tags/{t}.md)" for t in e.tags if t in tags)
        code = {"tested": "✓", "pending": "pending"}.get(site.refimpl_state.get(e.id, ""), "—")
        priority = "" if e.priority is None else e.priority
        rows.append(
            f"| [{_cell(e.title)}]({root}entries/{e.id}.md) | {e.year or ''} | {e.status} | {priority} | {e.kind} "
            f"| {tag_links} | {site.dates[e.id][0] or ''} | {code} |"
        )
    return "\n".join(rows) + "\n"


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" if line.strip() else "\n" for line in text.splitlines())


def _entry_page(site: Site, e: Entry) -> str:
    tags = site.catalog.tags
    added, changed = site.dates.get(e.id, (None, None))
    links = " · ".join(f"[{kind}](https://arxiv.org/abs/{v})" if kind == "arxiv" else f"[{kind}]({v})"
                       for kind, v in e.links.items())
    out = [f"---\ntitle: {json.dumps(e.title)}\n---\n\n# {e.title}\n",
           f"**{e.kind}** · **{e.status}**" + ("" if e.priority is None else f" · priority {e.priority}") + "\n",
           f"{', '.join(e.authors)} · {e.year} · {e.venue}\n", links + "\n",
           " ".join(f"[{tags[t].label}](../tags/{t}.md)" for t in e.tags if t in tags) + "\n", "## Notes\n"]
    for lang, label in (("en", "English"), ("zh", "中文")):
        if e.notes.get(lang):
            out.append(f'=== "{label}"\n\n{_indent(e.notes[lang])}')
    out.append("## Reference implementation\n")
    out.append(f"No reference implementation: {e.refimpl_none_reason}\n" if e.refimpl_none_reason else "—\n")
    related = site.related.get(e.id, [])
    if related:
        out.append("## Related entries\n")
        out.append("".join(f"- [{r.entry.title}]({r.entry.id}.md) {'; '.join(r.reasons)}\n" for r in related))
    if e.kind == "paper":
        out.append(f"## Cite\n\n```text\n{to_bibtex([e]).strip()}\n```\n")
    meta = [("Id", f"`{e.id}`"), ("Kind", e.kind), ("Authors", ", ".join(e.authors)), ("Year", e.year),
            ("Venue", e.venue), ("arXiv", e.links.get("arxiv", "")), ("Status", e.status), ("Added", added),
            ("Last changed", changed), ("From notes", ", ".join(e.sources))]
    table = "| | |\n|---|---|\n" + "".join(f"| {k} | {_cell(v or '')} |\n" for k, v in meta)
    out.append('??? note "Metadata"\n\n' + _indent(table))
    return "\n".join(out)


def _dashboard(site: Site) -> str:
    from ..sitegen import charts, queue

    catalog = site.catalog
    changed = {k: v[1] for k, v in site.dates.items()}

    def item(e: Entry) -> str:
        return f"[{e.title}](entries/{e.id}.md) {e.status} {e.year or ''}"

    return "\n".join([
        "---\ntitle: Reading dashboard\n---\n\n# Reading dashboard\n",
        f"{len(catalog.entries)} entries.\n", "## Reading now\n",
        "".join(f"- {item(e)}\n" for e in queue.reading_now(catalog)), "## Up next\n",
        "".join(f"1. {item(e)}\n" for e in queue.up_next(catalog, 15)), "## Recently read\n",
        "".join(f"- {item(e)}\n" for e in queue.recently_read(catalog, changed)), "## Progress\n",
        str(charts.status_bars([(catalog.tags[s].en, c) for s, c in queue.status_per_tag(catalog)])) + "\n",
        str(charts.year_columns(queue.entries_per_year(catalog))) + "\n",
    ])


def _plain_pages(site: Site, docs: Path) -> None:
    """The site's pages as plain markdown files (and its static files), for a hook-less build."""
    catalog = site.catalog
    (docs / "entries").mkdir(parents=True)
    (docs / "tags").mkdir()
    for e in catalog.entries:
        (docs / "entries" / f"{e.id}.md").write_text(_entry_page(site, e), encoding="utf-8")
    others = [e for e in catalog.entries if e.kind != "paper"]
    for name, title, rows in (("papers", "Library", catalog.entries), ("tricks", "Tricks and questions", others)):
        (docs / f"{name}.md").write_text(f"# {title}\n\n{len(rows)} entries.\n\n" + _table(site, rows, ""),
                                         encoding="utf-8")
    index = ["# Tags\n"]
    for slug, tag in sorted(catalog.tags.items()):
        members = [e for e in catalog.entries if slug in e.tags]
        if members:
            index.append(f"- [{tag.en} · {tag.zh}]({slug}.md) {len(members)}")
            (docs / "tags" / f"{slug}.md").write_text(
                f"# {tag.en} · {tag.zh}\n\n{len(members)} entries.\n\n" + _table(site, members, "../"), encoding="utf-8"
            )
    (docs / "tags" / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    (docs / "dashboard.md").write_text(_dashboard(site), encoding="utf-8")
    (docs / "gpu-smoke.md").write_text(render_gpu_smoke(paths.REPO_ROOT / "refimpl" / "gpu_smoke_results.json"),
                                       encoding="utf-8")
    for name, text in (("benchmarks.md", render_benchmarks(paths.REPO_ROOT / SEARCH_BENCH)),
                       ("mutation.md", render_mutation(paths.REPO_ROOT / MUTATION_DIR))):
        if text is not None:
            (docs / name).write_text(text, encoding="utf-8")
    (docs / "catalog.bib").write_text(to_bibtex(catalog.entries), encoding="utf-8")
    (docs / "catalog.json").write_text(to_json(catalog.entries), encoding="utf-8")
    for source, dest in vendored_files(paths.REPO_ROOT):
        (docs / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, docs / dest)


def _config(base: Path, docs: Path, hook: bool, catalog: Catalog) -> Path:
    config = yaml.safe_load((paths.REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    config.update(docs_dir=str(docs), watch=[], strict=False)
    config["theme"]["custom_dir"] = str(paths.REPO_ROOT / "overrides")
    config["extra"]["catalog"] = str(catalog.path)
    if hook:
        config["hooks"] = [str(paths.REPO_ROOT / "tools" / "site_hooks.py")]
    else:
        config.pop("hooks", None)
        # mkdocs-jupyter has no notebook to render in either build (notebooks are off), but
        # it reads every markdown file on disk with jupytext to look for one: the baseline's
        # 1,000 files would pay for that and ours (generated, not on disk) would not.
        config["plugins"] = [p for p in config["plugins"] if not (isinstance(p, dict) and "mkdocs-jupyter" in p)]
        config["nav"] = site_nav(  # the hook sets the same
            catalog, mutation=(docs / "mutation.md").is_file(), benchmarks=(docs / "benchmarks.md").is_file()
        )
    path = base / ("ours.yml" if hook else "plain.yml")
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _build(config: Path, site: Path, cache: Path) -> tuple[float, float]:
    """(mkdocs build seconds, search index seconds inside it) of one ``mkdocs build``."""
    shutil.rmtree(site, ignore_errors=True)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PAPERKB_NOTEBOOKS": "off", CACHE_ENV: str(cache)}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(config), "-d", str(site)],
        capture_output=True, text=True, env=env, check=False,
    )
    wall = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"mkdocs build -f {config} failed:\n{result.stderr[-3000:]}")
    found = _INDEX_LINE.search(result.stderr)
    index = float(found.group(1)) if found else 0.0
    # Built beside the pages, the index added only the build's wait for it at the end.
    waited = _WAITED.search(result.stderr)
    return wall - (float(waited.group(1)) if waited else index), index


def _git_commit(folder: Path, name: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}
    for cmd in (["init", "-q"], ["add", name], ["commit", "-q", "-m", "synthetic catalog"]):
        subprocess.run(["git", *cmd], cwd=folder, env=env, check=True, capture_output=True)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def run(n: int = 1000) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="paperkb-bench-site-") as tmp:
        base = Path(tmp)
        catalog_path = write_synthetic_catalog(base / "catalog.yaml", n)
        _git_commit(base, "catalog.yaml")
        catalog = load_catalog(catalog_path)
        # The baseline's pages hold the same related entries: computed here, outside the timing.
        saved = os.environ.get(CACHE_ENV)
        os.environ[CACHE_ENV] = str(base / "setup-cache")
        try:
            site = build_site(catalog, paths.REPO_ROOT)
            site.related  # noqa: B018 - computed once, read by every page
        finally:
            os.environ.pop(CACHE_ENV)
            if saved is not None:
                os.environ[CACHE_ENV] = saved
        plain_docs = base / "plain-docs"
        shutil.copytree(paths.REPO_ROOT / "docs", plain_docs)
        _plain_pages(site, plain_docs)
        ours_cfg = _config(base, paths.REPO_ROOT / "docs", True, catalog)
        plain_cfg = _config(base, plain_docs, False, catalog)
        runs: list[dict] = []
        for i in range(REPEAT):  # alternate, so load on the machine hits all alike
            cache = base / f"cache-{i}"
            row = {"load_before": _load()}
            row["plain_s"], _ = _build(plain_cfg, base / "site-plain", cache)
            row["cold_s"], row["cold_index_s"] = _build(ours_cfg, base / "site-ours", cache)
            row["warm_s"], row["index_s"] = _build(ours_cfg, base / "site-ours", cache)
            row["load_after"] = _load()
            runs.append(row)
        pages = sum(1 for _ in (base / "site-ours").rglob("index.html"))
        plain_pages = sum(1 for _ in (base / "site-plain").rglob("index.html"))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    p, cold, warm, index = med("plain_s"), med("cold_s"), med("warm_s"), med("index_s")
    loads = [r["load_before"] for r in runs] + [r["load_after"] for r in runs]
    data = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "entries": n, "pages": pages, "plain_pages": plain_pages, "repeat": REPEAT, "target_ratio": TARGET,
        "load_average": [min(loads), max(loads)],
        "plain_s": p, "cold_s": cold, "warm_s": warm, "index_s": index,
        "cold_ratio": cold / p, "warm_ratio": warm / p, "index_share": index / warm,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return [
        f"{n} entries, load average {min(loads):.1f}-{max(loads):.1f}, median of {REPEAT}",
        f"plain markdown pages ({plain_pages} pages), mkdocs build: {p:.1f} s (baseline)",
        f"site build, warm cache ({pages} pages): {warm:.1f} s = {warm / p:.2f}x baseline (target <= {TARGET}x)",
        f"site build, cold cache: {cold:.1f} s = {cold / p:.2f}x baseline",
        f"search index in on_post_build (not in the figures above): {index:.1f} s = {100 * index / warm:.0f}%"
        f" of the warm mkdocs build (target <= 25%); with it the warm build is {(warm + index) / p:.2f}x",
        f"written to {RESULTS.relative_to(paths.REPO_ROOT)}",
    ]
