"""Schema check plus the cross-checks a schema cannot express.

Every problem is one line ``PATH:LINE: entry 'ID': what is wrong``; all are
collected before anything is reported.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .. import paths
from . import markers, refimpl_scan, subpages, yamlsafe
from .model import STATUSES, Catalog, Entry, Tag

MIN_YEAR = 1900
URL_FIELDS = ("pdf", "code", "project", "video", "url")
URL_SCHEMES = ("http", "https")
# Characters a URL may hold (RFC 3986: unreserved, reserved and percent escapes);
# anything else (<, >, ", spaces, braces...) is refused, not guessed at.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TARGET = re.compile(r"refimpl/[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*\.py:[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    where: str  # "entry 'adain'", "tag 'gan'" or "catalog"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.where}: {self.message}"


@dataclass
class Report:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # targets whose example is pending

    @property
    def ok(self) -> bool:
        return not self.errors


def _pattern_fullmatch(validator: object, pattern: str, instance: object, schema: dict) -> object:
    """``pattern`` as a whole-string match: JSON Schema's ``re.search`` lets ``$``
    match before a final newline, so ``id: "alpha\\n"`` would pass ``^[a-z]+$``."""
    if isinstance(instance, str) and re.fullmatch(pattern.removeprefix("^").removesuffix("$"), instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern_fullmatch})


@lru_cache(maxsize=1)
def _schema_validator() -> Draft202012Validator:
    schema = json.loads(paths.SCHEMA_PATH.read_text(encoding="utf-8"))
    return _Validator(schema)


def _where(catalog: Catalog, path: tuple) -> str:
    if len(path) >= 2 and path[0] == "entries" and isinstance(path[1], int):
        if path[1] < len(catalog.entries):
            return f"entry '{catalog.entries[path[1]].id}'"
        return f"entry #{path[1] + 1}"
    if len(path) >= 2 and path[0] == "tags":
        return f"tag '{path[1]}'"
    if len(path) >= 2 and path[0] == "note_files":
        return f"note file '{path[1]}'"
    return "catalog"


def _schema_message(catalog: Catalog, error: ValidationError, path: tuple) -> str:
    field_path = ".".join(str(p) for p in path[2:]) if path[:1] == ("entries",) else ".".join(map(str, path))
    prefix = f"{field_path}: " if field_path else ""
    validator = error.validator
    if field_path.endswith("links.arxiv") and not isinstance(error.instance, str):
        raw = yamlsafe.raw_scalar(catalog.node, path) or str(error.instance)
        return (
            f"{prefix}arXiv id must be a quoted string: YAML read {raw} as the number "
            f'{error.instance!r}; write arxiv: "{raw}"'
        )
    if field_path.endswith("links.arxiv"):
        return f'{prefix}\'{error.instance}\' is not an arXiv id (expected like "1703.10590" or "cs/0112017")'
    if field_path == "status":
        return f"status {error.instance!r} is not one of {', '.join(STATUSES)}"
    if field_path.startswith("links.") and field_path.split(".")[-1] in URL_FIELDS:
        return f"{prefix}{error.instance!r} is not a URL (expected http:// or https://)"
    if validator == "not" and isinstance(error.instance, str):
        return f"{prefix}'{error.instance}' is a name the site uses for its own pages; choose another"
    if validator == "maxLength" and isinstance(error.instance, str):
        return f"{prefix}{error.instance[:20]!r}… is too long (at most {error.validator_value} characters)"
    if field_path == "year" and isinstance(error.instance, str):
        return f"year must be a decimal number like 2017, not {error.instance!r}"
    if validator == "additionalProperties":
        return f"{prefix}{error.message}"
    if validator == "required":
        return f"{prefix}{error.message}"
    if validator == "oneOf" and field_path == "refimpl":
        return (
            f"{prefix}expected a list of targets 'refimpl/<file>.py:<Symbol>' or "
            f"{{none: <reason>}}, got {error.instance!r}"
        )
    return f"{prefix}{error.message}"


@lru_cache(maxsize=1)
def _entry_validators() -> tuple[Draft202012Validator, object | None]:
    """jsonschema for one entry (its messages), and the same schema compiled by
    fastjsonschema (patterns anchored ``\\A…\\Z``): ~50x faster, used only to pass the
    entries that are valid, so that a large catalog is not held up by its schema."""
    schema = json.loads(paths.SCHEMA_PATH.read_text(encoding="utf-8"))
    entry_schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/entry"}
    slow = _Validator(entry_schema)
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - it is in requirements.txt
        return slow, None

    def anchored(node: object) -> object:
        if isinstance(node, dict):
            return {
                k: f"\\A(?:{v.removeprefix('^').removesuffix('$')})\\Z" if k == "pattern" and isinstance(v, str)
                else anchored(v)
                for k, v in node.items()
            }
        return [anchored(v) for v in node] if isinstance(node, list) else node

    return slow, fastjsonschema.compile(anchored(entry_schema))


def _entry_is_valid(fast: object, entry: object) -> bool:
    import fastjsonschema

    try:
        fast(entry)  # type: ignore[operator]
    except fastjsonschema.JsonSchemaException:
        return False
    except Exception:  # noqa: BLE001 - odd data the compiled checker did not expect: ask jsonschema
        return False
    return True


def _schema_errors(catalog: Catalog, *, top: bool = True, entries: bool = True) -> list[tuple[tuple, ValidationError]]:
    """The schema's errors: of the catalog without its entries (``top``), then of each entry."""
    data = catalog.data
    listed = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return [(tuple(e.absolute_path), e) for e in _schema_validator().iter_errors(data)] if top else []
    found = []
    if top:
        found = [(tuple(e.absolute_path), e) for e in _schema_validator().iter_errors({**data, "entries": []})]
    if not entries:
        return found
    slow, fast = _entry_validators()
    for index, entry in enumerate(listed):
        if fast is not None and _entry_is_valid(fast, entry):
            continue
        found += [(("entries", index, *e.absolute_path), e) for e in slow.iter_errors(entry)]
    return found


