"""Dedup stage: planted exact/near duplicates across sources, keep policy, determinism, resume, partitions."""

from __future__ import annotations

from pathlib import Path

import json
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import curate.dedup.stage as stage
from curate.config import PipelineConfig
from curate.context import RunContext
from curate.dedup.clusters import union_find
from curate.dedup.engine import DedupConfig, group_pairs, num_partitions
from curate.errors import CurateError
from curate.exec.base import TaskFailed
from curate.exec.local import LocalExecutor
from curate.signals.minhash import DedupKeysConfig, MinHashSignal

RNG = np.random.default_rng(42)
VOCAB = [f"tok{i}" for i in range(4000)]


def text(n: int = 150) -> str:
    return " ".join(RNG.choice(VOCAB, n))


def replace_span(t: str, start: int, size: int) -> str:
    w = t.split()
    w[start : start + size] = [f"new{i}" for i in range(size)]
    return " ".join(w)


def jaccard5(a: str, b: str) -> float:
    sa = {tuple(a.split()[i : i + 5]) for i in range(len(a.split()) - 4)}
    sb = {tuple(b.split()[i : i + 5]) for i in range(len(b.split()) - 4)}
    return len(sa & sb) / len(sa | sb)


BASE = [text() for _ in range(12)]
NEAR = replace_span(BASE[2], 70, 3)  # 3 of 150 words: Jaccard ~0.9
FAR = replace_span(BASE[3], 20, 60)  # 60 of 150 words: Jaccard ~0.3, not a duplicate
SOURCES = {
    "news": ("general", [(f"n{i}", t) for i, t in enumerate(BASE)] + [("n-copy", BASE[0].upper() + " !!"), ("n-empty", "  ... ")]),
    "filings": ("domain", [("f-copy", "  " + BASE[0].replace(" ", ",  ")), ("f-near", NEAR), ("f-far", FAR), ("f-empty", "")]),
}


def make_ctx(tmp: Path, sources: dict, dedup: dict | None = None, workers: int = 1, run: str = "run") -> RunContext:
    """A run directory with annotated Parquet built by MinHashSignal (what annotate writes)."""
    spec = []
    for name, (role, _) in sources.items():
        (tmp / f"{name}.jsonl").write_text("{}\n")
        spec.append({"name": name, "role": role, "paths": [str(tmp / f"{name}.jsonl")]})
    cfg = PipelineConfig.model_validate({"seed": 7, "sources": spec, "annotate": {"dedup_keys": {}}, "dedup": dedup or {}})
    run_dir = tmp / run
    ctx = RunContext(cfg=cfg, run_dir=run_dir, root=tmp, executor=LocalExecutor(run_dir, workers=workers, progress=False))
    sig = MinHashSignal(DedupKeysConfig(), ctx.signal_context())
    for f in ctx.inputs():
        role, rows = sources[f.source.name]
        t = pa.table({"id": [r[0] for r in rows], "text": [r[1] for r in rows], "source": [f.source.name] * len(rows),
                      "role": [role] * len(rows), "char_count": pa.array([len(r[1]) for r in rows], pa.int64())})
        for k, v in sig.columns(t).items():
            t = t.append_column(k, v)
        path = ctx.annotated_path(f)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, path)
    return ctx


def drops(ctx: RunContext) -> list[dict]:
    t = pq.read_table(ctx.layout.dedup_dir / "drops.parquet")
    assert t.column("row").null_count == 0 and t.column("file").null_count == 0  # exact addresses for select
    return t.drop_columns(["file", "row"]).to_pylist()


def test_planted_exact_and_near_duplicates_across_sources(tmp_path):
    assert jaccard5(BASE[2], NEAR) >= 0.8 and jaccard5(BASE[3], FAR) < 0.5
    ctx = make_ctx(tmp_path, SOURCES)
    stats = stage.DedupStage(ctx).run()
    # cluster {n0, n-copy, f-copy}: the domain copy is kept; cluster {n2, f-near}: domain f-near kept
    assert drops(ctx) == [
        {"id": "n-copy", "source": "news", "cluster": "f-copy", "cluster_source": "filings", "reason": "exact_duplicate"},
        {"id": "n0", "source": "news", "cluster": "f-copy", "cluster_source": "filings", "reason": "exact_duplicate"},
        {"id": "n2", "source": "news", "cluster": "f-near", "cluster_source": "filings", "reason": "near_duplicate"},
    ]
    t = stats["total"]
    assert (t["docs_in"], sum(t["drops"].values()), t["exact_duplicates"], t["near_duplicates"], t["clusters"]) == (18, 3, 2, 1, 2)
    assert t["empty_docs_skipped"] == 2  # the two empty docs are not "duplicates" of each other
    assert stats["cluster_sizes"] == {"2": 1, "3": 1}
    news, filings = stats["sources"]["news"], stats["sources"]["filings"]
    assert (news["docs_in"], news["docs_out"], news["drops"]) == (14, 11, {"exact_duplicate": 2, "near_duplicate": 1})
    assert (filings["docs_in"], filings["docs_out"], filings["drops"]) == (4, 4, {})
    assert not (ctx.layout.dedup_dir / f"work-p{t['partitions']:04d}").exists()  # intermediates removed


