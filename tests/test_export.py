"""`curate export`: selected and mixed documents round-trip through `datasets` (load_from_disk / load_dataset)."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from curate.cli import main
from curate.errors import CurateError
from curate.export import export_run
from curate.pipeline import run_pipeline

datasets = pytest.importorskip("datasets")

PIPELINE = """
name: exp
seed: 3
sources:
  - {name: fin, role: domain, paths: [in/fin/*], license: CC-BY-4.0}
  - {name: gen, role: general, paths: [in/gen/*], license: CC-BY-4.0}
annotate:
  batch_size: 64
  heuristics: {}
  langid: null
select:
  rules:
    - {name: has_words, keep: "word_count >= 40"}
tokenizer: {vocab_size: 400, sample_bytes: 200000, val_fraction: 0.1}
mix: {target: {domain: 0.6, general: 0.4}, total_tokens: all, max_epochs: 2, shard_tokens: 20000}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    import os

    from conftest import make_docs, write_jsonl

    root = tmp_path_factory.mktemp("export")
    write_jsonl(root / "in" / "fin" / "a.jsonl", make_docs(90, 1, "fa"))
    write_jsonl(root / "in" / "fin" / "b.jsonl", make_docs(40, 2, "fb"))
    write_jsonl(root / "in" / "gen" / "c.jsonl", make_docs(120, 3, "gc"))
    (root / "p.yaml").write_text(PIPELINE)
    old = os.getcwd()
    os.chdir(root)
    try:
        res = run_pipeline(root / "p.yaml", out=root / "run", workers=1, progress=False)
    finally:
        os.chdir(old)
    return res.run_dir


def selected_rows(run):
    return [r for s in ("fin", "gen") for f in sorted((run / "selected" / s).glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_selected_round_trips_in_every_format(run_dir, tmp_path):
    want = selected_rows(run_dir)
    for fmt in ("hf", "parquet", "jsonl"):
        out = tmp_path / fmt
        s = export_run(run_dir, out, fmt=fmt, what="selected", rows_per_file=50)
        assert s["documents"] == len(want) and s["files"] == -(-len(want) // 50)
        if fmt == "hf":
            ds = datasets.load_from_disk(str(out))
        else:
            ext = "parquet" if fmt == "parquet" else "json"
            ds = datasets.load_dataset(ext, data_files=sorted(str(p) for p in (out / "data").iterdir()), split="train",
                                       cache_dir=str(tmp_path / "cache"))
        assert ds.num_rows == len(want)
        assert ds["id"] == [r["id"] for r in want] and ds["text"] == [r["text"] for r in want]
        assert "word_count" in ds.column_names and "minhash" not in ds.column_names
        assert ds[5]["word_count"] == want[5]["word_count"]
        card = (out / "README.md").read_text()
        assert card.startswith("---\nlicense: cc-by-4.0") and "| fin | domain | CC-BY-4.0 |" in card and "has_words" in card


def test_parquet_export_loads_by_folder_name(run_dir, tmp_path):
    export_run(run_dir, tmp_path / "pq", fmt="parquet")
    ds = datasets.load_dataset(str(tmp_path / "pq"), split="train", cache_dir=str(tmp_path / "cache"))  # reads the card's `configs`
    assert ds.num_rows == len(selected_rows(run_dir))


def test_mixed_export_follows_the_training_shards(run_dir, tmp_path):
    from curate.shards.megatron import IndexedDataset
    from curate.tokenize.tokenizer import load_tokenizer

    s = export_run(run_dir, tmp_path / "mixed", fmt="hf", what="mixed")
    ds = datasets.load_from_disk(str(tmp_path / "mixed"))
    shards = sorted((run_dir / "shards").glob("train_*.idx"))
    docs = [IndexedDataset(p.with_suffix(""))[i] for p in shards for i in range(len(IndexedDataset(p.with_suffix(""))))]
    assert ds.num_rows == len(docs) == s["documents"]
    assert ds["mix_position"] == list(range(len(docs)))
    from curate.layout import RunLayout

    tok = load_tokenizer(RunLayout(run_dir).tokenizer, "<|endoftext|>")
    # every exported row, tokenized, is the document at that position of the train shards
    for i in range(0, len(docs), max(1, len(docs) // 25)):
        ids = np.asarray(tok.hf.encode(ds[i]["text"]).ids + [tok.eos_id])
        assert np.array_equal(docs[i], ids), i
    assert set(ds["source"]) == {"fin", "gen"}
    per = {k: v for k, v in s["per_source"].items()}
    assert per["fin"] + per["gen"] == len(docs)
    # shard column matches the shard each document sits in
    lens = [len(IndexedDataset(p.with_suffix(""))) for p in shards]
    assert ds["mix_shard"] == [k for k, n in enumerate(lens) for _ in range(n)]


def test_cli_and_errors(run_dir, tmp_path, capsys):
    main(["export", str(run_dir), "--format", "jsonl", "--out", str(tmp_path / "j")])
    assert "exported" in capsys.readouterr().out
    with pytest.raises(CurateError, match="exists"):
        export_run(run_dir, tmp_path / "j", fmt="jsonl")
    export_run(run_dir, tmp_path / "j", fmt="jsonl", overwrite=True)
    with pytest.raises(CurateError, match="not a curate run"):
        export_run(tmp_path, tmp_path / "x")
    with pytest.raises(CurateError, match="inside|into the run"):
        export_run(run_dir, run_dir / "export")
