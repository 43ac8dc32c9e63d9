"""`curate classifier train|eval|info` through click's CliRunner, and the annotate signal."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError

from classifier_fixtures import finance_docs, general_docs, write_jsonl_gz
from curate.classify.base import load_classifier
from curate.cli import cli
from curate.errors import CurateError
from curate.signals.base import SignalContext
from curate.signals.classifier import ClassifierSignal, ClassifierSignalConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A recipe trained through the CLI; returns (folder, model path, CliRunner result)."""
    d = tmp_path_factory.mktemp("cli")
    write_jsonl_gz(d / "data" / "fin.jsonl.gz", finance_docs(200, 1))
    write_jsonl_gz(d / "data" / "gen.jsonl.gz", general_docs(200, 2))
    (d / "recipes").mkdir()
    (d / "recipes" / "tiny.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "backend": "fasttext", "positives": ["../data/fin.jsonl.gz"], "negatives": ["../data/gen.jsonl.gz"],
        "fasttext": {"lr": 0.5, "epoch": 20, "cutoff": 2000}, "output": "../models/tiny",
    }))
    res = CliRunner().invoke(cli, ["classifier", "train", str(d / "recipes" / "tiny.yaml")], catch_exceptions=False)
    return d, d / "models" / "tiny.ftz", res


def test_train_writes_model_sidecar_and_card(trained):
    d, model, res = trained
    assert res.exit_code == 0, res.output
    assert "ROC-AUC" in res.output and str(model) in res.output
    meta = orjson.loads(model.with_suffix(".json").read_bytes())
    card = meta["card"]
    assert meta["kind"] == "fasttext" and card["heldout"]["roc_auc"] > 0.95
    assert card["data"]["positive"]["read"] == {"fin": 200} and card["heldout"]["n_pos"] == 40
    assert {"lr", "dim", "epoch", "wordNgrams", "thread"} <= set(meta["params"]) and meta["seed"] == 0
    assert [r["threshold"] for r in card["heldout"]["at"]] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    md = model.with_suffix(".md").read_text()
    assert meta["sha256"] in md and "| threshold | precision | recall | F1 | kept |" in md
    # progress on stderr while it works (it used to print nothing until the end), the summary on stdout
    steps = [ln.split("] ", 1)[1] for ln in res.stderr.splitlines() if ln.startswith("[")]
    assert steps == ["reading positives (1 input(s))", "  ../data/fin.jsonl.gz: hashing 1 file(s)", "  ../data/fin.jsonl.gz: 200 documents read",
                     "reading negatives (1 input(s))", "  ../data/gen.jsonl.gz: hashing 1 file(s)", "  ../data/gen.jsonl.gz: 200 documents read",
                     "training fasttext on 320 documents (160 positive, 160 negative)", "scoring 80 held-out documents"], res.stderr
    assert "reading" not in res.stdout and "ROC-AUC" in res.stdout