def test_exact_only_and_near_only(tmp_path):
    ctx = make_ctx(tmp_path, SOURCES, {"near": False}, run="exact")
    stage.DedupStage(ctx).run()
    assert {d["id"] for d in drops(ctx)} == {"n0", "n-copy"}
    ctx = make_ctx(tmp_path, SOURCES, {"exact": False}, run="near")
    stage.DedupStage(ctx).run()
    assert {(d["id"], d["reason"]) for d in drops(ctx)} == {("n0", "exact_duplicate"), ("n-copy", "exact_duplicate"), ("n2", "near_duplicate")}


def test_keep_policy(tmp_path):
    doc = text(120)
    longer = doc + " extra words here"  # near duplicate, longer text
    sources = {
        "web": ("general", [("w-long", longer), ("w-b", doc), ("w-a", doc)]),
        "fin": ("domain", [("f-z", doc)]),
    }
    # prefer_roles [domain]: the domain doc wins even though a general one is longer
    ctx = make_ctx(tmp_path, sources, run="r1")
    stage.DedupStage(ctx).run()
    assert {d["id"]: d["cluster"] for d in drops(ctx)} == {"w-long": "f-z", "w-b": "f-z", "w-a": "f-z"}
    # no role preference: the longer text wins; the others are near duplicates of it
    ctx = make_ctx(tmp_path, sources, {"prefer_roles": []}, run="r2")
    stage.DedupStage(ctx).run()
    got = {d["id"]: (d["cluster"], d["reason"]) for d in drops(ctx)}
    assert got == {"w-b": ("w-long", "near_duplicate"), "w-a": ("w-long", "near_duplicate"), "f-z": ("w-long", "near_duplicate")}
    # equal role and length: the smallest id wins, and identical texts are exact duplicates of it
    ctx = make_ctx(tmp_path, {"web": ("general", [("w-b", doc), ("w-c", doc), ("w-a", doc)])}, run="r3")
    stage.DedupStage(ctx).run()
    assert {d["id"]: (d["cluster"], d["reason"]) for d in drops(ctx)} == {"w-b": ("w-a", "exact_duplicate"), "w-c": ("w-a", "exact_duplicate")}


def test_partitions_and_workers_do_not_change_the_result(tmp_path):
    ref = make_ctx(tmp_path, SOURCES, {"num_partitions": 1}, run="p1")
    ref_stats = stage.DedupStage(ref).run()
    ref_bytes = (ref.layout.dedup_dir / "drops.parquet").read_bytes()
    # more partitions than there are bucket rows in some partitions; two worker processes
    for dedup, workers, name in (({"num_partitions": 13}, 1, "p13"), ({"num_partitions": 5}, 2, "p5w2")):
        ctx = make_ctx(tmp_path, SOURCES, dedup, workers=workers, run=name)
        stats = stage.DedupStage(ctx).run()
        assert (ctx.layout.dedup_dir / "drops.parquet").read_bytes() == ref_bytes
        assert stats["cluster_sizes"] == ref_stats["cluster_sizes"] and stats["sources"] == ref_stats["sources"]
        assert stats["total"]["partitions"] == dedup["num_partitions"]


def test_memory_budget_sets_partition_count():
    # 1,000,000 docs x (25 bands + 1 exact row) x 128 B = 3,328,000,000 B; / (64 MiB) -> 49.6 -> 50
    assert num_partitions(DedupConfig(max_memory_mb=64), 1_000_000, 25) == 50
    # a budget above 64 MB (PAIR_TARGET_MB): one task still holds at most 64 MB -> 49.6 -> 50
    assert num_partitions(DedupConfig(max_memory_mb=256), 1_000_000, 25) == 50
    assert num_partitions(DedupConfig(max_memory_mb=4096), 1_000_000, 25) == 50
    assert num_partitions(DedupConfig(max_memory_mb=32), 1_000_000, 25) == 100
    assert num_partitions(DedupConfig(max_memory_mb=1024), 1_000, 25) == 1
    assert num_partitions(DedupConfig(num_partitions=40), 10, 25) == 40


def test_resume_skips_finished_passes(tmp_path, monkeypatch):
    ref = make_ctx(tmp_path, SOURCES, {"num_partitions": 3}, run="clean")
    stage.DedupStage(ref).run()
    ctx = make_ctx(tmp_path, SOURCES, {"num_partitions": 3}, run="crash")
    calls = []
    real_bucket = stage.bucket_file

    def counting_bucket(**kw):
        calls.append(kw["ordinal"])
        return real_bucket(**kw)

    def crash(**kw):
        raise RuntimeError("killed")

    monkeypatch.setattr(stage, "bucket_file", counting_bucket)
    monkeypatch.setattr(stage, "merge_drops", crash)
    with pytest.raises(TaskFailed):
        stage.DedupStage(ctx).run()
    assert calls == [0, 1]
    assert not (ctx.layout.dedup_dir / "drops.parquet").exists()
    monkeypatch.undo()
    monkeypatch.setattr(stage, "bucket_file", counting_bucket)
    stage.DedupStage(ctx).run()
    assert calls == [0, 1]  # pass 1 was not run again: its markers were found
    assert (ctx.layout.dedup_dir / "drops.parquet").read_bytes() == (ref.layout.dedup_dir / "drops.parquet").read_bytes()
    again = stage.DedupStage(ctx).run()  # a finished stage reruns from markers alone, with the same stats
    assert calls == [0, 1] and again == stage.DedupStage(ref).run()


