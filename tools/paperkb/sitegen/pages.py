"""Render every generated page of the site from a validated catalog.

Templates are autoescaped: a catalog string placed in HTML is escaped by Jinja, one
placed in markdown goes through the ``md`` filter (:func:`.escape.md_inline`), link
targets through :func:`.escape.safe_url`, and notes through :mod:`.sanitize`. Nothing
from the catalog is marked safe by hand.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from .. import paths
from ..catalog import Catalog, Entry, Tag, refimpl_scan
from ..export import to_bibtex
from ..testing.results import TestStatus, load_results, module_status
from . import charts, queue
from .blocks import CONTEXT_KEY, html_block, restore
from .buildcache import ContentCache, cache_dir
from .dates import entry_dates
from .escape import md_inline, one_line, safe_url
from .refsource import code_block, module_source, symbol_source
from .related import Related, related_entries
from .sanitize import plain_paragraphs, render_markdown

TEMPLATES = Path(__file__).parent / "templates"
GPU_RESULTS = "refimpl/gpu_smoke_results.json"
MUTATION_DIR = "refimpl/mutation"
SEARCH_BENCH = "docs/data/search-bench.json"
SITE_BENCH = "docs/data/site-bench.json"
SOURCES_DIR = "tests/fixtures/seeds"  # the note files entries were imported from
LINK_LABELS = {"arxiv": "arXiv", "pdf": "PDF", "code": "Code", "project": "Project", "video": "Video", "url": "Link"}
LANGS = (("en", "English"), ("zh", "中文"))
LABELS = {
    "summary": {"en": "Summary (added by paperkb)", "zh": "摘要（paperkb 补充）"},
    "translation": {"en": "Translation (not the author's words)", "zh": "译文（非作者原文）"},
    "abstract": "Abstract (from arXiv)",
    # links to Notion pages the export does not contain: the author's titles, shown as text only
    "subpage": "Notion sub-page (not exported) · Notion 子页面（未导出）",
    "file_subpage": "its Notion sub-page (not exported):",
}
UP_NEXT_LIMIT = 15
NOTES_CACHE = "notes-html.json"  # in the build cache (buildcache.cache_dir)


@dataclass(frozen=True)
class SitePage:
    path: str  # relative to the docs folder, e.g. "entries/adain.md"
    title: str
    body: str  # the markdown mkdocs renders: finished HTML blocks stand as placeholders
    blocks: tuple[str, ...] = ()  # those blocks (see .blocks); restored into mkdocs' HTML

    @property
    def markdown(self) -> str:
        """The page as one markdown document, blocks in place (what the body renders to)."""
        return restore(self.body, self.blocks)


@dataclass(frozen=True)
class RefimplFile:
    file: str
    symbols: list[str]
    test_file: str | None
    pending: bool
    status: TestStatus | None
    covered_source: str
    module_source: str


@dataclass
class Site:
    """Everything computed once per build and shared by the pages."""

    catalog: Catalog
    repo_root: Path
    results: dict | None
    dates: dict[str, tuple[str | None, str | None]]
    refimpl_state: dict[str, str] = field(default_factory=dict)  # id -> "tested" | "pending" | "none"
    test_state: dict[str, TestStatus | None] = field(default_factory=dict)
    notebooks: dict[str, str] = field(default_factory=dict)  # id -> notebook page URL from the site root
    notes_cache: ContentCache | None = None  # the notes' HTML between builds (see sanitize)
    _related: dict[str, list[Related]] | None = None

    @property
    def related(self) -> dict[str, list[Related]]:
        if self._related is None:
            self._related = related_entries(self.catalog, self.repo_root)
        return self._related


def entry_url(entry_id: str) -> str:
    """The site path of an entry's page (stable: the id is the URL)."""
    return f"entries/{entry_id}/"


def md_cell(text: object) -> Markup:
    """Text safe inside a markdown table cell (kept for callers outside the templates)."""
    return md_inline(text)


def _yaml_title(text: object) -> Markup:
    # mkdocs-material prints the front-matter title into <title> and the search index
    # without escaping: give it HTML-escaped text, as a JSON (so YAML) string.
    return Markup(json.dumps(html.escape(one_line(text)), ensure_ascii=False))


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # Every template is HTML or markdown-with-HTML: escape unless a filter says how.
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["md"] = md_inline
    env.filters["url"] = safe_url
    env.filters["yaml_title"] = _yaml_title
    env.filters["notes"] = _notes
    env.filters["paragraphs"] = plain_paragraphs
    env.filters["one_line"] = one_line
    env.filters["code_block"] = code_block
    env.filters["html_block"] = html_block
    return env


