"""Packed-window loader over curate (Megatron .bin/.idx) shards, read through memmaps.

Why this shape: a GPU step must never wait on data, and an interrupted run must resume on exactly
the next window. So the loader is *stateless per step*: the windows of micro-step `k` on rank `r`
are a pure function of (seed, k, r, world_size, shard sets, weights). Nothing is loaded up front;
a batch is a handful of memcpy's out of page-cached memmaps.

- A `ShardSet` is several shards read as one concatenated token stream.
- `PackedWindows` cuts that stream into windows of `seq_len + 1` tokens that overlap by one token
  (window i = tokens[i*seq_len : i*seq_len + seq_len + 1]), so every token but the first is a
  target exactly once per epoch. Windows may cross document and shard boundaries (documents are
  EOS-separated, as in GPT/BloombergGPT packing).
- `BlendSchedule` maps global sample positions to (shard set, window) Megatron-style: weights are
  turned into per-period counts (largest remainder over a period of 65,536 samples) spread evenly
  through the period, so after any prefix each set's share is within 1 sample of its weight x
  position per period. Each set walks its own seeded permutation, epoch after epoch.
- `PackedLoader` hands rank r of W the global positions `k*B*W + r*B + [0, B)` for micro-step k:
  ranks are disjoint by construction and together cover every window once per epoch.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from curate.errors import CurateError, InputError
from curate.shards.megatron import IndexedDataset

PERIOD = 65536  # blend schedule period (samples); shares are exact to 1/PERIOD


def _prefix(path: str | os.PathLike) -> str:
    p = str(path)
    for ext in (".bin", ".idx"):
        if p.endswith(ext):
            return p[: -len(ext)]
    return p


def open_shard(path: str | os.PathLike) -> IndexedDataset:
    """Open one shard; IndexedDataset checks header, pointers and .bin size against the .idx
    (no token is read), so a truncated shard is refused, naming the file, before training starts."""
    try:
        return IndexedDataset(_prefix(path))
    except CurateError:
        raise
    except Exception as exc:  # e.g. an unreadable file
        raise InputError(f"cannot open shard: {exc}", where=_prefix(path), fix="re-run the mix stage; check with `curate shards verify`") from None


class ShardSet:
    """Several shards read as one concatenated, memmapped token stream."""

    def __init__(self, paths: Sequence[str | os.PathLike], name: str | None = None):
        if not paths:
            raise InputError("no shards given", where=name or "shard set", fix="pass a run directory, a shards directory or .bin files")
        self.paths = [_prefix(p) for p in paths]
        self.name = name or Path(self.paths[0]).name
        self.parts: list[np.ndarray] = []
        for p in self.paths:
            self.parts.append(np.asarray(open_shard(p).tokens))
        sizes = np.array([len(t) for t in self.parts], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])  # part i = [offsets[i], offsets[i+1])
        self.num_tokens = int(self.offsets[-1])
        self._views: dict[tuple[int, int], np.ndarray] = {}

    def _view(self, part: int, length: int) -> np.ndarray:
        """Zero-copy (n, length) view whose row j is tokens[j : j+length] of one part."""
        key = (part, length)
        if key not in self._views:
            self._views[key] = np.lib.stride_tricks.sliding_window_view(self.parts[part], length)
        return self._views[key]

    def gather(self, starts: np.ndarray, length: int, out: np.ndarray) -> None:
        """out[i] = stream[starts[i] : starts[i] + length] (rows crossing a shard edge are stitched)."""
        part = np.searchsorted(self.offsets, starts, side="right") - 1
        local = starts - self.offsets[part]
        inside = local + length <= self.offsets[part + 1] - self.offsets[part]
        if inside.all() and part[0] == part[-1] and (part == part[0]).all():  # the common case: one part
            out[:] = self._view(int(part[0]), length)[local]
            return
        for p in np.unique(part[inside]):
            rows = np.flatnonzero(inside & (part == p))
            out[rows] = self._view(int(p), length)[local[rows]]
        for i in np.flatnonzero(~inside):  # rare: a window straddling two shards
            s, row, filled = int(starts[i]), out[i], 0
            while filled < length:
                p = int(np.searchsorted(self.offsets, s, side="right") - 1)
                lo = s - int(self.offsets[p])
                take = min(length - filled, len(self.parts[p]) - lo)
                row[filled : filled + take] = self.parts[p][lo : lo + take]
                filled += take
                s += take


class PackedWindows(torch.utils.data.Dataset):
    """Map-style torch Dataset: window i = tokens[i*seq_len : i*seq_len + seq_len + 1] as int64."""

    def __init__(self, shards: ShardSet, seq_len: int):
        if seq_len < 1:
            raise ValueError("seq_len must be >= 1")
        self.shards = shards
        self.seq_len = seq_len
        self.num_windows = max(0, (shards.num_tokens - 1) // seq_len)
        if self.num_windows == 0:
            raise InputError(
                f"{shards.num_tokens} tokens cannot fill one window of {seq_len + 1}",
                where=shards.paths[0],
                fix="lower --seq-len or mix more tokens",
            )

    def __len__(self) -> int:
        return self.num_windows

    def batch(self, windows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        windows = np.asarray(windows, dtype=np.int64)
        if out is None:
            out = np.empty((len(windows), self.seq_len + 1), dtype=np.int64)
        self.shards.gather(windows * self.seq_len, self.seq_len + 1, out)
        return out

    def __getitem__(self, i: int) -> torch.Tensor:
        if not 0 <= i < self.num_windows:
            raise IndexError(i)
        return torch.from_numpy(self.batch(np.array([i]))[0])


class BlendSchedule:
    """Global sample position -> (set index, window index), seeded, O(1) to seek anywhere."""

    def __init__(self, num_windows: Sequence[int], weights: Sequence[float], seed: int, shuffle: bool = True):
        w = np.asarray(weights, dtype=np.float64)
        if len(w) != len(num_windows) or len(w) == 0 or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"blend weights must be non-negative with a positive sum, one per set: {list(weights)}")
        self.num_windows = [int(n) for n in num_windows]
        self.seed = int(seed)
        self.shuffle = shuffle
        exact = w / w.sum() * PERIOD
        counts = np.floor(exact).astype(np.int64)
        short = PERIOD - int(counts.sum())
        counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1  # largest remainder
        self.counts = counts
        # spread each set's samples evenly through the period: k-th sample of set d at (k+0.5)/count
        owner = np.repeat(np.arange(len(counts)), counts)
        rank = np.concatenate([np.arange(c) for c in counts])
        order = np.argsort((rank + 0.5) / counts[owner], kind="stable")
        self.owner, self.rank = owner[order], rank[order]
        self._perms: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def _perm(self, d: int, epoch: int) -> np.ndarray:
        key = (d, epoch)
        if key not in self._perms:
            n = self.num_windows[d]
            rng = np.random.default_rng([self.seed, d, epoch])
            self._perms[key] = rng.permutation(n) if self.shuffle else np.arange(n)
            if len(self._perms) > 2 * len(self.num_windows):
                self._perms.popitem(last=False)
        return self._perms[key]

    def lookup(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        positions = np.asarray(positions, dtype=np.int64)
        if len(self.num_windows) == 1:  # no blend: a set's own counter is the position
            n = self.num_windows[0]
            epochs = positions // n
            if epochs[0] == epochs[-1] and (epochs == epochs[0]).all():
                return np.zeros(len(positions), np.int64), self._perm(0, int(epochs[0]))[positions - epochs[0] * n]
        slot, cycle = positions % PERIOD, positions // PERIOD
        sets = self.owner[slot]
        m = cycle * self.counts[sets] + self.rank[slot]  # this set's own sample counter
        windows = np.empty_like(m)
        for d in np.unique(sets):
            sel = sets == d
            n = self.num_windows[d]
            md = m[sel]
            epochs = md // n
            out = np.empty_like(md)
            for e in np.unique(epochs):
                at = epochs == e
                out[at] = self._perm(int(d), int(e))[md[at] - e * n]
            windows[sel] = out
        return sets, windows


@dataclass(frozen=True)
class Blend:
    """A Megatron-style data blend: weights and the shard sets they apply to."""

    weights: tuple[float, ...]
    sets: tuple[ShardSet, ...]


class PackedLoader(torch.utils.data.IterableDataset):
    """Micro-batches of packed windows (B, seq_len+1) int64 for one DDP rank, resumable at any step.

    Iterating yields torch tensors from `start_step` on (forever, or until `stop_step`). With a
    `torch.utils.data.DataLoader(loader, batch_size=None, num_workers=n)` each worker takes every
    n-th step, and the DataLoader's round-robin keeps the order identical to num_workers=0.
    """

    def __init__(
        self,
        blend: Blend,
        seq_len: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        start_step: int = 0,
        stop_step: int | None = None,
        shuffle: bool = True,
    ):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} not in [0, {world_size})")
        self.windows = [PackedWindows(s, seq_len) for s in blend.sets]
        self.schedule = BlendSchedule([len(w) for w in self.windows], blend.weights, seed, shuffle)
        self.seq_len, self.batch_size = seq_len, batch_size
        self.rank, self.world_size = rank, world_size
        self.start_step, self.stop_step = start_step, stop_step

    def positions(self, step: int) -> np.ndarray:
        """Global sample positions this rank reads at micro-step `step`."""
        base = step * self.batch_size * self.world_size + self.rank * self.batch_size
        return base + np.arange(self.batch_size, dtype=np.int64)

    def batch(self, step: int) -> np.ndarray:
        sets, windows = self.schedule.lookup(self.positions(step))
        out = np.empty((self.batch_size, self.seq_len + 1), dtype=np.int64)
        if len(self.windows) == 1:
            return self.windows[0].batch(windows, out)
        for d in np.unique(sets):
            rows = np.flatnonzero(sets == d)
            out[rows] = self.windows[d].batch(windows[rows])
        return out

    def __iter__(self) -> Iterator[torch.Tensor]:
        info = torch.utils.data.get_worker_info()
        first, stride = (self.start_step, 1) if info is None else (self.start_step + info.id, info.num_workers)
        step = first
        while self.stop_step is None or step < self.stop_step:
            yield torch.from_numpy(self.batch(step))
            step += stride

    def state_dict(self, step: int) -> dict:
        """What a checkpoint needs to resume at `step` (validated on load)."""
        return {"step": step, "seq_len": self.seq_len, "batch_size": self.batch_size, "world_size": self.world_size,
                "num_windows": [len(w) for w in self.windows], "counts": self.schedule.counts.tolist()}

    def check_state(self, state: dict) -> int:
        """Return the step to resume at; refuse a checkpoint made over different data or shapes."""
        now = self.state_dict(state["step"])
        diff = [k for k in now if now[k] != state.get(k)]
        if diff:
            raise InputError(
                f"checkpoint loader state differs in {diff}: {[(state.get(k), now[k]) for k in diff]}",
                where="checkpoint",
                fix="resume with the same data, --seq-len, --batch-size and world size, or start a new --out",
            )
        return int(state["step"])


def parse_blend(args: Sequence[str]) -> list[tuple[float, str]]:
    """Megatron-style `W1 PATH1 W2 PATH2 ...`, or a single PATH (weight 1)."""
    if len(args) == 1:
        return [(1.0, args[0])]
    if len(args) % 2:
        raise InputError(f"expected PATH or pairs `WEIGHT PATH ...`, got {len(args)} arguments", where="DATA", fix="e.g. `curate train 0.7 runA 0.3 runB`")
    out = []
    for w, p in zip(args[::2], args[1::2]):
        try:
            out.append((float(w), p))
        except ValueError:
            raise InputError(f"`{w}` is not a weight", where="DATA", fix="pairs are `WEIGHT PATH`, e.g. `0.7 runA 0.3 runB`") from None
    return out
