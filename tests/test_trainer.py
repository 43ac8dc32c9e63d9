"""Proxy trainer on a synthetic run dir: learning, exact resume, per-source held-out loss, CLI."""

from __future__ import annotations

import math

import orjson
import pytest
import torch
from click.testing import CliRunner

from curate.errors import CurateError
from curate.train.cli import train as train_cmd
from curate.train.model import ModelConfig, ProxyModel
from curate.train.trainer import Runtime, TrainConfig, train
from train_helpers import VOCAB, make_run

RT = Runtime(device="cpu", threads=1, quiet=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"))


def _rows(out):
    return [orjson.loads(ln) for ln in (out / "log.jsonl").read_bytes().splitlines()]


@pytest.mark.parametrize("objective,steps,batch", [("clm", 25, 8), ("mlm", 60, 16), ("span", 25, 8)])
def test_loss_decreases(run, tmp_path, objective, steps, batch):
    # MLM sees ~15% labels per window, so it gets more steps and a bigger batch to show learning
    cfg = TrainConfig(objective=objective, steps=steps, seq_len=64, batch_size=batch, lr=3e-3, log_every=1)
    s = train([(1.0, run)], cfg, tmp_path, RT)
    losses = [r["loss"] for r in _rows(tmp_path) if "loss" in r]
    assert len(losses) == steps
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.3, losses
    assert set(s["source"]) == {"fin", "web"} and set(s["role"]) == {"domain", "general"}
    assert s["val_loss"] < math.log(VOCAB)  # better than uniform over the tokenizer's ids
    assert s["tokens"] == steps * batch * 64 and s["tokens_per_s"] > 0 and s["peak_memory_bytes"] > 0


def test_resume_equals_straight_run(run, tmp_path):
    cfg = TrainConfig(steps=8, seq_len=32, batch_size=4, grad_accum=2, lr=2e-3, log_every=3, ckpt_every=0, eval_every=4)
    straight = train([(1.0, run)], cfg, tmp_path / "a", RT)
    half = train([(1.0, run)], cfg, tmp_path / "b", RT, stop_at=4)
    assert not half["finished"] and not (tmp_path / "b" / "summary.json").exists()
    resumed = train([(1.0, run)], cfg, tmp_path / "b", RT)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in rows]  # noqa: E731
    assert strip(_rows(tmp_path / "a")) == strip(_rows(tmp_path / "b"))
    assert straight["source"] == resumed["source"] and straight["final_train_loss"] == resumed["final_train_loss"]
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert a["step"] == b["step"] == 8
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # a finished run is not retrained; another configuration in the same folder is refused
    assert train([(1.0, run)], cfg, tmp_path / "b", RT)["final_train_loss"] == resumed["final_train_loss"]
    with pytest.raises(CurateError, match="lr"):
        train([(1.0, run)], cfg.model_copy(update={"lr": 1e-3}), tmp_path / "b", RT)


def test_schedule_warmup_then_cosine():
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert cfg.lr_factor(0) == pytest.approx(0.1) and cfg.lr_factor(9) == pytest.approx(1.0)
    assert cfg.lr_factor(55) == pytest.approx(0.1 + 0.9 * 0.5)  # halfway through the cosine
    assert cfg.lr_factor(100) == pytest.approx(0.1)


def test_model_flops_and_shapes():
    m = ProxyModel(ModelConfig.preset("tiny", 320, 64, "clm"))
    n = m.num_params()
    # tied embedding 320*128 + per layer: 2 LN (4*128) + qkv/proj (4*128*128 + 4*128) + mlp (8*128*128 + 5*128) + final LN
    assert n == 320 * 128 + 2 * (4 * 128 + 4 * 128 * 128 + 4 * 128 + 8 * 128 * 128 + 5 * 128) + 2 * 128
    assert m.flops_per_token(64) == 6 * n + 12 * 2 * 128 * 64
    enc_dec = ProxyModel(ModelConfig.preset("tiny", 320, 64, "span"))
    logits = enc_dec.logits(torch.zeros(2, 10, dtype=torch.long), torch.zeros(2, 5, dtype=torch.long))
    assert logits.shape == (2, 5, 320)


def test_cli_trains_and_reports(run, tmp_path):
    out = tmp_path / "cli"
    res = CliRunner().invoke(train_cmd, [str(run), "--steps", "3", "--seq-len", "32", "--out", str(out), "--quiet", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert orjson.loads((out / "summary.json").read_bytes())["step"] == 3
    bad = CliRunner().invoke(train_cmd, [str(run), "--steps", "0", "--out", str(out)])
    assert bad.exit_code != 0 and "steps" in str(bad.exception)


def test_readme_command_without_out_trains_inside_the_run(run, tmp_path):
    """`curate train RUN --model tiny --steps N` (README) used to fail: Missing option '--out'."""
    res = CliRunner().invoke(train_cmd, [str(run), "--model", "tiny", "--steps", "2", "--seq-len", "32", "--quiet", "--threads", "1"])
    assert res.exit_code == 0, res.output
    out = run / "proxy" / "tiny-clm"
    assert orjson.loads((out / "summary.json").read_bytes())["step"] == 2 and f"output: {out}" in res.output
    res = CliRunner().invoke(train_cmd, [str(run / "shards"), "--steps", "2", "--seq-len", "32", "--objective", "mlm", "--quiet",
                                         "--threads", "1"])
    assert res.exit_code == 0 and (run / "proxy" / "tiny-mlm" / "summary.json").exists()
    blend = CliRunner().invoke(train_cmd, ["0.5", str(run), "0.5", str(run), "--steps", "2"])
    assert blend.exit_code != 0 and "--out is needed" in str(blend.exception)


def test_resume_over_a_logging_only_change(run, tmp_path):
    """Changing only when rows are logged / evaluated / checkpointed does not block a resume, and the
    weights are those of a straight run; a change that affects them is still refused."""
    cfg = TrainConfig(steps=6, seq_len=32, batch_size=4, lr=2e-3, log_every=2, ckpt_every=0)
    train([(1.0, run)], cfg, tmp_path / "a", RT)
    train([(1.0, run)], cfg, tmp_path / "b", RT, stop_at=3)
    later = cfg.model_copy(update={"log_every": 1, "eval_every": 2, "eval_windows": 8, "ckpt_every": 5})
    resumed = train([(1.0, run)], later, tmp_path / "b", RT)
    assert resumed["finished"]
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert all(torch.equal(v, b["model"][k]) for k, v in a["model"].items())
    assert b["config"]["log_every"] == 1  # the checkpoint records the settings it continued with
    assert [r["step"] for r in _rows(tmp_path / "b") if "loss" in r] == [2, 4, 5, 6]  # every 2, then every step after step 3
    with pytest.raises(CurateError, match="batch_size"):
        train([(1.0, run)], later.model_copy(update={"batch_size": 2}), tmp_path / "b", RT)
