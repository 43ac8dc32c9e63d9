"""Pass 3 of dedup, partitioned (curate/dedup/clusters.py): byte-identical to the in-memory cluster
step it replaced (tests/dedup_reference.py) for any number of partitions and workers; the k-way
merge and the per-file drops index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import curate.dedup.stage as stage
from curate.config import PipelineConfig
from curate.context import RunContext
from curate.dedup.clusters import BY_ID, DROPS_SCHEMA, merge_runs
from curate.dedup.lookup import file_drops, index_path
from curate.exec.local import LocalExecutor
from curate.signals.minhash import DedupKeysConfig, MinHashSignal

from dedup_reference import cluster as reference_cluster

RNG = np.random.default_rng(5)
VOCAB = [f"w{i}" for i in range(3000)]


def _text(n: int = 120) -> str:
    return " ".join(RNG.choice(VOCAB, n))


def _edit(t: str, at: int) -> str:
    w = t.split()
    w[at : at + 2] = ["edit1", "edit2"]
    return " ".join(w)


BASES = [_text() for _ in range(40)]


def _files() -> dict[str, list[list[tuple[str, str]]]]:
    """3 sources x 3 files: exact copies (also case/punctuation variants) and near copies of shared
    bases across files and sources, unique documents, empty ones, and an id repeated across sources."""
    rng = np.random.default_rng(11)
    out: dict[str, list[list[tuple[str, str]]]] = {}
    for s, name in enumerate(("web", "fin", "news")):
        files = []
        for f in range(3):
            rows = []
            for k in range(30):
                b = int(rng.integers(0, len(BASES)))
                kind = int(rng.integers(0, 4))
                t = BASES[b] if kind == 0 else BASES[b].upper() if kind == 1 else _edit(BASES[b], int(rng.integers(0, 100))) if kind == 2 else _text()
                rows.append((f"{name}-{f}-{k}" if k % 7 else f"shared-{k}", t))
            rows.append((f"{name}-{f}-empty", ""))
            files.append(rows)
        out[name] = files
    return out


def _ctx(tmp: Path, files: dict, dedup: dict, workers: int, run: str) -> RunContext:
    spec = []
    for name, parts in files.items():
        for f in range(len(parts)):
            (tmp / f"{name}-{f}.jsonl").write_text("{}\n")
        spec.append({"name": name, "role": "domain" if name == "fin" else "general", "paths": [str(tmp / f"{name}-*.jsonl")]})
    cfg = PipelineConfig.model_validate({"seed": 3, "sources": spec, "annotate": {"dedup_keys": {}}, "dedup": dedup})
    run_dir = tmp / run
    ctx = RunContext(cfg=cfg, run_dir=run_dir, root=tmp, executor=LocalExecutor(run_dir, workers=workers, progress=False))
    sig = MinHashSignal(DedupKeysConfig(), ctx.signal_context())
    for f in ctx.inputs():
        rows = files[f.source.name][int(Path(f.path).stem.rsplit("-", 1)[1])]
        role = "domain" if f.source.name == "fin" else "general"
        t = pa.table({"id": [r[0] for r in rows], "text": [r[1] for r in rows], "source": [f.source.name] * len(rows),
                      "role": [role] * len(rows), "char_count": pa.array([len(r[1]) for r in rows], pa.int64())})
        for k, v in sig.columns(t).items():
            t = t.append_column(k, v)
        path = ctx.annotated_path(f)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, path)
    return ctx


def _reference(ctx: RunContext, out: Path) -> tuple[bytes, bytes]:
    """The old single-task cluster step over the same edges (kept from a run with keep_intermediate)."""
    cfg = ctx.cfg.dedup
    files, _, length_column, _ = stage._check_inputs(ctx, cfg, ctx.annotated_files())
    work = next(ctx.layout.dedup_dir.glob("work-*"))
    edges = sorted(str(p) for p in (work / "edges").glob("*.parquet"))
    out.mkdir(parents=True, exist_ok=True)
    reference_cluster(edges=edges, files=files, drops=str(out / "drops.parquet"), clusters=str(out / "clusters.json"),
                      prefer_roles=list(cfg.prefer_roles), length_column=length_column, with_hash=True)
    return (out / "drops.parquet").read_bytes(), (out / "clusters.json").read_bytes()


@pytest.mark.parametrize("dedup", [{}, {"near": False}, {"prefer_roles": []}])
def test_partitioned_clusters_match_the_in_memory_reference(tmp_path, dedup):
    files = _files()
    ref_ctx = _ctx(tmp_path, files, {**dedup, "num_partitions": 1, "keep_intermediate": True}, 1, "p1")
    ref_stats = stage.DedupStage(ref_ctx).run()
    want_drops, want_clusters = _reference(ref_ctx, tmp_path / "reference")
    assert (ref_ctx.layout.drops.read_bytes(), ref_ctx.layout.clusters.read_bytes()) == (want_drops, want_clusters)
    assert pq.read_metadata(ref_ctx.layout.drops).num_rows > 40  # exact and near copies across files and sources
    reasons = set(pq.read_table(ref_ctx.layout.drops).column("reason").to_pylist())
    assert reasons == ({"exact_duplicate"} if dedup.get("near") is False else {"exact_duplicate", "near_duplicate"})
    for parts, workers in ((7, 1), (29, 2)):  # more cluster partitions than some partitions have clusters
        ctx = _ctx(tmp_path, files, {**dedup, "num_partitions": parts}, workers, f"p{parts}")
        stats = stage.DedupStage(ctx).run()
        assert ctx.layout.drops.read_bytes() == want_drops
        assert ctx.layout.clusters.read_bytes() == want_clusters
        per_p = ("partitions", "candidate_pairs", "verified_pairs")  # pass-2 counts: a pair met in two partitions counts twice
        assert {k: v for k, v in stats["total"].items() if k not in per_p} == {k: v for k, v in ref_stats["total"].items() if k not in per_p}
        assert stats["sources"] == ref_stats["sources"] and stats["cluster_sizes"] == ref_stats["cluster_sizes"]
        assert len(list((ctx.run_dir / "_markers" / "dedup_keep").glob("*.json"))) == parts


def test_per_file_index_gives_each_files_drops(tmp_path):
    ctx = _ctx(tmp_path, _files(), {"num_partitions": 4}, 1, "run")
    stage.DedupStage(ctx).run()
    drops = pq.read_table(ctx.layout.drops)
    assert index_path(ctx.layout.drops).exists()
    keys = [f.key for f, _ in ctx.annotated_files()]
    total = 0
    for key in keys:
        want = drops.filter(pc.equal(drops.column("file"), key)).select(["row", "reason"]).sort_by("row")
        got = file_drops(ctx.layout.drops, key)
        assert got.equals(want.combine_chunks()), key
        total += got.num_rows
    assert total == drops.num_rows
    assert file_drops(ctx.layout.drops, "no/such-file").num_rows == 0
    first = file_drops(ctx.layout.drops, keys[0])
    index_path(ctx.layout.drops).unlink()  # a run directory from before the index: the same rows
    assert file_drops(ctx.layout.drops, keys[0]).equals(first)


def test_file_drops_reads_only_row_groups_that_can_hold_the_file(tmp_path, monkeypatch):
    rows = [(f"f{k:03d}", r) for k in range(200) for r in range(50)]
    t = pa.table({"file": [f for f, _ in rows], "row": pa.array([r for _, r in rows], pa.int64()), "reason": ["exact_duplicate"] * len(rows)})
    pq.write_table(t, tmp_path / "drops_by_file.parquet", row_group_size=1000)
    read = []
    real = pq.ParquetFile.read_row_groups

    def spy(self, groups, **kw):
        read.append(list(groups))
        return real(self, groups, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    got = file_drops(tmp_path / "drops.parquet", "f123")
    assert got.column("row").to_pylist() == list(range(50)) and read == [[6]]  # rows 6150..6199: one group of 10


@pytest.mark.parametrize("runs,budget,group", [(1, 64, 7), (5, 64, 50), (17, 2048, 1000), (3, 10**6, 10**6)])
def test_merge_runs_writes_what_one_sort_writes(tmp_path, runs, budget, group):
    rng = np.random.default_rng(runs)
    n = 3000
    t = pa.table({"id": [f"d{int(x)}" for x in rng.integers(0, 500, n)], "source": rng.choice(["a", "b", "c"], n).tolist(),
                  "cluster": ["k"] * n, "cluster_source": ["a"] * n, "reason": rng.choice(["exact_duplicate", "near_duplicate"], n).tolist(),
                  "file": rng.choice(["a/1", "b/2", "c/3"], n).tolist(), "row": pa.array(np.arange(n), pa.int64())}, schema=DROPS_SCHEMA)
    part = rng.integers(0, runs, n)
    paths = []
    for q in range(runs + 1):  # one empty run as well
        sub = t.filter(pa.array(part == q))
        paths.append(str(tmp_path / f"run-{q}.parquet"))
        pq.write_table(sub.take(pc.sort_indices(sub, sort_keys=BY_ID)), paths[-1], row_group_size=97)
    assert merge_runs(paths, BY_ID, DROPS_SCHEMA, str(tmp_path / "merged.parquet"), group, "zstd", budget_rows=budget) == n
    pq.write_table(t.take(pc.sort_indices(t, sort_keys=BY_ID)), tmp_path / "one.parquet", compression="zstd", row_group_size=group)
    assert (tmp_path / "merged.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()
    assert merge_runs([], BY_ID, DROPS_SCHEMA, str(tmp_path / "empty.parquet"), group, "zstd") == 0
    pq.write_table(DROPS_SCHEMA.empty_table(), tmp_path / "empty-one.parquet", compression="zstd")
    assert (tmp_path / "empty.parquet").read_bytes() == (tmp_path / "empty-one.parquet").read_bytes()


def test_isolated_tasks_run_in_the_pool_even_alone(tmp_path):
    """The union-find, keep-policy and merge tasks are marked `isolate`: with a pool they leave the driver."""
    from curate.exec.base import Task

    alone, iso = [Task(id="a", fn=len)], [Task(id="a", fn=len, isolate=True)]
    two = LocalExecutor(tmp_path, workers=2, progress=False)
    assert two._inline(alone) and not two._inline(iso)
    assert LocalExecutor(tmp_path, workers=1, progress=False)._inline(iso)  # one worker: everything runs here
    small = LocalExecutor(tmp_path, workers=2, progress=False, inline_bytes=10**6)
    assert small._inline(iso)  # a small run that started no pool does not start one for these
    small._pool = object()  # once a pool runs (annotate used it), they go to it
    assert not small._inline(iso)
    small._pool = None
    ctx = _ctx(tmp_path, _files(), {"num_partitions": 2}, 2, "run")
    stats = stage.DedupStage(ctx).run()
    assert json.loads(ctx.layout.clusters.read_text())["drops"] == sum(stats["total"]["drops"].values())


def test_pass_3_redone_after_its_intermediates_are_gone(tmp_path):
    """A finished dedup whose pass-3 markers are missing (e.g. made by a version with other pass-3 task
    ids) and whose work folder was removed: passes 1-2 run again instead of clustering no edges."""
    import shutil

    ctx = _ctx(tmp_path, _files(), {"num_partitions": 3}, 1, "run")
    stage.DedupStage(ctx).run()
    want = ctx.layout.drops.read_bytes()
    for name in ("dedup_roots", "dedup_members", "dedup_keep", "dedup_clusters"):
        shutil.rmtree(ctx.run_dir / "_markers" / name)
    ctx.layout.drops.unlink()
    assert not list(ctx.layout.dedup_dir.glob("work-*"))
    stage.DedupStage(ctx).run()
    assert ctx.layout.drops.read_bytes() == want
