"""Keep the README and the code consistent."""

from __future__ import annotations

import json
import re

from conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "serve"], ["make", "test"]]


def test_every_make_target_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.M))
    for target in re.findall(r"`make ([a-z-]+)`", README) + ["serve", "test"]:
        assert target in targets, target


def test_every_tool_script_is_documented():
    for script in sorted((REPO_ROOT / "tools").glob("*.py")):
        if script.name in {"site_hooks.py", "bench.py"}:
            continue
        assert f"tools/{script.name}" in README, f"README does not mention tools/{script.name}"


def test_every_entry_field_of_the_schema_is_documented():
    schema = json.loads((REPO_ROOT / "catalog.schema.json").read_text(encoding="utf-8"))
    fields = schema["$defs"]["entry"]["properties"]
    for field in fields:
        assert re.search(rf"`{field}`|^\s+(- )?{field}:", README, re.M), f"README does not document '{field}'"


def test_ci_runs_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.M)
