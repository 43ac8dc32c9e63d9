"""MinHashSignal: exact hash and signature against a plain-Python reference of the documented algorithm."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import xxhash
from pydantic import ValidationError

import curate.signals.minhash as mh
from curate.signals.base import SignalContext
from curate.signals.minhash import DedupKeysConfig, MinHashSignal

M64 = (1 << 64) - 1


def _splitmix(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def reference_signature(sig: MinHashSignal, normalized: str) -> list[int]:
    """The algorithm of curate/signals/minhash.py's docstring, one Python int at a time."""
    k = sig.cfg.shingle_size
    table = [[int(v) for v in row] for row in sig.table]
    words = []
    for w in normalized.split(" ") if normalized else []:
        h = 0
        for pos, byte in enumerate(w.encode()):
            h ^= table[pos % 64][byte]
        words.append(h)
    if not words:
        return [0xFFFFFFFF] * sig.cfg.num_perm
    spans = [words[i : i + k] for i in range(len(words) - k + 1)] if len(words) >= k else [words]
    shingles = []
    for span in spans:
        acc = sum(w * int(m) for w, m in zip(span, sig.shingle_mult)) & M64
        shingles.append(_splitmix(acc) >> 32)
    return [min(((int(a) * x + int(b)) & M64) >> 32 for x in shingles) for a, b in zip(sig.perm_a, sig.perm_b)]


TEXTS = [
    "The Fed raised rates; markets fell.   Investors,  however, stayed CALM!",
    "",
    "short doc",
    "Ünïcode ﬁnance — naïve café résumé, 10-K filing № 7 and 2024 results",
    " ".join(f"word{i % 37}" for i in range(300)),
    None,
    "a b c d e",
]


@pytest.mark.parametrize("shingle_size", [1, 3, 5])
def test_signature_matches_reference(shingle_size, monkeypatch):
    # tiny chunks and blocks so documents straddle chunk and block boundaries
    monkeypatch.setattr(mh, "_BYTES_PER_CHUNK", 64)
    monkeypatch.setattr(mh, "_SHINGLE_BLOCK", 7)
    sig = MinHashSignal(DedupKeysConfig(shingle_size=shingle_size, num_perm=16), SignalContext(seed=5))
    cols = sig.columns(pa.table({"text": pa.array(TEXTS, pa.string())}))
    norm = sig.normalize(pa.array(TEXTS, pa.string())).to_pylist()
    got = cols["minhash"].to_pylist()
    for text, n, g in zip(TEXTS, norm, got):
        assert g == reference_signature(sig, n), text
    assert cols["minhash"].type == pa.list_(pa.uint32(), 16)
    hashes = cols["dedup_hash"].to_pylist()
    assert hashes == [xxhash.xxh3_64_intdigest(n.encode(), sig.hash_seed) for n in norm]


def test_normalization():
    sig = MinHashSignal(DedupKeysConfig(), SignalContext(seed=1))
    norm = sig.normalize(pa.array(["  Hello,\tWORLD!! ﬁne_print ", "Hello world fine print"])).to_pylist()
    assert norm == ["hello world fine print", "hello world fine print"]
    cols = sig.columns(pa.table({"text": ["Hello, World... fine-print", "hello world fine print", "hello world fine prints"]}))
    h = cols["dedup_hash"].to_pylist()
    assert h[0] == h[1] != h[2]
    raw = MinHashSignal(DedupKeysConfig(lowercase=False, strip_punctuation=False), SignalContext(seed=1))
    assert raw.normalize(pa.array([" Hello,  World "])).to_pylist() == ["Hello, World"]


def _words(rng, n):
    return [f"w{x}" for x in rng.integers(0, 5000, n)]


def test_estimate_tracks_true_jaccard():
    rng = np.random.default_rng(0)
    sig = MinHashSignal(DedupKeysConfig(num_perm=256), SignalContext(seed=3))
    base = _words(rng, 400)
    docs, truth = [" ".join(base)], []
    for cut in (20, 60, 120, 200):  # replace a contiguous span: Jaccard known exactly from the sets
        other = base[:cut] + _words(rng, 40) + base[cut + 40 :]
        docs.append(" ".join(other))
        s0 = {tuple(base[i : i + 5]) for i in range(len(base) - 4)}
        s1 = {tuple(other[i : i + 5]) for i in range(len(other) - 4)}
        truth.append(len(s0 & s1) / len(s0 | s1))
    m = np.array(sig.columns(pa.table({"text": docs}))["minhash"].to_pylist())
    est = (m[1:] == m[0]).mean(axis=1)
    assert np.all(np.abs(est - np.array(truth)) < 4 * np.sqrt(np.array(truth) * (1 - np.array(truth)) / 256) + 0.01)


def test_seeded_and_deterministic():
    t = pa.table({"text": ["alpha beta gamma delta epsilon zeta", "one two three"]})
    a = MinHashSignal(DedupKeysConfig(), SignalContext(seed=9)).columns(t)
    b = MinHashSignal(DedupKeysConfig(), SignalContext(seed=9)).columns(t)
    c = MinHashSignal(DedupKeysConfig(), SignalContext(seed=10)).columns(t)
    assert a["minhash"].equals(b["minhash"]) and a["dedup_hash"].equals(b["dedup_hash"])
    assert not a["minhash"].equals(c["minhash"])


def test_config_rejects_unknown_keys():
    with pytest.raises(ValidationError):
        DedupKeysConfig.model_validate({"shingle": 5})
    assert DedupKeysConfig().shingle_size == 5


@pytest.mark.parametrize("cfg", [{}, {"strip_punctuation": False}, {"lowercase": False, "unicode_nfkc": False}])
def test_empty_hash_is_the_hash_of_wordless_documents(cfg):
    sig = MinHashSignal(DedupKeysConfig(**cfg), SignalContext(seed=11))
    got = sig.columns(pa.table({"text": ["", "   \n\t", "!!! ...", None]}))[mh.HASH_COLUMN].to_pylist()
    want = sig.empty_hash()
    assert got[0] == got[1] == want and (got[2] == want) == sig.cfg.strip_punctuation
    assert got[3] == want
