"""Every reader, and every bad-input case: counted and quarantined (or an error under --strict)."""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from curate.errors import InputError
from curate.io.quarantine import Quarantine
from curate.io.readers import ReadSpec, detect_format, read_documents

from conftest import make_docs, write_jsonl


def read_all(path: Path, fmt: str = "auto", **kw):
    q = Quarantine(str(path), strict=kw.pop("strict", False))
    spec = ReadSpec(source="s", role="domain", **kw)
    tables = list(read_documents(path, fmt, spec, q))
    t = pa.concat_tables(tables) if tables else None
    return t, q


def test_jsonl_plain_gz_zst_identical(tmp_path):
    docs = make_docs(50)
    raw = b"".join(orjson.dumps(d) + b"\n" for d in docs)
    (tmp_path / "a.jsonl").write_bytes(raw)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    got = [read_all(tmp_path / n, batch_size=7)[0] for n in ("a.jsonl", "a.jsonl.gz", "a.jsonl.zst")]
    for t in got:
        assert t.column("id").to_pylist() == [d["id"] for d in docs]
        assert t.column("text").to_pylist() == [d["text"] for d in docs]
        assert t.column("line").to_pylist() == list(range(1, 51))
        assert set(t.column("source").to_pylist()) == {"s"} and set(t.column("role").to_pylist()) == {"domain"}


def test_missing_ids_are_unique_path_and_line(tmp_path):
    """A record without an id gets `<path from the glob root>:<line>` (equal texts no longer share an id)."""
    p = tmp_path / "x.jsonl"
    p.write_bytes(b'{"text": "hello"}\n{"text": "hello"}\n{"text": "other", "id": 7}\n')
    t, q = read_all(p, rel="sub/x.jsonl")
    assert t.column("id").to_pylist() == ["sub/x.jsonl:1", "sub/x.jsonl:2", "7"]
    pq.write_table(pa.table({"text": ["a", "a"]}), tmp_path / "y.parquet")
    t, q = read_all(tmp_path / "y.parquet", rel="y.parquet")
    assert t.column("id").to_pylist() == ["y.parquet:1", "y.parquet:2"]


def test_text_file_ids_are_the_whole_relative_path(tmp_path):
    """Not the stem: `GFDL-1.2` and `GFDL-1.3`, or many `pkg/copyright` files, stay distinct."""
    ids = []
    for rel in ("GFDL-1.2", "GFDL-1.3", "a/copyright", "b/copyright"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("some licence text")
        t, _ = read_all(tmp_path / rel, "text", rel=rel)
        ids += t.column("id").to_pylist()
    assert ids == ["GFDL-1.2", "GFDL-1.3", "a/copyright", "b/copyright"]


def test_custom_fields(tmp_path):
    p = write_jsonl(tmp_path / "x.jsonl", [{"doc": "a b c", "uid": "u1"}])
    t, _ = read_all(p, text_field="doc", id_field="uid")
    assert t.column("id").to_pylist() == ["u1"] and t.column("text").to_pylist() == ["a b c"]


def test_parquet_reader(tmp_path):
    docs = make_docs(30)
    pq.write_table(pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}), tmp_path / "a.parquet")
    t, q = read_all(tmp_path / "a.parquet", batch_size=8)
    assert t.num_rows == 30 and q.count == 0
    assert t.column("line").to_pylist() == list(range(1, 31))


def test_parquet_wrong_schema_quarantined(tmp_path):
    pq.write_table(pa.table({"body": ["x", "y"]}), tmp_path / "a.parquet")
    t, q = read_all(tmp_path / "a.parquet")
    assert t is None and q.reasons == {"missing text field `text`": 2}  # every row counted
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "b.parquet")
    t, q = read_all(tmp_path / "b.parquet")
    assert t is None and list(q.reasons) == ["text field `text` has type int64, expected string"]


