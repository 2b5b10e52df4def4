"""Plausible one-line bugs, found by walking a module's AST.

Each mutant replaces one source segment on one line, so it reads as a one-line diff.
The operators mirror the bugs that slip into reference implementations: a flipped sign
or operator, mean/sum and max/min swaps, a changed constant, a dropped residual
(``a + b`` -> ``a``), a dropped ``detach``, a swapped norm, activation, padding mode or
loss, a flipped comparison or boolean.

What is left alone, and why: docstrings and other string literals except a fixed set
of mode strings (messages are not behaviour); type annotations; ``raise``/``assert``
statements (they guard inputs, tests of error messages are not the point here); the
registered examples and ``TINY`` presets (test scaffolding); decorators; and tiny float constants (|x| < 1e-3, the
epsilons whose doubling changes nothing measurable, so they would only add
equivalent mutants).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

BINOP_SWAPS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "/"),
    ast.Div: ("/", "*"),
    ast.FloorDiv: ("//", "*"),
    ast.Pow: ("**", "*"),
}
COMPARE_SWAPS: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
}
NAME_SWAPS = {
    "mean": "sum", "sum": "mean", "max": "min", "min": "max", "amax": "amin", "amin": "amax",
    "l1_loss": "mse_loss", "mse_loss": "l1_loss", "smooth_l1_loss": "l1_loss",
    "sigmoid": "tanh", "tanh": "sigmoid", "softmax": "log_softmax", "log_softmax": "softmax",
    "relu": "leaky_relu", "leaky_relu": "relu", "exp": "expm1", "log": "log1p", "cos": "sin", "sin": "cos",
    "ReLU": "LeakyReLU", "LeakyReLU": "ReLU", "PReLU": "ReLU", "Tanh": "Sigmoid", "Sigmoid": "Tanh",
    "InstanceNorm2d": "BatchNorm2d", "BatchNorm2d": "InstanceNorm2d", "LayerNorm": "Identity",
    "ReflectionPad2d": "ZeroPad2d", "ReplicationPad2d": "ZeroPad2d",
    "AvgPool2d": "MaxPool2d", "MaxPool2d": "AvgPool2d", "avg_pool2d": "max_pool2d", "max_pool2d": "avg_pool2d",
    "cat": "stack", "argmax": "argmin", "argmin": "argmax", "topk": "kthvalue",
}
STRING_SWAPS = {
    "reflect": "zeros", "zeros": "reflect", "replicate": "zeros", "nearest": "bilinear", "bilinear": "nearest",
    "mean": "sum", "sum": "mean", "none": "mean", "fan_in": "fan_out", "fan_out": "fan_in",
}
TINY = 1e-3


@dataclass(frozen=True)
class Mutant:
    line: int  # 1-based line number in the module
    col: int
    end_col: int
    replacement: str
    operator: str
    original_line: str
    mutated_line: str

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        lines[self.line - 1] = self.mutated_line + lines[self.line - 1][len(lines[self.line - 1].rstrip("\r\n")):]
        return "".join(lines)


def _is_example_builder(node: ast.AST) -> bool:
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    for dec in node.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Name) and target.id == "register_example":
            return True
        if isinstance(target, ast.Attribute) and target.attr == "register_example":
            return True
    return False


INPLACE_LAYERS = {
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "SiLU", "Hardtanh", "Hardswish", "Hardsigmoid",
    "Mish", "Threshold", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
}


def _skipped_subtrees(tree: ast.AST) -> set[int]:
    """ids of nodes whose whole subtree is never mutated."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if _is_example_builder(node) or isinstance(node, ast.Raise | ast.Assert | ast.Import | ast.ImportFrom):
            mark(node)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.arg):
            mark(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for dec in node.decorator_list:  # @dataclass(frozen=True) is not model code
                mark(dec)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and "TINY" in t.id.upper() for t in targets):
                mark(node)  # tiny presets exist for the tests, not for the paper
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            mark(node)  # docstrings and bare strings
        if isinstance(node, ast.JoinedStr):
            mark(node)  # f-strings are messages
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"print", "warn"}:
            mark(node)
        if isinstance(node, ast.Call):
            # ``inplace`` is a memory hint: flipping it never changes a value, so every such
            # mutant would be equivalent. It is passed by keyword, or as the only boolean
            # positional argument of torch's activation and dropout layers.
            for kw in node.keywords:
                if kw.arg == "inplace":
                    mark(kw.value)
                # zip's ``strict`` only turns a length mismatch made elsewhere into an error, like
                # an assert (which is not mutated either); with equal lengths it changes nothing.
                if kw.arg == "strict" and getattr(node.func, "id", "") == "zip":
                    mark(kw.value)
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in INPLACE_LAYERS:
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, bool):
                        mark(arg)
    return skip


