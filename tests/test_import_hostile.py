"""import_notes.py against broken BibTeX, bad fields, odd catalogs and bad bytes:
every record is imported or reported skipped, and failures are one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from paperkb.catalog import read_catalog
from paperkb.importers import bibtex
from paperkb.importers.cli import main

BASE = Path(__file__).parent / "fixtures" / "import_base_catalog.yaml"

BIB = """\
@article{good1,
  title = {A Good Paper},
  author = {Smith, John and Doe, Jane},
  year = {2019},
  abstract = {We propose a method. It works {well} on
  many tasks: 50% better.},
  journal = {Journal of Things},
}

@article{broken,
  title = {Unbalanced {brace paper},
  year = {2018},
}

@article{baddoi,
  title = {Bad DOI Paper},
  year = {2017},
  doi = {not a doi},
}

@article{good2,
  title = {Another Good Paper},
  year = {2020},
  url = {https://x.org/)<script>},
}

@article{good3,
  title = {Third Good Paper},
  year = {2021},
}
"""


def setup(tmp_path: Path, bib: str = BIB) -> tuple[Path, Path]:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_bytes(BASE.read_bytes())
    source = tmp_path / "export.bib"
    source.write_text(bib, encoding="utf-8")
    return catalog, source


def test_an_entry_bibtexparser_cannot_read_is_reported_skipped():
    result = bibtex.parse_text(BIB, "export.bib")
    skipped = {s.what: s for s in result.skipped}
    assert "broken" in skipped and skipped["broken"].where == "export.bib:10"
    assert "cannot be read" in skipped["broken"].reason


def test_one_bad_field_skips_its_record_only_and_abstracts_import(tmp_path, capsys):
    catalog, source = setup(tmp_path)
    before = {e.id for e in read_catalog(catalog).entries}
    assert main(["--catalog", str(catalog), "--bibtex", str(source), "--date", "2026-11-23"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("skip  export.bib:15 'Bad DOI Paper': doi:") for line in lines), out
    assert any(line.startswith("skip  export.bib:21 'Another Good Paper': links.url:") for line in lines), out
    assert any(line.startswith("skip  export.bib:10: 'broken'") for line in lines), out
    assert lines[-1] == "added 2, merged 0, skipped 3"
    after = read_catalog(catalog)
    new = [e for e in after.entries if e.id not in before]
    assert [e.title for e in new] == ["A Good Paper", "Third Good Paper"]
    assert new[0].abstract == "We propose a method. It works well on many tasks: 50% better.\n"
    assert "catalog.yaml:" not in out  # no line of a catalog that was never written


@pytest.mark.parametrize(
    ("old", "new"),
    [("    refimpl:\n", "    links: just-a-string\n    refimpl:\n"),
     ("    refimpl:\n", "    notes: some text\n    refimpl:\n")],
    ids=["string-links", "string-notes"],
)
def test_a_catalog_with_wrong_typed_fields_is_one_clear_refusal(tmp_path, capsys, old, new):
    catalog, source = setup(tmp_path)
    text = catalog.read_text(encoding="utf-8")
    assert old in text
    catalog.write_text(text.replace(old, new, 1), encoding="utf-8")
    before = catalog.read_bytes()
    assert main(["--catalog", str(catalog), "--bibtex", str(source)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"{catalog}: not written"
    assert all(line.startswith(f"{catalog}:") for line in err)
    assert any("is not of type 'object'" in line for line in err), err
    assert catalog.read_bytes() == before


def test_a_bib_file_that_is_not_utf8_names_its_line(tmp_path, capsys):
    catalog, source = setup(tmp_path)
    source.write_bytes(b"@article{a,\n  title = {Caf\xe9},\n}\n")
    assert main(["--catalog", str(catalog), "--bibtex", str(source)]) == 1
    assert capsys.readouterr().err == f"error: {source}:2: not UTF-8 text\n"


def test_a_catalog_that_is_not_utf8_names_its_line(tmp_path, capsys):
    catalog, source = setup(tmp_path)
    data = catalog.read_bytes()
    catalog.write_bytes(data + b"# caf\xe9\n")
    line = data.count(b"\n") + 1
    assert main(["--catalog", str(catalog), "--bibtex", str(source)]) == 1
    assert capsys.readouterr().err == f"{catalog}:{line}: not UTF-8 text (byte 0xe9 cannot be decoded)\n"


def test_terminal_escapes_in_imported_titles_are_printed_escaped(tmp_path, capsys):
    catalog, source = setup(tmp_path, "@article{e,\n  title = {Esc\x1b]0;x\x07 Title},\n  year = {2020},\n}\n")
    main(["--catalog", str(catalog), "--bibtex", str(source), "--dry-run"])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
