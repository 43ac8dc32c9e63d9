"""`curate tokenizer train`, `curate shards verify` (incl. corrupt shards) and `curate shards inspect`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from conftest import make_docs, write_jsonl
from curate.cli import cli
from curate.shards.megatron import IndexedDataset
from curate.tokenize.tokenizer import file_sha256, load_tokenizer
from shards_helpers import build_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    return build_run(root, root / "run").run_dir


@pytest.fixture
def fresh_run(run_dir: Path, tmp_path: Path) -> Path:
    """A private copy to damage."""
    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    return dst


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_tokenizer_train_cli(tmp_path: Path):
    write_jsonl(tmp_path / "a.jsonl.gz", make_docs(80, 1, "a"), gz=True)
    write_jsonl(tmp_path / "b.jsonl", make_docs(40, 2, "b"))
    outs = []
    for name in ("t1.json", "t2.json"):
        res = invoke("tokenizer", "train", str(tmp_path / "a.jsonl.gz"), str(tmp_path / "b.jsonl"), "--out", str(tmp_path / name),
                     "--vocab-size", "320", "--seed", "3")
        assert res.exit_code == 0, res.output
        assert "fast engine: tiktoken" in res.output and "vocab=320" in res.output
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    tok = load_tokenizer(tmp_path / "t1.json")
    assert tok.vocab_size == 320 and tok.eos_id == 0


def test_tokenizer_train_cli_from_run_dir(run_dir: Path, tmp_path: Path):
    res = invoke("tokenizer", "train", str(run_dir), "--out", str(tmp_path / "u.json"), "--kind", "unigram", "--vocab-size", "350",
                 "--pre-tokenizer", "bloomberg", "--sample-bytes", "50000")
    assert res.exit_code == 0, res.output
    assert "unigram" in res.output and "fast engine: tokenizers (model type Unigram" in res.output


def test_verify_ok(run_dir: Path):
    res = invoke("shards", "verify", str(run_dir))
    assert res.exit_code == 0, res.output
    n = len(orjson.loads((run_dir / "manifest.json").read_bytes())["shards"])
    assert f"OK: {n} shard(s) verified" in res.output
    assert invoke("shards", "verify", str(run_dir / "shards")).exit_code == 0  # the shards folder finds its manifest


def test_verify_detects_flipped_byte(fresh_run: Path):
    target = fresh_run / "shards" / "train_00001.bin"
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF
    target.write_bytes(bytes(data))
    res = invoke("shards", "verify", str(fresh_run))
    assert res.exit_code == 1
    assert "train_00001.bin" in res.output and "sha256" in res.output
    assert "train_00000.bin" not in res.output.split("CORRUPT", 1)[1]


def test_verify_detects_truncated_shard(fresh_run: Path):
    target = fresh_run / "shards" / "val_gen.bin"
    target.write_bytes(target.read_bytes()[:-2])
    res = invoke("shards", "verify", str(fresh_run))
    assert res.exit_code == 1 and "val_gen.bin" in res.output and "truncated" in res.output


def test_verify_detects_missing_eos_even_with_matching_checksum(fresh_run: Path):
    target = fresh_run / "shards" / "train_00002.bin"
    ds = IndexedDataset(target)
    tokens = np.array(ds.tokens)
    end = int(ds.pointers[3] // 2 + ds.sizes[3] - 1)  # last token of document #3
    tokens[end] = 7
    del ds
    target.write_bytes(tokens.tobytes())
    manifest = orjson.loads((fresh_run / "manifest.json").read_bytes())
    for s in manifest["shards"]:
        if s["path"] == "shards/train_00002.bin":
            s["sha256"] = file_sha256(target)  # a consistent checksum: only the EOS check can catch it
    (fresh_run / "manifest.json").write_bytes(orjson.dumps(manifest))
    res = invoke("shards", "verify", str(fresh_run))
    assert res.exit_code == 1 and "train_00002.bin: 1 of" in res.output and "document #3 ends in 7" in res.output


def test_verify_without_manifest(fresh_run: Path):
    (fresh_run / "manifest.json").unlink()
    assert invoke("shards", "verify", str(fresh_run / "shards"), "--eos-id", "0", "--vocab-size", "400").exit_code == 0
    res = invoke("shards", "verify", str(fresh_run / "shards"), "--eos-id", "5")
    assert res.exit_code == 1 and "do not end in EOS 5" in res.output


def test_inspect(run_dir: Path):
    res = invoke("shards", "inspect", str(run_dir), "--samples", "2", "--chars", "80")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "mixture by role" in out and "51.00%" in out and "49.00%" in out
    for name in ("fin", "news", "gen", "shards/val_gen.bin", "shards/train_00000.bin"):
        assert name in out
    assert out.count("\nsample ") == 2 and "last id 0" in out
