"""Filter expressions and the select modes (threshold, expr, top-k%, Pareto)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from curate.config import RuleConfig, SelectConfig
from curate.errors import ConfigError
from curate.expr import compile_expr, evaluate
from curate.sampling import unit_hash
from curate.stages.select import apply_rules, rule_keep_mask


def table(n=1000, seed=0):
    r = np.random.default_rng(seed)
    return pa.table({
        "id": [f"d{i}" for i in range(n)],
        "source": ["a"] * (n // 2) + ["b"] * (n - n // 2),
        "role": ["domain"] * (n // 2) + ["general"] * (n - n // 2),
        "lang": ["en", "de", None, "en"] * (n // 4),
        "score": r.random(n),
        "word_count": r.integers(0, 500, n),
    })


def test_expr_semantics():
    t = table(8)
    m = evaluate(t, compile_expr("lang == 'en' and word_count >= 0", t.column_names)).to_pylist()
    assert m == [True, False, False, True] * 2  # null lang -> False
    m = evaluate(t, compile_expr("not lang in ['de'] and (score < 2 or False)", t.column_names)).to_pylist()
    assert m == [True, False, True, True] * 2  # is_in(null) is False, so `not` keeps it
    m = evaluate(t, compile_expr("max(word_count, 1000) / 2 == 500", t.column_names)).to_pylist()
    assert all(m)


@pytest.mark.parametrize("bad", ["__import__('os')", "lang.upper()", "x = 1", "lang ==", "[1][0]"])
def test_expr_rejects_unsafe_or_invalid(bad):
    with pytest.raises(ConfigError):
        compile_expr(bad, ["lang"])


def test_expr_unknown_column_suggests():
    with pytest.raises(ConfigError, match="did you mean lang"):
        compile_expr("lnag == 'en'", ["lang", "score"])


def test_first_failed_rule_is_the_reason():
    t = table()
    cfg = SelectConfig(rules=[RuleConfig(name="short", keep="word_count >= 100"),
                              RuleConfig(name="low", mode="threshold", column="score", threshold=0.5)])
    alive, reasons = apply_rules(t, cfg, {}, 0, None, "t")
    wc = t.column("word_count").to_numpy()
    sc = t.column("score").to_numpy()
    assert reasons["short"] == int((wc < 100).sum())
    assert reasons["low"] == int(((wc >= 100) & (sc < 0.5)).sum())
    assert alive.sum() == int(((wc >= 100) & (sc >= 0.5)).sum())


def test_scoped_rule_only_touches_its_source():
    t = table()
    cfg = SelectConfig(rules=[RuleConfig(name="drop_b", drop="word_count >= 0", sources=["b"])])
    alive, reasons = apply_rules(t, cfg, {}, 0, None, "t")
    assert reasons["drop_b"] == 500 and alive[:500].all() and not alive[500:].any()


def test_pareto_matches_gpt3_keep_probability_and_is_seeded():
    n = 200_000
    ids = [str(i) for i in range(n)]
    for s, expected in ((1.0, 1.0), (0.9, 1.1 ** -9), (0.5, 1.5 ** -9)):
        t = pa.table({"id": ids, "score": np.full(n, s)})
        rule = RuleConfig(name="p", mode="pareto", column="score", alpha=9)
        keep = rule_keep_mask(t, rule, None, seed=7, where="t")
        assert abs(keep.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-9
    a = 1.0 - unit_hash(ids[:1000], 7, "p")  # the draw the pareto rule uses
    assert np.array_equal(a, 1.0 - unit_hash(ids[:1000], 7, "p"))
    assert not np.array_equal(a, 1.0 - unit_hash(ids[:1000], 8, "p"))
    assert ((a > 0) & (a <= 1)).all()


def test_duplicates_dropped_first_with_their_reason():
    t = table(8)
    dups = pa.table({"row": [1, 5], "reason": ["exact_duplicate", "near_duplicate"]})
    cfg = SelectConfig(rules=[RuleConfig(name="all", drop="word_count >= 0")])
    alive, reasons = apply_rules(t, cfg, {}, 0, dups, "t")
    assert reasons == {"exact_duplicate": 1, "near_duplicate": 1, "all": 6}


def test_min_max_element_wise_and_arity_errors():
    t = pa.table({"a": [1, 5, 9], "b": [4.0, 2.0, None]})
    assert evaluate(t, compile_expr("min(a, b) >= 2", t.column_names)).to_pylist() == [False, True, True]
    assert evaluate(t, compile_expr("max(a, 3, 6) == 6", t.column_names)).to_pylist() == [True, True, False]
    # zero arguments crashed the process inside pyarrow (exit 139); now a clear error before any kernel runs
    for bad, msg in (("min() > 0", "min\\(\\) .* needs at least two, got 0"), ("max(a) > 0", "got 1"),
                     ("abs(a, b) > 0", "abs\\(\\) takes exactly one value, got 2"), ("abs() > 0", "got 0")):
        with pytest.raises(ConfigError, match=msg):
            compile_expr(bad, t.column_names, where="p.yaml rule `r`")


def test_huge_integer_literal_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"rule `big`: .*integer 99999999999999999999 does not fit in 64 bits.*1e\+20"):
        compile_expr("word_count < 99999999999999999999", ["word_count"], where="p.yaml rule `big`")
    with pytest.raises(ConfigError, match="does not fit in 64 bits"):
        compile_expr("word_count in [1, 99999999999999999999]", ["word_count"])
    t = pa.table({"w": [1, 2]})
    assert evaluate(t, compile_expr("w < 9223372036854775807 and w > -9223372036854775807", ["w"])).to_pylist() == [True, True]
    assert evaluate(t, compile_expr("w < 1e20", ["w"])).to_pylist() == [True, True]


@pytest.mark.parametrize("text, col", [("lang ==", 8), ("word_count >= 1 and", 20), ("lang = 'en'", 6),
                                       ("lang == 'en' and (x > 1", 18), ("a b", 3)])
def test_syntax_error_reports_its_real_column(text, col):
    with pytest.raises(ConfigError) as info:
        compile_expr(text, ["lang", "word_count", "x", "a", "b"])
    msg = str(info.value)
    assert f"column {col}" in msg and "column 0" not in msg
    assert msg.splitlines()[2].index("^") - 4 == col - 1  # the caret sits under that column


@pytest.mark.parametrize("value", [True, False, 0, -1, 2**63 - 1, -(2**63), 1.5, -0.0, float("inf"), "", "héllo", "a\x00b"])
def test_literal_is_the_scalar_pyarrow_would_make(value):
    from curate.expr import literal

    assert literal(value).equals(pc.scalar(value))
    assert str(literal(value)) == str(pc.scalar(value))
