"""The site's search at scale: Pagefind beside material's lunr search, in the same run.

For a synthetic catalog of 1,000 entries (``PAPERKB_BENCH_SITE_SIZES`` to change),
built twice into temporary folders — once as the project builds it
(Pagefind after the build), once with material's lunr search plugin instead — and then
queried in headless Chromium on a loopback server: index build time beside the
``mkdocs build`` time, bytes sent for the first query and for each further one, time
from page load to the first result, per-query latency (median and p95 over 20
queries), and memory (main-thread JS heap; renderer RSS, which includes workers).
At 10,000 entries (``PAPERKB_BENCH_INDEX_SIZES``) only the Pagefind index is built, into
the smaller built site, and measured the same way.
The figures are also written to ``docs/data/search-bench.json`` with the machine they
came from, for the site's Benchmarks page.
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
from . import synth

QUERIES = [
    "generator", "cycle consistency", "perceptual", "discriminators", "attention", "spectral", "latent mapping",
    "face swap", "radiance field", "gradient penalty", "segmentation", "resolution", "stability", "pyramid",
    "判别器", "循环一致性", "感知 损失", "风格", "人脸 关键点", "扩散",
]
FIRST_RESULT_TIMEOUT_S = 180
RESULTS = paths.REPO_ROOT / "docs" / "data" / "search-bench.json"


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


def _build(config: Path, site: Path, lunr: bool) -> tuple[float, float | None]:
    """(wall seconds of mkdocs build, seconds the search index took inside it)."""
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
    found = re.search(r"search: indexed \d+ entries in ([\d.]+) s", done.stderr)
    return wall, float(found.group(1)) if found else None


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


def _measure_pagefind(site: Path) -> dict:
    from ..sitesearch.probe import browser_page

    with browser_page(site) as probe:
        page = probe.page
        start = time.perf_counter()
        page.goto(probe.base)
        probe.open("")
        probe.query(QUERIES[0])
        first = time.perf_counter() - start
        first_bytes = probe.search_bytes()
        latencies, sizes = [], []
        for q in QUERIES[1:] + QUERIES[:1]:
            mark = len(probe.sent)
            t = time.perf_counter()
            probe.query(q)
            latencies.append(time.perf_counter() - t)
            sizes.append(probe.search_bytes(mark))
        return {
            "first_result_s": first, "first_query_kb": first_bytes / 1024,
            "query_median_ms": statistics.median(latencies) * 1000, "query_p95_ms": _pct(latencies, 0.95) * 1000,
            "further_query_kb_median": statistics.median(sizes) / 1024,
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
    kept = Path(tempfile.mkdtemp(prefix="paperkb-bench-kept-"))
    for n in _sizes("PAPERKB_BENCH_SITE_SIZES", "1000"):
        with tempfile.TemporaryDirectory(prefix="paperkb-bench-site-") as tmp:
            work = Path(tmp)
            catalog = synth.write_synthetic_catalog(work / "catalog.yaml", n)
            results = {}
            for engine in ("pagefind", "lunr"):
                site = work / f"site-{engine}"
                wall, index_s = _build(_config(work, catalog, engine == "lunr"), site, engine == "lunr")
                m = _measure_pagefind(site) if engine == "pagefind" else _measure_lunr(site)
                m.update(entries=n, engine=engine, build_s=wall, index_s=index_s)
                results[engine] = m
                rows.append(m)
                if engine == "pagefind" and not (kept / "site").exists():
                    shutil.copytree(site, kept / "site")
            pf, lu = results["pagefind"], results["lunr"]
            share = pf["index_s"] / (pf["build_s"] - pf["index_s"]) if pf["index_s"] else None
            lines += [
                f"{n} entries: mkdocs build {pf['build_s']:.1f} s with Pagefind (index {pf['index_s']:.1f} s, "
                f"{share:.0%} of the rest of the build); lunr build {lu['build_s']:.1f} s",
                f"  first result after page load: Pagefind {_fmt(pf['first_result_s'], 's', 2)}, "
                f"lunr {_fmt(lu['first_result_s'], 's', 2)}",
                f"  bytes for the first query: Pagefind {_fmt(pf['first_query_kb'], 'KB')}, "
                f"lunr {_fmt(lu['first_query_kb'], 'KB')}; further queries (median) Pagefind "
                f"{_fmt(pf['further_query_kb_median'], 'KB', 1)}",
                f"  per query: Pagefind median {_fmt(pf['query_median_ms'], 'ms')}, "
                f"p95 {_fmt(pf['query_p95_ms'], 'ms')}; "
                f"lunr median {_fmt(lu.get('query_median_ms'), 'ms')}, p95 {_fmt(lu.get('query_p95_ms'), 'ms')}",
                f"  memory: Pagefind JS heap {_fmt(pf['js_heap_mb'], 'MB', 1)}, renderer RSS "
                f"{_fmt(pf['renderer_rss_mb'], 'MB')}; lunr JS heap {_fmt(lu.get('js_heap_mb'), 'MB', 1)}, "
                f"renderer RSS {_fmt(lu.get('renderer_rss_mb'), 'MB')}",
            ]
    # Larger catalogs: the index alone, written into the smaller built site. The browser's
    # figures depend only on the index and the search box; building 10,000 pages twice
    # (Pagefind and lunr) would take most of an hour on two cores.
    if (kept / "site").exists():
        from ..catalog import load_catalog
        from ..sitesearch import build_search_index

        for n in _sizes("PAPERKB_BENCH_INDEX_SIZES", "10000"):
            catalog = synth.write_synthetic_catalog(kept / f"catalog-{n}.yaml", n)
            start = time.perf_counter()
            build_search_index(load_catalog(catalog), kept / "site", paths.REPO_ROOT, quiet=True)
            index_s = time.perf_counter() - start
            m = _measure_pagefind(kept / "site")
            m.update(entries=n, engine="pagefind (index only)", build_s=None, index_s=index_s)
            rows.append(m)
            lines += [
                f"{n} entries, Pagefind index only: built in {index_s:.1f} s; first result "
                f"{_fmt(m['first_result_s'], 's', 2)}; first query {_fmt(m['first_query_kb'], 'KB')}, further "
                f"{_fmt(m['further_query_kb_median'], 'KB', 1)}; per query median {_fmt(m['query_median_ms'], 'ms')}, "
                f"p95 {_fmt(m['query_p95_ms'], 'ms')}; JS heap {_fmt(m['js_heap_mb'], 'MB', 1)}, "
                f"renderer RSS {_fmt(m['renderer_rss_mb'], 'MB')}",
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