def test_missing_signal_columns_are_a_clear_error(tmp_path):
    ctx = make_ctx(tmp_path, SOURCES)
    f, path = ctx.annotated_files()[0]
    pq.write_table(pq.read_table(path).drop_columns(["minhash"]), path)
    with pytest.raises(CurateError) as err:
        stage.DedupStage(ctx).run()
    assert str(path) in str(err.value) and "dedup_keys" in str(err.value)


def test_bands_rows_validated_against_signature(tmp_path):
    ctx = make_ctx(tmp_path, SOURCES, {"bands": 20, "rows": 8})  # 160 > 128
    with pytest.raises(CurateError, match="exceeds the signature length 128"):
        stage.DedupStage(ctx).run()
    with pytest.raises(ValueError):
        DedupConfig(bands=10)


def test_auto_banding():
    # accept = 0.8 - 1.645 * sqrt(0.8 * 0.2 / 128) = 0.74184; r=6 (21 bands) gives P(candidate) 0.978 < 0.99,
    # r=5 (25 bands) gives 0.998
    cfg = DedupConfig()
    assert cfg.accept_threshold(128) == pytest.approx(0.741839, abs=1e-5)
    assert cfg.banding(128) == (25, 5)
    # plain estimate >= 0.8: r=6 gives 1-(1-0.8^6)^21 = 0.9983, r=7 gives 0.9855
    assert DedupConfig(verify_z=0).banding(128) == (21, 6)


def test_union_find_components():
    a = np.array([0, 2, 1, 5, 7])
    b = np.array([1, 3, 3, 6, 7])
    assert union_find(a, b, 9).tolist() == [0, 0, 0, 0, 4, 5, 5, 7, 8]


def test_group_pairs_fanout():
    band = np.array([0, 0, 0, 0, 1, 255, 255, 255], dtype=np.uint8)
    key = np.array([9, 9, 9, 4, 9, 3, 3, 3], dtype=np.uint64)
    doc = np.array([30, 10, 20, 40, 10, 10, 20, 30], dtype=np.uint64)
    a, b, x = group_pairs(band, key, doc, fanout=8)
    # band 0 key 9: all 3 pairs of {10,20,30}; exact group: star from 10 -> (10,20), (10,30) marked exact
    assert list(zip(a.tolist(), b.tolist(), x.tolist())) == [(10, 20, True), (10, 30, True), (20, 30, False)]
    a, b, _ = group_pairs(band[:3], key[:3], doc[:3], fanout=1)
    assert list(zip(a.tolist(), b.tolist())) == [(10, 20), (10, 30)]


def test_no_duplicates_writes_an_empty_drops_file(tmp_path):
    ctx = make_ctx(tmp_path, {"a": ("general", [("x", text()), ("y", text()), ("z", "")])})
    stats = stage.DedupStage(ctx).run()
    assert drops(ctx) == [] and stats["total"]["drops"] == {} and stats["cluster_sizes"] == {}
    assert pq.read_schema(ctx.layout.dedup_dir / "drops.parquet").names == ["id", "source", "cluster", "cluster_source", "reason", "file", "row"]


def test_signatures_only_when_near_duplicates_are_searched(tmp_path, monkeypatch):
    """`dedup.near: false` annotates `dedup_hash` alone; turning near on later adds `minhash` (only that
    signal's columns are recomputed) and finds the near duplicate."""
    from curate.config import PipelineConfig
    from curate.pipeline import run_pipeline

    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(BASE)] + [{"id": "copy", "text": BASE[0]}, {"id": "near", "text": NEAR}]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = ("name: sig\nsources: [{name: a, role: domain, paths: [in/a.jsonl]}]\n"
            "annotate: {heuristics: null, langid: null, dedup_keys: {}}\ndedup: {near: NEAR}\nselect: {rules: []}\n")
    assert PipelineConfig.model_validate({"sources": [{"name": "a", "paths": ["x"]}], "annotate": {"dedup_keys": {}}}).annotate.dedup_keys.signatures is False
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(text.replace("NEAR", "false"))
    r = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "run", workers=1, progress=False)
    annotated = next((r.run_dir / "annotated").rglob("*.parquet"))
    assert "dedup_hash" in pq.read_schema(annotated).names and "minhash" not in pq.read_schema(annotated).names
    assert r.stats["dedup"]["total"]["drops"] == {"exact_duplicate": 1}
    (tmp_path / "p.yaml").write_text(text.replace("NEAR", "true"))
    r = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "run", workers=1, progress=False)
    assert "minhash" in pq.read_schema(annotated).names
    assert r.stats["dedup"]["total"]["drops"] == {"exact_duplicate": 1, "near_duplicate": 1}
