"""Build the search index beside the rest of the site build, on the other CPU core.

The index needs only the catalog, not the rendered pages, so it can start as soon as
the catalog is loaded. ``start`` forks a child that writes it into a folder beside the
site; ``finish``, after the pages are written, waits for the child and moves the
index into the site. mkdocs renders pages in one Python thread, so on two cores the
index costs the build little more than the wait at the end.

The child is forked, not spawned, so it shares the loaded catalog instead of loading
it again. A fork copies only the calling thread, which is unsafe when other threads
hold locks (``mkdocs serve`` runs its server in one); then, and on a single CPU, the
index is built in the build's own process at ``finish``, as it always was.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Catalog
from .build import OUTPUT, SearchBuildError, build_search_index


def _child(catalog: Catalog, folder: Path, repo_root: Path, conn) -> None:  # noqa: ANN001 - a Connection
    try:
        steps: dict = {}
        build_search_index(catalog, folder, repo_root, quiet=True, timings=steps)
        conn.send(("ok", steps))
    except BaseException as exc:  # reported to the build, which fails with it
        message = str(exc) if isinstance(exc, SearchBuildError) else "".join(traceback.format_exception(exc))
        conn.send(("error", message))
    finally:
        conn.close()


@dataclass
class IndexJob:
    """The search index of one build: started early, finished after the pages."""

    catalog: Catalog
    repo_root: Path
    process: multiprocessing.process.BaseProcess | None = None
    conn: object = None
    folder: Path | None = None

    @property
    def background(self) -> bool:
        return self.process is not None

    def cancel(self) -> None:
        """Stop the child and remove what it wrote (the build failed, or was interrupted)."""
        atexit.unregister(self.cancel)
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def finish(self, site_dir: Path, quiet: bool = False) -> Path:
        """The index in ``site_dir/search-index``; raises SearchBuildError."""
        site_dir = Path(site_dir)
        if self.process is None:  # no child: built here and now
            return build_search_index(self.catalog, site_dir, self.repo_root, quiet=quiet)
        waited_from = time.perf_counter()
        try:
            status, detail = self.conn.recv()  # type: ignore[attr-defined]
        except EOFError:  # the child ended without a word; its exit status says how
            self.process.join()
            status, detail = "error", f"the search index build stopped (exit status {self.process.exitcode})"
        self.process.join()
        self.process = None
        waited = time.perf_counter() - waited_from
        try:
            if status != "ok":
                raise SearchBuildError(detail)
            out = site_dir / OUTPUT
            shutil.rmtree(out, ignore_errors=True)
            (self.folder / OUTPUT).rename(out)
        finally:
            self.cancel()
        if not quiet:
            steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in detail.items())
            print(
                f"search: indexed {len(self.catalog.entries)} entries in "
                f"{sum(detail.values()):.1f} s ({steps}) beside the pages; the build waited {waited:.1f} s for it",
                file=sys.stderr,
            )
        return out


def can_fork() -> bool:
    """Whether a forked child is safe and useful here: one thread, and a second CPU."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return (
        usable > 1 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    )


def start(catalog: Catalog, site_dir: Path, repo_root: Path, fork: bool | None = None) -> IndexJob:
    """Start indexing ``catalog`` for a build into ``site_dir`` (in a child when ``fork``,
    by default when ``can_fork()``); call ``finish`` after the pages are written."""
    job = IndexJob(catalog, Path(repo_root))
    if not (can_fork() if fork is None else fork):
        return job
    site_dir = Path(site_dir).resolve()
    # Beside the site, not in it: mkdocs empties the site folder after this point; on
    # the same file system, so the finished index moves in with one rename.
    try:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        job.folder = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-search-", dir=site_dir.parent))
    except OSError:  # a folder we may not write beside: built after the pages instead
        return job
    receive, send = multiprocessing.Pipe(duplex=False)
    job.process = multiprocessing.get_context("fork").Process(
        target=_child, args=(catalog, job.folder, job.repo_root, send), daemon=True
    )
    job.process.start()
    atexit.register(job.cancel)  # Ctrl-C during the build leaves no folder behind
    send.close()
    job.conn = receive
    return job
