"""Megatron .bin/.idx: the layout is read back by an independent reader written here from the
Megatron-LM indexed-dataset (MMIDIDX) layout (struct.unpack only), plus error cases."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from curate.errors import CurateError
from curate.shards.megatron import IndexedDataset, MegatronWriter, concat_datasets, dtype_for_vocab


def read_independently(prefix: Path) -> dict:
    """Parse `prefix.idx` / `prefix.bin` from the spec: magic, <Q version, <B dtype code, <Q n, <Q m,
    int32 sizes[n], int64 pointers[n], int64 doc_idx[m]; tokens back to back in the .bin."""
    raw = (prefix.parent / (prefix.name + ".idx")).read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    (version,) = struct.unpack("<Q", raw[9:17])
    (code,) = struct.unpack("<B", raw[17:18])
    n, m = struct.unpack("<QQ", raw[18:34])
    off = 34
    sizes = list(struct.unpack(f"<{n}i", raw[off : off + 4 * n]))
    off += 4 * n
    pointers = list(struct.unpack(f"<{n}q", raw[off : off + 8 * n]))
    off += 8 * n
    doc_idx = list(struct.unpack(f"<{m}q", raw[off : off + 8 * m]))
    assert off + 8 * m == len(raw)
    fmt, width = {4: ("i", 4), 8: ("H", 2)}[code]
    data = (prefix.parent / (prefix.name + ".bin")).read_bytes()
    docs = [list(struct.unpack(f"<{s}{fmt}", data[p : p + s * width])) for s, p in zip(sizes, pointers)]
    return {"version": version, "code": code, "n": n, "m": m, "sizes": sizes, "pointers": pointers, "doc_idx": doc_idx,
            "docs": docs, "bin_len": len(data)}


def test_uint16_layout_matches_spec(tmp_path: Path):
    docs = [[5, 6, 7, 0], [0], [65_000, 1, 0], [9, 9, 0]]
    w = MegatronWriter(tmp_path / "a", np.uint16)
    w.add(docs[0])
    w.add_many([np.array(docs[1]), np.array(docs[2])])
    w.add_many(np.array(docs[3], dtype=np.int64), lengths=[3])
    res = w.finalize()
    got = read_independently(tmp_path / "a")
    assert got["version"] == 1 and got["code"] == 8
    assert got["n"] == 4 and got["m"] == 5
    assert got["sizes"] == [4, 1, 3, 3]
    assert got["pointers"] == [0, 8, 10, 16]  # byte offsets: 2 bytes per uint16 token
    assert got["doc_idx"] == [0, 1, 2, 3, 4]
    assert got["docs"] == docs
    assert got["bin_len"] == 11 * 2
    assert res["tokens"] == 11 and res["documents"] == 4
    import hashlib

    assert res["sha256"] == hashlib.sha256((tmp_path / "a.bin").read_bytes()).hexdigest()


def test_int32_for_131072_vocab(tmp_path: Path):
    dt = dtype_for_vocab(131_072)
    assert dt == np.int32
    docs = [[131_071, 70_000, 131_071], [3, 131_071]]
    w = MegatronWriter(tmp_path / "big", dt)
    w.add_many(docs)
    w.finalize()
    got = read_independently(tmp_path / "big")
    assert got["code"] == 4 and got["docs"] == docs and got["pointers"] == [0, 12]
    ds = IndexedDataset(tmp_path / "big")
    assert ds.dtype == np.int32 and ds[0].tolist() == docs[0] and ds.num_tokens == 5


def test_dtype_boundary():
    assert dtype_for_vocab(50_257) == np.uint16
    assert dtype_for_vocab(65_499) == np.uint16
    assert dtype_for_vocab(65_500) == np.int32


def test_id_too_large_for_uint16(tmp_path: Path):
    w = MegatronWriter(tmp_path / "x", np.uint16)
    with pytest.raises(CurateError, match="does not fit uint16"):
        w.add(np.array([70_000], dtype=np.int64))


def test_reader_views_and_atomic_finalize(tmp_path: Path):
    w = MegatronWriter(tmp_path / "s", np.uint16)
    w.add_many(np.arange(10), lengths=[2, 3, 5])
    assert not (tmp_path / "s.bin").exists() and not (tmp_path / "s.idx").exists()  # only temp names so far
    w.finalize()
    ds = IndexedDataset(tmp_path / "s.bin")  # either suffix or none
    assert len(ds) == 3 and ds.sizes.dtype == np.int32 and ds.pointers.dtype == np.int64
    assert ds[2].tolist() == [5, 6, 7, 8, 9] and ds[-1].tolist() == [5, 6, 7, 8, 9]
    assert ds.tokens.tolist() == list(range(10)) and ds.doc_idx.tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.bin", "s.idx"]


def test_empty_dataset(tmp_path: Path):
    MegatronWriter(tmp_path / "e", np.uint16).finalize()
    got = read_independently(tmp_path / "e")
    assert got["n"] == 0 and got["m"] == 1 and got["doc_idx"] == [0]
    ds = IndexedDataset(tmp_path / "e")
    assert len(ds) == 0 and ds.num_tokens == 0


def test_concat_in_order(tmp_path: Path):
    for name, docs in (("p1", [[1, 2], [3]]), ("p2", [[4, 5, 6]])):
        w = MegatronWriter(tmp_path / name, np.uint16)
        w.add_many(docs)
        w.finalize()
    res = concat_datasets([tmp_path / "p1", tmp_path / "p2"], tmp_path / "all")
    got = read_independently(tmp_path / "all")
    assert got["docs"] == [[1, 2], [3], [4, 5, 6]] and res["documents"] == 3 and res["tokens"] == 6


@pytest.mark.parametrize("damage", ["magic", "truncate_bin", "pointer", "short_idx"])
def test_corruption_raises_naming_file(tmp_path: Path, damage: str):
    w = MegatronWriter(tmp_path / "c", np.uint16)
    w.add_many([[1, 2, 3], [4, 5]])
    w.finalize()
    idx, bin_ = tmp_path / "c.idx", tmp_path / "c.bin"
    raw = bytearray(idx.read_bytes())
    if damage == "magic":
        raw[0:4] = b"XXXX"
        idx.write_bytes(bytes(raw))
    elif damage == "truncate_bin":
        bin_.write_bytes(bin_.read_bytes()[:-2])
    elif damage == "pointer":
        raw[34 + 8 + 8 : 34 + 8 + 16] = struct.pack("<q", 4)  # second pointer should be 6
        idx.write_bytes(bytes(raw))
    else:
        idx.write_bytes(bytes(raw[:-8]))
    with pytest.raises(CurateError) as err:
        IndexedDataset(tmp_path / "c")
    assert "c.idx" in str(err.value) or "c.bin" in str(err.value)
