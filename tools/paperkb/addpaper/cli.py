"""``python tools/add_paper.py 1703.06868``: one paper into the catalog, in one command."""

from __future__ import annotations

import argparse
import datetime as _dt
import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import paths
from ..catalog import summary, yamlsafe
from ..catalog.emit import entry_to_yaml
from ..catalog.model import STATUSES, Tag
from ..catalog.validate import validate_entry
from ..catalog.writer import LOCK_TIMEOUT_S, WriteFailed
from ..terminal import printable, printable_lines
from . import arxiv, crossref, ids, insert, layout, prompts, scaffold

PROG = "add_paper.py"
NO_REFIMPL = "no reference implementation yet"


class Failure(Exception):
    """Stop with this one-line message and exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Add a paper to catalog.yaml: metadata from arXiv (or Crossref for a DOI), "
        "checked, written atomically; optionally a refimpl scaffold.",
    )
    p.add_argument("identifier", nargs="?", help="arXiv id (1703.06868, arXiv:1703.06868v2, arxiv.org URL) or DOI")
    meta = p.add_argument_group("fields by hand (override the lookup; needed offline)")
    meta.add_argument("--title")
    meta.add_argument("--authors", help="comma-separated: 'Xun Huang, Serge Belongie'")
    meta.add_argument("--year", type=int)
    meta.add_argument("--venue")
    meta.add_argument("--url", help="a page for the paper (links.url)")
    meta.add_argument("--doi")
    meta.add_argument("--id", dest="entry_id", help="catalog id (default: proposed from the title)")
    meta.add_argument("--kind", choices=("paper", "trick"), default="paper")
    notes = p.add_argument_group("catalog fields")
    notes.add_argument("--tags", default="", help="comma-separated tag slugs declared in the catalog")
    notes.add_argument("--new-tag", nargs=3, action="append", default=[], metavar=("SLUG", "EN", "ZH"),
                       help="declare a new tag with its English and Chinese labels (repeatable)")
    notes.add_argument("--status", choices=STATUSES, default="unread")
    notes.add_argument("--priority", type=int, choices=range(1, 10), metavar="1-9", help="1 = read next")
    notes.add_argument("--note-en", help="your own English notes (markdown), kept verbatim in notes.en")
    notes.add_argument("--note-zh", help="你自己的中文笔记 (markdown), kept verbatim in notes.zh")
    notes.add_argument("--source", action="append", default=[], help="where the notes come from (repeatable)")
    notes.add_argument("--no-abstract", action="store_true",
                       help="do not store the looked-up abstract (kept in 'abstract', never in the notes)")
    act = p.add_argument_group("what to do")
    act.add_argument("--scaffold", action="store_true",
                     help="create refimpl/<module>.py and its test (pending) and link them from the entry")
    act.add_argument("--module", help="module name for --scaffold (default: from the id)")
    act.add_argument("--merge", action="store_true",
                     help="if the paper is already in the catalog, add the new notes and sources to it")
    act.add_argument("--edit", action="store_true", help="open $EDITOR on the new entry before adding it")
    act.add_argument("--dry-run", action="store_true", help="print the entry and the diff; write nothing")
    act.add_argument("--no-input", action="store_true", help="never prompt (for scripts)")
    act.add_argument("--offline", action="store_true", help="skip the lookup; use the fields given by hand")
    act.add_argument("--timeout", type=float, default=arxiv.DEFAULT_TIMEOUT_S, help="lookup timeout, s")
    act.add_argument("--lock-timeout", type=float, default=LOCK_TIMEOUT_S,
                     help="seconds to wait for another writer (default: %(default)s)")
    act.add_argument("--catalog", default=str(paths.DEFAULT_CATALOG), help="catalog file (default: %(default)s)")
    act.add_argument("--repo-root", default=None,
                     help="repository root holding refimpl/ (default: the catalog's folder)")
    return p


# --------------------------------------------------------------------- pieces
def _split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _lookup(identifier: ids.Identifier, fetch: arxiv.Fetch, timeout: float) -> arxiv.PaperMeta:
    if identifier.kind == "arxiv":
        return arxiv.lookup_arxiv(identifier.versioned, fetch=fetch, timeout=timeout)
    return crossref.lookup_doi(identifier.value, fetch=fetch, timeout=timeout)


def _read_head(catalog: Path) -> layout.Head:
    try:
        with open(catalog, "rb") as handle:
            return layout.read_head(handle, catalog.stat().st_size)
    except FileNotFoundError:
        raise Failure(f"{catalog}: catalog file not found") from None
    except layout.LayoutError as exc:
        raise Failure(f"{catalog}: {exc}") from None


def check_tags(wanted: list[str], known: dict[str, Tag]) -> None:
    for tag in wanted:
        if tag not in known:
            close = difflib.get_close_matches(tag, list(known), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise Failure(
                f"unknown tag '{tag}': {hint}known: {', '.join(sorted(known))}; "
                f"declare it with --new-tag {tag} 'English label' '中文标签'"
            )


def suggest_tags(known: dict[str, Tag], text: str) -> list[str]:
    """Tags whose slug or English label appears in the title or abstract (a prompt default)."""
    folded = summary.normalize_title(text)
    found = []
    for slug, tag in known.items():
        for label in (slug.replace("-", " "), tag.en):
            norm = summary.normalize_title(label)
            if norm and f" {norm} " in f" {folded} ":
                found.append(slug)
                break
    return found


def _edit_loop(
    entry: dict[str, Any], prompter: prompts.Prompter, edit: Callable[[str], str], tags: dict[str, Tag]
) -> dict[str, Any]:
    """Let the user edit the entry until it parses and passes the schema (or they give up)."""
    text = entry_to_yaml(entry)
    while True:
        text = edit(text)
        try:
            data = yamlsafe.load_fragment(text)
        except yamlsafe.YamlSyntaxError as exc:
            problem = f"edited entry, line {exc.line}: {exc.message}"
        else:
            if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
                report = validate_entry(data[0], tags=tags, check_refimpl=False)
                if not report.errors:
                    return data[0]
                problem = f"edited entry: {report.errors[0].where}: {report.errors[0].message}"
            else:
                problem = "edited entry: expected one '- id: ...' mapping"
        if not prompter.interactive or not prompter.confirm(f"{problem}. Edit again?", default=True):
            raise Failure(f"{problem}; nothing added")


# --------------------------------------------------------------------- main
def run(args: argparse.Namespace, *, fetch: arxiv.Fetch, prompter: prompts.Prompter, today: _dt.date,
        edit: Callable[[str], str], out: Any, err: Any) -> int:
    catalog = Path(args.catalog)
    repo_root = Path(args.repo_root) if args.repo_root else catalog.resolve().parent
    cache_dir = catalog.resolve().parent / ".cache" / "paperkb"
    identifier = None
    if args.identifier:
        try:
            identifier = ids.parse_identifier(args.identifier)
        except ids.BadIdentifier as exc:
            print(f"{PROG}: error: {printable(exc)}", file=err)
            return 2

    head = _read_head(catalog)
    new_tags = {slug: Tag(slug, en, zh) for slug, en, zh in args.new_tag}
    for tag in new_tags.values():
        if not tag.en.strip() or not tag.zh.strip():
            raise Failure(f"--new-tag {tag.slug}: both labels (English and Chinese) are needed")
    known = {**head.tags, **new_tags}

    summaries = summary.load_summaries(catalog, cache_dir, write=not args.dry_run)
    if identifier is not None and not args.merge:  # refuse a known paper before any lookup
        probe = {"links": {"arxiv": identifier.value}} if identifier.kind == "arxiv" else {"doi": identifier.value}
        found = insert.find_duplicate(probe, summaries)
        if found:
            raise Failure(insert.duplicate_message(catalog, *found))

    meta = None
    if identifier is not None and not args.offline:
        try:
            meta = _lookup(identifier, fetch, args.timeout)
            where = meta.primary_category or meta.venue or "?"
            print(printable(f"{identifier}: {meta.title} ({meta.year}; {where})"), file=err)
        except arxiv.LookupFailed as exc:
            print(printable(f"{PROG}: lookup of {identifier} failed ({exc}); continuing with the fields given by "
                            f"hand (--title, --authors, --year, --venue, --url)"), file=err)

    title = args.title or (meta.title if meta else None)
    title = prompter.ask("Title", title, required=True)
    if not title:
        raise Failure("no title: the lookup failed or was skipped; give --title (and --authors, --year, --venue)")
    authors = _split_list(args.authors) if args.authors else (meta.authors if meta else [])
    if not args.authors and not authors:
        authors = _split_list(prompter.ask("Authors (comma-separated)"))
    year = args.year or (meta.year if meta else None)
    if year is None:
        answer = prompter.ask("Year", check=lambda v: None if v.isdigit() else "a year is a number, e.g. 2017")
        year = int(answer) if answer else None
    venue = args.venue or (meta.venue if meta else None) or prompter.ask("Venue (e.g. CVPR 2019)")
    url = args.url or (None if meta or identifier else prompter.ask("URL"))
    doi = args.doi or (identifier.value if identifier and identifier.kind == "doi" else None)
    doi = doi or (meta.doi if meta else None)

    existing_ids = {s.id for s in summaries}
    proposed = ids.propose_id(title, existing_ids, year, meta.abstract if meta else None)
    entry_id = args.entry_id or prompter.ask("Catalog id", proposed)
    assert entry_id is not None
    tags = _split_list(args.tags)
    if not tags and prompter.interactive:
        suggested = suggest_tags(known, f"{title} {meta.abstract if meta and meta.abstract else ''}")
        tags = _split_list(prompter.ask(f"Tags ({', '.join(sorted(known))})", ", ".join(suggested)))
    check_tags(tags, known)

    entry: dict[str, Any] = {"id": entry_id, "kind": args.kind, "title": title}
    if authors:
        entry["authors"] = authors
    if year is not None:
        entry["year"] = year
    if venue:
        entry["venue"] = venue
    if doi:
        entry["doi"] = doi
    links = {}
    if identifier is not None and identifier.kind == "arxiv":
        links["arxiv"] = identifier.value
    if url:
        links["url"] = url
    if links:
        entry["links"] = links
    entry["tags"] = tags
    entry["status"] = args.status
    if args.priority is not None:
        entry["priority"] = args.priority
    notes = {lang: text.rstrip() + "\n" for lang, text in (("en", args.note_en), ("zh", args.note_zh)) if text}
    if notes:
        entry["notes"] = notes
    if meta and meta.abstract and not args.no_abstract:
        entry["abstract"] = meta.abstract
    side_files = None
    if args.scaffold and not args.merge:
        module = args.module or ids.module_name(entry_id)
        side_files, targets = scaffold.build(repo_root, entry, module)
        entry["refimpl"] = targets
    else:
        entry["refimpl"] = {"none": NO_REFIMPL}
    default_source = meta.source if meta else (f"doi.org/{doi}" if identifier and doi else "manual")
    entry["sources"] = list(dict.fromkeys([default_source, *args.source]))
    entry["added"] = today.isoformat()

    if args.edit:
        entry = _edit_loop(entry, prompter, edit, known)

    outcome = insert.add_entry(
        catalog, entry, new_tags=new_tags, merge=args.merge, dry_run=args.dry_run, side_files=side_files,
        repo_root=repo_root, cache_dir=cache_dir, lock_timeout=args.lock_timeout,
    )
    for warning in outcome.warnings:
        print(f"warning: {printable(warning)}", file=err)
    if args.dry_run:
        print(printable_lines(outcome.entry_text), end="", file=out)
        print(printable_lines(outcome.diff), end="", file=out)
        if side_files is not None:
            for path in side_files.files:
                print(f"would create {path.relative_to(repo_root)}", file=out)
            for path in side_files.edits:
                print(f"would edit {path.relative_to(repo_root)}", file=out)
        print(f"{catalog}: dry run, nothing written", file=err)
        return 0
    if outcome.action == "unchanged":
        print(printable(f"{catalog}:{outcome.line}: entry '{outcome.entry_id}' already holds these notes and "
                        f"sources; nothing written"), file=out)
        return 0
    verb = "merged into" if outcome.action == "merge" else "added"
    print(printable(f"{catalog}:{outcome.line}: {verb} entry '{outcome.entry_id}'"), file=out)
    if side_files is not None:
        made = ", ".join(str(p.relative_to(repo_root)) for p in side_files.files)
        print(f"scaffold (pending, tests skipped until written): {made}; refimpl/__init__.py imports it", file=out)
    return 0


def _bad_text(catalog: Path) -> str:
    """The line of the first byte of the catalog that is not UTF-8."""
    try:
        yamlsafe.decode(catalog.read_bytes())
    except yamlsafe.YamlSyntaxError as exc:
        return f"{catalog}:{exc.line}: {exc.message}"
    except OSError as exc:
        return f"{catalog}: cannot read catalog: {exc.strerror or exc}"
    return f"{catalog}: a file it refers to is not UTF-8 text"


def main(
    argv: list[str] | None = None,
    *,
    fetch: arxiv.Fetch = arxiv.urllib_fetch,
    input_fn: Callable[[str], str] = input,
    interactive: bool | None = None,
    today: _dt.date | None = None,
    edit: Callable[[str], str] = prompts.edit_text,
    out: Any = None,
    err: Any = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage and the problem
        return int(exc.code or 0)
    if interactive is None:
        interactive = sys.stdin.isatty()
    prompter = prompts.Prompter(interactive and not args.no_input, input_fn, err)
    try:
        return run(args, fetch=fetch, prompter=prompter, today=today or _dt.date.today(), edit=edit,
                   out=out, err=err)
    except (Failure, insert.AddError, WriteFailed) as exc:
        for line in str(exc).splitlines():
            print(f"{PROG}: {printable(line)}", file=err)
        return 1
    except yamlsafe.YamlSyntaxError as exc:  # a broken catalog met while reading it block by block
        print(f"{PROG}: {printable(args.catalog)}:{exc.line}: {printable(exc.message)}", file=err)
        return 1
    except UnicodeDecodeError:
        print(f"{PROG}: {printable(_bad_text(Path(args.catalog)))}", file=err)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return 130
