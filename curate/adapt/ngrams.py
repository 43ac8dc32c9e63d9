"""Hashed word unigram+bigram counts, the feature space DSIR's n-gram models live in.

Text is normalized with the classifiers' Arrow normalizer (prefix, lower case, punctuation and
stop words removed), so DSIR compares topic words rather than function-word style. Hashing uses
scikit-learn's `HashingVectorizer` (MurmurHash3, native), so a model needs no vocabulary file and
the same settings always map a word to the same bucket.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import HashingVectorizer

from curate.classify.base import NormalizeConfig, Normalizer, TextsLike, english_stopwords


class NgramConfig(BaseModel):
    """How documents become hashed n-gram counts; stored with every model built on them."""

    model_config = ConfigDict(extra="forbid")

    n_features: int = Field(1 << 18, ge=16, le=1 << 24, description="hash buckets")
    ngram_max: int = Field(2, ge=1, le=3, description="1 = unigrams, 2 = unigrams + bigrams")
    prefix_chars: int = Field(4000, ge=1, description="characters of each document that count")
    drop_stopwords: bool = True


class NgramFeaturizer:
    """`counts(texts)`: a CSR matrix (documents x buckets) of n-gram counts, float64."""

    def __init__(self, cfg: NgramConfig | None = None):
        self.cfg = cfg or NgramConfig()
        self.normalizer = Normalizer(NormalizeConfig(
            prefix_chars=self.cfg.prefix_chars,
            strip_punct=True,
            stopwords=english_stopwords() if self.cfg.drop_stopwords else [],
        ))
        self._vec = HashingVectorizer(
            n_features=self.cfg.n_features, ngram_range=(1, self.cfg.ngram_max), alternate_sign=False,
            norm=None, lowercase=False, token_pattern=r"\S+", dtype=np.float64,
        )

    def counts(self, texts: TextsLike) -> sp.csr_matrix:
        docs = self.normalizer(texts).to_pylist()
        return self._vec.transform(docs).tocsr()
