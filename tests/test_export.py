"""tools/export.py and the catalog.bib / catalog.json the site build writes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import bibtexparser
from conftest import GOOD_ENTRY, REPO_ROOT
from paperkb.catalog import load_catalog
from paperkb.export import to_bibtex
from test_sitegen import TRICK

EXPORT = [sys.executable, str(REPO_ROOT / "tools" / "export.py")]


def test_bibtex_of_the_catalog_parses_with_one_unique_key_per_paper():
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    db = bibtexparser.loads(to_bibtex(catalog.entries))
    keys = [e["ID"] for e in db.entries]
    assert len(keys) == len(set(keys)) == len(catalog.papers)
    adain = db.entries_dict["adain"]
    assert adain["ENTRYTYPE"] == "inproceedings" and adain["booktitle"] == "ICCV 2017"
    assert adain["author"] == "Xun Huang and Serge Belongie" and adain["eprint"] == "1703.06868"


def test_bibtex_keys_are_stable_when_entries_are_added(write_catalog):
    one = to_bibtex(load_catalog(write_catalog(GOOD_ENTRY)).entries)
    two = to_bibtex(load_catalog(write_catalog(TRICK, GOOD_ENTRY)).entries)
    assert one == two  # the trick adds no record and changes no key


def test_braces_and_latex_characters_in_a_title_keep_the_file_parseable(write_catalog):
    path = write_catalog(GOOD_ENTRY.replace("title: Arbitrary", "title: \"50% {of} } A_b & #c\" #"))
    (record,) = bibtexparser.loads(to_bibtex(load_catalog(path).entries)).entries
    assert record["title"] == "{50\\% \\textbraceleft{}of\\textbraceright{} \\textbraceright{} A\\_b \\& \\#c}"


def test_cli_formats_and_filters(write_catalog, tmp_path):
    path = write_catalog(GOOD_ENTRY, TRICK)
    run = lambda *a: subprocess.run([*EXPORT, "--catalog", str(path), *a], capture_output=True, text=True)  # noqa: E731
    as_json = json.loads(run("--format", "json").stdout)
    assert [e["id"] for e in as_json["entries"]] == ["adain", "hinge-loss"]
    assert as_json["entries"][0]["record"]["notes"]["zh"].startswith("自适应")
    rows = list(csv.DictReader(io.StringIO(run("--format", "csv", "--status", "unread").stdout)))
    assert [r["id"] for r in rows] == ["hinge-loss"] and rows[0]["tags"] == "gan"
    out = tmp_path / "gan.bib"
    assert run("--format", "bib", "--tag", "style-transfer", "--output", str(out)).returncode == 0
    assert [e["ID"] for e in bibtexparser.loads(out.read_text()).entries] == ["adain"]
    bad = run("--format", "bib", "--tag", "nope")
    assert bad.returncode == 2 and "unknown tag 'nope'" in bad.stderr
    assert run("--format", "xml").returncode == 2


def test_csv_cells_never_start_a_spreadsheet_formula(write_catalog):
    path = write_catalog(GOOD_ENTRY.replace("title: Arbitrary", "title: \"=HYPERLINK(1)\" #"))
    out = subprocess.run([*EXPORT, "--catalog", str(path), "--format", "csv"], capture_output=True, text=True).stdout
    assert next(csv.DictReader(io.StringIO(out)))["title"] == "'=HYPERLINK(1)"


def test_site_writes_catalog_bib_and_json_linked_from_home(built_site):
    catalog = load_catalog(REPO_ROOT / "catalog.yaml")
    db = bibtexparser.loads((built_site / "catalog.bib").read_text(encoding="utf-8"))
    assert len(db.entries) == len(catalog.papers)
    data = json.loads((built_site / "catalog.json").read_text(encoding="utf-8"))
    assert len(data["entries"]) == len(catalog.entries)
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert 'href="catalog.bib"' in home and 'href="catalog.json"' in home
