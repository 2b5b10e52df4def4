"""The site's search at scale: its own index beside Pagefind and material's lunr search,
in the same run.

For a synthetic catalog of 1,000 entries (``PAPERKB_BENCH_SITE_SIZES`` to change),
built twice into temporary folders — once as the project builds it (the site's index
after the build), once with material's lunr search plugin instead — and then
queried in headless Chromium on a loopback server, through the same search box: index
build time (and its steps: records, index, word lists) beside the ``mkdocs build``
time, bytes sent for the first query and for each further one, time from page load
to the first result, per-query latency (median and p95 over 20 queries) until the
first results are painted (as the driver waited for them, in one call into the page
per query, and as the page measured them) and until the whole list is shown, and
memory (main-thread JS heap; renderer RSS, which includes workers).

The loopback server answers as a static host does: keep-alive, and the headers and
body of a response without Nagle's wait for the browser's delayed ACK (with it, the
standard library's server held every small response ~40 ms).

Pagefind, the engine the site used before, is measured at every size on the same
records, in the same search box: the bench writes a Pagefind index beside the site's
and points the box at Pagefind's API (which the site's engine mirrors) for that row.

Sites are built at 1,000 and 10,000 entries (``PAPERKB_BENCH_SITE_SIZES``; a 10,000-entry
build takes about three minutes here, and each size is built three times: with the
site's index, without any search, with lunr). For the other corpora, at
``PAPERKB_BENCH_INDEX_SIZES`` (default 10,000), only the indexes are built, into the
smallest built site, and measured the same way.

The notes' words (``PAPERKB_BENCH_CORPORA``, default ``zipf,uniform``): ``zipf`` draws
them by Zipf's law from a few thousand English and Chinese words, as real notes use
them (``zipf_synth``); ``uniform`` is the older corpus, every word from ~40 topic
words (``synth``). In the uniform corpus every query term is in nearly every note, so
every query scores all 10,000 entries: a worst case no real catalog comes near. The
built sites use the first corpus listed; the index-only sizes the others.

The figures are also written to ``docs/data/search-bench.json`` with the machine they
came from and the load average while each was measured (the machine is shared), for
the site's Benchmarks page.
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Iterator
from pathlib import Path

import yaml

from .. import paths
from ..sitegen.buildcache import CACHE_ENV
from . import synth, zipf_synth

QUERIES = [
    "generator", "cycle consistency", "perceptual", "discriminators", "attention", "spectral", "latent mapping",
    "face swap", "radiance field", "gradient penalty", "segmentation", "resolution", "stability", "pyramid",
    "判别器", "循环一致性", "感知 损失", "风格", "人脸 关键点", "扩散",
]
FIRST_RESULT_TIMEOUT_S = 180
RESULTS = paths.REPO_ROOT / "docs" / "data" / "search-bench.json"
# Synthetic notes: "zipf" (zipf_synth: a few thousand words per language, Zipf-distributed,
# as real notes are) and "uniform" (synth: every word from ~40 topic words, so every
# query term is in nearly every note, which makes each query score the whole index).
CORPORA = {"zipf": zipf_synth.write_zipf_catalog, "uniform": synth.write_synthetic_catalog}


def _sizes(variable: str, default: str) -> list[int]:
    raw = os.environ.get(variable, default)
    return [int(x) for x in raw.split(",") if x.strip()]


def _config(work: Path, catalog: Path, lunr: bool) -> Path:
    """The project's mkdocs.yml, pointed at a synthetic catalog; lunr swaps the search."""
    config = yaml.safe_load((paths.REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(paths.REPO_ROOT / "docs")
    config["hooks"] = [str(paths.REPO_ROOT / "tools" / "site_hooks.py")]
    config["extra"] = {**config.get("extra", {}), "catalog": str(catalog)}
    config.pop("watch", None)
    if config.get("theme", {}).get("custom_dir"):
        config["theme"]["custom_dir"] = str(paths.REPO_ROOT / config["theme"]["custom_dir"])
    if lunr:
        config["plugins"] = [{"search": {"lang": ["en", "zh"]}}, *config["plugins"]]
        config["extra_javascript"] = [j for j in config.get("extra_javascript", []) if "search.js" not in str(j)]
    path = work / ("mkdocs-lunr.yml" if lunr else "mkdocs.yml")
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _build(config: Path, site: Path, search: bool) -> tuple[float, dict]:
    """(wall seconds of mkdocs build, the seconds the search index and its steps took,
    and how long the build waited for it after the pages); ``search`` False builds
    without the site's index (for lunr, and for the build without any search)."""
    # Notebooks are left out of every build: their execution time is not the search's.
    # Each build gets an empty page cache of its own: every build is cold, so the
    # builds with and without search compare (a shared cache made the second one warm).
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PAPERKB_NOTEBOOKS": "off",
           CACHE_ENV: tempfile.mkdtemp(prefix="cache-", dir=site.parent)}
    if not search:
        env["PAPERKB_SITE_SEARCH"] = "off"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(config), "--site-dir", str(site)],
        capture_output=True, text=True, env=env, check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"mkdocs build failed: {done.stderr[-2000:]}")
    found = re.search(r"search: indexed \d+ entries in ([\d.]+) s \(([^)]*)\)", done.stderr)
    if not found:
        return wall, {}
    steps = {f"{name}_s": float(sec) for name, sec in re.findall(r"(\w+) ([\d.]+) s", found.group(2))}
    waited = re.search(r"the build waited ([\d.]+) s", done.stderr)
    # Built in the build's own process (one CPU, or other threads running), the build
    # waited for all of it.
    steps["waited_s"] = float(waited.group(1)) if waited else float(found.group(1))
    return wall, {"index_s": float(found.group(1)), **steps}