def test_compressed_text_files_are_read(tmp_path):
    """`format: text` on README.gz-style files: decompressed, not quarantined as invalid UTF-8."""
    d = tmp_path / "docs"
    d.mkdir()
    body = "Permission is granted to copy this document. " * 20
    (d / "README.gz").write_bytes(gzip.compress(body.encode(), mtime=0))
    (d / "notes.txt.zst").write_bytes(zstandard.ZstdCompressor().compress("zstd text document".encode()))
    (d / "plain.gz").write_bytes(b"plain text, not gzip")
    (d / "cut.gz").write_bytes(gzip.compress(body.encode(), mtime=0)[:30])
    (d / "bomb.gz").write_bytes(gzip.compress(b"a" * 50_000, mtime=0))  # 50 kB of text in a few hundred bytes
    got = {}
    for f in sorted(d.iterdir()):
        t, q = read_all(f, "text", max_doc_bytes=10_000)
        got[f.name] = (t.column("text").to_pylist() if t is not None else [], dict(q.reasons))
    assert got["README.gz"] == ([body], {})
    assert got["notes.txt.zst"] == (["zstd text document"], {})
    assert got["plain.gz"] == ([], {"not gzip data despite its .gz name": 1})
    assert got["cut.gz"] == ([], {"truncated or corrupt compressed file": 1})
    assert got["bomb.gz"] == ([], {"document larger than max_doc_bytes": 1})  # judged after decompression
    assert detect_format(d / "notes.txt.zst") == "text"
    t, q = read_all(d, "text")  # a folder: .txt and .txt.gz/.zst files
    assert t.column("text").to_pylist() == ["zstd text document"] and q.count == 0


def test_parquet_null_text_quarantined(tmp_path):
    pq.write_table(pa.table({"text": ["ok", None, "fine"]}), tmp_path / "a.parquet")
    t, q = read_all(tmp_path / "a.parquet")
    assert t.num_rows == 2 and q.reasons["missing text field `text` (null)"] == 1


def test_text_folder(tmp_path):
    d = tmp_path / "txt"
    (d / "sub").mkdir(parents=True)
    (d / "one.txt").write_text("first document")
    (d / "sub" / "two.txt").write_text("second document")
    (d / "bad.txt").write_bytes(b"caf\xe9 latin-1")
    t, q = read_all(d, "text")
    assert sorted(t.column("id").to_pylist()) == ["one.txt", "sub/two.txt"]  # whole paths: never two docs with one id
    assert q.reasons == {"invalid UTF-8": 1}
    assert detect_format(d) == "text"


def test_hf_dataset_saved_to_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    docs = make_docs(25)
    ds = datasets.Dataset.from_dict({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]})
    ds.save_to_disk(str(tmp_path / "hf"))
    assert detect_format(tmp_path / "hf") == "hf"
    t, q = read_all(tmp_path / "hf")
    assert t.column("text").to_pylist() == [d["text"] for d in docs] and q.count == 0


def test_warc_html_and_wet(tmp_path):
    pytest.importorskip("warcio")
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "a.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        html = b"<html><head><title>t</title></head><body><nav>Home | About</nav><article><p>The central bank raised interest rates by a quarter point on Tuesday, citing persistent inflation in services.</p><p>Markets had expected the move.</p></article></body></html>"
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.0")
        w.write_record(w.create_warc_record("http://example.com/a", "response", payload=io.BytesIO(html), http_headers=http))
        w.write_record(w.create_warc_record("http://example.com/b", "conversion", payload=io.BytesIO(b"plain extracted text of page b")))
    t, q = read_all(path)
    texts = t.column("text").to_pylist()
    assert any("raised interest rates" in x for x in texts)
    assert "plain extracted text of page b" in texts