@pass_context
def _notes(context: Context, text: str) -> Markup:
    site = context.get("site")
    return render_markdown(text, site.notes_cache if isinstance(site, Site) else None)


def _module_of(target: str) -> str:
    return Path(target.split(":", 1)[0]).stem


def _refimpl_files(site: Site, entry: Entry) -> list[RefimplFile]:
    files: dict[str, list[str]] = {}
    for target in entry.refimpl_targets:
        file, symbol = target.split(":", 1)
        files.setdefault(file, []).append(symbol)
    out = []
    for file, symbols in files.items():
        module = site.repo_root / file
        test = refimpl_scan.test_file_for(module)
        covered = symbol_source(module, symbols)
        whole = module_source(module)
        out.append(
            RefimplFile(
                file=file,
                symbols=symbols,
                test_file=str(test.relative_to(site.repo_root)) if test.is_file() else None,
                pending=bool(refimpl_scan.scan_module(module).pending),
                status=module_status(site.results, module.stem),
                covered_source=covered,
                module_source=whole,
            )
        )
    return out


def _links(entry: Entry) -> list[tuple[str, str]]:
    links = []
    for kind, value in entry.links.items():
        if kind == "arxiv":
            version = entry.data.get("arxiv_version") or ""
            url = f"https://arxiv.org/abs/{quote(str(value), safe='./')}{quote(str(version), safe='')}"
        else:
            url = safe_url(value)
        if url:
            links.append((LINK_LABELS.get(kind, kind), url))
    return links


def _lang_field(entry: Entry, name: str) -> dict[str, str]:
    value = entry.data.get(name)
    return {k: str(v) for k, v in value.items() if v} if isinstance(value, dict) else {}


def _note_tabs(entry: Entry) -> tuple[list[dict], int]:
    """One tab per language with something to show; the open one holds the author's words."""
    notes, translations, summary = entry.notes, _lang_field(entry, "translations"), _lang_field(entry, "summary")
    tabs = []
    for lang, label in LANGS:
        if notes.get(lang) or translations.get(lang) or summary.get(lang):
            tabs.append(
                {
                    "lang": lang,
                    "label": label,
                    "notes": notes.get(lang),
                    "translation": translations.get(lang),
                    "summary": summary.get(lang),
                }
            )
    checked = next((i for i, t in enumerate(tabs) if t["notes"]), 0)
    return tabs, checked


def _source_titles(repo_root: Path, names: list[str]) -> list[tuple[str, str]]:
    """``(file name, its first heading)`` for each source note file."""
    out = []
    for name in names:
        out.append((name, _source_title(repo_root / SOURCES_DIR / Path(name).name)))
    return out


