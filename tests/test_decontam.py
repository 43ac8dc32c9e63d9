"""Decontamination engine: n-gram index of evaluation items, matching over a corpus in batches."""

from __future__ import annotations

import gzip

import numpy as np
import orjson
import pyarrow as pa
import pytest

from curate.decontam.config import EvalSetConfig
from curate.decontam.engine import EvalIndex, GramHasher, match, normalize, read_eval_sets
from curate.errors import ConfigError, InputError

QUESTION = "What was the effective federal funds rate after the committee raised its target range by a quarter point in March"
ANSWER = "Four point seven five percent"
SHORT = "Name the capital city of the ancient kingdom"  # 8 words


def words_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    w = normalize([text]).to_pylist()[0].split()
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def test_normalization_ignores_case_punctuation_and_unicode_forms():
    assert normalize(["Hello,   WORLD!! ﬁne\tdone", None]).to_pylist() == ["hello world fine done", ""]


def test_index_matches_13_grams_and_short_items():
    idx = EvalIndex.build([QUESTION, SHORT, "too short item"], n=13, min_words=8)
    assert idx.lengths.tolist() == [8, 13]
    assert idx.skipped.tolist() == [False, False, True]
    docs = [
        "Intro text. " + QUESTION.upper().replace(" ", "  ") + " ... and then more words follow here.",  # whole question
        "We know that " + " ".join(QUESTION.split()[3:16]) + " is what they asked.",  # exactly one 13-gram
        "We know that " + " ".join(QUESTION.split()[3:15]) + " is what they asked.",  # 12 words: no 13-gram
        "Quiz: name the capital city of the ancient kingdom, please.",  # the short item, whole
        "Name the capital city of the ancient empire instead.",  # 7 of its 8 words
        "",
        None,
    ]
    m = match(pa.array(docs, pa.large_string()), idx)
    n_q = len(QUESTION.split()) - 13 + 1
    assert m.counts.tolist() == [n_q, 1, 0, 1, 0, 0, 0]
    assert list(zip(m.pair_doc.tolist(), m.pair_item.tolist())) == [(0, 0), (1, 0), (3, 1)]


def test_match_agrees_with_a_plain_python_reference():
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(40)]
    items = [" ".join(rng.choice(vocab, size=int(rng.integers(5, 30)))) for _ in range(30)]
    docs = []
    for _ in range(200):
        d = list(rng.choice(vocab, size=int(rng.integers(0, 60))))
        if rng.random() < 0.3:  # plant a piece of an item
            it = items[int(rng.integers(0, 30))].split()
            a = int(rng.integers(0, max(1, len(it) - 5)))
            d[len(d) // 2 : len(d) // 2] = it[a : a + int(rng.integers(4, 20))]
        docs.append(" ".join(d))
    n, min_words = 6, 5
    idx = EvalIndex.build(items, n=n, min_words=min_words)
    m = match(pa.array(docs, pa.large_string()), idx)
    grams = []
    for it in items:
        w = it.split()
        k = n if len(w) >= n else len(w)
        grams.append(words_ngrams(it, k) if len(w) >= min_words else set())
    for d_i, d in enumerate(docs):
        dw = d.split()
        expect_items = set()
        count = 0
        for k in sorted({n} | {len(it.split()) for it in items if min_words <= len(it.split()) < n}):
            all_items_k = set().union(*(g for g, it in zip(grams, items) if (n if len(it.split()) >= n else len(it.split())) == k)) if grams else set()
            for i in range(len(dw) - k + 1):
                if tuple(dw[i : i + k]) in all_items_k:
                    count += 1
        for j, g in enumerate(grams):
            k = n if len(items[j].split()) >= n else len(items[j].split())
            if any(tuple(dw[i : i + k]) in g for i in range(len(dw) - k + 1)):
                expect_items.add(j)
        assert m.counts[d_i] == count, d_i
        assert set(m.pair_item[m.pair_doc == d_i].tolist()) == expect_items, d_i


def test_index_round_trips_through_a_file(tmp_path):
    idx = EvalIndex.build([QUESTION, SHORT], n=13, min_words=8)
    idx.save(tmp_path / "index.npz")
    back = EvalIndex.load(tmp_path / "index.npz")
    assert back.n == 13 and back.lengths.tolist() == idx.lengths.tolist()
    for k in idx.hashes:
        assert np.array_equal(back.hashes[k], idx.hashes[k]) and np.array_equal(back.items[k], idx.items[k])
    docs = pa.array([QUESTION], pa.large_string())
    assert match(docs, back).counts.tolist() == match(docs, idx).counts.tolist()


def test_chunking_does_not_change_results(monkeypatch):
    import curate.decontam.engine as D

    idx = EvalIndex.build([QUESTION], n=13, min_words=8)
    docs = pa.array([f"filler {i} " + QUESTION for i in range(50)] + ["nothing here"], pa.large_string())
    whole = match(docs, idx)
    monkeypatch.setattr(D, "_BYTES_PER_CHUNK", 300)
    small = match(docs, idx)
    assert whole.counts.tolist() == small.counts.tolist()
    assert whole.pair_doc.tolist() == small.pair_doc.tolist()


def test_reading_eval_sets(tmp_path):
    a = tmp_path / "qa.jsonl.gz"
    a.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in [
        {"qid": "q1", "question": QUESTION, "answer": ANSWER}, {"qid": "q2", "question": "Why?", "answer": ["a", "b"]}])))
    pa_tbl = pa.table({"text": [SHORT]})
    import pyarrow.parquet as pq

    pq.write_table(pa_tbl, tmp_path / "b.parquet")
    items = read_eval_sets([EvalSetConfig(name="qa", paths=[str(a)], fields=["question", "answer"], id_field="qid"),
                            EvalSetConfig(name="b", paths=[str(tmp_path / "*.parquet")])], tmp_path)
    assert items.set_name == ["qa", "qa", "b"]
    assert items.item_id == ["q1", "q2", "0"]
    assert items.text[0] == QUESTION + " " + ANSWER and items.text[1] == "Why? a b"
    assert items.line == [1, 2, 1]
    with pytest.raises(InputError, match="qa.jsonl.gz:1.*no field"):
        read_eval_sets([EvalSetConfig(name="qa", paths=[str(a)], fields=["prompt"])], tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{oops\n')
    with pytest.raises(InputError, match="bad.jsonl:2"):
        read_eval_sets([EvalSetConfig(name="x", paths=[str(bad)])], tmp_path)
    with pytest.raises(ConfigError, match="matches no file"):
        read_eval_sets([EvalSetConfig(name="x", paths=["nope/*.jsonl"])], tmp_path)


def test_hasher_is_process_independent():
    a, b = GramHasher(), GramHasher()
    w1, p1 = a.words(normalize(["alpha beta gamma"]))
    w2, p2 = b.words(normalize(["alpha beta gamma"]))
    assert np.array_equal(w1, w2) and p1.tolist() == [3]
