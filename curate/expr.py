"""Filter expressions over columns, compiled to vectorized `pyarrow.compute` expressions.

Selection rules are written as small Python-like expressions, e.g.

    lang == 'en' and lang_score >= 0.65 and not has_lorem_ipsum
    word_count >= 50 and (kw_finance_per_1k > 5 or source in ['filings', 'news'])

Only a safe subset is accepted (names, numbers, strings, booleans, comparisons, arithmetic,
and/or/not, `in` lists, abs(x), min()/max() of two or more values); nothing is evaluated with `eval`.
A name that is not a column is reported with the columns that exist. Integer literals must fit in
64 bits (write larger numbers as floats, e.g. `1e20`).
"""

from __future__ import annotations

import ast
import difflib
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from curate.arrow_build import scalar
from curate.errors import ConfigError

_CMP = {
    ast.Eq: "equal",
    ast.NotEq: "not_equal",
    ast.Lt: "less",
    ast.LtE: "less_equal",
    ast.Gt: "greater",
    ast.GtE: "greater_equal",
}
_BIN = {
    ast.Add: "add",
    ast.Sub: "subtract",
    ast.Mult: "multiply",
    ast.Div: "divide",
}


def names_in(expr: str) -> set[str]:
    """Column names an expression refers to."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in ("True", "False", "abs", "min", "max")}


def compile_expr(expr: str, columns: Iterable[str] | None = None, where: str = "expression") -> pc.Expression:
    """Compile `expr` to a pyarrow Expression. `columns`, when given, is checked for unknown names."""
    text = expr.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = _error_column(text, exc)
        pointer = f"\n    {text}\n    {' ' * (col - 1)}^"
        end = " (the end of the expression: is something missing?)" if col > len(text) else ""
        raise ConfigError(f"cannot parse `{text}`: {exc.msg} at column {col}{end}{pointer}", where=where,
                          fix="use Python syntax: and/or/not, ==, >=, in [...]") from None
    cols = list(columns) if columns is not None else None

    def bad(node, msg):
        raise ConfigError(f"`{expr}`: {msg}", where=where, fix="allowed: column names, numbers, 'strings', True/False, comparisons, + - * /, and/or/not, in [..], abs/min/max")

    def conv(node) -> pc.Expression:
        if isinstance(node, ast.Expression):
            return conv(node.body)
        if isinstance(node, ast.BoolOp):
            parts = [conv(v) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return ~conv(node.operand)
            if isinstance(node.op, ast.USub):
                return pc.negate(conv(node.operand))
            bad(node, "unsupported unary operator")
        if isinstance(node, ast.Compare):
            left = node.left
            out = None
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                        bad(node, "`in` needs a literal list, e.g. lang in ['en', 'de']")
                    values = [_literal(v, bad) for v in right.elts]
                    term = pc.is_in(conv(left), value_set=pa.array(values))
                    if isinstance(op, ast.NotIn):
                        term = ~term
                elif type(op) in _CMP:
                    term = pc.Expression._call(_CMP[type(op)], [conv(left), conv(right)])
                else:
                    bad(node, "unsupported comparison")
                out = term if out is None else (out & term)
                left = right
            return out
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BIN:
                bad(node, "unsupported arithmetic operator")
            return pc.Expression._call(_BIN[type(node.op)], [conv(node.left), conv(node.right)])
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in ("abs", "min", "max") or node.keywords:
                bad(node, "only abs(x), min(a, b, ...), max(a, b, ...) may be called")
            name, n = node.func.id, len(node.args)
            if any(isinstance(a, ast.Starred) for a in node.args):
                bad(node, f"{name}() takes plain arguments, not *args")
            if name == "abs" and n != 1:
                bad(node, f"abs() takes exactly one value, got {n}")
            if name in ("min", "max") and n < 2:
                # pyarrow's element-wise kernels crash the process on zero arguments; one is a no-op
                bad(node, f"{name}() compares values element-wise and needs at least two, got {n}, e.g. {name}(word_count, 100)")
            args = [conv(a) for a in node.args]
            fn = {"abs": "abs", "min": "min_element_wise", "max": "max_element_wise"}[node.func.id]
            return pc.Expression._call(fn, args)
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return literal(node.id == "True")
            if cols is not None and node.id not in cols:
                close = difflib.get_close_matches(node.id, cols, n=3)
                hint = f"did you mean {', '.join(close)}?" if close else f"available: {', '.join(sorted(cols))}"
                raise ConfigError(f"`{expr}` uses unknown column `{node.id}`", where=where, fix=hint)
            return pc.field(node.id)
        if isinstance(node, ast.Constant):
            return literal(_literal(node, bad))
        bad(node, f"unsupported syntax `{ast.dump(node)[:40]}`")

    return conv(tree)


_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def literal(value: bool | int | float | str) -> pc.Expression:
    """The expression of a literal, typed as `pc.scalar(value)` types it (`curate.arrow_build`: no
    conversion of Python values, which would import pandas at start-up)."""
    return pc.scalar(scalar(value))


def _error_column(text: str, exc: SyntaxError) -> int:
    """1-based column of a syntax error in a (possibly multi-line) expression; past the end when the
    parser ran out of input (Python then reports line 2 or offset 0, which is no column of the text)."""
    lines = text.split("\n")
    lineno, offset = exc.lineno or 0, exc.offset or 0
    if lineno < 1 or lineno > len(lines) or offset < 1:
        return len(text) + 1
    return sum(len(line) + 1 for line in lines[:lineno - 1]) + min(offset, len(lines[lineno - 1]) + 1)


def _literal(node, bad):
    value = None
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        value = node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        value = -node.operand.value
    else:
        bad(node, "expected a literal number, string or boolean")
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        bad(node, f"integer {value} does not fit in 64 bits; write it as a float (e.g. {float(value):.3g})")
    return value


def evaluate(table: pa.Table, expr: pc.Expression) -> pa.ChunkedArray | pa.Array:
    """Boolean mask of `expr` over `table`; nulls count as False. (`pyarrow.dataset` is imported here,
    not at start-up: importing it imports pandas, ~0.5 s that a run which evaluates no rule, such as a
    no-op resume, need not pay.)"""
    import pyarrow.dataset as ds

    mask = ds.dataset(table).to_table(columns={"m": expr}).column("m")
    return pc.fill_null(mask, False)
