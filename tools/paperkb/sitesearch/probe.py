"""Drive the built site's search in headless Chromium: for the browser tests and the bench.

The site is served on loopback under a sub-path (as a project site is), every request
outside it fails (the browser's proxy for everything but loopback is a closed port), and
queries are typed into the search box as a reader would.
Debian's Chromium only; no browser is ever downloaded.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PREFIX = "/paperkb/"
# A query's limit. The first query on a page also loads the engine (for the bench's
# Pagefind rows, fetching and compiling its WebAssembly, which a loaded 2-core machine
# can take a minute over).
QUERY_TIMEOUT_MS = 60_000
FIRST_QUERY_TIMEOUT_MS = 180_000


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site only under PREFIX; records (path, bytes) of what it sends."""

    sent: list[tuple[str, int]]
    # The stdlib server sends a response's headers and body as two writes; with Nagle's
    # algorithm on, the body then waits for the browser's delayed ACK of the headers
    # (40 ms on Linux), which made every small fetch take ~50 ms on loopback. A real
    # static host sends them without that stall. Keep-alive, as a real host has, too.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def translate_path(self, path: str) -> str:
        if not path.startswith(PREFIX):
            return str(Path(self.directory) / "__outside_the_prefix__")
        return super().translate_path("/" + path[len(PREFIX):])

    def copyfile(self, source, outputfile) -> None:  # noqa: ANN001 - the stdlib's signature
        data = source.read()
        self.sent.append((self.path, len(data)))
        outputfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """(base URL ending in PREFIX, the (path, bytes) of each response) while the server runs."""
    sent: list[tuple[str, int]] = []
    handler = functools.partial(type("H", (_SubPathHandler,), {"sent": sent}), directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}", sent
    finally:
        server.shutdown()
        server.server_close()


# What fill() and a wait for the result do, in the page: the input event the box listens
# to (as pasting or a Chinese input method sends), then the first results of this query
# (the box sets data-pkb-search), then the next frame, painted. The driver's two round
# trips (fill, then polling for the result) added ~45 ms to each query here.
_TYPE_AND_WAIT = """async (text) => {
  const box = document.querySelector(".pkb-search__input");
  const root = document.documentElement;
  const shown = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if ("pkbSearch" in root.dataset) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(root, {attributes: true, attributeFilter: ["data-pkb-search"]});
  });
  const start = performance.now();
  box.focus();
  box.value = text;
  box.dispatchEvent(new InputEvent("input", {bubbles: true, inputType: "insertText", data: text}));
  await shown;
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const end = performance.now();
  return [end - start, end];
}"""


@dataclass
class SearchPage:
    """One browser page on the site, with the console errors and bytes seen so far."""

    page: object
    base: str
    sent: list[tuple[str, int]]
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # URLs requested outside the site
    opened: bool = False
    queried: bool = False  # a query has finished since the page was loaded

    def open(self, path: str = "", *, key: bool = False) -> float:
        """Load a page and open the search box (its button, or with ``key`` the "/" key);
        returns seconds until the box is ready."""
        start = time.perf_counter()
        self.page.goto(self.base + path)
        self.queried = False
        if key:
            # One key event: a click first waits for the button to be visible and stable
            # over two animation frames, ~200 ms of the driver's on this machine.
            self.page.keyboard.press("/")
        else:
            self.page.click(".pkb-search__open")
        self.wait_ready()
        self.opened = True
        return time.perf_counter() - start

    def wait_ready(self) -> None:
        """Until the search engine has loaded (its script and the index's list of chunks)."""
        self.page.wait_for_selector("html[data-pkb-search-ready]", state="attached", timeout=90_000)

    def type(self, text: str) -> None:
        """Put ``text`` in the box as one input event, as pasting or a Chinese input method does."""
        # fill() replaces what the box holds: one input event, and one round trip of the
        # driver inside the timed span, not two.
        self.page.locator(".pkb-search__input").fill(text)

    def timed_query(self, text: str) -> tuple[float, float, float]:
        """Type ``text`` and wait until its first results are painted, in one round trip
        of the driver: (seconds the driver waited; milliseconds the page measured from
        its input event to the frame after the results; and from the start of the
        page's navigation to that frame)."""
        start = time.perf_counter()
        inpage, since_navigation = self.page.evaluate(_TYPE_AND_WAIT, text)
        self.queried = True
        return time.perf_counter() - start, inpage, since_navigation

    def wait_done(self) -> None:
        """Until the last query's whole list is shown, partial matches included."""
        self._wait_for("document.documentElement.dataset.pkbSearch === 'done'")
        self.queried = True

    def _wait_for(self, condition: str) -> None:
        # Checked on every animation frame: wait_for_selector retries after 20, 50, 100,
        # 100 and then 500 ms, which added up to 100 ms to each wait.
        self.page.wait_for_function(condition, polling="raf", timeout=self._timeout_ms())

    def _timeout_ms(self) -> int:
        return QUERY_TIMEOUT_MS if self.queried else FIRST_QUERY_TIMEOUT_MS

    def hrefs(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all(".pkb-search__link", "els => els.map(e => e.getAttribute('href'))")
        return [h[len(PREFIX):] if h.startswith(PREFIX) else h for h in hrefs]

    def query(self, text: str, **filters: str) -> list[str]:
        """Type ``text``; return the result hrefs (site-relative, e.g. ``entries/adain/``)."""
        if not self.opened:
            self.open()
        page = self.page
        for name, value in filters.items():
            page.select_option(f".pkb-search__filter[aria-label='{name.title()}']", value)
        self.type(text)
        self.wait_done()
        return self.hrefs()

    def note(self) -> str:
        return self.page.inner_text(".pkb-search__note")

    def search_bytes(self, since: int = 0) -> int:
        """Bytes of search files (the site's index, Pagefind's or lunr's) sent since response
        number ``since``."""
        return sum(n for path, n in self.sent[since:] if re.search(r"pagefind|search|lunr", path))

    def js_heap_mb(self) -> float:
        return self.page.evaluate("performance.memory ? performance.memory.usedJSHeapSize / 1048576 : -1")


def record_outside(page: object, base: str, outside: list[str]) -> None:
    """Append to ``outside`` the URL of every request ``page`` makes outside the site."""
    local = (base[: -len(PREFIX) + 1], "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))


@contextlib.contextmanager
def browser_page(site: Path) -> Iterator[SearchPage]:
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium chromium-driver)")
    with serve(site) as (base, sent), sync_playwright() as p:
        # Only the local site: no external fonts, analytics or CDNs. Requests to anything
        # but loopback go to a proxy on a closed port and fail. (Intercepting every request
        # with page.route, as this did before, sends each one through the test driver
        # and back, adding 20-40 ms a request on this machine: more than the search.)
        args = [*CHROMIUM_ARGS, "--enable-precise-memory-info", "--proxy-server=127.0.0.1:9"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page()
        probe = SearchPage(page, base, sent)
        record_outside(page, base, probe.outside)
        page.on("console", lambda m: probe.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: probe.errors.append(str(e)))
        try:
            yield probe
        finally:
            browser.close()
