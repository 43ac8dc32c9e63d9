"""Classifier backends, recipes, data sampling, metrics and safe loading (curate.classify)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
import zstandard

from classifier_fixtures import finance_docs, general_docs, page_docs, prose_docs, write_jsonl_gz
from curate.classify.base import NormalizeConfig, Normalizer, load_classifier, sha256_file
from curate.classify.samples import read_class, read_texts
from curate.classify.evaluate import confusion_at, fpr_threshold, roc_auc
from curate.classify.fasttext_backend import FastTextClassifier, FastTextParams, fasttext_module
from curate.classify.recipe import RunInput, load_recipe, validate_recipe
from curate.classify.sklearn_backend import SklearnClassifier, SklearnParams
from curate.classify.train import train
from curate.errors import ConfigError, CurateError, InputError

REPO = Path(__file__).resolve().parents[1]

BACKENDS = {
    "fasttext": lambda: FastTextClassifier(FastTextParams(lr=0.5, epoch=20, cutoff=2000), NormalizeConfig()),
    "sklearn-logreg": lambda: SklearnClassifier(SklearnParams(n_features=2**14)),
    "sklearn-sgd": lambda: SklearnClassifier(SklearnParams(n_features=2**14, model="sgd", chunk_size=100)),
}


def _train_set(n: int = 300, seed: int = 1):
    texts = finance_docs(n, seed) + general_docs(n, seed + 1)
    return texts, np.r_[np.ones(n, bool), np.zeros(n, bool)]


def _auc_on_fresh(clf) -> tuple[float, np.ndarray]:
    pos, neg = finance_docs(150, 101), general_docs(150, 102)
    s = clf.predict_proba(pos + neg)
    return roc_auc(np.r_[np.ones(150, bool), np.zeros(150, bool)], s), s


# --- metrics, hand-computed --------------------------------------------------------------------

def test_confusion_and_auc_by_hand():
    y = np.array([1, 1, 0, 0, 1], bool)
    s = np.array([0.9, 0.4, 0.6, 0.1, 0.8])
    m = confusion_at(y, s, 0.5)  # predicted positive: 0.9, 0.6, 0.8 -> tp=2, fp=1, fn=1
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 1)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3) and m["f1"] == pytest.approx(2 / 3)
    # positive/negative pairs won by the positive: 0.9>0.6, 0.9>0.1, 0.4>0.1, 0.8>0.6, 0.8>0.1 -> 5 of 6
    assert roc_auc(y, s) == pytest.approx(5 / 6)
    # a tie counts half: pos {0.5, 0.7} vs neg {0.5}: (0.5 + 1) / 2
    assert roc_auc(np.array([1, 1, 0], bool), np.array([0.5, 0.7, 0.5])) == pytest.approx(0.75)


def test_fpr_threshold_passes_that_share_of_negatives():
    neg = np.arange(1, 11) / 10.0  # 0.1 .. 1.0
    t = fpr_threshold(neg, 0.2)
    assert t == pytest.approx(0.9)
    assert np.mean(neg >= t) == pytest.approx(0.2)


# --- backends ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_backend_separates_held_out_data(name):
    clf = BACKENDS[name]().fit(*_train_set())
    auc, s = _auc_on_fresh(clf)
    assert np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()
    assert auc > 0.97, auc
    assert s[:150].mean() - s[150:].mean() > 0.4


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_save_load_round_trip_and_determinism(name, tmp_path):
    texts, y = _train_set(150)
    a = BACKENDS[name]().fit(texts, y)
    path_a = a.save(tmp_path / "a" / "model")
    b = BACKENDS[name]().fit(texts, y)
    path_b = b.save(tmp_path / "b" / "model")
    assert path_a.read_bytes() == path_b.read_bytes(), "same data + seed must give a byte-identical model"
    loaded = load_classifier(path_a)
    probe = finance_docs(20, 7) + general_docs(20, 8) + ["", "x" * 5000]
    assert np.array_equal(loaded.predict_proba(probe), a.predict_proba(probe))
    assert type(loaded) is type(a)


def test_normalizer_is_vectorized_and_consistent():
    n = Normalizer(NormalizeConfig(prefix_chars=40, strip_punct=True, stopwords=["the", "of"]))
    out = n(pa.array(["The Rate, of\nTHE bank", None, "Ünïcode—text\r\nline"])).to_pylist()
    assert out == ["rate bank", "", "ünïcode text line"]  # stop-word removal also collapses whitespace
    short = Normalizer(NormalizeConfig(prefix_chars=12, mark_newlines=True))
    assert short(pa.chunked_array([["Ünïcode\r\nline"]])).to_pylist() == ["ünïcode  xxnl lin"]


@pytest.mark.parametrize("recipe_name", ["finance_domain.yaml", "quality.yaml"])
def test_shipped_recipe_settings_train_finite_separating_models(recipe_name, tmp_path):
    """The exact backend/normalize settings we ship (fastText NaN on this CPU must not reach users)."""
    data = yaml.safe_load((REPO / "classifiers" / recipe_name).read_text())
    quality = recipe_name.startswith("quality")
    pos = prose_docs(250, 11) if quality else finance_docs(250, 11)
    neg = page_docs(250, 12) if quality else general_docs(250, 12)
    data["positives"] = [str(write_jsonl_gz(tmp_path / "pos.jsonl.gz", pos))]
    data["negatives"] = [str(write_jsonl_gz(tmp_path / "neg.jsonl.gz", neg))]
    data["output"] = str(tmp_path / "shipped")
    res = train(validate_recipe(data), tmp_path)
    held = res.meta["card"]["heldout"]
    assert held["roc_auc"] > 0.95 and held["n_pos"] == 50
    clf = load_classifier(res.model_path)
    s = clf.predict_proba((prose_docs(40, 21) if quality else finance_docs(40, 21)) + (page_docs(40, 22) if quality else general_docs(40, 22)))
    assert np.isfinite(s).all() and s[:40].mean() > 0.7 and s[40:].mean() < 0.3
    assert res.model_path.stat().st_size < 5_000_000
    if data["backend"] == "fasttext":
        assert res.meta["params"]["thread"] == 1


# --- safe loading ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    texts, y = _train_set(100)
    return {
        "fasttext": BACKENDS["fasttext"]().fit(texts, y).save(d / "ft"),
        "sklearn": BACKENDS["sklearn-logreg"]().fit(texts, y).save(d / "sk"),
    }


def _copy(model: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / model.name
    out.write_bytes(model.read_bytes())
    out.with_suffix(".json").write_bytes(model.with_suffix(".json").read_bytes())
    return out


@pytest.mark.parametrize("kind", ["fasttext", "sklearn"])
def test_corrupt_model_is_a_clear_error(kind, saved_models, tmp_path):
    m = _copy(saved_models[kind], tmp_path)
    raw = bytearray(m.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    m.write_bytes(bytes(raw))
    with pytest.raises(CurateError, match="sha256") as exc:
        load_classifier(m)
    assert str(m) in str(exc.value) and "retrain" in str(exc.value)
    m.write_bytes(bytes(raw[:6]))  # truncated
    with pytest.raises(CurateError, match=str(m)):
        load_classifier(m)


def test_wrong_kind_model_file_is_named(saved_models, tmp_path):
    ft = _copy(saved_models["fasttext"], tmp_path)
    ft.write_bytes(saved_models["sklearn"].read_bytes())  # an .npz under the fastText name
    with pytest.raises(CurateError, match="expected a fasttext model but the file is a sklearn model"):
        load_classifier(ft)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model at all")
    junk.with_suffix(".json").write_bytes(saved_models["sklearn"].with_suffix(".json").read_bytes())
    with pytest.raises(CurateError, match="describes"):
        load_classifier(junk)


def test_missing_or_bad_sidecar(saved_models, tmp_path):
    m = _copy(saved_models["sklearn"], tmp_path)
    with pytest.raises(CurateError, match="not a model file"):
        load_classifier(m.with_suffix(".json"))
    m.with_suffix(".json").write_text("{not json")
    with pytest.raises(CurateError, match="not valid JSON"):
        load_classifier(m)
    m.with_suffix(".json").unlink()
    with pytest.raises(CurateError, match="no sidecar"):
        load_classifier(m)
    with pytest.raises(CurateError, match="not found"):
        load_classifier(tmp_path / "nope.ftz")


def test_shadowing_fasttext_module_gives_reinstall_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "fasttext", types.ModuleType("fasttext"))
    with pytest.raises(CurateError, match=r"pip install --force-reinstall --no-deps fasttext-wheel==0\.9\.2"):
        fasttext_module()


# --- recipes -----------------------------------------------------------------------------------

def _recipe(**kw) -> dict:
    base = {"name": "t", "positives": ["p.jsonl.gz"], "negatives": ["n.jsonl.gz"]}
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "data, pattern",
    [
        (_recipe(epochs=3), r"key `epochs`.*\n  fix: remove or rename `epochs`; allowed keys: .*backend"),
        (_recipe(backend="xgboost"), r"key `backend`.*fasttext or sklearn"),
        (_recipe(negatives=[]), r"key `negatives`"),
        (_recipe(heldout_fraction=1.5), r"key `heldout_fraction`"),
        (_recipe(fasttext={"lr": 0.1, "dims": 8}), r"key `fasttext.dims`.*allowed keys: .*dim"),
        (_recipe(positives=[{"path": "a", "txt_field": "x"}]), r"key `positives.0.txt_field`.*allowed keys: name, path, text_field"),
        (_recipe(negatives=[{"run": "r"}]), r"key `negatives.0.where`: Field required"),
        (_recipe(thresholds=[0.5, 2]), r"key `thresholds`"),
    ],
)
def test_recipe_validation_errors_name_key_and_fix(data, pattern):
    with pytest.raises(ConfigError, match="(?s)" + pattern) as exc:
        validate_recipe(data, "r.yaml")
    assert str(exc.value).startswith("r.yaml: ")


def test_recipe_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\npositives: [a\nnegatives: b\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_recipe(bad)
    with pytest.raises(ConfigError, match="recipe file not found"):
        load_recipe(tmp_path / "missing.yaml")
    ok = tmp_path / "ok.yaml"
    ok.write_text(yaml.safe_dump(_recipe(positives="data/*.jsonl.gz", negatives={"path": "n.parquet"})))
    recipe, root = load_recipe(ok)
    assert root == tmp_path.resolve() and recipe.positives[0].path == "data/*.jsonl.gz"
    with pytest.raises(ConfigError, match=r"input `data/\*\.jsonl\.gz` matches no file"):
        train(recipe, root)


# --- data: formats, dedup, caps, run selections -------------------------------------------------

def test_readers_agree_across_formats(tmp_path):
    texts = finance_docs(30, 3)
    gz = write_jsonl_gz(tmp_path / "a.jsonl.gz", texts)
    zst = tmp_path / "a.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(b"".join(orjson.dumps({"body": t, "n": 1}) + b"\n" for t in texts)))
    pq.write_table(pa.table({"body": texts}), tmp_path / "a.parquet")
    got = [pa.concat_arrays(list(read_texts(p, f))).to_pylist() for p, f in ((gz, "text"), (zst, "body"), (tmp_path / "a.parquet", "body"))]
    assert got[0] == got[1] == got[2] == texts


def test_bad_input_lines_name_the_file(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"text": "ok"}\n{"text": "ok"\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2: malformed JSON"):
        list(read_texts(p))
    q = tmp_path / "missing_field.jsonl"
    q.write_bytes(b'{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(InputError, match=r"missing_field\.jsonl:2: missing text field `text`"):
        list(read_texts(q))


def test_cap_sample_is_uniform_dedup_and_order_independent(tmp_path):
    docs = finance_docs(200, 5)
    a = write_jsonl_gz(tmp_path / "a.jsonl.gz", docs[:120] + docs[:40])  # 40 exact duplicates
    b = write_jsonl_gz(tmp_path / "b.jsonl.gz", docs[120:])
    norm = Normalizer(NormalizeConfig())
    specs = [validate_recipe(_recipe(positives=[str(a), str(b)])).positives, validate_recipe(_recipe(positives=[str(b), str(a)])).positives]
    s1, s2 = (read_class(s, tmp_path, "text", 150, 0, norm) for s in specs)
    assert len(s1) == 150 and s1.keys.tolist() == s2.keys.tolist()
    assert sorted(s1.texts.to_pylist()) == sorted(s2.texts.to_pylist())
    assert len(set(s1.texts.to_pylist())) == 150
    full = read_class(specs[0], tmp_path, "text", 10_000, 0, norm)
    assert len(full) == 200 and full.seen == {"a": 160, "b": 80}


def test_train_dedups_across_split_and_drops_conflicts(tmp_path):
    pos, neg = finance_docs(120, 31), general_docs(120, 32)
    shared = pos[0]
    p = write_jsonl_gz(tmp_path / "p.jsonl.gz", pos + pos[:60])  # duplicates must not straddle the split
    n = write_jsonl_gz(tmp_path / "n.jsonl.gz", neg + [shared])
    recipe = validate_recipe(_recipe(positives=[str(p)], negatives=[str(n)], backend="sklearn", sklearn={"n_features": 2**14}, output=str(tmp_path / "m")))
    res = train(recipe, tmp_path)
    d = res.meta["card"]["data"]
    assert d["conflicts"] == 1
    assert d["positive"]["read"] == {"p": 180} and d["positive"]["kept"] == {"p": 120}
    assert sum(d["positive"]["train"].values()) + sum(d["positive"]["heldout"].values()) == 119  # balanced to 119 each
    assert res.meta["sha256"] == sha256_file(res.model_path)
    assert (tmp_path / "m.md").read_text().count("| positive | p |") == 1


def _run_dir(root: Path) -> Path:
    run = root / "run"
    for src, seed in (("web", 40), ("news", 41)):
        docs = finance_docs(30, seed) + general_docs(30, seed + 10)
        dens = [12.0] * 30 + [0.0] * 25 + [3.0] * 5
        (run / "annotated" / src).mkdir(parents=True)
        pq.write_table(pa.table({"id": [f"{src}{i}" for i in range(60)], "text": docs, "kw_finance_per_1k": dens}), run / "annotated" / src / "00000-x.parquet")
    return run


def test_run_selection_as_weak_labels(tmp_path):
    _run_dir(tmp_path)
    norm = Normalizer(NormalizeConfig())
    weak_pos = read_class([RunInput(run="run", where="kw_finance_per_1k >= 8")], tmp_path, "text", 1000, 0, norm)
    weak_neg = read_class([RunInput(run="run", where="kw_finance_per_1k == 0", sources=["web"])], tmp_path, "text", 1000, 0, norm)
    assert weak_pos.seen == {"run:news": 30, "run:web": 30} and len(weak_neg) == 25
    with pytest.raises(ConfigError, match="unknown column `kw_fin_per_1k`"):
        read_class([RunInput(run="run", where="kw_fin_per_1k >= 8")], tmp_path, "text", 10, 0, norm)
    with pytest.raises(ConfigError, match="no annotated Parquet for source `blogs`.*\n.*sources present: news, web"):
        read_class([RunInput(run="run", where="kw_finance_per_1k >= 8", sources=["blogs"])], tmp_path, "text", 10, 0, norm)
