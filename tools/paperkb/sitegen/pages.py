"""Render every generated page of the site from a validated catalog."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .. import paths
from ..catalog import Catalog, Entry, Tag, refimpl_scan

TEMPLATES = Path(__file__).parent / "templates"
GPU_RESULTS = "refimpl/gpu_smoke_results.json"
LINK_LABELS = {"arxiv": "arXiv", "pdf": "PDF", "code": "Code", "project": "Project", "video": "Video", "url": "Link"}


@dataclass(frozen=True)
class SitePage:
    path: str  # relative to the docs folder, e.g. "entries/adain.md"
    title: str
    markdown: str


@dataclass(frozen=True)
class RefimplView:
    target: str
    file: str
    symbol: str
    test_file: str | None
    command: str
    source: str
    pending: bool


def entry_url(entry_id: str) -> str:
    """The site path of an entry's page (stable: the id is the URL)."""
    return f"entries/{entry_id}/"


def md_cell(text: object) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def indent(text: str, width: int = 4) -> str:
    pad = " " * width
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # markdown, not HTML; table cells go through md_cell
    )
    env.filters["cell"] = md_cell
    env.filters["indent_md"] = indent
    env.filters["tojson_inline"] = lambda v: json.dumps(v, ensure_ascii=False)
    return env


def _refimpl_views(entry: Entry, repo_root: Path) -> list[RefimplView]:
    views = []
    for target in entry.refimpl_targets:
        file, symbol = target.split(":", 1)
        module = repo_root / file
        test = refimpl_scan.test_file_for(module)
        test_rel = str(test.relative_to(repo_root)) if test.is_file() else None
        info = refimpl_scan.scan_module(module)
        views.append(
            RefimplView(
                target=target,
                file=file,
                symbol=symbol,
                test_file=test_rel,
                command=f"pytest {test_rel}" if test_rel else f"pytest refimpl -k {module.stem}",
                source=module.read_text(encoding="utf-8"),
                pending=bool(info.pending),
            )
        )
    return views


def _tag_labels(catalog: Catalog, entry: Entry) -> list[Tag]:
    return [catalog.tags[t] for t in entry.tags if t in catalog.tags]


def render_entry(catalog: Catalog, entry: Entry, repo_root: Path | None = None, notebook: str | None = None) -> str:
    repo_root = repo_root or paths.REPO_ROOT
    views = _refimpl_views(entry, repo_root)
    # One block per module file: two targets in adain.py show its source once.
    files: dict[str, list[RefimplView]] = {}
    for view in views:
        files.setdefault(view.file, []).append(view)
    return _env().get_template("entry.md.j2").render(
        entry=entry,
        tags=_tag_labels(catalog, entry),
        links=[(LINK_LABELS.get(k, k), _link_url(k, v)) for k, v in entry.links.items()],
        refimpl_files=files,
        pending=any(v.pending for v in views),
        notebook=notebook,
    )


def _link_url(kind: str, value: str) -> str:
    return f"https://arxiv.org/abs/{value}" if kind == "arxiv" else value


def _refimpl_state(entry: Entry, repo_root: Path) -> str:
    if entry.refimpl_none_reason is not None:
        return "—"
    targets = entry.refimpl_targets
    if not targets:
        return "—"
    pending = any(
        refimpl_scan.scan_module(repo_root / t.split(":", 1)[0]).pending
        for t in targets
        if (repo_root / t.split(":", 1)[0]).is_file()
    )
    return "pending" if pending else "✓"


def _sorted_for_table(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (-(e.year or 0), e.title.casefold()))


def home_counts(catalog: Catalog) -> dict[str, int]:
    status = Counter(e.status for e in catalog.entries)
    return {
        "entries": len(catalog.entries),
        "papers": len(catalog.papers),
        "tricks": len(catalog.tricks),
        "tags": len(catalog.tags),
        "with_refimpl": sum(1 for e in catalog.entries if e.refimpl_targets),
        "read": status["read"],
        "reading": status["reading"],
        "unread": status["unread"],
    }


def tag_page_path(slug: str) -> str:
    return f"tags/{slug}.md"


def notebook_links(notebooks: Sequence) -> dict[str, str]:
    """entry id → link from the entry page to its notebook (``notebooks``: paperkb.notebooks.Notebook)."""
    return {nb.entry_id: f"../{nb.site_path}" for nb in notebooks if nb.entry_id}


