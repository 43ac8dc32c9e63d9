"""Published (third-party) fastText models: a real `.bin` with its own labels, trained here, pinned by sha256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from classifier_fixtures import finance_docs, general_docs, page_docs
from curate.classify.base import Normalizer, PublishedNormalize
from curate.errors import CurateError
from curate.io.atomic import sha256_file
from curate.signals.base import SignalContext
from curate.signals.classifier import ClassifierSignal, ClassifierSignalConfig


def train_dclm_style(tmp: Path, labels=("hq", "cc"), extra_label: str | None = None) -> Path:
    """A fastText model as a third party would ship it: own labels, trained on one-line, cased text, saved as .bin."""
    import fasttext

    hq, cc = finance_docs(300, 1), page_docs(300, 2)
    lines = [f"__label__{labels[0]} " + " ".join(t.split()) for t in hq] + [f"__label__{labels[1]} " + " ".join(t.split()) for t in cc]
    if extra_label:
        lines += [f"__label__{extra_label} " + " ".join(t.split()) for t in general_docs(300, 3)]
    rng = np.random.default_rng(0)
    lines = [lines[i] for i in rng.permutation(len(lines))]
    train = tmp / "train.txt"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = fasttext.train_supervised(input=str(train), lr=0.5, dim=16, epoch=10, wordNgrams=2, minCount=1, bucket=50_000,
                                      thread=1, seed=0, verbose=0)
    out = tmp / "published_quality.bin"
    model.save_model(str(out))
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    return train_dclm_style(tmp_path_factory.mktemp("published"))


def signal(path: Path, **cfg) -> ClassifierSignal:
    return ClassifierSignal(ClassifierSignalConfig(name="dclm", model=str(path), **cfg), SignalContext())


def table(texts):
    return pa.table({"text": pa.array(texts, pa.large_string())})


def test_published_model_scores_its_positive_label(published):
    sig = signal(published, sha256=sha256_file(published), positive_label="hq")
    hq, cc = finance_docs(50, 11), page_docs(50, 12)
    s = sig.columns(table(hq + cc))["dclm_score"].to_numpy()
    assert s.dtype == np.float64 and ((0 <= s) & (s <= 1)).all()
    assert s[:50].mean() > 0.8 and s[50:].mean() < 0.2
    # the other label is the complement; `__label__` prefix may be given or not
    other = signal(published, sha256=sha256_file(published), positive_label="__label__cc").columns(table(hq + cc))["dclm_score"].to_numpy()
    assert np.allclose(s + other, 1.0, atol=1e-4)


def test_multiclass_model_scores_chosen_label(tmp_path):
    path = train_dclm_style(tmp_path, extra_label="general")
    sig = signal(path, sha256=sha256_file(path), positive_label="general")
    s = sig.columns(table(general_docs(40, 21) + finance_docs(40, 22)))["dclm_score"].to_numpy()
    assert s[:40].mean() > 0.6 and s[40:].mean() < 0.3


def test_sha256_mismatch_names_file_and_both_hashes(published):
    wrong = "0" * 64
    with pytest.raises(CurateError) as e:
        signal(published, sha256=wrong, positive_label="hq")
    msg = str(e.value)
    assert str(published) in msg and wrong in msg and sha256_file(published) in msg


def test_unknown_label_and_bad_files_are_clear(published, tmp_path):
    with pytest.raises(CurateError, match=r"positive label 'good' is not among the model's labels \['hq', 'cc'\]|\['cc', 'hq'\]"):
        signal(published, sha256=sha256_file(published), positive_label="good")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(CurateError, match="not a fastText model"):
        signal(junk, sha256=sha256_file(junk), positive_label="hq")
    with pytest.raises(CurateError, match="not found"):
        signal(tmp_path / "missing.bin", sha256="a" * 64, positive_label="hq")


def test_config_rules():
    with pytest.raises(ValidationError, match="needs `sha256:`"):
        ClassifierSignalConfig(name="x", model="m.bin", positive_label="hq")
    with pytest.raises(ValidationError, match="normalize"):
        ClassifierSignalConfig(name="x", model="m.ftz", normalize={"lowercase": True})
    with pytest.raises(ValidationError, match="prefix"):
        ClassifierSignalConfig(name="x", model="m.bin", positive_label="hq", sha256="a" * 64, prefix_chars=10)
    with pytest.raises(ValidationError):
        ClassifierSignalConfig(name="x", model="m.bin", positive_label="hq", sha256="xyz")


def test_normalization_choices():
    texts = ["  Hello,\n\nWorld!\t Again \u00a0 done  ", "ABCDEFGHIJ"]
    default = Normalizer(PublishedNormalize().build())(texts).to_pylist()
    assert default == ["Hello, World! Again done", "ABCDEFGHIJ"]
    custom = Normalizer(PublishedNormalize(lowercase=True, strip_punct=True, prefix_chars=8).build())(texts).to_pylist()
    assert custom == ["hello", "abcdefgh"]  # the prefix is cut from the raw text ("  Hello,"), then normalized
    kept = Normalizer(PublishedNormalize(collapse_whitespace=False).build())(["a\nb  c"]).to_pylist()
    assert kept == ["a b  c"]  # line breaks still become spaces (fastText reads one line per document)


def test_normalization_must_match_training(published):
    """The model was trained on cased text: lowercasing at scoring time changes the scores."""
    docs = finance_docs(30, 31)
    cased = signal(published, sha256=sha256_file(published), positive_label="hq").columns(table(docs))["dclm_score"].to_numpy()
    lower = signal(published, sha256=sha256_file(published), positive_label="hq",
                   normalize={"lowercase": True}).columns(table(docs))["dclm_score"].to_numpy()
    assert not np.allclose(cased, lower)
