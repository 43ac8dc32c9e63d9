"""Packed-window loader: content, determinism, exact resume, DDP partition, blending, bad shards."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from curate.errors import CurateError
from curate.shards.megatron import MegatronWriter
from curate.train.loader import Blend, BlendSchedule, PackedLoader, PackedWindows, ShardSet, parse_blend

SEQ = 16


def _write(prefix, docs, dtype=np.uint16):
    w = MegatronWriter(prefix, dtype)
    w.add_many(docs)
    w.finalize()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two shards of random documents; the reference stream is read back independently."""
    root = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(5)
    stream = []
    for i in range(2):
        docs = [rng.integers(0, 60000, rng.integers(5, 90)) for _ in range(40)]
        _write(root / f"train_{i:05d}", docs)
        stream.append(np.fromfile(root / f"train_{i:05d}.bin", dtype=np.uint16))
    return root, np.concatenate(stream).astype(np.int64)


def _loader(root, **kw):
    sset = ShardSet([root / "train_00000", root / "train_00001.bin"])
    return PackedLoader(Blend((1.0,), (sset,)), SEQ, kw.pop("batch_size", 4), kw.pop("seed", 0), **kw)


def test_windows_are_packed_slices_across_shard_edges(shards):
    root, stream = shards
    ds = PackedWindows(ShardSet([root / "train_00000", root / "train_00001"]), SEQ)
    assert len(ds) == (len(stream) - 1) // SEQ
    got = ds.batch(np.arange(len(ds)))
    want = np.stack([stream[i * SEQ : i * SEQ + SEQ + 1] for i in range(len(ds))])
    np.testing.assert_array_equal(got, want)  # includes the window straddling the two shards
    assert torch.equal(ds[3], torch.from_numpy(want[3]))
    first_len = len(np.fromfile(root / "train_00000.bin", dtype=np.uint16))
    assert any(i * SEQ < first_len < i * SEQ + SEQ + 1 for i in range(len(ds))), "fixture should have a straddling window"


def test_one_epoch_visits_every_window_once_in_seeded_order(shards):
    root, stream = shards
    ld = _loader(root)
    n = len(ld.windows[0])
    sets, order = ld.schedule.lookup(np.arange(n))
    assert (sets == 0).all() and sorted(order.tolist()) == list(range(n))
    assert order.tolist() != list(range(n))  # shuffled
    _, again = _loader(root).schedule.lookup(np.arange(n))
    _, other = _loader(root, seed=1).schedule.lookup(np.arange(n))
    np.testing.assert_array_equal(order, again)
    assert not np.array_equal(order, other)
    _, next_epoch = ld.schedule.lookup(np.arange(n, 2 * n))
    assert sorted(next_epoch.tolist()) == list(range(n)) and not np.array_equal(next_epoch, order)


def test_resume_from_a_step_continues_exactly(shards):
    root, _ = shards
    straight = [b for b, _ in zip(_loader(root), range(12))]
    resumed = list(_loader(root, start_step=7, stop_step=12))
    assert len(resumed) == 5
    for a, b in zip(straight[7:], resumed):
        assert torch.equal(a, b)
    # state round trip, and refusal of a state from other shapes
    ld = _loader(root)
    assert ld.check_state(ld.state_dict(7)) == 7
    with pytest.raises(CurateError, match="batch_size"):
        _loader(root, batch_size=5).check_state(ld.state_dict(7))


def test_dataloader_workers_keep_the_order(shards):
    root, _ = shards
    plain = list(_loader(root, start_step=2, stop_step=8))
    multi = list(torch.utils.data.DataLoader(_loader(root, start_step=2, stop_step=8), batch_size=None, num_workers=2))
    assert len(multi) == len(plain) and all(torch.equal(a, b) for a, b in zip(plain, multi))


@pytest.mark.parametrize("world", [2, 3])
def test_ddp_ranks_are_disjoint_and_cover_an_epoch(shards, world):
    root, stream = shards
    bs = 3
    n = len(_loader(root).windows[0])
    steps = -(-n // (bs * world))
    seen: dict[int, int] = {}
    for rank in range(world):
        ld = _loader(root, batch_size=bs, rank=rank, world_size=world)
        for step in range(steps):
            pos = ld.positions(step)
            _, win = ld.schedule.lookup(pos)
            for p, w, row in zip(pos, win, ld.batch(step)):
                assert p not in seen, "two ranks read the same sample position"
                seen[int(p)] = int(w)
                np.testing.assert_array_equal(row, stream[w * SEQ : w * SEQ + SEQ + 1])
    assert sorted(seen) == list(range(steps * bs * world))
    first_epoch = [seen[p] for p in range(n)]
    assert sorted(first_epoch) == list(range(n))  # full coverage, no window twice


def test_blend_follows_weights_and_reads_each_set(tmp_path):
    _write(tmp_path / "a", [np.full(4000, 1)])
    _write(tmp_path / "b", [np.full(3000, 2)])
    blend = Blend((0.7, 0.3), (ShardSet([tmp_path / "a"]), ShardSet([tmp_path / "b"])))
    ld = PackedLoader(blend, SEQ, batch_size=10, seed=3)
    sets, _ = ld.schedule.lookup(np.arange(10_000))
    for q in (10, 137, 10_000):  # any prefix is within one sample of its share
        assert abs(int((sets[:q] == 0).sum()) - 0.7 * q) <= 1
    batch = ld.batch(0)
    for row, s in zip(batch, sets[:10]):
        assert (row == (1 if s == 0 else 2)).all()
    sched = BlendSchedule([5, 5], [1.0, 0.0], seed=0)  # a zero weight is never drawn
    assert (sched.lookup(np.arange(1000))[0] == 0).all()
    with pytest.raises(ValueError):
        BlendSchedule([5], [0.0], seed=0)


def test_parse_blend():
    assert parse_blend(["run"]) == [(1.0, "run")]
    assert parse_blend(["0.7", "a", "0.3", "b"]) == [(0.7, "a"), (0.3, "b")]
    with pytest.raises(CurateError):
        parse_blend(["a", "b"])
    with pytest.raises(CurateError):
        parse_blend(["0.5", "a", "0.5"])


def test_truncated_shard_is_refused_naming_the_file(tmp_path):
    _write(tmp_path / "train_00000", [np.arange(100)])
    with open(tmp_path / "train_00000.bin", "r+b") as fh:
        fh.truncate(150)
    with pytest.raises(CurateError, match="train_00000.bin"):
        ShardSet([tmp_path / "train_00000"])
    with pytest.raises(CurateError, match="missing"):
        ShardSet([tmp_path / "nope"])