def site_nav(catalog: Catalog, notebooks: Sequence = ()) -> list:
    """Sections and tag pages only: a nav listing every entry makes the build quadratic."""
    used = Counter(t for e in catalog.entries for t in e.tags)
    tag_items = [{catalog.tags[s].label: tag_page_path(s)} for s in sorted(catalog.tags) if used[s]]
    return [
        {"Home": "index.md"},
        {"Reading dashboard": "dashboard.md"},
        {"All papers": "papers.md"},
        {"Tricks": "tricks.md"},
        {"Tags": [{"All tags": "tags/index.md"}, *tag_items]},
        *([{"Notebooks": [{nb.title: nb.site_path} for nb in notebooks]}] if notebooks else []),
        {"GPU smoke results": "gpu-smoke.md"},
        {"How-to": "howto.md"},
        {"About": "about.md"},
    ]


def generate_pages(catalog: Catalog, repo_root: Path | None = None, notebooks: Sequence = ()) -> list[SitePage]:
    """Every generated page: one per entry, tag pages, tables and the dashboard."""
    repo_root = repo_root or paths.REPO_ROOT
    env = _env()
    links = notebook_links(notebooks)
    pages = [
        SitePage(f"entries/{e.id}.md", e.title, render_entry(catalog, e, repo_root, links.get(e.id)))
        for e in catalog.entries
    ]
    refimpl_state = {e.id: _refimpl_state(e, repo_root) for e in catalog.entries}
    table = env.get_template("table.md.j2")
    for path, title, kind, intro in (
        ("papers.md", "All papers", "paper", "Every paper in the catalog."),
        ("tricks.md", "Tricks", "trick", "Techniques, losses, debugging habits and experiment findings."),
    ):
        rows = _sorted_for_table([e for e in catalog.entries if e.kind == kind])
        pages.append(
            SitePage(
                path,
                title,
                table.render(title=title, intro=intro, rows=rows, tags=catalog.tags, refimpl=refimpl_state),
            )
        )
    used = Counter(t for e in catalog.entries for t in e.tags)
    tag_template = env.get_template("tag.md.j2")
    for slug, tag in sorted(catalog.tags.items()):
        if used[slug]:
            pages.append(SitePage(tag_page_path(slug), tag.label, tag_template.render(tag=tag, count=used[slug])))
    pages.append(
        SitePage(
            "tags/index.md",
            "Tags",
            env.get_template("tags_index.md.j2").render(
                tags=[(s, t, used[s]) for s, t in sorted(catalog.tags.items()) if used[s]]
            ),
        )
    )
    pages.append(SitePage("dashboard.md", "Reading dashboard", render_dashboard(catalog, refimpl_state)))
    pages.append(SitePage("gpu-smoke.md", "GPU smoke results", render_gpu_smoke(repo_root / GPU_RESULTS)))
    return pages


def render_dashboard(catalog: Catalog, refimpl_state: dict[str, str]) -> str:
    reading = sorted((e for e in catalog.entries if e.status == "reading"), key=lambda e: (e.priority or 99, e.title))
    up_next = sorted(
        (e for e in catalog.entries if e.status == "unread" and e.priority is not None),
        key=lambda e: (e.priority, e.title.casefold()),
    )
    recent = sorted(catalog.entries, key=lambda e: (e.added or "", e.id), reverse=True)[:20]
    pending = [e for e in catalog.entries if refimpl_state.get(e.id) == "pending"]
    return _env().get_template("dashboard.md.j2").render(
        counts=home_counts(catalog),
        reading=reading,
        up_next=up_next,
        recent=recent,
        pending=pending,
        tags=catalog.tags,
    )


def render_gpu_smoke(results_file: Path) -> str:
    """The recorded GPU smoke run (written by ``make gpu-test`` on a CUDA machine)."""
    data = json.loads(results_file.read_text(encoding="utf-8")) if results_file.is_file() else None
    rows = []
    if data:
        by_example: dict[str, dict] = {}
        for row in data["results"]:
            test, _, param = row["test"].partition("[")
            name = param.rstrip("]").removesuffix("-cuda")
            kind = test.rsplit("::", 1)[-1]
            by_example.setdefault(name, {})[kind] = row
        rows = [(name, checks) for name, checks in sorted(by_example.items())]
    return _env().get_template("gpu_smoke.md.j2").render(data=data, rows=rows, results_file=GPU_RESULTS)
