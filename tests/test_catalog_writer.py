"""The one catalog writer: symlinks, modes, line endings, dry runs, OS errors, the journal."""

from __future__ import annotations

import errno
import io
import json
import os
import stat
from pathlib import Path

import pytest
from conftest import make_minimal_repo
from paperkb.addpaper import cli, scaffold
from paperkb.catalog import read_catalog, summary, writer

TODAY = __import__("datetime").date(2026, 11, 23)


def offline(url: str, timeout: float) -> bytes:
    raise AssertionError(f"no network in tests: {url}")


def add(catalog: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main([*argv, "--catalog", str(catalog), "--no-input", "--offline"], fetch=offline,
                  interactive=False, today=TODAY, out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_minimal_repo(tmp_path / "repo")


def ids(catalog: Path) -> list[str]:
    return [e.id for e in read_catalog(catalog).entries]


# --------------------------------------------------------------------- symlink, mode, CRLF
def test_a_symlinked_catalog_keeps_its_link_and_its_target_gets_the_entry(repo: Path, tmp_path: Path) -> None:
    real = repo / "catalog.yaml"
    link = tmp_path / "elsewhere" / "catalog.yaml"
    link.parent.mkdir()
    link.symlink_to(real)
    rc, _, err = add(link, "--title", "Through The Link", "--repo-root", str(repo))
    assert rc == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "through-link" in ids(real)
    assert not (link.parent / ".catalog.yaml.lock").exists()  # the lock sits beside the real file
    assert (repo / ".catalog.yaml.lock").exists()


def test_a_read_only_catalog_is_refused_with_one_line(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    before = catalog.read_bytes()
    catalog.chmod(0o444)
    rc, _, err = add(catalog, "--title", "Not Written")
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "read-only (mode 0444)" in lines[0] and "chmod u+w" in lines[0]
    assert catalog.read_bytes() == before and stat.S_IMODE(catalog.stat().st_mode) == 0o444


def test_the_file_mode_is_kept(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    catalog.chmod(0o640)
    assert add(catalog, "--title", "Mode Kept")[0] == 0
    assert stat.S_IMODE(catalog.stat().st_mode) == 0o640


def test_a_crlf_catalog_stays_crlf(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    catalog.write_bytes(catalog.read_bytes().replace(b"\n", b"\r\n"))
    rc, _, err = add(catalog, "--title", "Windows Line Ends")
    assert rc == 0, err
    data = catalog.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") > 0
    assert "windows-line-ends" in ids(catalog)


def test_text_splices_on_a_crlf_file_map_to_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(b"a: 1\r\nb: 2\r\nc: 3\r\n")
    with writer.open_catalog(path) as session:
        text = session.read_text()
        assert text == "a: 1\nb: 2\nc: 3\n"
        session.write_text(text.replace("b: 2", "b: 20"))
    assert path.read_bytes() == b"a: 1\r\nb: 20\r\nc: 3\r\n"


# --------------------------------------------------------------------- dry run, cache
def test_a_dry_run_creates_no_lock_and_no_cache(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    rc, out, _ = add(catalog, "--title", "Dry Only", "--scaffold", "--dry-run")
    assert rc == 0 and "dry-only" in out
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before


def test_import_dry_run_creates_no_lock(tmp_path: Path) -> None:
    from paperkb.importers.cli import main as import_main

    repo = make_minimal_repo(tmp_path / "repo")
    notes = tmp_path / "notes.md"
    notes.write_text("# GAN\n\n- [Some New Paper](https://arxiv.org/abs/2001.00001)\n", encoding="utf-8")
    before = sorted(repo.rglob("*"))
    assert import_main([str(notes), "--catalog", str(repo / "catalog.yaml"), "--dry-run", "-q"]) == 0
    assert sorted(repo.rglob("*")) == before


def test_a_stale_cache_with_the_same_size_and_mtime_does_not_let_a_duplicate_in(repo: Path) -> None:
    catalog = repo / "catalog.yaml"
    cache = repo / ".cache" / "paperkb"
    text = catalog.read_text(encoding="utf-8")
    fake = text.replace("title: Arbitrary Style Transfer in Real-time", "title: Xrbitrary Style Transfer in Real-time")
    assert len(fake) == len(text)
    catalog.write_text(fake, encoding="utf-8")
    summary.load_summaries(catalog, cache)  # the cache now describes the fake text...
    fake_stat = catalog.stat()
    catalog.write_text(text, encoding="utf-8")  # ...and the real text gets the same size and mtime
    os.utime(catalog, ns=(fake_stat.st_atime_ns, fake_stat.st_mtime_ns))
    assert catalog.stat().st_size == fake_stat.st_size and catalog.stat().st_mtime_ns == fake_stat.st_mtime_ns
    rc, _, err = add(catalog, "--title", "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization")
    assert rc == 1 and "already has title" in err
    assert ids(catalog).count("adain") == 1


# --------------------------------------------------------------------- OS errors
@pytest.mark.parametrize(
    ("code", "advice"),
    [(errno.ENOSPC, "disk is full"), (errno.EFBIG, "file-size limit"), (errno.EACCES, "permission denied"),
     (errno.EROFS, "read-only")],
)
def test_an_os_error_while_writing_is_one_line_and_changes_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch, code: int, advice: str
) -> None:
    catalog = repo / "catalog.yaml"
    before = catalog.read_bytes()
    real_write = os.write

    def failing_write(fd: int, data: bytes) -> int:
        if len(data) > 20:
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(writer.os, "write", failing_write)
    monkeypatch.setattr(writer, "_copy_range", lambda src, dst, start, length: failing_write(dst, b"x" * 100))
    rc, _, err = add(catalog, "--title", "Never Lands")
    lines = err.strip().splitlines()
    assert rc == 1 and len(lines) == 1, err
    assert str(catalog) in lines[0] and advice in lines[0] and "nothing was changed" in lines[0]
    assert catalog.read_bytes() == before
    assert list(repo.glob(".catalog.yaml.*.tmp")) == []


def test_a_read_only_folder_is_one_line(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(repo))

    monkeypatch.setattr(writer.tempfile, "mkstemp", refuse)
    before = (repo / "catalog.yaml").read_bytes()
    rc, _, err = add(repo / "catalog.yaml", "--title", "No Folder")
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "permission denied" in err
    assert (repo / "catalog.yaml").read_bytes() == before


def test_an_unusable_lock_file_is_one_line(repo: Path) -> None:
    (repo / ".catalog.yaml.lock").mkdir()  # a folder where the lock file should be
    before = (repo / "catalog.yaml").read_bytes()
    rc, _, err = add(repo / "catalog.yaml", "--title", "Locked Out")
    assert rc == 1 and len(err.strip().splitlines()) == 1, err
    assert "cannot use the lock file" in err and ".catalog.yaml.lock" in err
    assert (repo / "catalog.yaml").read_bytes() == before


def test_a_failed_test_file_write_leaves_no_module_behind(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = repo / "catalog.yaml"
    before, init = catalog.read_bytes(), (repo / "refimpl" / "__init__.py").read_bytes()
    real_write = os.write

    def failing_write(fd: int, data) -> int:  # the disk fills while the test module is written
        if "test_half_done.py" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    rc, _, err = add(catalog, "--title", "Half Done", "--scaffold")
    assert rc == 1 and "test_half_done.py" in err and "disk is full" in err
    assert catalog.read_bytes() == before and (repo / "refimpl" / "__init__.py").read_bytes() == init
    assert not (repo / "refimpl" / "half_done.py").exists()
    assert not writer.journal_path(catalog).exists()
    assert list(repo.rglob(".*.tmp")) == []


# --------------------------------------------------------------------- the journal
def _journal_state(repo: Path, *, renamed: bool) -> tuple[Path, bytes, bytes]:
    """What a writer killed after its side files (and before or after the rename) leaves."""
    catalog = repo / "catalog.yaml"
    entry = {"id": "journalled", "kind": "paper", "title": "Journalled", "tags": [], "status": "unread",
             "sources": ["manual"], "added": "2026-11-23"}
    side, _ = scaffold.build(repo, entry, "journalled")
    old = catalog.read_bytes()
    new = old + b"\n  - id: journalled\n    kind: paper\n    title: Journalled\n    tags: []\n    status: unread\n" \
        b"    refimpl: {none: later}\n    sources: [manual]\n    added: 2026-11-23\n"

    class Killed(BaseException):
        pass

    def kill() -> None:
        if renamed:
            os.replace(tmp_holder[0], catalog)
        raise Killed

    tmp_holder: list[Path] = []
    real_temp = writer._spliced_temp

    def remember(*args, **kwargs):
        tmp_holder.append(real_temp(*args, **kwargs))
        return tmp_holder[0]

    # Simulate SIGKILL: run the write up to the rename, then stop without any cleanup.
    session = writer.Session(catalog, catalog.resolve())
    orig_rollback = writer._rollback
    writer._spliced_temp, writer._rollback = remember, lambda real, record: []
    try:
        with pytest.raises(Killed):
            session.write_splices([writer.Splice(len(old), 0, new[len(old):])], side=side, before_rename=kill)
    finally:
        writer._spliced_temp, writer._rollback = real_temp, orig_rollback
    assert writer.journal_path(catalog).exists() and (repo / "refimpl" / "journalled.py").exists()
    return catalog, old, new


def test_an_interrupted_write_before_the_rename_is_rolled_back(repo: Path) -> None:
    init = (repo / "refimpl" / "__init__.py").read_text()
    catalog, old, _ = _journal_state(repo, renamed=False)
    assert "journalled" in (repo / "refimpl" / "__init__.py").read_text()
    messages: list[str] = []
    with writer.open_catalog(catalog, notify=messages.append):
        pass
    assert len(messages) == 1 and "rolled back an interrupted write" in messages[0]
    assert catalog.read_bytes() == old and (repo / "refimpl" / "__init__.py").read_text() == init
    assert not (repo / "refimpl" / "journalled.py").exists()
    assert not (repo / "refimpl" / "tests" / "test_journalled.py").exists()
    assert not writer.journal_path(catalog).exists() and list(repo.glob(".catalog.yaml.*.tmp")) == []


def test_an_interrupted_write_after_the_rename_is_finished(repo: Path) -> None:
    catalog, _, new = _journal_state(repo, renamed=True)
    (repo / "refimpl" / "tests" / "test_journalled.py").unlink()  # as if killed before writing it
    record = json.loads(writer.journal_path(catalog).read_text())
    messages: list[str] = []
    assert writer.recover(catalog, notify=messages.append) is not None
    assert len(messages) == 1 and "finished an interrupted write" in messages[0]
    assert catalog.read_bytes() == new
    test_file = repo / "refimpl" / "tests" / "test_journalled.py"
    assert test_file.read_text() == next(c["text"] for c in record["creates"] if c["path"] == str(test_file))
    assert "journalled" in (repo / "refimpl" / "__init__.py").read_text()
    assert not writer.journal_path(catalog).exists()


def test_validate_finishes_an_interrupted_write(repo: Path, capsys: pytest.CaptureFixture) -> None:
    from paperkb import cli_validate

    catalog, old, _ = _journal_state(repo, renamed=False)
    cli_validate.main(["--catalog", str(catalog), "--no-refimpl"])
    assert "rolled back an interrupted write" in capsys.readouterr().err
    assert catalog.read_bytes() == old and not writer.journal_path(catalog).exists()


def test_a_half_written_module_of_an_interrupted_write_is_rolled_back(repo: Path) -> None:
    # A writer killed while a new module's text was reaching the disk leaves a file
    # that no longer matches the journal; it is still the writer's own (the name was
    # free when the journal was written), so rolling back removes it too.
    catalog, old, _ = _journal_state(repo, renamed=False)
    record = json.loads(writer.journal_path(catalog).read_text(encoding="utf-8"))
    test_file = Path(next(c["path"] for c in record["creates"] if "/tests/" in c["path"]))
    text = test_file.read_text(encoding="utf-8")
    test_file.write_text(text[: len(text) // 2], encoding="utf-8")
    writer.recover(catalog, notify=lambda line: None)
    assert catalog.read_bytes() == old
    assert [c["path"] for c in record["creates"] if Path(c["path"]).exists()] == []


def test_a_new_file_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "module.py"
    writer.create_file_atomic(target, b"x = 1\n")
    assert target.read_bytes() == b"x = 1\n" and list(tmp_path.glob(".*.tmp")) == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()  # what open() gives, not 0600
    with pytest.raises(FileExistsError):
        writer.create_file_atomic(target, b"x = 2\n")
    assert target.read_bytes() == b"x = 1\n" and list(tmp_path.glob(".*.tmp")) == []


def test_without_hard_links_a_new_file_is_renamed_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src, dst) -> None:  # noqa: ANN001 - os.link's signature
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "module.py"
    writer.create_file_atomic(target, b"x = 1\n")
    assert target.read_bytes() == b"x = 1\n" and list(tmp_path.glob(".*.tmp")) == []
    with pytest.raises(FileExistsError):
        writer.create_file_atomic(target, b"x = 2\n")
    assert target.read_bytes() == b"x = 1\n" and list(tmp_path.glob(".*.tmp")) == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


DIE_RUNNER = """
import os, sys
sys.path.insert(0, {tools!r})
from paperkb.catalog import writer
die_at, seen = int(os.environ["DIE_AT"]), [0]

def moment() -> bool:
    seen[0] += 1
    return seen[0] == die_at

real_write_all = writer._write_all
def write_all(fd, data):
    if moment():  # half the bytes reach the disk, then the process is gone
        real_write_all(fd, data[: len(data) // 2])
        os._exit(9)
    real_write_all(fd, data)
writer._write_all = write_all

for name in ("link", "replace", "unlink", "fsync"):
    def after(*args, _real=getattr(os, name)):
        result = _real(*args)
        if moment():
            os._exit(9)
        return result
    setattr(os, name, after)

from paperkb.addpaper.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_scaffold_stopped_at_every_write_leaves_everything_or_nothing(repo: Path) -> None:
    # Deterministic companion of the random kills below: the writer dies in the middle
    # of each write and right after each link, rename, unlink and fsync, in turn.
    import subprocess
    import sys

    from paperkb import paths

    catalog = repo / "catalog.yaml"
    code = DIE_RUNNER.format(tools=str(paths.REPO_ROOT / "tools"))
    outcomes = []
    for die_at in range(1, 200):
        word = f"n{die_at:03d}"
        module = f"stopped_scaffold_{word}"
        argv = [sys.executable, "-c", code, "--catalog", str(catalog), "--no-input", "--offline", "--scaffold",
                "--title", f"Stopped Scaffold {word.upper()}", "--module", module]
        proc = subprocess.run(argv, env={**os.environ, "DIE_AT": str(die_at)}, capture_output=True, text=True,
                              timeout=120)
        writer.recover(catalog, notify=lambda line: None)
        present = [
            f"stopped-scaffold-{word}" in ids(catalog),
            (repo / "refimpl" / f"{module}.py").exists(),
            (repo / "refimpl" / "tests" / f"test_{module}.py").exists(),
            f"    {module}," in (repo / "refimpl" / "__init__.py").read_text(encoding="utf-8"),
        ]
        assert all(present) or not any(present), (die_at, present, proc.stderr[-400:])
        assert not writer.journal_path(catalog).exists()
        if proc.returncode == 0:
            assert all(present), proc.stdout
            break
        assert proc.returncode == 9, proc.stderr[-400:]
        outcomes.append(all(present))
    else:
        pytest.fail("the scaffold never finished")
    assert True in outcomes and False in outcomes, outcomes  # both sides of the rename were hit
    assert add(catalog, "--title", "After The Stops")[0] == 0
    assert list(repo.rglob(".*.tmp")) == []


# --------------------------------------------------------------------- SIGKILL at random moments
KILL_RUNNER = """
import sys
sys.path.insert(0, {tools!r})
from paperkb.addpaper.cli import main
print("ready", flush=True)
sys.stdin.readline()
sys.exit(main(sys.argv[1:]))
"""


def _scaffold_writer(repo: Path, title: str):
    import subprocess
    import sys

    from paperkb import paths

    code = KILL_RUNNER.format(tools=str(paths.REPO_ROOT / "tools"))
    argv = [sys.executable, "-c", code, "--catalog", str(repo / "catalog.yaml"), "--no-input", "--offline",
            "--scaffold", "--title", title]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return proc


@pytest.mark.slow
def test_a_scaffold_killed_at_any_moment_leaves_everything_or_nothing(repo: Path) -> None:
    import random
    import signal
    import time

    catalog = repo / "catalog.yaml"
    proc = _scaffold_writer(repo, "Calibration Paper")
    started = time.perf_counter()
    assert proc.wait(timeout=60) == 0, proc.communicate()
    duration = time.perf_counter() - started
    rng = random.Random(1)
    outcomes = {"all": 0, "none": 0}
    for i in range(10):
        word = "abcdefghij"[i]
        title, module = f"Killed Scaffold {word.upper()}", f"killed_scaffold_{word}"
        proc = _scaffold_writer(repo, title)
        time.sleep(rng.uniform(0.0, 1.0) * duration)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        writer.recover(catalog, notify=lambda line: None)  # what the next tool does first
        present = [
            f"killed-scaffold-{word}" in ids(catalog),
            (repo / "refimpl" / f"{module}.py").exists(),
            (repo / "refimpl" / "tests" / f"test_{module}.py").exists(),
            f"    {module}," in (repo / "refimpl" / "__init__.py").read_text(encoding="utf-8"),
        ]
        assert all(present) or not any(present), (i, present)
        outcomes["all" if all(present) else "none"] += 1
        assert not writer.journal_path(catalog).exists()
    assert sum(outcomes.values()) == 10, outcomes
    assert add(catalog, "--title", "After The Kills")[0] == 0  # the next writer cleans up and lands
    assert list(repo.rglob(".*.tmp")) == [] and "after-kills" in ids(catalog)
