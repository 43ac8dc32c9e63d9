"""`curate ablate` on a tiny generated run: re-mix per arm, train, table + plot + best arm, resume."""

from __future__ import annotations

import csv
import io

import pytest
import yaml
from click.testing import CliRunner

from curate.errors import CurateError
from curate.io.atomic import read_json
from curate.train.ablate import Constraint, Objective, Parent, arm_mix, choose_best, equal_budget, load_config
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
    with pytest.raises(CurateError, match=r"arms\.0"):
        load_config(path)
    path = _config(tmp_path, tmp_path, objective={"minimize": "domain", "subject_to": [{"loss": "general", "max_increase": 0.1, "vs": "nope"}]})
    with pytest.raises(CurateError, match="nope"):
        load_config(path)


def test_equal_budget_is_the_largest_every_arm_can_meet(tmp_path):
    run = make_run(tmp_path / "run")  # 120 docs x 64 tokens per source: 7,680 tokens each
    parent = Parent(run)
    cfg = load_config(_config(tmp_path, run, mix={"total_tokens": "all", "max_epochs": 1}))
    mixes = equal_budget({a.name: arm_mix(cfg, parent, a) for a in cfg.arms}, parent)
    # at 1 epoch, d30 is capped by general and d70 by domain: floor(7,680 / 0.7) = 10,971, planned as
    # floor(0.3 x 10,971) + floor(0.7 x 10,971) = 3,291 + 7,679 = 10,970 tokens for every arm
    assert {m.total_tokens for m in mixes.values()} == {10970}
    assert mixes["d30"].target == pytest.approx({"domain": 0.3, "general": 0.7})
    cfg = load_config(_config(tmp_path, run, mix={"total_tokens": 12000, "max_epochs": 1}))
    with pytest.raises(CurateError, match="d30"):
        equal_budget({a.name: arm_mix(cfg, parent, a) for a in cfg.arms}, parent)
    cfg = load_config(_config(tmp_path, run, mix={"total_tokens": 12000, "max_epochs": 1, "on_shortfall": "warn"}))
    assert {m.total_tokens for m in equal_budget({a.name: arm_mix(cfg, parent, a) for a in cfg.arms}, parent).values()} == {10970}