def test_eval_reports_metrics_and_writes_pngs(trained, tmp_path):
    d, model, _ = trained
    pos = write_jsonl_gz(tmp_path / "p.jsonl.gz", finance_docs(60, 9))
    neg = write_jsonl_gz(tmp_path / "n.jsonl.gz", general_docs(80, 10))
    res = CliRunner().invoke(cli, ["classifier", "eval", str(model), "--pos", str(pos), "--neg", str(neg), "-t", "0.5", "-t", "0.9", "--out", str(tmp_path / "ev")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "60 positives, 80 negatives" in res.output and "| 0.5 |" in res.output and "| 0.9 |" in res.output
    out = orjson.loads((tmp_path / "ev" / "tiny_eval.json").read_bytes())
    assert out["roc_auc"] > 0.95 and out["sources"]["p"]["n"] == 60 and out["sources"]["n"]["label"] == "negative"
    for png in ("tiny_pr_curve.png", "tiny_scores.png"):
        assert (tmp_path / "ev" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capped = CliRunner().invoke(cli, ["classifier", "eval", str(model), "--pos", str(pos), "--neg", str(neg), "--max-docs", "10"], catch_exceptions=False)
    assert "10 positives, 10 negatives" in capped.output


def test_info_verifies_and_summarizes(trained, tmp_path):
    _, model, _ = trained
    res = CliRunner().invoke(cli, ["classifier", "info", str(model)], catch_exceptions=False)
    assert res.exit_code == 0 and "fasttext classifier" in res.output and "(verified)" in res.output
    as_json = CliRunner().invoke(cli, ["classifier", "info", str(model), "--json"], catch_exceptions=False)
    assert orjson.loads(as_json.output)["card"]["name"] == "tiny"
    broken = tmp_path / model.name
    broken.write_bytes(model.read_bytes()[:-10])
    broken.with_suffix(".json").write_bytes(model.with_suffix(".json").read_bytes())
    res = CliRunner().invoke(cli, ["classifier", "info", str(broken)])
    assert isinstance(res.exception, CurateError) and "sha256" in str(res.exception)


def test_train_bad_recipe_is_a_config_error(tmp_path):
    r = tmp_path / "r.yaml"
    r.write_text("name: x\npositives: [a.jsonl]\nnegatives: [b.jsonl]\nbackend: fasttext\nfasttext: {lr: 0.1, epochs: 3}\n")
    res = CliRunner().invoke(cli, ["classifier", "train", str(r)])
    assert isinstance(res.exception, CurateError)
    assert "key `fasttext.epochs`" in str(res.exception) and "allowed keys" in str(res.exception)


def test_signal_scores_batches_as_a_column(trained):
    d, model, _ = trained
    cfg = ClassifierSignalConfig(name="finance_domain", model="models/tiny.ftz")
    sig = ClassifierSignal(cfg, SignalContext(root=d))
    from curate.signals.base import SIGNALS

    assert SIGNALS.get(ClassifierSignal.name).load() is ClassifierSignal
    texts = finance_docs(25, 50) + general_docs(25, 51)
    table = pa.table({"id": [str(i) for i in range(50)], "text": pa.array(texts, pa.large_string())})
    cols = sig.columns(table)
    assert list(cols) == ["finance_domain_score"]
    col = cols["finance_domain_score"]
    assert len(col) == 50 and col.type == pa.float64()
    s = col.to_numpy()
    assert np.array_equal(s, load_classifier(model).predict_proba(texts))
    assert s[:25].mean() > 0.7 and s[25:].mean() < 0.3
    empty = sig.columns(table.slice(0, 0))["finance_domain_score"]
    assert len(empty) == 0
    short = ClassifierSignal(ClassifierSignalConfig(name="f", model=str(model), prefix_chars=50), SignalContext(root=d))
    assert not np.array_equal(short.columns(table)["f_score"].to_numpy(), s)


def test_signal_config_is_strict():
    with pytest.raises(ValidationError):
        ClassifierSignalConfig(name="q", model="m.ftz", threshold=0.5)
    with pytest.raises(ValidationError):
        ClassifierSignalConfig(name="Bad-Name", model="m.ftz")


def test_eval_handles_empty_files_and_draws_one_curve_per_source(trained, tmp_path, monkeypatch):
    """An input with 0 documents crashed the summary (TypeError on None.__format__); a glob of many
    files drew one histogram curve per file. Now: a warning and `no documents`, one curve per --pos/--neg."""
    from curate.classify.evaluate import evaluate_files

    d, model, _ = trained
    for i in range(3):
        write_jsonl_gz(tmp_path / "fin" / f"part{i}.jsonl.gz", finance_docs(20, 30 + i))
    write_jsonl_gz(tmp_path / "fin" / "empty.jsonl.gz", [])
    neg = write_jsonl_gz(tmp_path / "n.jsonl.gz", general_docs(40, 10))
    (tmp_path / "none.jsonl").write_bytes(b"")
    args = ["classifier", "eval", str(model), "--pos", str(tmp_path / "fin" / "*.jsonl.gz"), "--neg", str(neg),
            "--neg", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "ev")]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "60 positives, 40 negatives" in res.stdout and "none: n=0 no documents" in res.stdout
    assert f"warning: {tmp_path / 'fin' / 'empty.jsonl.gz'} (--pos) holds no documents" in res.stderr
    out = orjson.loads((tmp_path / "ev" / "tiny_eval.json").read_bytes())
    fin = out["sources"][str(tmp_path / "fin" / "*.jsonl.gz")]  # the glob is one source: one curve
    assert fin["n"] == 60 and len(fin["files"]) == 4 and sorted(out["sources"]) == sorted([str(tmp_path / "fin" / "*.jsonl.gz"), "n", "none"])
    assert (tmp_path / "ev" / "tiny_scores.png").read_bytes()[:4] == b"\x89PNG"
    from curate.classify import evaluate as ev

    drawn = []  # what the histogram is drawn from (the real function still draws it)
    real = ev.plot_histograms
    monkeypatch.setattr(ev, "plot_histograms", lambda scores, path, title: drawn.append(sorted(scores)) or real(scores, path, title))
    evaluate_files(model, [str(tmp_path / "fin" / "*.jsonl.gz")], [str(neg)], [0.5], tmp_path / "ev2")
    assert drawn == [[str(tmp_path / "fin" / "*.jsonl.gz"), "n"]]  # one figure: one curve per source, not per file
    # no negative document at all: a clear error, not a crash
    bad = CliRunner().invoke(cli, ["classifier", "eval", str(model), "--pos", str(neg), "--neg", str(tmp_path / "none.jsonl")])
    assert bad.exit_code != 0 and isinstance(bad.exception, CurateError) and "no negative documents" in str(bad.exception)
