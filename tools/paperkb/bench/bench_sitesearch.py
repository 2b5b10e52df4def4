"""The site's search at scale: Pagefind beside material's lunr search, in the same run.

For a synthetic catalog of 1,000 entries (``PAPERKB_BENCH_SITE_SIZES`` to change),
built twice into temporary folders — once as the project builds it
(Pagefind after the build), once with material's lunr search plugin instead — and then
queried in headless Chromium on a loopback server: index build time (and its steps:
records, Pagefind, word lists) beside the ``mkdocs build`` time, bytes sent for the
first query and for each further one, time from page load to the first result,
per-query latency (median and p95 over 20 queries) until the first results are on
screen (measured by the driver, and by the search box in the page) and until the whole
list is, and memory (main-thread JS heap; renderer RSS,
which includes workers).

At 10,000 entries (``PAPERKB_BENCH_INDEX_SIZES``) only the Pagefind index is built, into
the smaller built site, and measured the same way: building 10,000 pages (twice, for
Pagefind and lunr) would take most of an hour on two cores, so the index build's share
of the site build is measured at 1,000 entries only.

The notes' words (``PAPERKB_BENCH_CORPORA``, default ``zipf,uniform``): ``zipf`` draws
them by Zipf's law from a few thousand English and Chinese words, as real notes use
them (``zipf_synth``); ``uniform`` is the older corpus, every word from ~40 topic
words (``synth``). In the uniform corpus every query term is in nearly every note, so
every query scores all 10,000 entries: a worst case no real catalog comes near. Both
are measured at the index-only sizes; the built sites use the first one listed.

The figures are also written to ``docs/data/search-bench.json`` with the machine they
came from and the load average while each was measured (the machine is shared), for
the site's Benchmarks page.
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


def _build(config: Path, site: Path, lunr: bool) -> tuple[float, dict]:
    """(wall seconds of mkdocs build, seconds the search index and its steps took inside it)."""
    # Notebooks are left out of both builds: their execution time is not the search's.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PAPERKB_NOTEBOOKS": "off"}
    if lunr:
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


# The search box's own measure of the last query: from its input event to its first
# results in the page (the User Timing entry it records), without the driver's round
# trips (typing through the browser's protocol, polling for the result) that the
# wall-clock figures include; on a loaded machine those add 100-200 ms per query.
_INPAGE_MS = "performance.getEntriesByName('pkb-shown').at(-1)?.duration ?? NaN"


def _measure_pagefind(site: Path) -> dict:
    """Times until the first results are on screen (five, or fewer when fewer match),
    and until the whole list is (ten, with any partial matches); the same first time
    as the search box measures it in the page."""
    from ..sitesearch.probe import browser_page

    with browser_page(site) as probe:
        page = probe.page
        start = time.perf_counter()
        probe.open("")  # loads the home page, clicks the search button, waits for Pagefind
        probe.type(QUERIES[0])
        probe.wait_shown()
        first = time.perf_counter() - start
        probe.wait_done()
        first_bytes = probe.search_bytes()
        latencies, inpage, complete, sizes, counts = [], [], [], [], []
        for q in QUERIES[1:] + QUERIES[:1]:
            page.wait_for_timeout(200)  # a reader's pause between queries: no debounce
            mark = len(probe.sent)
            t = time.perf_counter()
            probe.type(q)
            probe.wait_shown()
            latencies.append(time.perf_counter() - t)
            inpage.append(page.evaluate(_INPAGE_MS) / 1000)
            probe.wait_done()
            complete.append(time.perf_counter() - t)
            sizes.append(probe.search_bytes(mark))
            found = re.match(r"(\d+) results", probe.note())
            counts.append(int(found.group(1)) if found else 0)
        return {
            "first_result_s": first, "first_query_kb": first_bytes / 1024,
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


def run() -> list[str]:
    from ..sitesearch.probe import CHROMIUM

    if CHROMIUM is None:
        return ["skipped: Chromium is not installed (apt-get install chromium chromium-driver)"]
    lines, rows = [], []
    corpora = [c.strip() for c in os.environ.get("PAPERKB_BENCH_CORPORA", "zipf,uniform").split(",") if c.strip()]
    unknown = sorted(set(corpora) - set(CORPORA))
    if unknown or not corpora:
        raise ValueError(f"PAPERKB_BENCH_CORPORA: unknown corpus {unknown}, expected some of {sorted(CORPORA)}")
    kept = Path(tempfile.mkdtemp(prefix="paperkb-bench-kept-"))
    # Built sites: the first corpus only (two builds per size, each minutes long).
    for n in _sizes("PAPERKB_BENCH_SITE_SIZES", "1000"):
        with tempfile.TemporaryDirectory(prefix="paperkb-bench-site-") as tmp:
            work = Path(tmp)
            catalog = CORPORA[corpora[0]](work / "catalog.yaml", n)
            results = {}
            for engine in ("pagefind", "lunr"):
                site = work / f"site-{engine}"
                wall, steps = _build(_config(work, catalog, engine == "lunr"), site, engine == "lunr")
                m = _measure_pagefind(site) if engine == "pagefind" else _measure_lunr(site)
                m.update(entries=n, engine=engine, corpus=corpora[0], build_s=wall, index_s=steps.get("index_s"),
                         **{k: v for k, v in steps.items() if k != "index_s"}, load_average=os.getloadavg()[0])
                results[engine] = m
                rows.append(m)
                if engine == "pagefind" and not (kept / "site").exists():
                    shutil.copytree(site, kept / "site")
            pf, lu = results["pagefind"], results["lunr"]
            share = pf["index_s"] / (pf["build_s"] - pf["index_s"]) if pf["index_s"] else None
            pf["index_share"] = share
            lines += [
                f"{n} entries ({corpora[0]} notes, load average {pf['load_average']:.1f}): mkdocs build "
                f"{pf['build_s']:.1f} s with Pagefind (index {_fmt(pf['index_s'], 's', 1)}: records "
                f"{_fmt(pf.get('records_s'), 's', 1)}, Pagefind {_fmt(pf.get('pagefind_s'), 's', 1)}, word lists "
                f"{_fmt(pf.get('words_s'), 's', 1)}; {_fmt(share and share * 100, '%')} of the rest of the build); "
                f"lunr build {lu['build_s']:.1f} s",
                f"  first result after page load: Pagefind {_fmt(pf['first_result_s'], 's', 2)}, "
                f"lunr {_fmt(lu['first_result_s'], 's', 2)}",
                f"  bytes for the first query: Pagefind {_fmt(pf['first_query_kb'], 'KB')}, "
                f"lunr {_fmt(lu['first_query_kb'], 'KB')}; further queries (median) Pagefind "
                f"{_fmt(pf['further_query_kb_median'], 'KB', 1)}",
                f"  per query (first results shown): Pagefind median {_fmt(pf['query_median_ms'], 'ms')}, "
                f"p95 {_fmt(pf['query_p95_ms'], 'ms')} (in the page: median {_fmt(pf['inpage_median_ms'], 'ms')}, "
                f"p95 {_fmt(pf['inpage_p95_ms'], 'ms')}; whole list: median {_fmt(pf['complete_median_ms'], 'ms')}, "
                f"p95 {_fmt(pf['complete_p95_ms'], 'ms')}); "
                f"lunr median {_fmt(lu.get('query_median_ms'), 'ms')}, p95 {_fmt(lu.get('query_p95_ms'), 'ms')}",
                f"  memory: Pagefind JS heap {_fmt(pf['js_heap_mb'], 'MB', 1)}, renderer RSS "
                f"{_fmt(pf['renderer_rss_mb'], 'MB')}; lunr JS heap {_fmt(lu.get('js_heap_mb'), 'MB', 1)}, "
                f"renderer RSS {_fmt(lu.get('renderer_rss_mb'), 'MB')}",
            ]
    # Larger catalogs: the index alone, written into the smaller built site. The browser's
    # figures depend only on the index and the search box; building 10,000 pages twice
    # (Pagefind and lunr) would take most of an hour on two cores, so the index build's
    # share of the site build is measured at the built sizes only.
    if (kept / "site").exists():
        from ..catalog import load_catalog
        from ..sitesearch import build_search_index

        for n in _sizes("PAPERKB_BENCH_INDEX_SIZES", "10000"):
            for corpus in corpora:
                catalog = CORPORA[corpus](kept / f"catalog-{n}-{corpus}.yaml", n)
                steps: dict = {}
                start = time.perf_counter()
                build_search_index(load_catalog(catalog), kept / "site", paths.REPO_ROOT, quiet=True, timings=steps)
                index_s = time.perf_counter() - start
                m = _measure_pagefind(kept / "site")
                m.update(entries=n, engine="pagefind (index only)", corpus=corpus, build_s=None, index_s=index_s,
                         **{f"{k}_s": v for k, v in steps.items()}, load_average=os.getloadavg()[0])
                rows.append(m)
                lines += [
                    f"{n} entries, {corpus} notes, Pagefind index only (load average {m['load_average']:.1f}): "
                    f"built in {index_s:.1f} s (records {steps['records']:.1f} s, Pagefind {steps['pagefind']:.1f} s,"
                    f" word lists {steps['words']:.1f} s); first result {_fmt(m['first_result_s'], 's', 2)}; "
                    f"first query {_fmt(m['first_query_kb'], 'KB')}, further "
                    f"{_fmt(m['further_query_kb_median'], 'KB', 1)}; per query median "
                    f"{_fmt(m['query_median_ms'], 'ms')}, p95 {_fmt(m['query_p95_ms'], 'ms')} (in the page: median "
                    f"{_fmt(m['inpage_median_ms'], 'ms')}, p95 {_fmt(m['inpage_p95_ms'], 'ms')}; whole list: median "
                    f"{_fmt(m['complete_median_ms'], 'ms')}, p95 {_fmt(m['complete_p95_ms'], 'ms')}); "
                    f"{m['results_median']:.0f} results per query (median); JS heap "
                    f"{_fmt(m['js_heap_mb'], 'MB', 1)}, renderer RSS {_fmt(m['renderer_rss_mb'], 'MB')}",
                ]
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
