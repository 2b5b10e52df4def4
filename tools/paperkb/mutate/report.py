"""The recorded result of a mutation run: ``refimpl/mutation/<module>.json`` and a table."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

from .runner import Outcome


def load_equivalents(path: Path) -> list[dict[str, str]]:
    """Survivors judged equivalent, each ``{original, mutated, reason}`` (stripped lines)."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list) or not all(
        isinstance(d, dict) and {"original", "mutated", "reason"} <= set(d) for d in data
    ):
        raise ValueError(f"{path}: expected a list of {{original, mutated, reason}} mappings")
    return data


def summarise(module: str, outcomes: list[Outcome], equivalents: list[dict[str, str]]) -> dict:
    """Counts and survivors; equivalent survivors are excluded from the score."""
    keys = {(d["original"].strip(), d["mutated"].strip()): d["reason"] for d in equivalents}
    survivors, equivalent = [], []
    for o in outcomes:
        if o.status != "survived":
            continue
        key = (o.mutant.original_line.strip(), o.mutant.mutated_line.strip())
        row = {"line": o.mutant.line, "operator": o.mutant.operator, "original": key[0], "mutated": key[1]}
        if o.tests_run == 0:
            row["untested"] = True  # no test executes the line, so nothing ran
        if key in keys:
            equivalent.append({**row, "reason": keys[key]})
        else:
            survivors.append(row)
    killed = sum(o.status in {"killed", "timeout"} for o in outcomes)
    scored = len(outcomes) - len(equivalent)
    return {
        "module": module,
        "date": dt.date.today().isoformat(),
        "mutants": len(outcomes),
        "killed": killed,
        "survived": len(survivors),
        "equivalent": len(equivalent),
        "timeouts": sum(o.status == "timeout" for o in outcomes),
        "score": round(killed / scored, 4) if scored else 1.0,
        "survivors": survivors,
        "equivalents": equivalent,
    }


def write(result: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result['module']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def table(results: list[dict]) -> str:
    rows = ["| module | mutants | killed | survived | equivalent | score |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        rows.append(
            f"| {r['module']} | {r['mutants']} | {r['killed']} | {r['survived']} | {r['equivalent']} "
            f"| {r['score']:.0%} |"
        )
    return "\n".join(rows)