def _renderer_rss_mb() -> float:
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
            if b"chromium" not in cmd or b"--type=renderer" not in cmd:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# The search box imports its engine from this file; for the Pagefind rows it is replaced
# by one that hands Pagefind's own API through, with the ranking the site used with it
# (no page-length penalty: tuned on the relevance set).
ENGINE = Path("javascripts") / "search-engine.js"
PAGEFIND_ADAPTER = """import * as pagefind from "../pagefind/pagefind.js";
export const options = (o) => pagefind.options({...o, ranking: {pageLength: 0}});
export const init = () => pagefind.init();
export const search = (query, o) => pagefind.search(query, o);
"""


@contextlib.contextmanager
def _pagefind_box(site: Path) -> Iterator[None]:
    """The site's search box on Pagefind's index (``site/pagefind``) while inside."""
    engine = site / ENGINE
    own = engine.read_bytes()
    engine.write_text(PAGEFIND_ADAPTER, encoding="utf-8")
    try:
        yield
    finally:
        engine.write_bytes(own)


def _index_pagefind(catalog, site: Path) -> dict:
    """Pagefind's index of the same records, and the seconds it took (records included)."""
    from ..sitesearch.build import build_pagefind_index
    from ..sitesearch.records import records

    start = time.perf_counter()
    recs = records(catalog, paths.REPO_ROOT)
    mid = time.perf_counter()
    build_pagefind_index(recs, site)
    end = time.perf_counter()
    return {"index_s": end - start, "records_s": mid - start, "pagefind_s": end - mid}


def _measure_box(site: Path) -> dict:
    """Times until the first results are painted (five, or fewer when fewer match),
    and until the whole list is shown (ten, with any partial matches): as the driver
    waited for them (one round trip per query) and as the page measured them."""
    from ..sitesearch.probe import browser_page

    with browser_page(site) as probe:
        page = probe.page
        start = time.perf_counter()
        probe.open("", key=True)  # loads the home page, presses "/", waits for the engine
        _, _, since_navigation = probe.timed_query(QUERIES[0])
        first = time.perf_counter() - start
        probe.wait_done()
        first_bytes = probe.search_bytes()
        latencies, inpage, complete, sizes, counts = [], [], [], [], []
        for q in QUERIES[1:] + QUERIES[:1]:
            page.wait_for_timeout(200)  # a reader's pause between queries: no debounce
            mark = len(probe.sent)
            t = time.perf_counter()
            wall, in_page, _ = probe.timed_query(q)
            latencies.append(wall)
            inpage.append(in_page / 1000)
            probe.wait_done()
            complete.append(time.perf_counter() - t)
            sizes.append(probe.search_bytes(mark))
            found = re.match(r"(\d+) results", probe.note())
            counts.append(int(found.group(1)) if found else 0)
        return {
            "first_result_s": first, "first_result_inpage_s": since_navigation / 1000,
            "first_query_kb": first_bytes / 1024,
            "query_median_ms": statistics.median(latencies) * 1000, "query_p95_ms": _pct(latencies, 0.95) * 1000,
            "inpage_median_ms": statistics.median(inpage) * 1000, "inpage_p95_ms": _pct(inpage, 0.95) * 1000,
            "complete_median_ms": statistics.median(complete) * 1000, "complete_p95_ms": _pct(complete, 0.95) * 1000,
            "further_query_kb_median": statistics.median(sizes) / 1024,
            "results_median": statistics.median(counts),
            "js_heap_mb": probe.js_heap_mb(), "renderer_rss_mb": _renderer_rss_mb(), "errors": len(probe.errors),
        }


