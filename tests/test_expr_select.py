"""Filter expressions and the select modes (threshold, expr, top-k%, Pareto)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
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
