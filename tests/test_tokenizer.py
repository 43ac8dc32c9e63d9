"""Tokenizer training/loading, the tiktoken fast path (identical ids to `tokenizers`, or a clean
fallback), and the tokenize stage (held-out split, EOS per document, worker-count independence)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tokenizers
from tokenizers import decoders, models, normalizers, pre_tokenizers

from conftest import make_docs
from curate.errors import CurateError
from curate.tokenize.fastbpe import FastPathUnsupported, tiktoken_encoding
from curate.shards.megatron import IndexedDataset
from curate.sampling import unit_hash
from curate.tokenize.tokenizer import Encoder, IdMismatch, TokenizerConfig, flatten, load_tokenizer, train_tokenizer
from shards_helpers import TRICKY, build_run, make_context, make_inputs

LONG_RANDOM = "".join(chr(c) for c in range(0x20, 0x2000, 3))


def _corpus() -> list[str]:
    return [d["text"] for d in make_docs(150, 21)] + TRICKY * 2 + [LONG_RANDOM]


@pytest.fixture(scope="module")
def bpe_paths(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tok")
    return {pre: train_tokenizer(_corpus(), TokenizerConfig(vocab_size=500, min_frequency=1, pre_tokenizer=pre), d / f"{pre}.json")
            for pre in ("gpt2", "bloomberg")}


TEST_TEXTS = TRICKY + [
    LONG_RANDOM,
    "x" * 20_000,
    "9" * 500 + " " * 300 + "\t" * 50,
    "Mixed 中文and English123abc  ;; ---- ====\n\n\n\nend",
    "👨‍👩‍👧‍👦" * 40,
    "The company's revenue grew 12.5% to $3,456,789 in Q4 2023.",
    "",
]


@pytest.mark.parametrize("pre", ["gpt2", "bloomberg"])
def test_fast_path_ids_identical_to_tokenizers(bpe_paths, pre):
    tok = load_tokenizer(bpe_paths[pre])
    enc = tok.encoder("auto")
    assert enc.engine == "tiktoken", enc.reason
    fast = enc.encode(TEST_TEXTS, threads=2)
    hf = tokenizers.Tokenizer.from_file(str(bpe_paths[pre]))  # a fresh, independent `tokenizers` instance
    hf.encode_special_tokens = True
    ref = [e.ids for e in hf.encode_batch(TEST_TEXTS, add_special_tokens=False)]
    assert fast == ref
    assert sum(map(len, fast)) > 1000
    # decoding the ids gives the text back (byte-level BPE is lossless)
    assert all(tok.hf.decode(ids) == t for ids, t in zip(fast, TEST_TEXTS))


def test_literal_special_token_in_text_is_not_eos(bpe_paths):
    tok = load_tokenizer(bpe_paths["gpt2"])
    enc = tok.encoder()
    ids = enc.encode(["a <|endoftext|> b"])[0]
    assert tok.eos_id not in ids and enc.reference(["a <|endoftext|> b"])[0] == ids


def test_training_is_deterministic(tmp_path, bpe_paths):
    again = train_tokenizer(_corpus(), TokenizerConfig(vocab_size=500, min_frequency=1), tmp_path / "again.json")
    assert again.read_bytes() == bpe_paths["gpt2"].read_bytes()


def test_unigram_trains_and_falls_back_with_reason(tmp_path):
    p = train_tokenizer(_corpus(), TokenizerConfig(kind="unigram", vocab_size=400), tmp_path / "uni.json")
    tok = load_tokenizer(p)
    enc = tok.encoder("auto")
    assert enc.engine == "tokenizers" and "Unigram" in enc.reason
    ids = enc.encode(TEST_TEXTS)
    assert all(tok.hf.decode(i) == t for i, t in zip(ids, TEST_TEXTS))  # byte-level alphabet: nothing is unknown
    with pytest.raises(CurateError, match="tiktoken engine cannot"):
        tok.encoder("tiktoken")


def test_normalizer_is_unsupported(bpe_paths):
    hf = tokenizers.Tokenizer.from_file(str(bpe_paths["gpt2"]))
    hf.normalizer = normalizers.NFKC()
    with pytest.raises(FastPathUnsupported, match="normalizer"):
        tiktoken_encoding(hf)


def test_conversion_maps_every_token_like_the_per_token_decoder_and_is_made_once_per_process(bpe_paths, tmp_path):
    import orjson

    from curate.tokenize import fastbpe, tokenizer

    tok = load_tokenizer(bpe_paths["bloomberg"])
    spec = orjson.loads(tok.hf.to_str())
    special = {a["content"] for a in spec["added_tokens"]}
    ref = {fastbpe._token_bytes(t): i for t, i in spec["model"]["vocab"].items() if t not in special}
    assert tiktoken_encoding(tok.hf)._mergeable_ranks == ref
    # one conversion per tokenizer content and process, shared by every encoder (task) after it
    tokenizer._FAST.clear()
    a, b = tok.encoder("auto"), load_tokenizer(bpe_paths["bloomberg"]).encoder("auto")
    assert a._tt is b._tt and list(tokenizer._FAST) == [tok.sha256]
    b.disable_fast("test")  # a fallback on one file does not reach the next task's encoder
    assert b.engine == "tokenizers" and tok.encoder("auto").engine == "tiktoken"
    # a vocabulary token with a raw (not byte-level) character is refused, naming it
    vocab = {"<|endoftext|>": 0, **{ch: i + 1 for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}, "a b": 257}
    hf = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=[]))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.add_special_tokens(["<|endoftext|>"])
    with pytest.raises(FastPathUnsupported, match="'a b' is not byte-level"):
        tiktoken_encoding(hf)


def _divergent_tokenizer(path: Path) -> Path:
    """A BPE whose vocabulary has "abc" but whose merges reach it only via "ab": for text "abc",
    `tokenizers` applies (b,c) first and ends with [a, bc]; tiktoken takes the whole piece "abc"."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|endoftext|>": 0, **{ch: i + 1 for i, ch in enumerate(alphabet)}}
    vocab.update({"bc": 257, "ab": 258, "abc": 259})
    hf = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=[("b", "c"), ("a", "b"), ("ab", "c")]))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens(["<|endoftext|>"])
    hf.save(str(path))
    return path