def _number_replacements(value: object) -> list[str]:
    if isinstance(value, bool):
        return [repr(not value)]
    if isinstance(value, int):
        if value == 0:
            return ["1"]
        if value == 1:
            return ["0", "2"]
        return [str(value + 1)]
    if isinstance(value, float):
        if value == 0.0:
            return ["1.0"]
        if abs(value) < TINY:
            return []
        if value == 1.0:
            return ["0.0", "2.0"]
        return [repr(value * 2)]
    return []


def find_mutants(source: str) -> list[Mutant]:
    """Every mutant of ``source``, in line order, one segment replaced each."""
    tree = ast.parse(source)
    lines = source.splitlines()
    skip = _skipped_subtrees(tree)
    seen: set[tuple[int, str]] = set()
    out: list[Mutant] = []

    def add(line: int, col: int, end_col: int, replacement: str, op: str) -> None:
        text = lines[line - 1]
        mutated = text[:col] + replacement + text[end_col:]
        if mutated == text or (line, mutated) in seen:
            return
        seen.add((line, mutated))
        out.append(Mutant(line, col, end_col, replacement, op, text, mutated))

    def single_line(node: ast.AST) -> bool:
        return getattr(node, "lineno", None) is not None and node.lineno == node.end_lineno

    # Only names that are called are swapped (``x.mean()``, ``nn.ReLU()``, ``max(a, b)``):
    # a swapped attribute or variable name would just raise, a mutant no test needs to catch.
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        for mutant in _node_mutants(node, lines, single_line, id(node) in called):
            add(*mutant)
    out.sort(key=lambda m: (m.line, m.col, m.operator, m.replacement))
    return out


def _operator_span(lines: list[str], left: ast.AST, right: ast.AST, token: str) -> tuple[int, int] | None:
    """Column span of ``token`` between two operands on one line, or None."""
    if left.end_lineno != right.lineno:
        return None
    text = lines[left.end_lineno - 1]
    start = text.find(token, left.end_col_offset, right.col_offset)
    if start < 0:
        return None
    # "*" inside "**" or "/" inside "//": require an exact token.
    if text[start:start + len(token) + 1] in {"**", "//"} and token in {"*", "/"}:
        return None
    return start, start + len(token)


def _node_mutants(
    node: ast.AST, lines: list[str], single_line, is_called: bool
) -> Iterator[tuple[int, int, int, str, str]]:
    if isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
        token, swap = BINOP_SWAPS[type(node.op)]
        span = _operator_span(lines, node.left, node.right, token)
        if span:
            yield node.left.end_lineno, span[0], span[1], swap, f"{token} -> {swap}"
        if isinstance(node.op, ast.Add) and single_line(node):
            # A dropped residual or bias term: a + b -> a.
            left = ast.get_source_segment("\n".join(lines), node.left)
            if left is not None:
                yield node.lineno, node.col_offset, node.end_col_offset, left, "drop + right operand"
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE_SWAPS:
        token, swap = COMPARE_SWAPS[type(node.ops[0])]
        span = _operator_span(lines, node.left, node.comparators[0], token)
        if span:
            yield node.left.end_lineno, span[0], span[1], swap, f"{token} -> {swap}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and single_line(node):
        operand = ast.get_source_segment("\n".join(lines), node.operand)
        if operand is not None and not isinstance(node.operand, ast.Constant):
            yield node.lineno, node.col_offset, node.end_col_offset, operand, "drop unary -"
    elif isinstance(node, ast.Constant) and single_line(node):
        if isinstance(node.value, bool | int | float) and not isinstance(node.value, complex):
            for rep in _number_replacements(node.value):
                yield node.lineno, node.col_offset, node.end_col_offset, rep, f"{node.value!r} -> {rep}"
        elif isinstance(node.value, str) and node.value in STRING_SWAPS:
            rep = repr(STRING_SWAPS[node.value])
            yield node.lineno, node.col_offset, node.end_col_offset, rep, f"{node.value!r} -> {rep}"
    elif isinstance(node, ast.Attribute) and is_called and node.attr in NAME_SWAPS and single_line(node):
        text = lines[node.end_lineno - 1]
        start = node.end_col_offset - len(node.attr)
        if text[start:node.end_col_offset] == node.attr:
            swap = NAME_SWAPS[node.attr]
            yield node.end_lineno, start, node.end_col_offset, swap, f".{node.attr} -> .{swap}"
    elif isinstance(node, ast.Name) and is_called and node.id in NAME_SWAPS:
        swap = NAME_SWAPS[node.id]
        yield node.lineno, node.col_offset, node.end_col_offset, swap, f"{node.id} -> {swap}"
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "detach"
        and not node.args
        and single_line(node)
    ):
        inner = ast.get_source_segment("\n".join(lines), node.func.value)
        if inner is not None:
            yield node.lineno, node.col_offset, node.end_col_offset, inner, "drop .detach()"
