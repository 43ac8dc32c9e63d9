"""Filter expressions over columns, compiled to vectorized `pyarrow.compute` expressions.

Selection rules are written as small Python-like expressions, e.g.

    lang == 'en' and lang_score >= 0.65 and not has_lorem_ipsum
    word_count >= 50 and (kw_finance_per_1k > 5 or source in ['filings', 'news'])

Only a safe subset is accepted (names, numbers, strings, booleans, comparisons, arithmetic,
and/or/not, `in` lists, abs()/min()/max() of two values); nothing is evaluated with `eval`.
A name that is not a column is reported with the columns that exist.
"""

from __future__ import annotations

import ast
import difflib
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

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
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"cannot parse `{expr}`: {exc.msg} at column {exc.offset}", where=where, fix="use Python syntax: and/or/not, ==, >=, in [...]") from None
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
                bad(node, "only abs(x), min(a, b), max(a, b) may be called")
            args = [conv(a) for a in node.args]
            fn = {"abs": "abs", "min": "min_element_wise", "max": "max_element_wise"}[node.func.id]
            return pc.Expression._call(fn, args)
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return pc.scalar(node.id == "True")
            if cols is not None and node.id not in cols:
                close = difflib.get_close_matches(node.id, cols, n=3)
                hint = f"did you mean {', '.join(close)}?" if close else f"available: {', '.join(sorted(cols))}"
                raise ConfigError(f"`{expr}` uses unknown column `{node.id}`", where=where, fix=hint)
            return pc.field(node.id)
        if isinstance(node, ast.Constant):
            return pc.scalar(_literal(node, bad))
        bad(node, f"unsupported syntax `{ast.dump(node)[:40]}`")

    return conv(tree)


def _literal(node, bad):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    bad(node, "expected a literal number, string or boolean")


def evaluate(table: pa.Table, expr: pc.Expression) -> pa.ChunkedArray | pa.Array:
    """Boolean mask of `expr` over `table`; nulls count as False."""
    mask = ds.dataset(table).to_table(columns={"m": expr}).column("m")
    return pc.fill_null(mask, False)