def _check_schema(catalog: Catalog, report: Report, *, top: bool = True, entries: bool = True) -> None:
    for path, error in _schema_errors(catalog, top=top, entries=entries):
        if "propertyNames" in error.schema_path and isinstance(error.instance, str):
            path = (*path, error.instance)  # a bad key: name it, at its own line
            message = _schema_message(catalog, error, path[:-1]).split(": ", 1)[-1]
        else:
            message = _schema_message(catalog, error, path)
        line = yamlsafe.line_of(catalog.node, path)
        report.errors.append(Problem(catalog.path, line, _where(catalog, path), message))


def _check_duplicate_keys(catalog: Catalog, report: Report) -> None:
    for dup in catalog.duplicate_keys:
        report.errors.append(
            Problem(
                catalog.path,
                dup.line,
                _where(catalog, dup.path),
                f"duplicate key '{dup.key}' (first at line {dup.first_line}); YAML would keep only the last",
            )
        )


def _id_lines(catalog: Catalog) -> list[tuple[str, int] | None]:
    """Each entry's id and its line, in order (None where the id is not text)."""
    return [(e.id, e.line_of("id")) if isinstance(e.data.get("id"), str) else None for e in catalog.entries]


def _check_ids(path: Path, ids: list[tuple[str, int] | None], report: Report) -> None:
    first: dict[str, int] = {}
    for item in ids:
        if item is None:
            continue
        name, line = item
        if name in first:
            report.errors.append(
                Problem(path, line, f"entry '{name}'", f"duplicate id '{name}' (first defined at line {first[name]})")
            )
        else:
            first[name] = line


