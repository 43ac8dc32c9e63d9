"""The streaming repeated-id count equals a plain value count over all of a source's ids."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import curate.stages.repeated_ids as R


def _write(tmp_path, chunks):
    paths = []
    for i, ids in enumerate(chunks):
        p = tmp_path / f"f{i}.parquet"
        pq.write_table(pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(["x"] * len(ids))}), p)
        paths.append(p)
    return paths


def _reference(chunks):
    ids = pa.chunked_array([pa.array(c, pa.string()) for c in chunks], pa.string())
    if len(ids) < 2:
        return 0, 0
    counts = pc.value_counts(ids).field("counts")
    many = pc.filter(counts, pc.greater(counts, 1))
    return len(many), int(pc.sum(many).as_py() or 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_count_matches_value_counts(tmp_path, seed):
    rng = np.random.default_rng(seed)
    pool = [f"doc-{k}" for k in range(400)] + ["", "é", "a" * 5000]
    chunks = [[pool[j] for j in rng.integers(0, len(pool), int(rng.integers(0, 300)))] for _ in range(6)]
    chunks[2] = [None, None, "doc-1"] + chunks[2]  # nulls count as one value
    assert R.count_repeated(_write(tmp_path, chunks)) == _reference(chunks)


def test_no_repeats_and_empty(tmp_path):
    assert R.count_repeated([]) == (0, 0)
    assert R.count_repeated(_write(tmp_path, [[], ["a"], ["b", "c"]])) == (0, 0)


def test_exact_when_different_ids_share_a_hash(tmp_path, monkeypatch):
    """A weak hash (the id's length) makes every same-length id a candidate; the string recount keeps
    the figures exact."""
    monkeypatch.setattr(R, "id_hashes", lambda ids: np.asarray(pc.fill_null(pc.utf8_length(ids), 0), dtype=np.uint64))
    chunks = [["ab", "cd", "ef", "ab"], ["cd", "xyz", "gh"], ["ab"]]
    assert R.count_repeated(_write(tmp_path, chunks)) == (2, 5) == _reference(chunks)


def test_hashes_follow_the_bytes_of_sliced_arrays():
    ids = pa.array(["p", "q", "r", "q", None])
    assert list(R.id_hashes(ids.slice(1))) == list(R.id_hashes(pa.array(["q", "r", "q", None])))
    h = R.id_hashes(ids)
    assert h[1] == h[3] and len(set(h[:3].tolist())) == 3 and h[4] == 0