def test_mismatch_is_detected_and_falls_back(tmp_path):
    tok = load_tokenizer(_divergent_tokenizer(tmp_path / "div.json"))
    enc = tok.encoder("auto")
    assert enc.engine == "tiktoken"  # the static checks pass; only the id comparison can catch it
    texts = ["xyz", "abc"]
    with pytest.raises(IdMismatch, match="document 1"):
        enc.check(texts, enc.encode(texts), np.arange(2))
    # the tokenize task re-encodes the whole file with `tokenizers`
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.tokenize.stage import tokenize_file

    pq.write_table(pa.table({"id": ["x", "y"], "text": texts, "source": ["s", "s"], "file": ["f", "f"], "line": [1, 2]}), tmp_path / "f.parquet")
    stats = tokenize_file(parquet=str(tmp_path / "f.parquet"), part=str(tmp_path / "part"), tokenizer=str(tok.path), sha256=tok.sha256,
                          eos=tok.eos, engine="auto", seed=1, val_fraction=0.0, verify_fraction=1.0, batch_docs=8, threads=1)
    assert stats["engine"] == "tokenizers" and "differs" in stats["fallback_reason"]
    ds = IndexedDataset(tmp_path / "part")
    assert [ds[i].tolist() for i in range(2)] == [ids + [tok.eos_id] for ids in enc.reference(texts)]


def test_missing_eos_names_file_and_specials(tmp_path, bpe_paths):
    with pytest.raises(CurateError) as err:
        load_tokenizer(bpe_paths["gpt2"], eos="</s>")
    assert "gpt2.json" in str(err.value) and "<|endoftext|>" in str(err.value)


