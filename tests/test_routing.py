"""Routing: one source's documents split among roles by expressions in select; every document lands
in exactly one role or is dropped with a counted reason; tokens per (source, role); mix per role.
Also the adapt stage end to end (sidecar columns joined by row, resume, determinism) and the shipped
finance-extract pipeline on a small generated pool."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapt_fixtures import pool
from curate.errors import ConfigError
from curate.pipeline import run_pipeline

REPO = Path(__file__).resolve().parents[1]

ROUTED = """
name: routed
seed: 5
sources:
  - name: pool
    paths: [in/pool.jsonl.gz]
    routes:
      - {role: domain, when: "kw_finance_per_1k >= 40"}
      - {role: general, when: "kw_finance_per_1k < 10"}
  - name: books
    role: general
    paths: [in/books.jsonl.gz]
annotate:
  batch_size: 128
  heuristics: {}
  langid: null
  keywords: [{name: finance}]
select:
  rules:
    - {name: too_short, keep: "word_count >= 30"}
tokenizer: {kind: bpe, vocab_size: 600, sample_bytes: 2000000, val_fraction: 0.1}
mix: {by: role, target: {domain: 0.5, general: 0.5}, total_tokens: all, on_shortfall: warn}
"""


def _write(path: Path, texts: list[str], prefix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        for i, t in enumerate(texts):
            fh.write(orjson.dumps({"id": f"{prefix}{i}", "text": t}) + b"\n")


def _selected(run: Path, source: str) -> pa.Table:
    files = sorted((run / "selected" / source).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f, columns=["id", "role"]) for f in files])


@pytest.fixture
def routed_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    texts, y = pool(400, 3, share=0.3)
    texts += ["tiny doc"] * 5  # dropped by too_short
    _write(tmp_path / "in" / "pool.jsonl.gz", texts, "p")
    _write(tmp_path / "in" / "books.jsonl.gz", pool(100, 4, share=0.0)[0], "b")
    (tmp_path / "p.yaml").write_text(ROUTED)
    return tmp_path, run_pipeline(tmp_path / "p.yaml", out=tmp_path / "run", workers=1, progress=False)


def test_every_document_lands_in_one_role_or_is_dropped_and_counted(routed_run):
    tmp, res = routed_run
    run = tmp / "run"
    sel = res.stats["select"]["sources"]["pool"]
    t = _selected(run, "pool")
    ids = t.column("id").to_pylist()
    assert len(ids) == len(set(ids))  # one role per document
    roles = t.column("role").to_pylist()
    assert set(roles) <= {"domain", "general"} and {"domain", "general"} <= set(roles)
    # counts add up: in = out + drops; out = sum over roles; the stats match the files
    assert sel["docs_in"] == 405 and sel["docs_in"] == sel["docs_out"] + sum(sel["drops"].values())
    assert sel["drops"]["too_short"] == 5 and sel["drops"]["unrouted"] > 0
    assert sel["roles"] == {"domain": roles.count("domain"), "general": roles.count("general")}
    assert sum(sel["roles"].values()) == sel["docs_out"] == len(ids)
    assert res.stats["select"]["sources"]["books"]["roles"] == {"general": res.stats["select"]["sources"]["books"]["docs_out"]}
    # tokens per (source, role), documents counted per role
    tok = res.stats["tokenize"]["sources"]["pool"]
    assert tok["roles"] == sel["roles"] and set(tok["role_tokens"]) == {"domain", "general"}
    for role in ("domain", "general"):
        for split in ("train", "heldout"):
            assert (run / "tokens" / "pool" / role / f"{split}.bin").is_file()
    assert (run / "tokens" / "books" / "general" / "train.bin").is_file()
    # mixed per role: the routed pool feeds both sides
    mixture = orjson.loads((run / "manifest.json").read_bytes())["mixture"]
    assert set(mixture["sources"]) == {"pool-domain", "pool-general", "books"}
    assert mixture["achieved"]["domain"] == pytest.approx(0.5, abs=0.05)
    assert "Documents per role" in (run / "report.md").read_text()


def test_route_expression_errors_name_the_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "in" / "pool.jsonl.gz", pool(60, 1)[0], "p")
    _write(tmp_path / "in" / "books.jsonl.gz", pool(20, 2)[0], "b")
    (tmp_path / "p.yaml").write_text(ROUTED.replace("kw_finance_per_1k >= 40", "no_such_column >= 40").split("tokenizer:")[0])
    with pytest.raises(ConfigError, match="no_such_column"):
        run_pipeline(tmp_path / "p.yaml", out=tmp_path / "run", workers=1, progress=False)
    bad = ROUTED.replace("name: books", "name: pool-domain")
    (tmp_path / "q.yaml").write_text(bad)
    with pytest.raises(ConfigError, match="clash"):
        run_pipeline(tmp_path / "q.yaml", out=tmp_path / "run2", workers=1, progress=False)


ADAPT = """
name: adapted
seed: 9
sources:
  - name: pool
    paths: [in/pool.jsonl.gz]
    routes:
      - {role: domain, when: "fin_score >= 0.5"}
      - {role: general, when: "fin_score < 0.2"}
