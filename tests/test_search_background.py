"""The search index built beside the pages (``sitesearch/background.py``): the same index
as one built in the build's process, errors reported, nothing left behind."""

from __future__ import annotations

import dataclasses
import functools
import threading
from pathlib import Path

import pytest
from paperkb.catalog import load_catalog
from paperkb.sitesearch import background, build, postings

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def _catalog():
    catalog = load_catalog(REPO / "catalog.yaml")
    return dataclasses.replace(catalog, entries=catalog.entries[:6])


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_forked_index_equals_the_one_built_in_process(tmp_path: Path) -> None:
    inline = build.build_search_index(_catalog(), tmp_path / "inline", REPO, quiet=True)
    site = tmp_path / "site"
    job = background.start(_catalog(), site, REPO, fork=True)
    assert job.background
    site.mkdir()  # mkdocs writes the pages meanwhile
    (site / "index.html").write_text("<p>home</p>", encoding="utf-8")
    out = job.finish(site, quiet=True)
    assert out == site / "search-index"
    assert _files(out) == _files(inline)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inline", "site"]  # the child's folder is gone


def test_the_index_survives_the_site_folder_being_emptied_meanwhile(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "old.html").write_text("stale", encoding="utf-8")
    job = background.start(_catalog(), site, REPO, fork=True)
    for child in site.iterdir():  # what mkdocs does after on_pre_build
        child.unlink()
    job.finish(site, quiet=True)
    assert (site / "search-index" / "index.json").is_file()


def test_a_failure_in_the_child_fails_the_build_with_its_message(tmp_path: Path, monkeypatch) -> None:
    def broken(recs, folder):
        raise build.SearchBuildError("no space left for the index")

    monkeypatch.setattr(postings, "write_index", broken)
    site = tmp_path / "site"
    job = background.start(_catalog(), site, REPO, fork=True)
    site.mkdir()
    with pytest.raises(build.SearchBuildError, match="no space left for the index"):
        job.finish(site)
    assert list(tmp_path.iterdir()) == [site] and not list(site.iterdir())


def test_a_child_that_dies_is_reported(tmp_path: Path, monkeypatch) -> None:
    import os

    monkeypatch.setattr(postings, "write_index", lambda recs, folder: os._exit(3))
    site = tmp_path / "site"
    job = background.start(_catalog(), site, REPO, fork=True)
    with pytest.raises(build.SearchBuildError, match="exit status 3"):
        job.finish(site)
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_build_leaves_nothing(tmp_path: Path) -> None:
    job = background.start(_catalog(), tmp_path / "site", REPO, fork=True)
    job.cancel()
    assert list(tmp_path.iterdir()) == []


def test_no_fork_while_another_thread_runs(tmp_path: Path) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not background.can_fork()
        job = background.start(_catalog(), tmp_path / "site", REPO)
        assert not job.background and list(tmp_path.iterdir()) == []
    finally:
        stop.set()
        thread.join()
    out = job.finish(tmp_path / "site", quiet=True)  # built in this process instead
    assert (out / "index.json").is_file()
