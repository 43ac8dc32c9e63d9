"""`curate ablate` on a tiny generated run: re-mix per arm, train, table + plot + best arm, resume."""

from __future__ import annotations

import csv
import io
import re

import pytest
import yaml
from click.testing import CliRunner

from curate.errors import CurateError
from curate.io.atomic import read_json
from curate.layout import RunLayout
from curate.train.ablate import Constraint, Objective, Parent, arm_mix, choose_best, equal_budget, load_ablation
from curate.train.cli import ablate as ablate_cmd
from train_helpers import make_run

ARMS = [{"name": "d30", "domain_share": 0.3}, {"name": "d51", "domain_share": 0.51}, {"name": "d70", "domain_share": 0.7}]


def _config(tmp_path, run, **extra):
    cfg = {
        "run": str(run), "name": "share", "seeds": [0],
        "mix": {"total_tokens": 12000},
        "train": {"model": "tiny", "objective": "clm", "steps": 12, "seq_len": 32, "batch_size": 8, "lr": 3e-3, "eval_windows": 8},
        "runtime": {"device": "cpu", "threads": 1, "quiet": True},
        "arms": ARMS,
        "objective": {"minimize": "domain", "subject_to": [{"loss": "general", "max_increase": 1.0, "vs": "d51"}]},
        **extra,
    }
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_ablation_writes_table_plot_and_best_arm_and_resumes(tmp_path):
    run = make_run(tmp_path / "run")
    path = _config(tmp_path, run)
    res = CliRunner().invoke(ablate_cmd, [str(path), "--quiet"])
    assert res.exit_code == 0, res.output
    out = run / "ablations" / "share"
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert [r["arm"] for r in rows] == ["d30", "d51", "d70"]
    shares = [float(r["domain_share"]) for r in rows]
    assert shares == pytest.approx([0.3, 0.51, 0.7], abs=0.006)  # achieved, token-exact mixing
    assert {r["mix_budget"] for r in rows} == {"12000"} and len({r["train_tokens"] for r in rows}) == 1  # equal budgets
    assert all(abs(int(r["mix_tokens"]) - 12000) <= 2 * 64 for r in rows)  # each role met to within one document
    for r in rows:
        assert float(r["val_domain"]) > 0 and float(r["val_general"]) > 0 and float(r["val_src_fin"]) == float(r["val_domain"])
    md = (out / "results.md").read_text()
    best = read_json(out / "results.json")["best"]
    assert f"Best arm: **{best['arm']}**" in md and f"| {best['arm']} **(best)** |" in md
    assert sum(line.startswith(("| d30", "| d51", "| d70")) for line in md.splitlines()) == 3
    assert (out / "loss_vs_domain_share.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for arm in ("d30", "d51", "d70"):  # each arm re-mixed into its own folder, evaluated on the parent's held-out data
        assert (out / arm / "seed0" / "manifest.json").is_file() and (out / arm / "seed0" / "train" / "summary.json").is_file()

    # rerun: every arm is skipped (its result is reused as is)
    table = (out / "results.csv").read_text()
    stamp = {a: (out / a / "seed0" / "result.json").stat().st_mtime_ns for a in ("d30", "d51", "d70")}
    assert CliRunner().invoke(ablate_cmd, [str(path), "--quiet"]).exit_code == 0
    assert stamp == {a: (out / a / "seed0" / "result.json").stat().st_mtime_ns for a in stamp}
    assert (out / "results.csv").read_text() == table


def test_choose_best_with_constraints():
    agg = {
        "a": {"mean": {"domain": 3.0, "general": 4.0}},
        "b": {"mean": {"domain": 2.5, "general": 4.3}},
        "c": {"mean": {"domain": 2.8, "general": 4.1}},
    }
    assert choose_best(agg, Objective(minimize="domain"))["arm"] == "b"
    # general may rise at most 0.15 over arm a (limit 4.15): b is excluded, c wins
    best = choose_best(agg, Objective(minimize="domain", subject_to=[Constraint(loss="general", max_increase=0.15, vs="a")]))
    assert best["arm"] == "c" and best["feasible"] and list(best["infeasible"]) == ["b"]
    # nothing meets general <= 3.9: report the unconstrained best, flagged
    best = choose_best(agg, Objective(minimize="domain", subject_to=[Constraint(loss="general", max=3.9)]))
    assert best["arm"] == "b" and not best["feasible"]
    with pytest.raises(CurateError, match="legal"):
        choose_best(agg, Objective(minimize="legal"))


def test_config_errors_name_the_key(tmp_path):
    path = _config(tmp_path, tmp_path, arms=[{"name": "x", "domain_share": 0.4, "mix": {"total_tokens": 5}}])
    with pytest.raises(CurateError, match=r"ablation.yaml:\d+: `arms\[0: x\]`"):
        load_ablation(path)
    path = _config(tmp_path, tmp_path, objective={"minimize": "domain", "subject_to": [{"loss": "general", "max_increase": 0.1, "vs": "nope"}]})
    with pytest.raises(CurateError, match="nope"):
        load_ablation(path)


def test_equal_budget_is_the_largest_every_arm_can_meet(tmp_path):
    run = make_run(tmp_path / "run")  # 120 docs x 64 tokens per source: 7,680 tokens each
    parent = Parent(run)
    cfg = load_ablation(_config(tmp_path, run, mix={"total_tokens": "all", "max_epochs": 1}))
    mixes = equal_budget({a.name: arm_mix(cfg, parent, a) for a in cfg.arms}, parent)
    # at 1 epoch, d30 is capped by general and d70 by domain: floor(7,680 / 0.7) = 10,971, planned as
    # floor(0.3 x 10,971) + floor(0.7 x 10,971) = 3,291 + 7,679 = 10,970 tokens for every arm
    assert {m.total_tokens for m in mixes.values()} == {10970}
    assert mixes["d30"].target == pytest.approx({"domain": 0.3, "general": 0.7})
    cfg = load_ablation(_config(tmp_path, run, mix={"total_tokens": 12000, "max_epochs": 1}))
    with pytest.raises(CurateError, match="d30"):
        equal_budget({a.name: arm_mix(cfg, parent, a) for a in cfg.arms}, parent)
    cfg = load_ablation(_config(tmp_path, run, mix={"total_tokens": 12000, "max_epochs": 1, "on_shortfall": "warn"}))
    assert {m.total_tokens for m in equal_budget({a.name: arm_mix(cfg, parent, a) for a in cfg.arms}, parent).values()} == {10970}


# ---- selection arms: re-select a real pipeline run's annotated data at other thresholds ----

SELECT_PIPELINE = """
name: sel
seed: 7
sources:
  - {name: fin, role: domain, paths: [in/fin/*]}
  - {name: gen, role: general, paths: [in/gen/*]}
annotate:
  batch_size: 64
  heuristics: {}
  langid: null
select:
  rules:
    - {name: has_words, keep: "word_count >= 10"}
    - {name: long_enough, mode: threshold, column: word_count, threshold: 40}
tokenizer: {vocab_size: 400, sample_bytes: 200000, val_fraction: 0.1}
mix: {total_tokens: all, max_epochs: 4}
"""


def _docs(ds) -> set[bytes]:
    return {ds[i].tobytes() for i in range(len(ds))}


def test_selection_arms_reselect_annotated_data_at_other_thresholds(corpus, monkeypatch):
    import pyarrow.parquet as pq

    from curate.pipeline import run_pipeline
    from curate.shards.megatron import IndexedDataset

    monkeypatch.chdir(corpus)
    (corpus / "p.yaml").write_text(SELECT_PIPELINE)
    run = run_pipeline(corpus / "p.yaml", out=corpus / "run", workers=1, progress=False).run_dir
    arms = [{"name": "w60", "set_rule": {"name": "long_enough", "threshold": 60}},
            {"name": "w120", "set_rule": [{"name": "long_enough", "threshold": 120}]},
            {"name": "parent", "domain_share": 0.51}]
    path = _config(corpus, run, name="quality", arms=arms, mix={"total_tokens": "all", "max_epochs": 4, "on_shortfall": "warn", "tolerance": 0.05},
                   objective={"minimize": "domain"})
    res = CliRunner().invoke(ablate_cmd, [str(path), "--quiet"])
    assert res.exit_code == 0, res.output
    out = run / "ablations" / "quality"
    rows = {r["arm"]: r for r in csv.DictReader(io.StringIO((out / "results.csv").read_text()))}

    # expected kept docs, computed independently from the annotated columns (no dedup stage here)
    wc = pq.read_table(sorted((run / "annotated").rglob("*.parquet")), columns=["word_count"]).column("word_count").to_numpy()
    for arm, t in (("parent", 40), ("w60", 60), ("w120", 120)):
        assert int(rows[arm]["selected_docs"]) == int(((wc >= 10) & (wc >= t)).sum())
    assert int(rows["parent"]["selected_docs"]) > int(rows["w60"]["selected_docs"]) > int(rows["w120"]["selected_docs"]) > 0
    assert rows["w120"]["selection"] == "long_enough threshold=120" and rows["parent"]["selection"] == "parent"
    assert len({r["mix_budget"] for r in rows.values()}) == 1 and len({r["train_tokens"] for r in rows.values()}) == 1  # equal budgets
    for r in rows.values():
        assert 0 < float(r["val_domain"]) < 10 and 0 < float(r["val_general"]) < 10
    assert re.search(r"\| w120( \*\*\(best\)\*\*)? \| long_enough threshold=120 \|", (out / "results.md").read_text())

    for arm in ("w60", "w120"):
        arun = out / arm / "run"
        # the parent's annotated Parquet is reused in place (linked), never recomputed; same tokenizer
        for f in (run / "annotated").rglob("*.parquet"):
            assert (arun / "annotated" / f.relative_to(run / "annotated")).resolve().read_bytes() == f.read_bytes()
        assert not (arun / "_markers" / "annotate").exists() and not (arun / "tokenizer").exists()
        assert read_json(arun / "tokens" / "tokenizer_info.json")["sha256"] == read_json(run / "manifest.json")["tokenizer"]["sha256"]
        assert (out / arm / "seed0" / "train" / "summary.json").is_file()
        # no document of the parent's held-out split is in the arm's training tokens
        for src, role in (("fin", "domain"), ("gen", "general")):
            held = _docs(IndexedDataset(RunLayout(run).tokens(src, role, "heldout")))
            assert held and not held & _docs(IndexedDataset(RunLayout(arun).tokens(src, role, "train")))
            assert held & _docs(IndexedDataset(RunLayout(arun).tokens(src, role, "heldout")))  # they land in its held-out split instead

    # rerun: nothing is re-selected or re-trained
    stamp = {a: (out / a / "run" / "prepared.json").stat().st_mtime_ns for a in ("w60", "w120")}
    assert CliRunner().invoke(ablate_cmd, [str(path), "--quiet"]).exit_code == 0
    assert stamp == {a: (out / a / "run" / "prepared.json").stat().st_mtime_ns for a in stamp}


def test_selection_arm_errors_name_the_arm_and_key(tmp_path):
    bad = [({"name": "q", "set_rule": {"name": "low_quality", "treshold": 0.9}}, r"arms\[0: q\].*treshold"),
           ({"name": "q", "set_rule": {"threshold": 0.9}}, r"arms\[0: q\].*name"),
           ({"name": "q", "set_rule": {"name": "a"}, "select": {"rules": []}}, r"arms\[0: q\].*not both"),
           ({"name": "q", "select": {"rules": [{"name": "t", "mode": "threshold", "column": "x"}]}}, r"arms\[0: q\]\.select\.rules\[0: t\].*threshold")]
    for arm, msg in bad:
        with pytest.raises(CurateError, match=msg):
            load_ablation(_config(tmp_path, tmp_path, arms=[arm]))
    from curate.config import SelectConfig
    from curate.train.ablate import Arm, arm_select

    base = SelectConfig.model_validate({"rules": [{"name": "low_quality", "mode": "pareto", "column": "quality_score"}]})
    patched = arm_select(base, Arm(name="q", set_rule={"name": "low_quality", "mode": "top_fraction", "fraction": 0.5}))
    assert (patched.rules[0].mode, patched.rules[0].fraction, patched.rules[0].column) == ("top_fraction", 0.5, "quality_score")
    with pytest.raises(CurateError, match=r"(?s)arms\.q\.set_rule\.0.*nope.*low_quality"):
        arm_select(base, Arm(name="q", set_rule={"name": "nope", "threshold": 1}))
    with pytest.raises(CurateError, match=r"arms\.q\.set_rule\.0.*fraction"):
        arm_select(base, Arm(name="q", set_rule={"name": "low_quality", "mode": "top_fraction"}))
