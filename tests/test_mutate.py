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
