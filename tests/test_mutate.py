"""The mutation operators produce the plausible one-line bugs, and only in model code."""

from __future__ import annotations

import textwrap

from paperkb.mutate.operators import find_mutants
from paperkb.mutate.report import summarise
from paperkb.mutate.runner import Outcome

SOURCE = textwrap.dedent('''
    """Docstring with 1 + 2 and mean."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Config:
        slope: float = 0.2
        eps: float = 1e-8

    TINY = Config(slope=0.5)

    def block(x, skip, cfg: Config = Config()):
        """Not mutated: 3 * 4."""
        if x.dim() != 4:
            raise ValueError(f"want 4 dims, got {x.dim()}")
        y = nn.LeakyReLU(cfg.slope)(x).mean(dim=1) + skip
        return -y.detach(), F.pad(x, (1, 1), mode="reflect")

    @register_example(covers=[block])
    def block_example():
        return block(1 + 1, 2)
''')


def _mutated_lines() -> set[str]:
    return {m.mutated_line.strip() for m in find_mutants(SOURCE)}


def test_operators_cover_the_plausible_bugs() -> None:
    lines = _mutated_lines()
    base = "y = nn.LeakyReLU(cfg.slope)(x).mean(dim=1) + skip"
    assert base.replace("+ skip", "- skip") in lines  # flipped sign
    assert "y = nn.LeakyReLU(cfg.slope)(x).mean(dim=1)" in lines  # dropped residual
    assert base.replace(".mean(", ".sum(") in lines  # mean <-> sum
    assert base.replace("dim=1", "dim=0") in lines  # wrong dim
    assert base.replace("LeakyReLU", "ReLU") in lines  # activation swapped
    assert "return y.detach(), F.pad(x, (1, 1), mode=\"reflect\")" in lines  # dropped unary minus
    assert "return -y, F.pad(x, (1, 1), mode=\"reflect\")" in lines  # dropped detach
    assert "return -y.detach(), F.pad(x, (1, 1), mode='zeros')" in lines  # padding mode
    assert "slope: float = 0.4" in lines  # changed default
    assert "if x.dim() == 4:" in lines  # flipped comparison


def test_docstrings_messages_examples_decorators_and_epsilons_are_left_alone() -> None:
    lines = _mutated_lines()
    assert not any("Docstring" in line or "Not mutated" in line for line in lines)
    assert not any("raise" in line or "block(1" in line for line in lines)
    assert not any("frozen=" in line or "TINY" in line or "eps" in line for line in lines)


def test_each_mutant_changes_exactly_one_line() -> None:
    original = SOURCE.splitlines()
    for m in find_mutants(SOURCE):
        changed = [i for i, (a, b) in enumerate(zip(original, m.apply(SOURCE).splitlines(), strict=True)) if a != b]
        assert changed == [m.line - 1]


def test_score_excludes_equivalent_survivors_only() -> None:
    mutants = find_mutants(SOURCE)[:4]
    outcomes = [Outcome(mutants[0], "killed", 0.1), Outcome(mutants[1], "timeout", 0.1),
                Outcome(mutants[2], "survived", 0.1), Outcome(mutants[3], "survived", 0.1)]
    eq = [{"original": mutants[3].original_line.strip(), "mutated": mutants[3].mutated_line.strip(), "reason": "r"}]
    result = summarise("m", outcomes, eq)
    assert (result["mutants"], result["killed"], result["survived"], result["equivalent"]) == (4, 2, 1, 1)
    assert result["score"] == round(2 / 3, 4)


def test_inplace_and_zip_strict_flags_are_not_mutated() -> None:
    """Flipping ``inplace`` or zip's ``strict`` never changes a value: such mutants would all be equivalent."""
    source = textwrap.dedent('''
        def layers(x):
            a = nn.ReLU(True)(x)
            b = nn.LeakyReLU(0.2, True)(a)
            c = F.relu(b, inplace=True)
            return nn.Dropout(0.5, False)(c), use_bias(True), zip(a, b, strict=True)
    ''')
    lines = {m.mutated_line.strip() for m in find_mutants(source)}
    assert not any("ReLU(False)" in line or "0.2, False" in line or "inplace=False" in line for line in lines)
    assert not any("0.5, True" in line for line in lines)
    assert "b = nn.LeakyReLU(0.4, True)(a)" in lines  # the slope is still mutated
    assert "return nn.Dropout(0.5, False)(c), use_bias(False), zip(a, b, strict=True)" in lines  # others are
    assert not any("strict=False" in line for line in lines)


RUNNER_SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from paperkb.mutate import runner
    from paperkb.mutate.operators import find_mutants
    repo = Path(sys.argv[1])
    with runner.scratch_copy(repo) as root:
        runner.warm_up(root)
        closure = runner.dependents(root, "toy")
        code, _, lines = runner.line_map(root, closure, ["refimpl/tests/test_toy.py"], 120)
        mutants = find_mutants((root / "refimpl" / "toy.py").read_text())
        outcomes = runner.run_mutants(root, closure, mutants, lines, timeout=60, jobs=2)
        print(json.dumps({"baseline": code, "closure": closure,
                          "outcomes": [[o.mutant.mutated_line.strip(), o.status, o.tests_run] for o in outcomes]}))
''')

TOY = {
    "__init__.py": "from . import toy, user  # noqa: F401\n",
    "toy.py": textwrap.dedent("""
        def scale(x):
            return x * 2


        def half(x):
            return x / 2


        def unused(x):
            return x - 5
    """),
    "user.py": textwrap.dedent("""
        from .toy import half


        def quarter(x):
            return half(half(x))
    """),
    "tests/__init__.py": "",
    "tests/test_toy.py": textwrap.dedent("""
        from refimpl import toy, user


        def test_scale():
            assert toy.scale(3) == 6


        def test_quarter_goes_through_the_dependent_module():
            assert user.quarter(8) == 2
    """),
}


def test_runner_tries_mutants_against_the_tests_that_execute_them(tmp_path) -> None:
    """Killed through a dependent module, killed directly, and untested lines survive unrun."""
    import json
    import subprocess
    import sys

    from conftest import REPO_ROOT

    for name, text in TOY.items():
        path = tmp_path / "refimpl" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "refimpl" / "registry.py").write_text(
        (REPO_ROOT / "refimpl" / "registry.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\npythonpath = ['.']\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", RUNNER_SCRIPT, str(tmp_path), str(REPO_ROOT / "tools")],
        capture_output=True, text=True, timeout=300, check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["baseline"] == 0
    assert result["closure"] == ["toy", "user"]
    outcomes = {line: (status, n) for line, status, n in result["outcomes"]}
    assert outcomes["return x / 2"][0] == "killed"  # scale's * -> /: test_scale
    assert outcomes["return x * 2"][0] == "killed"  # half's / -> *: only the dependent's test sees it
    assert outcomes["return x * 2"][1] == 1  # and only that one test ran
    assert outcomes["return x + 5"] == ("survived", 0)  # unused(): no test executes the line