BAD_LINES = [
    (b'{"id": "ok1", "text": "fine"}\n', None),
    (b'{"id": "m1", "text": "unterminated\n', "malformed JSON"),
    (b'{"id": "m2"}\n', "missing text field `text`"),
    (b'{"id": "u1", "text": "caf\xe9"}\n', "invalid UTF-8"),
    (b'[1, 2, 3]\n', "record is not a JSON object"),
    (b'{"id": "n1", "text": 42}\n', "text field `text` is not a string"),
    (b'{"id": "z1", "text": "nul \x00 byte"}\n', "malformed JSON"),
    (b'{"id": "ok2", "text": "also fine"}\n', None),
]


def test_bad_lines_quarantined_and_counted(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b"".join(line for line, _ in BAD_LINES))
    t, q = read_all(p)
    assert t.column("id").to_pylist() == ["ok1", "ok2"]
    expected = [r for _, r in BAD_LINES if r]
    assert q.count == len(expected)
    recs = [orjson.loads(r) for r in q.records]
    assert [r["line"] for r in recs] == [i + 1 for i, (_, r) in enumerate(BAD_LINES) if r]
    assert [r["reason"] for r in recs] == expected
    assert all(r["file"] == str(p) for r in recs)
    # nothing lost: read + quarantined == lines
    assert t.num_rows + q.count == len(BAD_LINES)


def test_strict_names_file_and_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b"".join(line for line, _ in BAD_LINES))
    with pytest.raises(InputError) as e:
        read_all(p, strict=True)
    assert f"{p}:2" in str(e.value) and "malformed JSON" in str(e.value)


def _random_lines(n):
    r = random.Random(0)
    return b"".join(orjson.dumps({"id": str(i), "text": " ".join(str(r.random()) for _ in range(40))}) + b"\n" for i in range(n))


@pytest.mark.parametrize("ext", ["gz", "zst"])
def test_truncated_compressed_file(tmp_path, ext):
    raw = _random_lines(500)
    data = gzip.compress(raw) if ext == "gz" else zstandard.ZstdCompressor().compress(raw)
    p = tmp_path / f"t.jsonl.{ext}"
    p.write_bytes(data[: len(data) // 2])
    t, q = read_all(p)
    assert 0 < t.num_rows < 500
    assert q.reasons == {"truncated or corrupt compressed file": 1}


def test_corrupt_and_empty_compressed(tmp_path):
    (tmp_path / "c.jsonl.gz").write_bytes(b"\x1f\x8b gzip magic, then garbage")
    t, q = read_all(tmp_path / "c.jsonl.gz")
    assert t is None and q.reasons == {"truncated or corrupt compressed file": 1}
    (tmp_path / "p.jsonl.gz").write_bytes(b"this is not gzip\n\nbut three\nlines of plain text")
    t, q = read_all(tmp_path / "p.jsonl.gz")  # plain text named .gz: one record per non-blank line
    assert t is None and q.reasons == {"not gzip data despite its .gz name": 3}
    (tmp_path / "e.jsonl.gz").write_bytes(b"")
    t, q = read_all(tmp_path / "e.jsonl.gz")
    assert t is None and q.count == 0
    (tmp_path / "e2.jsonl.gz").write_bytes(gzip.compress(b""))
    t, q = read_all(tmp_path / "e2.jsonl.gz")
    assert t is None and q.count == 0


def test_huge_document_quarantined_with_bounded_read(tmp_path):
    p = tmp_path / "huge.jsonl"
    with open(p, "wb") as fh:
        fh.write(b'{"id": "a", "text": "small"}\n')
        fh.write(b'{"id": "big", "text": "' + b"x" * (3 << 20) + b'"}\n')
        fh.write(b'{"id": "b", "text": "after"}\n')
    t, q = read_all(p, max_doc_bytes=1 << 20)
    assert t.column("id").to_pylist() == ["a", "b"]
    assert q.reasons == {"document larger than max_doc_bytes": 1}
    assert len(q.records[0]) < 2000  # the record keeps an excerpt, not the document


def test_unknown_extension_error(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text("a,b")
    with pytest.raises(InputError, match="cannot tell the format"):
        detect_format(p)
