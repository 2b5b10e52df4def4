"""Run stale notebooks with nbclient and keep the executed ``.ipynb`` under ``.cache/notebooks/``.

nbclient rather than nbmake: nbmake is a pytest plugin that executes notebooks inside a
test run and throws the outputs away, while the site needs the executed notebook itself
(outputs and figures) written to the cache for mkdocs-jupyter, from the build and from
the tests alike. nbclient is the executor nbmake and nbconvert are built on, with no
pytest attached, so the build and the tests share one code path and one cache.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .sources import Notebook, source_hash

CACHE_DIR = ".cache"  # the executed notebooks live in <repo>/.cache/notebooks/<stem>.ipynb
CELL_TIMEOUT_S = 300
FORCE_ENV = "PAPERKB_NOTEBOOKS_RERUN"  # set to 1 to execute every notebook, cache or not


class NotebookError(Exception):
    """A notebook raised: the message names the notebook, the cell and the error."""


@dataclass(frozen=True)
class Executed:
    notebook: Notebook
    path: Path  # the executed .ipynb in the cache
    ran: bool  # False when the cached copy was up to date
    wall_s: float
    cpu_s: float  # user + system time of the kernel process


def cached_path(notebook: Notebook, cache_root: Path) -> Path:
    return cache_root / notebook.site_path


def is_fresh(path: Path, key: str) -> bool:
    if not path.is_file():
        return False
    try:  # plain JSON: nbformat's schema validation would cost each warm build time
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):  # a half-written or foreign file: execute again
        return False
    return isinstance(metadata, dict) and metadata.get("paperkb", {}).get("source_hash") == key


def _process_cpu(pid: int) -> float:
    """User + system seconds of a live process and its waited-for children (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _first_error(nb) -> tuple[int, str]:  # noqa: ANN001 - an nbformat.NotebookNode
    """(1-based cell number, 'Name: value') of the first cell whose outputs hold an error."""
    for number, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return number, f"{output.get('ename')}: {output.get('evalue')}"
    return 0, "unknown error"


def execute_notebook(notebook: Notebook, repo_root: Path, cache_root: Path | None = None,
                     force: bool = False) -> Executed:
    """Execute ``notebook`` unless its cached copy matches its current source hash.

    The kernel runs with the repository root as its working directory, so ``import
    refimpl`` finds this checkout's modules. Raises :class:`NotebookError` on the first
    failing cell; nothing is written to the cache then.
    """
    cache_root = cache_root or repo_root / CACHE_DIR
    target = cached_path(notebook, cache_root)
    key = source_hash(notebook.source, repo_root)
    force = force or os.environ.get(FORCE_ENV) == "1"
    if not force and is_fresh(target, key):
        return Executed(notebook, target, False, 0.0, 0.0)
    # Imported here: a warm build (nothing stale) never pays for jupytext and nbclient.
    import jupytext
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    shown = notebook.source.relative_to(repo_root).as_posix() if notebook.source.is_relative_to(repo_root) \
        else str(notebook.source)
    nb = jupytext.read(notebook.source, fmt="py:percent")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # IPC transport: a local kernel needs no TCP ports (and warns about unencrypted TCP);
    # its sockets live in a scratch folder, not in the working directory.
    with tempfile.TemporaryDirectory(prefix="paperkb-kernel-") as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        cpu: list[float] = []
        client = NotebookClient(
            nb, km=km, timeout=CELL_TIMEOUT_S, kernel_name="python3",
            resources={"metadata": {"path": str(repo_root)}},
            # Read the kernel's CPU time while it still runs (the bench reports it: wall
            # time alone says little on a loaded machine).
            on_notebook_complete=lambda notebook: cpu.append(_process_cpu(km.provisioner.process.pid)),
        )
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError:
            number, error = _first_error(nb)
            raise NotebookError(f"{shown}: cell {number} raised {error}") from None
        except (CellTimeoutError, DeadKernelError) as exc:
            raise NotebookError(f"{shown}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
        finally:
            if km.has_kernel:  # nbclient leaves a kernel manager it was handed running
                km.shutdown_kernel(now=True)
    wall = time.perf_counter() - start
    nb.metadata["paperkb"] = {"source_hash": key, "source": shown}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".ipynb.part")
    nbformat.write(nb, partial)
    partial.replace(target)  # atomic: a reader never sees half a notebook
    return Executed(notebook, target, True, wall, cpu[0] if cpu else float("nan"))


def execute_all(notebooks: list[Notebook], repo_root: Path, cache_root: Path | None = None,
                force: bool = False) -> list[Executed]:
    """Execute every stale notebook in turn; the first failure stops the run."""
    return [execute_notebook(nb, repo_root, cache_root, force) for nb in notebooks]