annotate:
  batch_size: 128
  heuristics: {}
  langid: null
  keywords: [{name: finance}]
  dedup_keys: {}
dedup: {threshold: 0.9}
adapt:
  tasks:
    - name: fin
      priors: {keywords: kw_finance_per_1k}
      anchor: [anchor.jsonl.gz]
      selftrain: {rounds: 2, min_change: 0.0, fasttext: {lr: 0.5, epoch: 10, minCount: 1, bucket: 20000, quantize: false}}
select:
  rules:
    - {name: too_short, keep: "word_count >= 30"}
"""


def test_adapt_stage_routes_an_unseen_pool_deterministically(tmp_path, monkeypatch):
    from adapt_fixtures import seed_sets

    monkeypatch.chdir(tmp_path)
    texts, y = pool(500, 8, share=0.1)
    texts.append(texts[0])  # an exact duplicate: scored, not learned on, dropped by dedup
    _write(tmp_path / "in" / "pool.jsonl.gz", texts, "p")
    _write(tmp_path / "anchor.jsonl.gz", seed_sets(100, 2)[0], "a")
    (tmp_path / "p.yaml").write_text(ADAPT)
    a = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "a", workers=1, progress=False)
    side = sorted((tmp_path / "a" / "adapt" / "fin" / "columns").rglob("*.parquet"))
    assert side and pq.read_table(side[0]).num_rows == 501 and "fin_score" in pq.read_table(side[0]).column_names
    card = orjson.loads((tmp_path / "a" / "adapt" / "fin" / "card.json").read_bytes())
    assert card["learned_on"] == 500 and len(card["rounds"]) == 2 and (tmp_path / "a" / "adapt" / "fin" / "card.md").is_file()
    t = _selected(tmp_path / "a", "pool")
    domain = {i for i, r in zip(t.column("id").to_pylist(), t.column("role").to_pylist()) if r == "domain"}
    truth = {f"p{i}" for i in np.flatnonzero(y)}
    tp = len(domain & truth)
    assert tp / max(len(domain), 1) >= 0.9 and tp / len(truth) >= 0.9
    # same seed, fresh directory: byte-identical learned columns and routing; a rerun resumes
    b = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "b", workers=2, progress=False)
    for f in side:
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()
    assert (tmp_path / "a" / "adapt" / "fin" / "fold0.bin").read_bytes() == (tmp_path / "b" / "adapt" / "fin" / "fold0.bin").read_bytes()
    assert _selected(tmp_path / "b", "pool").equals(t)
    c = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "a", workers=1, progress=False)
    assert c.stats["adapt"] == a.stats["adapt"]


@pytest.mark.slow
def test_finance_extract_pipeline_on_a_generated_pool(tmp_path):
    """The shipped pipeline, as a user runs it: only --set for the pool's paths (and a small tokenizer)."""
    import os
    import subprocess
    import sys

    texts, y = pool(400, 12, share=0.15)
    _write(tmp_path / "pool.jsonl.gz", texts, "p")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-m", "curate.cli", "run", "pipelines/finance-extract.yaml", "--out", str(tmp_path / "run"),
                          "--quiet", "--workers", "1", "--set", f'sources.pool.paths=["{tmp_path / "pool.jsonl.gz"}"]',
                          "--set", "tokenizer.vocab_size=600"], cwd=REPO, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    t = _selected(tmp_path / "run", "pool")
    domain = {i for i, r in zip(t.column("id").to_pylist(), t.column("role").to_pylist()) if r == "domain"}
    truth = {f"p{i}" for i in np.flatnonzero(y)}
    tp = len(domain & truth)
    p, r = tp / max(len(domain), 1), tp / len(truth)
    assert 2 * p * r / (p + r) >= 0.85, (p, r)
    assert (tmp_path / "run" / "tokens" / "pool" / "domain" / "train.bin").is_file()
    assert (tmp_path / "run" / "adapt" / "finance_adapt" / "card.md").is_file()
