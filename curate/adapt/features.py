"""Label-free per-document features the adaptive selectors start from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.classify.base import TextsLike, as_text_array
from curate.signals.base import SignalContext
from curate.signals.keywords import KeywordConfig, KeywordSignal


def keyword_density(texts: TextsLike, lexicon: str | Path | None = None, batch: int = 4096) -> np.ndarray:
    """Weighted lexicon hits per 1,000 words (the `kw_<name>_per_1k` column) for a text array."""
    sig = KeywordSignal(KeywordConfig(lexicon=str(lexicon) if lexicon else None), SignalContext())
    arr = as_text_array(texts)
    out = [sig.columns(pa.table({"text": arr.slice(i, batch)}))["kw_finance_per_1k"].to_numpy(zero_copy_only=False) for i in range(0, len(arr), batch)]
    return np.concatenate(out) if out else np.zeros(0)
