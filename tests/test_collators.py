"""Objectives: shapes, masking statistics, special ids, exact reconstruction, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from curate.train.objectives import IGNORE, CausalLM, MaskedLM, SpanCorruption, SpecialIds, make_collator, span_lengths

V, EOS = 1000, 7
IDS = SpecialIds(V, EOS)


def _windows(rows=64, seq=512, seed=0):
    w = np.random.default_rng(seed).integers(0, V, (rows, seq + 1))
    w[:, ::50] = EOS  # documents end every 50 tokens
    return w


def test_special_ids_sit_past_the_tokenizer():
    assert (IDS.mask_id, IDS.decoder_start_id, IDS.sentinel(0), IDS.sentinel(99)) == (1000, 1001, 1002, 1101)
    assert IDS.model_vocab == 1152  # 1102 rounded up to a multiple of 64


def test_causal_lm_shifts_by_one():
    w = _windows(4, 32)
    b = CausalLM(IDS)(w, np.random.default_rng(0))
    assert b["input_ids"].shape == b["labels"].shape == (4, 32)
    np.testing.assert_array_equal(b["input_ids"].numpy()[:, 1:], b["labels"].numpy()[:, :-1])
    np.testing.assert_array_equal(b["labels"].numpy(), w[:, 1:])


def test_masked_lm_statistics():
    w = _windows()
    tokens = w[:, :-1]
    b = MaskedLM(IDS)(w, np.random.default_rng(1))
    inp, lab = b["input_ids"].numpy(), b["labels"].numpy()
    assert inp.shape == lab.shape == tokens.shape
    chosen = lab != IGNORE
    eligible = tokens != EOS
    assert not chosen[~eligible].any(), "EOS was chosen for masking"
    np.testing.assert_array_equal(lab[chosen], tokens[chosen])
    np.testing.assert_array_equal(inp[~chosen], tokens[~chosen])
    rate = chosen.sum() / eligible.sum()
    assert abs(rate - 0.15) < 0.01
    n = chosen.sum()
    masked = (inp == IDS.mask_id) & chosen
    changed = chosen & ~masked & (inp != tokens)
    kept = chosen & (inp == tokens)
    assert abs(masked.sum() / n - 0.8) < 0.02
    assert abs(changed.sum() / n - 0.1) < 0.015
    assert abs(kept.sum() / n - 0.1) < 0.015
    assert (inp[changed] < V).all()
    again = MaskedLM(IDS)(w, np.random.default_rng(1))
    assert (again["input_ids"].numpy() == inp).all()


def test_span_lengths_hand_computed():
    # 128 * 0.15 = 19.2 -> 19 noise tokens; 19 / 3 = 6.33 -> 6 spans; encoder 128-19+6, decoder 19+6
    assert span_lengths(128, 0.15, 3.0) == (19, 6)
    assert SpanCorruption(IDS).shapes(128) == (115, 25)
    assert span_lengths(512, 0.15, 3.0) == (77, 26)
    assert span_lengths(4, 0.15, 3.0) == (1, 1)


def _reconstruct(enc, targets, ids):
    """Undo span corruption from the two sequences alone."""
    spans, cur = {}, None
    for t in targets:
        if t >= ids.sentinel(0):
            cur = int(t)
            spans[cur] = []
        else:
            spans[cur].append(int(t))
    out = []
    for t in enc:
        out.extend(spans[int(t)] if t >= ids.sentinel(0) else [int(t)])
    return out


def test_span_corruption_shapes_statistics_and_reconstruction():
    w = _windows(rows=32, seq=512)
    coll = SpanCorruption(IDS)
    b = coll(w, np.random.default_rng(2))
    enc, dec_in, tgt = (b[k].numpy() for k in ("input_ids", "decoder_input_ids", "labels"))
    assert enc.shape == (32, 512 - 77 + 26) and tgt.shape == dec_in.shape == (32, 77 + 26)
    assert (dec_in[:, 0] == IDS.decoder_start_id).all()
    np.testing.assert_array_equal(dec_in[:, 1:], tgt[:, :-1])
    for row in range(32):
        sent = tgt[row][tgt[row] >= IDS.sentinel(0)]
        np.testing.assert_array_equal(sent, IDS.sentinel(np.arange(26)))  # in order, one per span
        np.testing.assert_array_equal(enc[row][enc[row] >= IDS.sentinel(0)], sent)
        assert _reconstruct(enc[row], tgt[row], IDS) == w[row, :-1].tolist()
    mask = coll.noise_mask(2000, 512, np.random.default_rng(3))
    assert (mask.sum(axis=1) == 77).all()
    starts = mask & ~np.concatenate([np.zeros((2000, 1), bool), mask[:, :-1]], axis=1)
    assert (starts.sum(axis=1) == 26).all() and not mask[:, 0].any()  # T5 starts with clean tokens
    # as in T5, the sequence starts clean and ends inside a noise span; in between noise is uniform
    assert mask[:, -1].all() and np.abs(mask.mean(axis=0)[50:450] - 0.15).max() < 0.035
    # span lengths vary (random partition), mean exactly 77/26 ~ 2.96
    lengths = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], mask[0].astype(int), [0]]))))[::2]
    assert len(lengths) == 26 and lengths.sum() == 77 and lengths.max() > lengths.min()


def test_collators_are_seeded():
    w = _windows(8, 128)
    for name in ("mlm", "span"):
        c = make_collator(name, IDS)
        a, b, d = c(w, np.random.default_rng(9)), c(w, np.random.default_rng(9)), c(w, np.random.default_rng(10))
        assert all((a[k] == b[k]).all() for k in a)
        assert not (a["input_ids"] == d["input_ids"]).all()
    with pytest.raises(ValueError):
        make_collator("prefix", IDS)