def _check_tags(catalog: Catalog, entry: Entry, report: Report) -> None:
    known = catalog.tags
    for index, tag in enumerate(entry.data.get("tags") or []):
        if isinstance(tag, str) and tag not in known:
            close = difflib.get_close_matches(tag, list(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; declare it under 'tags:'"
            report.errors.append(
                Problem(catalog.path, entry.line_of("tags", index), f"entry '{entry.id}'", f"unknown tag '{tag}'{hint}")
            )


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL, or None; parsed with :mod:`urllib.parse`."""
    if not _URL_CHARS.fullmatch(value):
        bad = next((c for c in value if not _URL_CHARS.fullmatch(c)), "")
        return f"{value!r} is not a URL (character {bad!r} must be percent-encoded)"
    try:
        parsed = urlparse(value)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return f"{value!r} is not a URL ({exc})"
    if parsed.scheme not in URL_SCHEMES:
        return f"{value!r} is not a URL (expected http:// or https://)"
    host = parsed.hostname or ""
    if not host or ("." not in host and host != "localhost"):
        return f"{value!r} is not a URL (host {parsed.netloc!r} has no domain)"
    return None


def _check_links(catalog: Catalog, entry: Entry, report: Report) -> None:
    links = entry.data.get("links")
    if not isinstance(links, dict):
        return
    for key in URL_FIELDS:
        value = links.get(key)
        if isinstance(value, str) and (problem := url_problem(value)):
            report.errors.append(
                Problem(catalog.path, entry.line_of("links", key), f"entry '{entry.id}'", f"links.{key}: {problem}")
            )


# Fields printed on one line (terminal, page titles, tables): no control characters.
_ONE_LINE_FIELDS = ("id", "title", "authors", "venue", "doi", "tags", "links")


def _check_control_characters(catalog: Catalog, entry: Entry, report: Report) -> None:
    for name in _ONE_LINE_FIELDS:
        value = entry.data.get(name)
        items: list[tuple[tuple[str | int, ...], object]]
        if isinstance(value, list):
            items = [((name, i), v) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            items = [((name, k), v) for k, v in value.items()]
        else:
            items = [((name,), value)]
        for path, item in items:
            if isinstance(item, str) and (found := _CONTROL.search(item)):
                label = ".".join(str(p) for p in path)
                report.errors.append(
                    Problem(
                        catalog.path,
                        entry.line_of(*path),
                        f"entry '{entry.id}'",
                        f"{label}: control character U+{ord(found.group()):04X} (a line break, tab or "
                        f"terminal escape) is not allowed here",
                    )
                )


def _check_tag_labels(catalog: Catalog, report: Report) -> None:
    raw = catalog.data.get("tags") if isinstance(catalog.data, dict) else None
    for slug, labels in raw.items() if isinstance(raw, dict) else ():
        for lang, label in labels.items() if isinstance(labels, dict) else ():
            if isinstance(label, str) and (found := _CONTROL.search(label)):
                report.errors.append(
                    Problem(
                        catalog.path,
                        catalog.line_of("tags", slug, lang),
                        f"tag '{slug}'",
                        f"{lang}: control character U+{ord(found.group()):04X} is not allowed in a label",
                    )
                )


def _check_year(catalog: Catalog, entry: Entry, report: Report, this_year: int) -> None:
    year = entry.data.get("year")
    if isinstance(year, int) and not isinstance(year, bool) and not MIN_YEAR <= year <= this_year + 1:
        report.errors.append(
            Problem(
                catalog.path,
                entry.line_of("year"),
                f"entry '{entry.id}'",
                f"year {year} is out of range ({MIN_YEAR}-{this_year + 1})",
            )
        )


def _check_author_notes(catalog: Catalog, entry: Entry, report: Report) -> None:
    """The author's notes hold the author's words only: no marker sentence of added text."""
    notes = entry.data.get("notes")
    if not isinstance(notes, dict):
        return
    for lang in ("en", "zh"):
        text = notes.get(lang)
        if not isinstance(text, str):
            continue
        found = markers.find_marker(text)
        if found is None:
            continue
        offset, words = found
        line = entry.line_of("notes", lang)
        node = yamlsafe.child(yamlsafe.child(entry.node, "notes"), lang)
        if node is not None and getattr(node, "style", None) in ("|", ">"):
            line += 1 + offset  # a block scalar starts on the line after its key
        report.errors.append(
            Problem(
                catalog.path,
                line,
                f"entry '{entry.id}'",
                f"notes.{lang}: {words!r} marks text the project added; the author's notes hold the author's "
                f"words only: move a translation to translations.{lang} and a "
                f"summary to summary.{lang}",
            )
        )


def _check_subpages(catalog: Catalog, entry: Entry, report: Report) -> None:
    """Sub-page paths stay relative and inside the export; titles are one clean line."""
    for (index, key), message in subpages.problems(entry.data.get("subpages")):
        report.errors.append(
            Problem(catalog.path, entry.line_of("subpages", index, key), f"entry '{entry.id}'",
                    f"subpages[{index + 1}].{key}: {message}")
        )


def _sources(catalog: Catalog) -> set[str]:
    return {s for e in catalog.entries for s in e.sources if isinstance(s, str)}


def _check_note_files(catalog: Catalog, report: Report, sources: set[str]) -> None:
    raw = catalog.data.get("note_files") if isinstance(catalog.data, dict) else None
    if not isinstance(raw, dict):
        return
    block = yamlsafe.child(catalog.node, "note_files")
    key_lines = {k.value: k.start_mark.line + 1 for k, _ in block.value} if isinstance(block, MappingNode) else {}
    for name, value in raw.items():
        where = f"note file '{name}'"
        if name not in sources:
            report.errors.append(Problem(catalog.path, key_lines.get(name, catalog.line_of("note_files")), where,
                                         "no entry has this file in its sources"))
        items = value.get("subpages") if isinstance(value, dict) else None
        for (index, key), message in subpages.problems(items):
            report.errors.append(
                Problem(catalog.path, catalog.line_of("note_files", name, "subpages", index, key), where,
                        f"subpages[{index + 1}].{key}: {message}")
            )


def _check_metadata(catalog: Catalog, entry: Entry, report: Report) -> None:
    """Missing metadata is a warning: leaving a field out beats guessing it."""
    if entry.kind != "paper":
        return
    missing = [f for f in ("authors", "year", "venue") if f not in entry.data]
    if missing:
        report.warnings.append(
            Problem(catalog.path, entry.line, f"entry '{entry.id}'", f"missing metadata: {', '.join(missing)}")
        )


# A ``refimpl: {none: ...}`` reason names why there is no code, starting with its kind.
NONE_REASON_KINDS = ("survey", "dataset", "habit", "application", "study", "question")


def _check_none_reason(catalog: Catalog, entry: Entry, report: Report) -> None:
    """A ``none`` reason that does not start with an accepted kind is a warning."""
    reason = entry.refimpl_none_reason
    if not isinstance(reason, str):
        return
    kind, colon, _ = reason.partition(":")
    if not colon or kind.strip() not in NONE_REASON_KINDS:
        report.warnings.append(
            Problem(
                catalog.path,
                entry.line_of("refimpl", "none"),
                f"entry '{entry.id}'",
                f"refimpl none reason should start with one of {', '.join(k + ':' for k in NONE_REASON_KINDS)}",
            )
        )


def target_module(repo_root: Path, target: object) -> Path | None:
    """The file a well-formed target names, if it lies inside ``refimpl/`` (symlinks
    resolved); None otherwise. A target outside ``refimpl/`` is never opened."""
    if not isinstance(target, str) or not _TARGET.fullmatch(target):
        return None
    refimpl_dir = (repo_root / "refimpl").resolve()
    module = (repo_root / target.split(":", 1)[0]).resolve()
    return module if module.is_relative_to(refimpl_dir) and module.suffix == ".py" else None


def _check_refimpl(catalog: Catalog, report: Report, repo_root: Path) -> set[str]:
    """Each entry's targets; returns the stems of the modules they reach."""
    referenced: set[str] = set()
    for entry in catalog.entries:
        for index, target in enumerate(entry.refimpl_targets):
            if not isinstance(target, str) or not _TARGET.fullmatch(target):
                continue  # the schema already reported it
            file_part, symbol = target.split(":", 1)
            line = entry.line_of("refimpl", index)
            where = f"entry '{entry.id}'"
            module = target_module(repo_root, target)
            if module is None:
                report.errors.append(
                    Problem(catalog.path, line, where, f"refimpl target {target}: {file_part} is outside refimpl/")
                )
                continue
            if not module.is_file():
                report.errors.append(
                    Problem(catalog.path, line, where, f"refimpl target {target}: no file {file_part}")
                )
                continue
            referenced.add(module.stem)
            try:
                info = refimpl_scan.scan_module(module)
            except (OSError, UnicodeDecodeError) as exc:
                reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
                report.errors.append(
                    Problem(catalog.path, line, where, f"refimpl target {target}: cannot read {file_part}: {reason}")
                )
                continue
            except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte in the source
                report.errors.append(
                    Problem(
                        catalog.path,
                        line,
                        where,
                        f"refimpl target {target}: {file_part} does not parse: {getattr(exc, 'msg', exc)}",
                    )
                )
                continue
            top = symbol.split(".")[0]
            if top not in info.symbols:
                folded = {sym.casefold(): sym for sym in sorted(info.symbols)}
                close = [folded[c] for c in difflib.get_close_matches(top.casefold(), list(folded), n=3)]
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                report.errors.append(
                    Problem(
                        catalog.path,
                        line,
                        where,
                        f"refimpl target {target}: '{top}' is not defined in {file_part}{hint}",
                    )
                )
                continue
            if top not in info.covered:
                report.errors.append(
                    Problem(
                        catalog.path,
                        line,
                        where,
                        f"refimpl target {target}: no registered example covers '{top}' "
                        f"(add it to a @register_example(covers=[...]) in {file_part})",
                    )
                )
            if not refimpl_scan.test_mentions(module, top):
                test = Path(file_part).parent / "tests" / f"test_{module.stem}.py"
                report.errors.append(
                    Problem(
                        catalog.path, line, where, f"refimpl target {target}: no test: {test} does not test '{top}'"
                    )
                )
            if info.pending:
                report.pending.append(target)
    return referenced


def _check_orphans(catalog: Catalog, report: Report, repo_root: Path, referenced: set[str]) -> None:
    refimpl_dir = repo_root / "refimpl"
    if not refimpl_dir.is_dir() or catalog.path.resolve().parent != repo_root.resolve():
        # "every module is referenced" holds for the repository's own catalog only
        return
    modules = refimpl_scan.paper_modules(refimpl_dir)
    infos = {}
    for module in modules:
        try:
            infos[module.stem] = refimpl_scan.scan_module(module)
        except (OSError, SyntaxError, ValueError):
            infos[module.stem] = None
    reached = set(referenced)
    frontier = list(referenced)
    while frontier:  # shared blocks count as reached when a referenced module imports them
        info = infos.get(frontier.pop())
        for name in info.imports if info else ():
            if name not in reached:
                reached.add(name)
                frontier.append(name)
    for module in modules:
        if module.stem not in reached:
            report.errors.append(
                Problem(
                    module.relative_to(repo_root),
                    1,
                    f"module '{module.stem}'",
                    "no catalog entry references this module (or a module that imports it)",
                )
            )


PROGRESS_EVERY = 10_000  # entries between progress calls


def validate(
    catalog: Catalog,
    *,
    repo_root: Path | None = None,
    check_refimpl: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Every problem in ``catalog``; never raises for bad content.

    ``progress(stage)`` is called now and then on a large catalog (a line to show)."""
    with yamlsafe.paused_gc():  # collections would walk the whole catalog again and again
        return _validate(catalog, repo_root, check_refimpl, progress)


def _validate(
    catalog: Catalog, repo_root: Path | None, check_refimpl: bool, progress: Callable[[str], None] | None
) -> Report:
    report = Report()
    repo_root = repo_root or paths.REPO_ROOT
    if not isinstance(catalog.data, dict):
        report.errors.append(
            Problem(catalog.path, 1, "catalog", "the catalog must be a mapping with 'tags' and 'entries'")
        )
        return report
    return combine(catalog, [check_entries(catalog, repo_root, check_refimpl, progress)], repo_root, check_refimpl)


@dataclass
class EntryChecks:
    """What the checks of one entry at a time found in a run of entries, check by check,
    and what the checks across all entries need from them (see :func:`combine`)."""

    duplicate_keys: list[Problem]
    schema: list[Problem]
    entries: list[Problem]
    warnings: list[Problem]
    refimpl: list[Problem]
    pending: list[str]
    ids: list[tuple[str, int] | None]
    sources: set[str]
    referenced: set[str]


def check_entries(
    catalog: Catalog,
    repo_root: Path,
    check_refimpl: bool,
    progress: Callable[[str], None] | None = None,
) -> EntryChecks:
    """The checks that look at one entry at a time, over ``catalog.entries`` (which may
    be a run of a larger catalog's entries; ``catalog.tags`` must be all of its tags)."""
    large = progress is not None and len(catalog.entries) >= PROGRESS_EVERY
    if large:
        progress(f"checking the schema of {len(catalog.entries):,} entries")
    keys, schema, each, targets = Report(), Report(), Report(), Report()
    _check_duplicate_keys(catalog, keys)
    _check_schema(catalog, schema, top=False)
    this_year = _dt.date.today().year
    for done, entry in enumerate(catalog.entries, 1):
        if large and done % PROGRESS_EVERY == 0:
            progress(f"cross-checks: {done:,}/{len(catalog.entries):,} entries")
        _check_tags(catalog, entry, each)
        _check_control_characters(catalog, entry, each)
        _check_links(catalog, entry, each)
        _check_year(catalog, entry, each, this_year)
        _check_author_notes(catalog, entry, each)
        _check_subpages(catalog, entry, each)
        _check_metadata(catalog, entry, each)
        _check_none_reason(catalog, entry, each)
    referenced = _check_refimpl(catalog, targets, repo_root) if check_refimpl else set()
    return EntryChecks(
        keys.errors, schema.errors, each.errors, each.warnings, targets.errors, targets.pending,
        _id_lines(catalog), _sources(catalog), referenced,
    )


def combine(catalog: Catalog, parts: list[EntryChecks], repo_root: Path, check_refimpl: bool) -> Report:
    """The whole report: the checks across entries (unique ids, tag labels, note files,
    modules nothing references) on the catalog's top level (``catalog.data`` and
    ``catalog.node``), with the entry checks of ``parts`` in the order they were run."""
    report = Report()
    report.errors += [p for part in parts for p in part.duplicate_keys]
    _check_schema(catalog, report, entries=False)
    report.errors += [p for part in parts for p in part.schema]
    _check_ids(catalog.path, [item for part in parts for item in part.ids], report)
    _check_tag_labels(catalog, report)
    report.errors += [p for part in parts for p in part.entries]
    report.warnings += [p for part in parts for p in part.warnings]
    _check_note_files(catalog, report, set().union(*(part.sources for part in parts)))
    report.errors += [p for part in parts for p in part.refimpl]
    report.pending += [t for part in parts for t in part.pending]
    if check_refimpl:
        _check_orphans(catalog, report, repo_root, set().union(*(part.referenced for part in parts)))
    report.errors.sort(key=lambda p: (str(p.path) != str(catalog.path), p.line))
    return report


def validate_entry(
    entry: Entry | dict,
    *,
    tags: Mapping[str, Tag],
    path: Path = Path("catalog.yaml"),
    repo_root: Path | None = None,
    check_refimpl: bool = True,
    line_offset: int = 0,
) -> Report:
    """The problems of ONE entry, without reading the rest of the catalog.

    Runs the same checks, with the same messages, as :func:`validate` does for
    an entry (schema, duplicate keys, tags, links, year, metadata, refimpl
    targets); what needs every entry (unique ids, modules nothing references)
    is the caller's job. ``entry`` may carry its YAML node (lines are then
    relative to the parsed text, shifted by ``line_offset``).
    """
    if not isinstance(entry, Entry):
        entry = Entry(entry if isinstance(entry, dict) else {}, 0, None)
    entry = Entry(entry.data, 0, entry.node)
    # A one-entry catalog whose root node points at the entry's node, so the
    # catalog-wide checks find the entry's lines along ("entries", 0, ...).
    root = None
    if entry.node is not None:
        mark = entry.node.start_mark
        seq = SequenceNode("tag:yaml.org,2002:seq", [entry.node], mark, entry.node.end_mark)
        key = ScalarNode("tag:yaml.org,2002:str", "entries", mark, mark)
        root = MappingNode("tag:yaml.org,2002:map", [(key, seq)], mark, entry.node.end_mark)
    catalog = Catalog(
        path=path,
        tags=dict(tags),
        entries=[entry],
        data={"tags": {}, "entries": [entry.data]},
        node=root,
        duplicate_keys=yamlsafe.find_duplicate_keys(root),
    )
    report = Report()
    _check_duplicate_keys(catalog, report)
    _check_schema(catalog, report)
    _check_tags(catalog, entry, report)
    _check_control_characters(catalog, entry, report)
    _check_links(catalog, entry, report)
    _check_year(catalog, entry, report, _dt.date.today().year)
    _check_author_notes(catalog, entry, report)
    _check_subpages(catalog, entry, report)
    _check_metadata(catalog, entry, report)
    if check_refimpl:
        _check_refimpl(catalog, report, repo_root or paths.REPO_ROOT)
    if line_offset:
        report.errors = [replace(p, line=p.line + line_offset) for p in report.errors]
        report.warnings = [replace(p, line=p.line + line_offset) for p in report.warnings]
    report.errors.sort(key=lambda p: p.line)
    return report


def pending_entries(catalog: Catalog, *, repo_root: Path | None = None) -> list[str]:
    """Ids of entries whose refimpl module is a scaffold not implemented yet
    (an example registered with ``pending=True``), in catalog order."""
    repo_root = repo_root or paths.REPO_ROOT
    pending: list[str] = []
    for entry in catalog.entries:
        for target in entry.refimpl_targets:
            module = target_module(repo_root, target)
            if module is None:
                continue
            try:
                info = refimpl_scan.scan_module(module)
            except (OSError, SyntaxError, ValueError):
                continue  # the validator reports it
            if info.pending:
                pending.append(entry.id)
                break
    return pending