@lru_cache(maxsize=256)
def _source_title(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as f:
            for _, line in zip(range(40), f, strict=False):
                match = re.match(r"#+\s+(.+)", line)
                if match:
                    return match.group(1).strip().rstrip(":")
    except OSError:
        pass
    return ""


def _tag_labels(catalog: Catalog, entry: Entry) -> list[Tag]:
    return [catalog.tags[t] for t in entry.tags if t in catalog.tags]


def _refimpl_state(entry: Entry, repo_root: Path) -> str:
    targets = entry.refimpl_targets
    if not targets:
        return "none"
    pending = any(
        refimpl_scan.scan_module(repo_root / t.split(":", 1)[0]).pending
        for t in targets
        if (repo_root / t.split(":", 1)[0]).is_file()
    )
    return "pending" if pending else "tested"


def _entry_test_status(site: Site, entry: Entry) -> TestStatus | None:
    statuses = [module_status(site.results, m) for m in dict.fromkeys(_module_of(t) for t in entry.refimpl_targets)]
    found = [s for s in statuses if s]
    if not found:
        return None
    return TestStatus(
        passed=sum(s.passed for s in found),
        failed=sum(s.failed for s in found),
        skipped=sum(s.skipped for s in found),
        date=max(s.date for s in found),
        torch=found[0].torch,
        device=found[0].device,
    )


def build_site(catalog: Catalog, repo_root: Path | None = None) -> Site:
    repo_root = repo_root or paths.REPO_ROOT
    site = Site(
        catalog=catalog, repo_root=repo_root, results=load_results(repo_root), dates=entry_dates(catalog),
        notes_cache=ContentCache(cache_dir(repo_root) / NOTES_CACHE),
    )
    for e in catalog.entries:
        site.refimpl_state[e.id] = _refimpl_state(e, repo_root)
        site.test_state[e.id] = _entry_test_status(site, e)
    return site


def render_entry(catalog: Catalog, entry: Entry, repo_root: Path | None = None, site: Site | None = None) -> str:
    """An entry's page as one markdown document."""
    return _entry_page(catalog, entry, site or build_site(catalog, repo_root)).markdown


def _entry_page(catalog: Catalog, entry: Entry, site: Site) -> SitePage:
    blocks: list[str] = []
    tabs, checked = _note_tabs(entry)
    added, changed = site.dates.get(entry.id, (None, None))
    body = (
        _env()
        .get_template("entry.md.j2")
        .render(
            entry=entry,
            tags=_tag_labels(catalog, entry),
            links=_links(entry),
            doi_url=f"https://doi.org/{quote(str(entry.doi), safe='/:.;()-_')}" if entry.doi else None,
            tabs=tabs,
            checked=checked,
            labels=LABELS,
            abstract=entry.abstract,
            highlight=bool(entry.data.get("highlight")),
            refimpl_files=_refimpl_files(site, entry),
            test_status=site.test_state.get(entry.id),
            related=site.related.get(entry.id, []),
            bibtex=to_bibtex([entry]) if entry.kind == "paper" else "",
            added=added,
            changed=changed,
            sources=_source_titles(site.repo_root, entry.sources),
            subpages=entry.subpages,
            file_subpages={name: catalog.note_files[name] for name in entry.sources if catalog.note_files.get(name)},
            notebook="../../" + site.notebooks[entry.id] if entry.id in site.notebooks else None,
            root="../../",
            site=site,
            **{CONTEXT_KEY: blocks},
        )
    )
    return SitePage(f"entries/{entry.id}.md", entry.title, body, tuple(blocks))


def tag_page_path(slug: str) -> str:
    return f"tags/{slug}.md"


def home_counts(catalog: Catalog, site: Site | None = None) -> dict[str, int]:
    status = Counter(e.status for e in catalog.entries)
    kinds = Counter(e.kind for e in catalog.entries)
    states = site.refimpl_state if site else {e.id: _refimpl_state(e, paths.REPO_ROOT) for e in catalog.entries}
    tested = sum(1 for s in states.values() if s == "tested")
    passing = sum(1 for s in (site.test_state.values() if site else []) if s and s.ok)
    return {
        "entries": len(catalog.entries),
        "papers": kinds["paper"],
        "tricks": kinds["trick"],
        "questions": kinds["question"],
        "tags": len({t for e in catalog.entries for t in e.tags}),
        "with_refimpl": tested,
        "tested_share": round(100 * tested / len(catalog.entries)) if catalog.entries else 0,
        "passing": passing,
        "read": status["read"],
        "reading": status["reading"],
        "unread": status["unread"],
        "highlighted": sum(1 for e in catalog.entries if e.data.get("highlight")),
    }


def notebook_links(notebooks: Sequence) -> dict[str, str]:
    """entry id → its notebook's page URL from the site root (``notebooks``: paperkb.notebooks.Notebook)."""
    return {nb.entry_id: f"notebooks/{nb.stem}/" for nb in notebooks if nb.entry_id}


def site_nav(catalog: Catalog, mutation: bool = False, benchmarks: bool = False, notebooks: Sequence = ()) -> list:
    """Sections only: tags are one page (grouped there), entries are reached from tables.

    A nav listing every entry makes the build quadratic, and one listing every tag
    pushes the other sections out of sight.
    """
    nav = [
        {"Home": "index.md"},
        {"Reading dashboard": "dashboard.md"},
        {"Library": "papers.md"},
        {"Tricks and questions": "tricks.md"},
        {"Tags": "tags/index.md"},
        {"GPU smoke results": "gpu-smoke.md"},
    ]
    if mutation:
        nav.append({"Mutation testing": "mutation.md"})
    if benchmarks:
        nav.append({"Benchmarks": "benchmarks.md"})
    if notebooks:
        nav.append({"Notebooks": [{nb.title: nb.site_path} for nb in notebooks]})
    nav += [{"How-to": "howto.md"}, {"About": "about.md"}]
    return nav


def _table(site: Site, entries: list[Entry], root: str, table_id: str) -> Markup:
    catalog = site.catalog
    rows = sorted(entries, key=lambda e: (-(e.year or 0), e.title.casefold()))
    years = [e.year for e in rows if e.year]
    return Markup(
        _env()
        .get_template("library.html.j2")
        .render(
            rows=rows,
            tags=catalog.tags,
            used_tags=sorted(
                {t for e in rows for t in e.tags if t in catalog.tags}, key=lambda s: catalog.tags[s].en.casefold()
            ),
            kinds=sorted({e.kind for e in rows}),
            refimpl=site.refimpl_state,
            tests=site.test_state,
            dates=site.dates,
            root=root,
            table_id=table_id,
            year_min=min(years) if years else "",
            year_max=max(years) if years else "",
        )
    )


def generate_pages(catalog: Catalog, repo_root: Path | None = None, site: Site | None = None) -> list[SitePage]:
    """Every generated page: one per entry, tag pages, tables and the dashboard."""
    site = site or build_site(catalog, repo_root)
    repo_root = site.repo_root
    env = _env()
    pages = [_entry_page(catalog, e, site) for e in catalog.entries]
    if site.notes_cache is not None:
        site.notes_cache.save()
    table_page = env.get_template("table.md.j2")
    papers = [e for e in catalog.entries if e.kind == "paper"]
    others = [e for e in catalog.entries if e.kind != "paper"]
    for path, title, rows, intro in (
        ("papers.md", "Library", catalog.entries, "Every entry: papers, tricks and questions."),
        ("tricks.md", "Tricks and questions", others, "Techniques, losses, habits, findings and open questions."),
    ):
        blocks: list[str] = []
        body = table_page.render(
            title=title, intro=intro, table=_table(site, rows, "../", "library"), **{CONTEXT_KEY: blocks}
        )
        pages.append(SitePage(path, title, body, tuple(blocks)))
    del papers
    members: dict[str, list[Entry]] = {}
    for e in catalog.entries:
        for t in e.tags:
            members.setdefault(t, []).append(e)
    tag_template = env.get_template("tag.md.j2")
    for slug, tag in sorted(catalog.tags.items()):
        if slug in members:
            blocks = []
            body = tag_template.render(
                tag=tag, count=len(members[slug]), table=_table(site, members[slug], "../../", "tag"),
                **{CONTEXT_KEY: blocks},
            )
            pages.append(SitePage(tag_page_path(slug), tag.label, body, tuple(blocks)))
    pages.append(SitePage("tags/index.md", "Tags", render_tags_index(catalog, members)))
    pages.append(SitePage("dashboard.md", "Reading dashboard", render_dashboard(site)))
    pages.append(SitePage("gpu-smoke.md", "GPU smoke results", render_gpu_smoke(repo_root / GPU_RESULTS)))
    benchmarks = render_benchmarks(repo_root / SEARCH_BENCH)
    site_bench = render_site_bench(repo_root / SITE_BENCH)
    if site_bench is not None:
        benchmarks = (benchmarks or "---\ntitle: Benchmarks\n---\n\n# Benchmarks\n") + "\n" + site_bench
    if benchmarks is not None:
        pages.append(SitePage("benchmarks.md", "Benchmarks", benchmarks))
    mutation = render_mutation(repo_root / MUTATION_DIR)
    if mutation is not None:
        pages.append(SitePage("mutation.md", "Mutation testing", mutation))
    return pages


def render_tags_index(catalog: Catalog, members: dict[str, list[Entry]]) -> str:
    # Grouped by size: the big topics first, then the rest alphabetically.
    tags = sorted(
        ((s, catalog.tags[s], len(m)) for s, m in members.items() if s in catalog.tags),
        key=lambda t: t[1].en.casefold(),
    )
    return (
        _env()
        .get_template("tags_index.md.j2")
        .render(tags=tags, major=[t for t in tags if t[2] >= 5], minor=[t for t in tags if t[2] < 5])
    )


def render_dashboard(site: Site) -> str:
    catalog = site.catalog
    changed = {k: v[1] for k, v in site.dates.items()}
    return (
        _env()
        .get_template("dashboard.md.j2")
        .render(
            counts=home_counts(catalog, site),
            reading=queue.reading_now(catalog),
            up_next=queue.up_next(catalog, UP_NEXT_LIMIT),
            queue_total=len(queue.up_next(catalog)),
            recent=queue.recently_read(catalog, changed),
            changed=changed,
            pending=[e for e in catalog.entries if site.refimpl_state.get(e.id) == "pending"],
            tag_chart=charts.status_bars(
                [(catalog.tags[s].en if s in catalog.tags else s, c) for s, c in queue.status_per_tag(catalog)]
            ),
            year_chart=charts.year_columns(queue.entries_per_year(catalog)),
            root="../",
        )
    )


def render_counts(site: Site) -> str:
    """The counts block of the home page (replaces ``<!-- paperkb:counts -->``)."""
    return _env().get_template("counts.html.j2").render(counts=home_counts(site.catalog, site), root="")


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


def render_benchmarks(results_file: Path) -> str | None:
    """The recorded site-search benchmark (``make bench``), or None when there is none."""
    try:
        data = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        return None

    def fmt(value: object, unit: str, digits: int = 0) -> str:
        return f"{value:.{digits}f} {unit}" if isinstance(value, int | float) else "—"

    rows = [
        {
            "entries": r.get("entries", ""), "engine": r.get("engine", ""),
            "build": fmt(r.get("build_s"), "s", 1), "index": fmt(r.get("index_s"), "s", 1),
            "bare": fmt(r.get("bare_build_s"), "s", 1), "waited": fmt(r.get("waited_s"), "s", 1),
            "first": fmt(r.get("first_result_s"), "s", 2), "first_inpage": fmt(r.get("first_result_inpage_s"), "s", 2),
            "first_kb": fmt(r.get("first_query_kb"), "KB"),
            "further_kb": fmt(r.get("further_query_kb_median"), "KB", 1),
            "median": fmt(r.get("query_median_ms"), "ms"), "p95": fmt(r.get("query_p95_ms"), "ms"),
            "inpage": fmt(r.get("inpage_median_ms"), "ms"), "inpage_p95": fmt(r.get("inpage_p95_ms"), "ms"),
            "heap": fmt(r.get("js_heap_mb"), "MB", 1), "rss": fmt(r.get("renderer_rss_mb"), "MB"),
            "corpus": r.get("corpus", "uniform"), "load": fmt(r.get("load_average"), "", 1).strip(),
            "complete": fmt(r.get("complete_median_ms"), "ms"), "complete_p95": fmt(r.get("complete_p95_ms"), "ms"),
            "share": fmt(100 * r["index_share"], "%") if isinstance(r.get("index_share"), int | float) else "—",
            "steps": ", ".join(
                f"{label} {r[key]:.1f} s"
                for key, label in (
                    ("records_s", "records"), ("postings_s", "index files"), ("pagefind_s", "Pagefind"),
                    ("words_s", "word lists"),
                )
                if isinstance(r.get(key), int | float)
            ),
        }
        for r in data["rows"] if isinstance(r, dict)
    ]
    return _env().get_template("benchmarks.md.j2").render(data=data, rows=rows, source=SEARCH_BENCH)


def render_site_bench(results_file: Path) -> str | None:
    """The recorded site-build benchmark (``make bench ONLY=site``), or None when there is none."""
    try:
        data = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("plain_s"), int | float) or not data["plain_s"]:
        return None

    def seconds(key: str) -> str:
        value = data.get(key)
        return f"{value:.1f} s" if isinstance(value, int | float) else "—"

    def ratio(key: str) -> str:
        value = data.get(key)
        return f"{value / data['plain_s']:.2f}×" if isinstance(value, int | float) else "—"

    index, warm = data.get("index_s"), data.get("warm_s")
    share = f"{100 * index / warm:.0f}% of the warm build" if isinstance(index, int | float) and warm else "—"
    pages = data.get("pages", "")
    rows = [
        {"name": "Plain markdown pages (baseline)", "pages": data.get("plain_pages", ""), "time": seconds("plain_s"),
         "ratio": "1.00×"},
        {"name": "Site, warm cache", "pages": pages, "time": seconds("warm_s"), "ratio": ratio("warm_s")},
        {"name": "Site, cold cache", "pages": pages, "time": seconds("cold_s"), "ratio": ratio("cold_s")},
        {"name": "Search index, after the build", "pages": "", "time": seconds("index_s"), "ratio": share},
    ]
    loads = data.get("load_average")
    load = (
        "–".join(f"{v:.1f}" for v in loads)
        if isinstance(loads, list) and all(isinstance(v, int | float) for v in loads)
        else "?"
    )
    return _env().get_template("site_bench.md.j2").render(data=data, rows=rows, load=load, source=SITE_BENCH)


def render_mutation(folder: Path) -> str | None:
    """The mutation runs in ``refimpl/mutation/*.json``, or None when there are none."""
    reports = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(data, dict):
            reports.append(data)
    if not reports:
        return None
    return _env().get_template("mutation.md.j2").render(reports=reports, folder=MUTATION_DIR)


def bib_file(catalog: Catalog) -> str:
    return to_bibtex(catalog.entries)