def _lunr_query(page, text: str, timeout_s: float) -> None:
    box = page.locator("input.md-search__input")
    box.fill("")
    box.type(text)
    box.press("End")  # material searches on keyup; typed CJK text sends none
    page.wait_for_selector(".md-search-result__item", timeout=timeout_s * 1000)


def _measure_lunr(site: Path) -> dict:
    from ..sitesearch.probe import browser_page

    with browser_page(site) as probe:
        page = probe.page
        start = time.perf_counter()
        page.goto(probe.base)
        page.locator("label.md-search__icon, .md-search__input").first.click()
        try:
            _lunr_query(page, QUERIES[0], FIRST_RESULT_TIMEOUT_S)
        except Exception:  # a timeout: the index never became ready
            return {"first_result_s": None, "first_query_kb": probe.search_bytes() / 1024}
        first = time.perf_counter() - start
        first_bytes = probe.search_bytes()
        latencies = []
        for q in QUERIES[1:] + QUERIES[:1]:
            t = time.perf_counter()
            try:
                _lunr_query(page, q, 30)
            except Exception:  # no result for this query within the limit
                continue
            latencies.append(time.perf_counter() - t)
        return {
            "first_result_s": first, "first_query_kb": first_bytes / 1024,
            "query_median_ms": statistics.median(latencies) * 1000 if latencies else None,
            "query_p95_ms": _pct(latencies, 0.95) * 1000 if latencies else None,
            "further_query_kb_median": 0.0,
            "js_heap_mb": probe.js_heap_mb(), "renderer_rss_mb": _renderer_rss_mb(), "errors": len(probe.errors),
        }