def test_flatten_appends_eos():
    flat, lengths = flatten([[5, 6], [], [7]], 0, np.dtype(np.uint16))
    assert flat.tolist() == [5, 6, 0, 0, 7, 0] and lengths.tolist() == [3, 1, 2] and flat.dtype == np.uint16


def test_heldout_hash_is_stable_and_seeded():
    ids = [f"d{i}" for i in range(2000)]
    u = unit_hash(ids, 5, "heldout")
    assert np.array_equal(u, unit_hash(list(reversed(ids)), 5, "heldout")[::-1])  # order-free
    assert not np.array_equal(u, unit_hash(ids, 6, "heldout"))
    assert 0.07 < (u < 0.1).mean() < 0.13


def test_tokenize_stage_is_independent_of_worker_count(tmp_path):
    cfg = make_inputs(tmp_path)
    one = build_run(tmp_path, tmp_path / "run1", workers=1, cfg=cfg)
    two = build_run(tmp_path, tmp_path / "run2", workers=2, cfg=cfg)
    for sub in ("tokens", "shards", "tokenizer"):
        a = sorted(p.relative_to(one.run_dir) for p in (one.run_dir / sub).rglob("*") if p.is_file())
        b = sorted(p.relative_to(two.run_dir) for p in (two.run_dir / sub).rglob("*") if p.is_file())
        assert a == b and a
        for f in a:
            assert (one.run_dir / f).read_bytes() == (two.run_dir / f).read_bytes(), f
    assert (one.run_dir / "manifest.json").read_bytes() == (two.run_dir / "manifest.json").read_bytes()
    st = one.stats["tokenize"]
    assert st["engine_files"] == {"tiktoken": 4} and st["total"]["verified_docs"] == st["total"]["docs_in"]


def test_tokenize_stage_contents(tmp_path):
    ctx = build_run(tmp_path, tmp_path / "run")
    tok = load_tokenizer(ctx.run_dir / "tokenizer" / "tokenizer.json")
    enc = Encoder(tok, "tokenizers")
    import pyarrow.parquet as pq

    for name in ("fin", "news", "gen"):
        docs = [r for f in ctx.selected_files(name) for r in pq.read_table(f).to_pylist()]
        # keyed by (source, file, line), unique even where given ids repeat
        val = unit_hash([f"{d['source']}\x1f{Path(d['file']).name}\x1f{d['line']}\x1f{d['id'] or ''}" for d in docs], ctx.seed, "heldout") < 0.1
        ref = enc.reference([d["text"] for d in docs])
        role = ctx.source(name).role
        train_ds, val_ds = IndexedDataset(ctx.layout.tokens(name, role, "train")), IndexedDataset(ctx.layout.tokens(name, role, "heldout"))
        want_train = [r + [tok.eos_id] for r, v in zip(ref, val) if not v]
        want_val = [r + [tok.eos_id] for r, v in zip(ref, val) if v]
        assert [train_ds[i].tolist() for i in range(len(train_ds))] == want_train
        assert [val_ds[i].tolist() for i in range(len(val_ds))] == want_val
        assert len(val_ds) > 0 and len(train_ds) > len(val_ds)


def test_resume_skips_finished_work(tmp_path):
    from curate.tokenize import stage as tokenize

    cfg = make_inputs(tmp_path)
    ctx = build_run(tmp_path, tmp_path / "run", cfg=cfg)
    before = {p: p.read_bytes() for p in (ctx.run_dir / "tokens").rglob("*") if p.is_file()}
    ctx2 = make_context(tmp_path, tmp_path / "run", cfg)
    assert tokenize.TokenizeStage(ctx2).run() == ctx.stats["tokenize"]
    assert before == {p: p.read_bytes() for p in (ctx.run_dir / "tokens").rglob("*") if p.is_file()}
