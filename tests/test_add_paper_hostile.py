"""add_paper.py against hostile servers (a loopback HTTP server on 127.0.0.1, never
the network), hostile answers, broken catalogs and odd titles for --scaffold."""

from __future__ import annotations

import ast
import contextlib
import http.server
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import make_minimal_repo
from paperkb.addpaper import arxiv, cli, crossref, httpget, ids
from paperkb.catalog import read_catalog

FIXTURES = Path(__file__).parent / "fixtures"
ATOM = (FIXTURES / "arxiv_1703.06868.xml").read_bytes()


# -- a bounded loopback server ---------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    behaviour: Callable[[http.server.BaseHTTPRequestHandler], None]

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            type(self).behaviour(self)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Callable], str]]:
    servers = []

    def start(behaviour: Callable) -> str:
        handler = type("Handler", (_Handler,), {"behaviour": staticmethod(behaviour)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/api"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def trickle(handler) -> None:
    """A byte every 0.2 s, for at most 6 s: each read succeeds, the answer never ends."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/atom+xml")
    handler.end_headers()
    for _ in range(30):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.2)


def trickle_headers(handler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(30):
        handler.wfile.write(b"X: y\r\n")
        handler.wfile.flush()
        time.sleep(0.2)


def huge(handler) -> None:
    """An answer far over the cap (sent in chunks, no Content-Length), bounded at 64 MB."""
    handler.send_response(200)
    handler.end_headers()
    chunk = b"x" * (1 << 20)
    for _ in range(64):
        handler.wfile.write(chunk)


def huge_declared(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(700 * 1024 * 1024))
    handler.end_headers()
    handler.wfile.write(b"x" * 1024)


def ok(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(ATOM)))
    handler.end_headers()
    handler.wfile.write(ATOM)


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (trickle, "did not answer within 1 s"),
        (trickle_headers, "did not answer within 1 s"),
        (huge, "more than"),
        (huge_declared, "more than"),
    ],
    ids=["trickled-body", "trickled-headers", "huge-body", "huge-declared"],
)
def test_bounded_get_has_a_deadline_and_a_size_cap(serve, behaviour, message):
    url = serve(behaviour)
    start = time.monotonic()
    with pytest.raises(httpget.FetchFailed) as caught:
        httpget.bounded_get(url, timeout=1.0)
    assert time.monotonic() - start < 3.0
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bounded_get_reads_a_normal_answer(serve):
    assert httpget.bounded_get(serve(ok), timeout=5.0) == ATOM


def test_bounded_get_refuses_other_schemes():
    with pytest.raises(httpget.FetchFailed, match="only http and https"):
        httpget.bounded_get("file:///etc/passwd", timeout=1.0)


def test_arxiv_is_asked_over_https():
    assert arxiv.API.startswith("https://")
    assert crossref.API.startswith("https://")


# -- hostile answers ----------------------------------------------------------------------
HTML_PAGE = b"""<?xml version="1.0"?>
<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>503 Service Unavailable</h1></body></html>"""


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (HTML_PAGE, "not an Atom feed"),
        (b"<html><body>Bad gateway<br></body></html>", "not Atom XML"),
    ],
)
def test_an_html_page_is_not_a_missing_paper(answer, message):
    with pytest.raises(arxiv.LookupFailed) as caught:
        arxiv.parse_atom(answer, "1703.06868")
    assert message in str(caught.value) and "has no paper" not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        b"[1, 2]",
        b'{"message": []}',
        b'{"message": "x"}',
        b'{"message": {"title": 5}}',
        b'{"message": {"title": ["T"], "author": "me"}}',
        b'{"message": {"title": ["T"], "author": [5]}}',
        b'{"message": {"title": ["T"], "issued": [2017]}}',
        b'{"message": {"title": ["T"], "container-title": {"a": 1}}}',
        b"\xff\xfe not json",
    ],
)
def test_crossref_answers_of_the_wrong_shape_are_one_line(answer):
    with pytest.raises(arxiv.LookupFailed) as caught:
        crossref.parse_work(answer, "10.1000/x")
    assert "10.1000/x" in str(caught.value) and "\n" not in str(caught.value)


def test_crossref_odd_but_usable_fields_still_parse():
    meta = crossref.parse_work(json.dumps({"message": {
        "title": "One Title", "author": [{"name": "A Group"}], "issued": {"date-parts": [[None]]},
        "URL": "javascript:alert(1)"}}).encode(), "10.1000/x")
    assert meta.title == "One Title" and meta.authors == ["A Group"] and meta.year is None
    assert meta.url == "https://doi.org/10.1000/x"


ESCAPES = "\x1b]0;owned\x07\x1b[2J"


def test_escapes_in_a_looked_up_title_are_neither_printed_nor_stored(tmp_path):
    repo = make_minimal_repo(tmp_path / "repo")
    catalog = repo / "catalog.yaml"
    # XML 1.0 cannot carry ESC as a character reference: a server would send the raw bytes
    start = ATOM.index(b"<title>", ATOM.index(b"<entry>")) + len(b"<title>")
    end = ATOM.index(b"</title>", start)
    hostile = ATOM[:start] + b"\xc2\x9b2J A Hostile\xe2\x80\xae Title" + ATOM[end:]
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["2003.08934", "--no-input", "--catalog", str(catalog), "--id", "hostile"],
                  fetch=lambda url, timeout: hostile, interactive=False, out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert "\x9b" not in text and "\x1b" not in text
    stored = catalog.read_text(encoding="utf-8")
    assert "\x9b" not in stored
    assert rc == 0, err.getvalue()
    assert read_catalog(catalog).by_id()["hostile"].title == "2J A Hostile Title"


def test_escapes_given_by_hand_are_refused_and_printed_escaped(tmp_path):
    repo = make_minimal_repo(tmp_path / "repo")
    catalog = repo / "catalog.yaml"
    before = catalog.read_bytes()
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["--no-input", "--offline", "--catalog", str(catalog), "--title", f"{ESCAPES}Title"],
                  interactive=False, out=out, err=err)
    assert rc == 1
    assert "\x1b" not in out.getvalue() + err.getvalue() and "\x07" not in err.getvalue()
    assert "control character" in err.getvalue()
    assert catalog.read_bytes() == before


# -- broken catalogs and scaffolds -----------------------------------------------------
def test_non_utf8_byte_in_an_entry_is_one_line_with_its_line(tmp_path):
    repo = make_minimal_repo(tmp_path / "repo")
    catalog = repo / "catalog.yaml"
    data = catalog.read_bytes()
    at = data.index(b"title:", data.index(b"- id:"))
    catalog.write_bytes(data[:at] + b"title: caf\xe9 " + data[at + 7 :])
    line = data[:at].count(b"\n") + 1
    err = io.StringIO()
    rc = cli.main(["--no-input", "--offline", "--catalog", str(catalog), "--title", "Some New Paper"],
                  interactive=False, out=io.StringIO(), err=err)
    assert rc == 1
    assert err.getvalue() == f"add_paper.py: {catalog}:{line}: not UTF-8 text (byte 0xe9 cannot be decoded)\n"


@pytest.mark.parametrize("init", [b"from . import (\n    adain,\n", b"\xff\xfe\x00binary", b"x = 1\x00\n"])
def test_scaffold_with_a_broken_refimpl_init_is_one_line(tmp_path, init):
    repo = make_minimal_repo(tmp_path / "repo")
    (repo / "refimpl" / "__init__.py").write_bytes(init)
    before = (repo / "catalog.yaml").read_bytes()
    err = io.StringIO()
    rc = cli.main(["--no-input", "--offline", "--scaffold", "--catalog", str(repo / "catalog.yaml"),
                   "--title", "Some New Paper"], interactive=False, out=io.StringIO(), err=err)
    assert rc == 1
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "refimpl/__init__.py" in lines[0], lines
    assert (repo / "catalog.yaml").read_bytes() == before


@pytest.mark.parametrize("title", ["None", "True", "False", "Example", "Tiny", "Exception", "Torch"])
def test_scaffold_names_parse_and_do_not_shadow(tmp_path, title):
    repo = make_minimal_repo(tmp_path / "repo")
    err = io.StringIO()
    rc = cli.main(["--no-input", "--offline", "--scaffold", "--catalog", str(repo / "catalog.yaml"),
                   "--title", title], interactive=False, out=io.StringIO(), err=err)
    assert rc == 0, err.getvalue()
    module = ids.module_name(ids.propose_id(title, set()))
    source = (repo / "refimpl" / f"{module}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)  # it parses
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not set(classes) & imported  # the registry's Example is not shadowed
    ast.parse((repo / "refimpl" / "tests" / f"test_{module}.py").read_text(encoding="utf-8"))