def _fmt(value: float | None, unit: str, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def _query_line(label: str, m: dict) -> str:
    return (
        f"  {label}: first result {_fmt(m.get('first_result_s'), 's', 2)} (in the page "
        f"{_fmt(m.get('first_result_inpage_s'), 's', 2)}); first query "
        f"{_fmt(m.get('first_query_kb'), 'KB')}, further {_fmt(m.get('further_query_kb_median'), 'KB', 1)}; per query "
        f"median {_fmt(m.get('query_median_ms'), 'ms')}, p95 {_fmt(m.get('query_p95_ms'), 'ms')} "
        f"(in the page, input to painted: median "
        f"{_fmt(m.get('inpage_median_ms'), 'ms')}, p95 {_fmt(m.get('inpage_p95_ms'), 'ms')}; whole list: median "
        f"{_fmt(m.get('complete_median_ms'), 'ms')}, p95 {_fmt(m.get('complete_p95_ms'), 'ms')}); JS heap "
        f"{_fmt(m.get('js_heap_mb'), 'MB', 1)}, renderer RSS {_fmt(m.get('renderer_rss_mb'), 'MB')}"
    )


def _steps(m: dict) -> str:
    names = (
        ("records_s", "records"), ("postings_s", "index files"), ("pagefind_s", "Pagefind"), ("words_s", "word lists"),
    )
    return ", ".join(f"{label} {m[key]:.1f} s" for key, label in names if isinstance(m.get(key), int | float))


def run() -> list[str]:
    from ..catalog import load_catalog
    from ..sitesearch import build_search_index
    from ..sitesearch.probe import CHROMIUM

    if CHROMIUM is None:
        return ["skipped: Chromium is not installed (apt-get install chromium chromium-driver)"]
    lines, rows = [], []
    corpora = [c.strip() for c in os.environ.get("PAPERKB_BENCH_CORPORA", "zipf,uniform").split(",") if c.strip()]
    unknown = sorted(set(corpora) - set(CORPORA))
    if unknown or not corpora:
        raise ValueError(f"PAPERKB_BENCH_CORPORA: unknown corpus {unknown}, expected some of {sorted(CORPORA)}")
    kept = Path(tempfile.mkdtemp(prefix="paperkb-bench-kept-"))
    try:
        # Built sites: the first corpus only (three builds per size, each minutes long).
        built = _sizes("PAPERKB_BENCH_SITE_SIZES", "1000,10000")
        for n in built:
            with tempfile.TemporaryDirectory(prefix="paperkb-bench-site-") as tmp:
                work = Path(tmp)
                catalog = CORPORA[corpora[0]](work / "catalog.yaml", n)
                common = {"entries": n, "corpus": corpora[0]}
                site = work / "site"
                # With search first: any cost of a first build falls on it, not the baseline.
                wall, steps = _build(_config(work, catalog, False), site, True)
                bare, _ = _build(_config(work, catalog, False), work / "site-bare", False)
                shutil.rmtree(work / "site-bare")
                own = {**_measure_box(site), **common, "engine": "site index", "build_s": wall, **steps,
                       "bare_build_s": bare, "load_average": os.getloadavg()[0]}
                # The index is built beside the pages: what it costs the build is the
                # build's time beyond the same build without any search (the wait at
                # the end, the fork, and sharing the two cores), not its own time.
                own["index_share"] = (wall - bare) / bare if own.get("index_s") else None
                rest = bare
                pf = {**_index_pagefind(load_catalog(catalog), site), **common, "engine": "Pagefind", "build_s": None}
                with _pagefind_box(site):
                    pf.update(_measure_box(site), load_average=os.getloadavg()[0])
                # Pagefind ran after the pages, in the build's process: all of its time,
                # against the same build without search.
                pf["index_share"] = pf["index_s"] / rest if rest else None
                shutil.rmtree(site / "pagefind")
                if not (kept / "site").exists():
                    shutil.copytree(site, kept / "site")
                lunr_wall, _ = _build(_config(work, catalog, True), work / "site-lunr", False)
                lu = {**_measure_lunr(work / "site-lunr"), **common, "engine": "lunr", "build_s": lunr_wall,
                      "index_s": None, "load_average": os.getloadavg()[0]}
                rows += [own, pf, lu]
                lines += [
                    f"{n} entries ({corpora[0]} notes, load average {own['load_average']:.1f}): mkdocs build "
                    f"{wall:.1f} s with the site's index, {bare:.1f} s without any search (index "
                    f"{_fmt(own.get('index_s'), 's', 1)}: {_steps(own)}, built beside the pages; the build waited "
                    f"{_fmt(own.get('waited_s'), 's', 1)} for it; the build took "
                    f"{_fmt(own['index_share'] and own['index_share'] * 100, '%')} longer than without search); "
                    f"Pagefind on the same records {pf['index_s']:.1f} s ({_steps(pf)}; "
                    f"{_fmt(pf['index_share'] and pf['index_share'] * 100, '%')}); lunr build {lunr_wall:.1f} s",
                    _query_line("site index", own), _query_line("Pagefind", pf), _query_line("lunr", lu),
                ]
        # The other corpora: the indexes alone, written into the smallest built site (the
        # browser's figures depend only on the index and the search box).
        if (kept / "site").exists():
            for n in _sizes("PAPERKB_BENCH_INDEX_SIZES", "10000"):
                for corpus in corpora:
                    if corpus == corpora[0] and n in built:
                        continue  # measured on its built site above
                    catalog = load_catalog(CORPORA[corpus](kept / f"catalog-{n}-{corpus}.yaml", n))
                    common = {"entries": n, "corpus": corpus, "build_s": None}
                    steps: dict = {}
                    start = time.perf_counter()
                    build_search_index(catalog, kept / "site", paths.REPO_ROOT, quiet=True, timings=steps)
                    own = {**common, "engine": "site index (index only)", "index_s": time.perf_counter() - start,
                           **{f"{k}_s": v for k, v in steps.items()}}
                    own.update(_measure_box(kept / "site"), load_average=os.getloadavg()[0])
                    pf = {**common, "engine": "Pagefind (index only)", **_index_pagefind(catalog, kept / "site")}
                    with _pagefind_box(kept / "site"):
                        pf.update(_measure_box(kept / "site"), load_average=os.getloadavg()[0])
                    shutil.rmtree(kept / "site" / "pagefind")
                    rows += [own, pf]
                    lines += [
                        f"{n} entries, {corpus} notes, indexes only (load average {own['load_average']:.1f}): "
                        f"site index built in {own['index_s']:.1f} s ({_steps(own)}), Pagefind in "
                        f"{pf['index_s']:.1f} s ({_steps(pf)}); {own['results_median']:.0f} results per query (median)",
                        _query_line("site index", own), _query_line("Pagefind", pf),
                    ]
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "browser": "Debian Chromium, headless",
        "load_average": os.getloadavg()[0],
        "rows": rows,
    }, indent=1) + "\n", encoding="utf-8")
    lines.append(f"written to {RESULTS.relative_to(paths.REPO_ROOT)}")
    return lines
