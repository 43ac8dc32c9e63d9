"""Golden tests for `curate plan`: published figures reproduced, hand-computed data needs, CLI output.

Expected values come from the published papers (Chinchilla, BloombergGPT) or are computed by hand in the comments,
never by calling the code under test a second way.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from curate.errors import CurateError
from curate.plan import (
    CHINCHILLA, EPOCH, GPUS, PF_DAY_FLOPS, TRAIN_RECIPES, TWENTY_X, ModelShape, activation_bytes,
    data_plan, effective_tokens, evaluate, gpu_days, gpus_for_training, make_plan, memory_plan,
    micro_batch_for_activations, pf_days, read_manifest, training_flops,
)
from curate.plan.cli import plan as plan_cmd

A100 = GPUS["a100"]


# --- compute and rules ---------------------------------------------------------------------------

def test_pf_day_is_8_64e19_flops():
    assert PF_DAY_FLOPS == 8.64e19
    assert pf_days(8.64e19) == pytest.approx(1.0)


def test_chinchilla_70b_needs_about_1_4t_tokens():
    assert TWENTY_X.tokens_for_params(70e9) == pytest.approx(1.4e12)
    assert TWENTY_X.params_for_tokens(1.4e12) == pytest.approx(70e9)
    # Epoch refit: ~18.4 tokens/param at this scale -> 1.29T, within 10% of 1.4T.
    assert EPOCH.tokens_for_params(70e9) == pytest.approx(1.4e12, rel=0.10)
    assert EPOCH.params_for_tokens(1.4e12) == pytest.approx(70e9, rel=0.10)
    # 6 * 70e9 * 1.4e12 = 5.88e23, Chinchilla was trained at Gopher's 5.76e23 FLOPs.
    assert training_flops(70e9, 1.4e12) == pytest.approx(5.76e23, rel=0.03)


def test_gpt3_is_under_trained():
    e = evaluate(175e9, 300e9, EPOCH, A100, 0.4)
    assert e.compute == pytest.approx(3.14e23, rel=0.01)  # GPT-3 paper: 3.14e23; 6ND = 3.15e23
    assert e.tokens_per_param == pytest.approx(300 / 175)
    assert e.below_20x and e.verdict == "under-trained"
    assert e.optimal_loss_epoch < e.loss_epoch  # a smaller model on more tokens would do better


def test_bloomberggpt_flagged_below_20x():
    e = evaluate(50.6e9, 569e9, EPOCH, A100, 0.4)
    assert e.tokens_per_param == pytest.approx(569 / 50.6)  # 11.2
    assert e.below_20x
    assert e.compute == pytest.approx(1.73e23, rel=0.01)  # REFERENCES §1.3 cross-check
    p = make_plan(params=50.6e9, tokens=569e9)
    assert any("below Chinchilla's 20x" in w for w in p.warnings)


def test_losses_match_reference_figures():
    # REFERENCES §2: Hoffmann 70B/1.4T 1.937, 50.6B/569B 1.993; Epoch 1.974 and 2.013.
    assert CHINCHILLA.loss(70e9, 1.4e12) == pytest.approx(1.937, abs=5e-4)
    assert CHINCHILLA.loss(50.6e9, 569e9) == pytest.approx(1.993, abs=5e-4)
    assert EPOCH.loss(70e9, 1.4e12) == pytest.approx(1.974, abs=5e-4)
    assert EPOCH.loss(50.6e9, 569e9) == pytest.approx(2.013, abs=5e-4)


@pytest.mark.parametrize("compute,hoffmann,epoch", [
    (1e19, 32, 24), (1e21, 50, 21.6), (1e23, 78, 19.2), (5.76e23, 93, 18.4),
])
def test_optimal_tokens_per_param(compute, hoffmann, epoch):
    n, d = CHINCHILLA.optimal(compute)
    assert d / n == pytest.approx(hoffmann, rel=0.02)
    n, d = EPOCH.optimal(compute)
    assert d / n == pytest.approx(epoch, rel=0.02)
    assert 6 * n * d == pytest.approx(compute)


@pytest.mark.parametrize("law", [EPOCH, CHINCHILLA])
def test_frontier_minimises_loss_at_fixed_compute(law):
    c = 1e22
    n, d = law.optimal(c)
    best = law.loss(n, d)
    for f in (0.8, 0.95, 1.05, 1.25):  # move along the iso-FLOP curve: N·f, D/f
        assert law.loss(n * f, d / f) > best
    assert law.tokens_for_params(n) == pytest.approx(d)
    assert law.params_for_tokens(d) == pytest.approx(n)


def test_gpu_days_and_budget():
    # 1e21 FLOPs on H100 at 50%: 1e21 / (989e12 * 0.5 * 86400) = 23.40 days.
    assert gpu_days(1e21, GPUS["h100"], 0.5) == pytest.approx(23.4043, rel=1e-4)


def test_disagreement_is_explained():
    p = make_plan(params=70e9, rule="20x")
    text = " ".join(p.notes)
    assert "Besiroglu" in text and "legacy" in text
    assert p.chosen.rule == "20x" and p.chosen.tokens == pytest.approx(1.4e12)


# --- memory --------------------------------------------------------------------------------------

def test_bytes_per_param():
    by = {r.name: r.bytes_per_param for r in TRAIN_RECIPES}
    assert by["mixed-precision Adam"] == 16  # ZeRO: 2 + 2 + 12
    assert by["fp32 Adam"] == 16
    assert by["seed rule of thumb"] == 24  # 4 to hold + 20 extra


def test_seed_1b_figures_and_the_activation_gap():
    # Pythia-1B shape (16 layers, hidden 2048, 8 heads, untied 50,304 vocab): published 1,011,781,632.
    shape = ModelShape(16, 2048, 8)
    assert shape.params(50304, tied_embeddings=False) == pytest.approx(1_011_781_632, rel=1e-3)
    m = memory_plan(1e9, A100, shape, seq_len=2048, micro_batch=13)
    hold = {h.dtype: h.total_bytes for h in m.hold}
    assert hold["fp32"] == 4e9  # seed: 4 GB to hold at fp32
    rows = {r.recipe: r for r in m.train}
    assert rows["seed rule of thumb"].total_bytes == 24e9  # the 4 + 20 rule
    # Korthikanti, no recompute: 16 layers * 2048 * 13 * 2048 * (34 + 5*8*2048/2048) = 64.55e9 bytes.
    act = 16 * 2048 * 13 * 2048 * 74
    assert rows["mixed-precision Adam"].activation_bytes == act
    assert rows["mixed-precision Adam"].total_bytes == 16e9 + act
    assert 16e9 + act == pytest.approx(80e9, rel=0.01)  # the seed's 80 GB to train
    # 80 - 16 GB of state = 64 GB of activations: between micro-batch 12 and 13.
    assert 12 < micro_batch_for_activations(shape, 2048, 64e9) < 13


def test_recompute_modes_and_gpu_count():
    shape = ModelShape(2, 64, 4)
    assert activation_bytes(shape, 128, 2, "selective") == 2 * 34 * 128 * 2 * 64
    assert activation_bytes(shape, 128, 2, "full") == 2 * 2 * 128 * 2 * 64
    # ZeRO paper: 7.5B at Nd = 64 with stage 3 -> 16 * 7.5e9 / 64 = 1.875 GB per GPU.
    assert gpus_for_training(16 * 7.5e9, 0, 1.875e9) == 64
    assert gpus_for_training(16e9, 81e9, 80e9) is None


def test_big_model_escalates_recompute():
    m = memory_plan(70e9, A100)  # 1 x 2048 tokens of a 70B model: > 80 GB without recompute
    row = m.train[0]
    assert row.activation_bytes > A100.memory_bytes
    assert row.gpus_recompute in ("selective", "full")
    act = activation_bytes(m.shape, 2048, 1, row.gpus_recompute)
    assert row.gpus == math.ceil(16 * 70e9 / (80e9 - act))


def test_shape_estimate_matches_bloomberggpt():
    s = ModelShape.for_params(50.6e9)  # BloombergGPT: 70 layers, hidden 7,680
    assert abs(s.layers - 70) <= 2 and s.hidden == 7680


# --- data ----------------------------------------------------------------------------------------

def test_muennighoff_repeated_token_value():
    # REFERENCES §3: value of a repeated token vs a unique one.
    for epochs, value in ((2, 0.97), (4, 0.91), (8, 0.80), (16, 0.64), (32, 0.43), (64, 0.24)):
        assert (effective_tokens(1.0, epochs) - 1) / (epochs - 1) == pytest.approx(value, abs=0.005)
    assert effective_tokens(100.0, 0.5) == 50.0


def test_default_mixture_without_manifest():
    d = data_plan(100e9, TWENTY_X)
    assert {s.name: s.tokens_needed for s in d.sources} == {"domain": 51e9, "general": 49e9}


def write_manifest(path, sources, target=None):
    mixture = {"by": "role", "sources": sources}
    if target is not None:
        mixture["target"] = target
    path.write_text(json.dumps({"seed": 1, "tokenizer": {}, "mixture": mixture, "shards": [], "config": {}}))
    return path


SOURCES = {
    "filings": {"role": "domain", "available_tokens": 1_000_000_000, "tokens": 1_000_000_000, "epochs": 1.0},
    "news": {"role": "domain", "available_tokens": 3_000_000_000, "tokens": 1_000_000_000, "epochs": 0.33},
    "web": {"role": "general", "available_tokens": 100_000_000_000, "tokens": 1_900_000_000, "epochs": 0.02},
}


def test_manifest_epochs_warning_and_supported_model(tmp_path):
    path = write_manifest(tmp_path / "manifest.json", SOURCES, {"domain": 0.51, "general": 0.49})
    p = make_plan(params=1e9, rule="20x", manifest=path)
    rows = {s.name: s for s in p.data.sources}
    # D = 20e9; domain 10.2e9 split 1:1 by what the run mixed -> 5.1e9 each; web 9.8e9.
    assert rows["filings"].tokens_needed == pytest.approx(5.1e9)
    assert rows["filings"].epochs == pytest.approx(5.1) and rows["filings"].over_cap
    assert rows["news"].epochs == pytest.approx(1.7) and not rows["news"].over_cap
    assert rows["web"].epochs == pytest.approx(0.098)
    # 5.1 epochs: U * (1 + 15.387756 * (1 - exp(-4.1 / 15.387756))) = 1e9 * 4.5992
    assert rows["filings"].effective_tokens == pytest.approx(4.5992e9, rel=1e-4)
    assert any("'filings'" in w and "5.1 epochs" in w for w in p.warnings)
    # filings carries 25.5% of tokens: D_max = 1e9 * cap / 0.255; 20x -> N = D / 20.
    sup = {s.max_epochs: s for s in p.data.supported}
    assert sup[4.0].tokens == pytest.approx(15.686e9, rel=1e-4) and sup[4.0].limiting_source == "filings"
    assert sup[4.0].params == pytest.approx(784.3e6, rel=1e-4)
    assert sup[1.0].params == pytest.approx(196.08e6, rel=1e-4)


def test_no_warning_within_four_epochs(tmp_path):
    path = write_manifest(tmp_path / "manifest.json", SOURCES)
    p = make_plan(params=1e8, rule="20x", manifest=path)  # 2e9 tokens: filings 0.51 epochs
    assert not p.warnings


def test_mixture_by_source(tmp_path):
    path = write_manifest(tmp_path / "manifest.json", SOURCES)
    p = make_plan(params=1e9, rule="20x", manifest=path, mixture={"filings": 0.1, "news": 0.2, "web": 0.7})
    assert p.data.mixture_by == "source"
    assert {s.name: s.tokens_needed for s in p.data.sources} == pytest.approx(
        {"filings": 2e9, "news": 4e9, "web": 14e9})


def test_manifest_errors_name_the_key(tmp_path):
    bad = {"filings": {"role": "domain"}}
    path = write_manifest(tmp_path / "m.json", bad)
    with pytest.raises(CurateError, match=r"mixture\.sources\.filings\.available_tokens"):
        read_manifest(path)
    (tmp_path / "n.json").write_text(json.dumps({"seed": 1}))
    with pytest.raises(CurateError, match="missing key mixture"):
        read_manifest(tmp_path / "n.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(CurateError, match="not valid JSON"):
        read_manifest(tmp_path / "x.json")
    path = write_manifest(tmp_path / "ok.json", SOURCES)
    with pytest.raises(CurateError, match="neither sources nor roles"):
        make_plan(params=1e9, manifest=path, mixture={"legal": 1.0})
    with pytest.raises(CurateError, match="sum to 0.9"):
        make_plan(params=1e9, mixture={"domain": 0.5, "general": 0.4})


# --- CLI -----------------------------------------------------------------------------------------

def run(*args):
    return CliRunner().invoke(plan_cmd, list(args), catch_exceptions=False)


def test_cli_table_output():
    r = run("--params", "175B", "--tokens", "300B")
    assert r.exit_code == 0, r.output
    assert "3.15e+23" in r.output and "under-trained" in r.output
    assert "below Chinchilla's 20x" in r.output
    for title in ("Compute-optimal allocation", "Memory to train", "Data for 300B"):
        assert title in r.output


def test_cli_json_and_budgets(tmp_path):
    r = run("--gpu-hours", "1000", "--gpu", "h100", "--mfu", "0.5", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["compute"] == pytest.approx(1000 * 3600 * 989e12 * 0.5)
    assert doc["chosen"]["rule"] == "epoch"
    assert {a["rule"] for a in doc["allocations"]} == {"epoch", "20x", "chinchilla"}
    doc = json.loads(run("--pf-days", "1", "--json").output)
    assert doc["compute"] == pytest.approx(8.64e19)
    path = write_manifest(tmp_path / "manifest.json", SOURCES)
    out = run("--params", "1B", "--rule", "20x", "--manifest", str(path), "--json").output
    assert out == run("--params", "1e9", "--rule", "20x", "--manifest", str(path), "--json").output
    doc = json.loads(out)
    assert doc["data"]["sources"][0]["name"] == "filings" and doc["data"]["sources"][0]["over_cap"]
    assert any("filings" in w for w in doc["warnings"])


def test_cli_errors_and_help():
    r = CliRunner().invoke(plan_cmd, ["--params", "7B", "--compute", "1e23"])
    assert r.exit_code == 2 and "exactly one of" in r.output
    r = CliRunner().invoke(plan_cmd, ["--params", "seven"])
    assert r.exit_code == 2 and "not a number" in r.output
    r = CliRunner().invoke(plan_cmd, ["--params", "1B", "--manifest", "/nonexistent/manifest.json"])
    assert r.exit_code == 1 and "manifest not found" in r.output
    r = CliRunner().invoke(plan_cmd, ["--params", "1B", "--layers", "4"])
    assert r.exit_code == 2 and "--hidden" in r.output
    h = run("--help").output
    for cite in ("Hoffmann", "Besiroglu", "Korthikanti", "Rajbhandari", "Muennighoff", "8.64e+19", "989"):
        assert cite in h


def test_wired_into_curate_cli():
    from curate.cli import cli

    r = CliRunner().invoke(cli, ["plan", "--params", "7B", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["chosen"]["params"] == 7e9
