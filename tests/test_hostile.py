"""Hostile inputs through the whole pipeline: each gets a clear error or a counted quarantine record,
never a hang, a bare traceback or a silently lost document.

Fixtures are generated here. Accounting is checked per input file from stats.json:
non-blank input records = kept + dropped (select) + quarantined (annotate).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import make_docs, write_jsonl
from curate.config import load_config
from curate.errors import ConfigError
from curate.io.quarantine import Quarantine
from curate.io.readers import ReadSpec, read_text_dir
from curate.pipeline import run_pipeline

GOOD = [orjson.dumps(d) for d in make_docs(12, seed=3, prefix="g")]  # 12 good records, all long enough to keep

# file name -> (bytes, non-blank records it holds, expected quarantine reasons)
JSONL_CASES: dict[str, tuple[bytes, int, dict[str, int]]] = {
    "bad_lines.jsonl": (b"\n".join([GOOD[0], b'{"id": "m1", "text": "unterminated', b'{"id": "m2"}', b"[1, 2]",
                                    b'{"id": "n1", "text": 42}', b"", b"   ", GOOD[1]]) + b"\n",
                        6, {"malformed JSON": 1, "missing text field `text`": 1, "record is not a JSON object": 1,
                            "text field `text` is not a string": 1}),
    "nul.jsonl": (GOOD[2] + b'\n{"id": "raw", "text": "raw \x00 byte"}\n{"id": "esc", "text": "escaped \\u0000 NUL kept"}\n',
                  3, {"malformed JSON": 1}),
    "latin1.jsonl": (GOOD[3] + b'\n{"id": "l1", "text": "caf\xe9 cr\xe8me br\xfbl\xe9e"}\n' + GOOD[4] + b"\n",
                     3, {"invalid UTF-8": 1}),
    "bom_utf8.jsonl": (b"\xef\xbb\xbf" + GOOD[5] + b"\n" + GOOD[6] + b"\n", 2, {}),  # the BOM is dropped, both kept
    "utf16.jsonl": ("\n".join(json.dumps({"id": f"w{i}", "text": "wide text"}) for i in range(3)).encode("utf-16"),
                    3, {"invalid UTF-8": 1, "malformed JSON": 2}),
    "lone_surrogate.jsonl": (b'{"id": "s", "text": "bad \\ud800 escape"}\n' + GOOD[7] + b"\n", 2, {"malformed JSON": 1}),
    "huge.jsonl": (GOOD[8] + b'\n{"id": "big", "text": "' + b"y" * 300_000 + b'"}\n' + GOOD[9] + b"\n", 3,
                   {"document larger than max_doc_bytes": 1}),
    "empty.jsonl": (b"", 0, {}),
    "corrupt.jsonl.gz": (b"\x1f\x8b this is not gzip", 1, {"truncated or corrupt compressed file": 1}),
}


def _parquet(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="none")


def make_hostile_corpus(root: Path) -> dict[str, tuple[int, dict[str, int]]]:
    """Write every hostile file; returns file (relative) -> (records, expected quarantine reasons)."""
    expect: dict[str, tuple[int, dict[str, int]]] = {}
    j = root / "in" / "j"
    j.mkdir(parents=True)
    for name, (data, n, reasons) in JSONL_CASES.items():
        (j / name).write_bytes(data)
        expect[f"in/j/{name}"] = (n, reasons)
    # truncated .gz: records = the complete lines that survive + 1 record for the cut (its count is in the stats)
    raw = b"".join(orjson.dumps(d) + b"\n" for d in make_docs(300, seed=4, prefix="t"))
    cut = gzip.compress(raw, mtime=0)[:4000]
    (j / "truncated.jsonl.gz").write_bytes(cut)
    survived = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut).count(b"\n")
    expect["in/j/truncated.jsonl.gz"] = (survived + 1, {"truncated or corrupt compressed file": 1})

    p = root / "in" / "p"
    p.mkdir()
    docs = make_docs(40, seed=5, prefix="p")
    _parquet(p / "wrong_column.parquet", pa.table({"id": [d["id"] for d in docs], "body": [d["text"] for d in docs]}))
    expect["in/p/wrong_column.parquet"] = (40, {"missing text field `text`": 40})
    _parquet(p / "wrong_type.parquet", pa.table({"id": ["a", "b", "c"], "text": [1, 2, 3]}))
    expect["in/p/wrong_type.parquet"] = (3, {"text field `text` has type int64, expected string": 3})
    _parquet(p / "nulls.parquet", pa.table({"id": ["a", "b", "c"], "text": [docs[0]["text"], None, docs[1]["text"]]}))
    expect["in/p/nulls.parquet"] = (3, {"missing text field `text` (null)": 1})
    _parquet(p / "corrupt_pages.parquet", pa.table({"id": [str(i) for i in range(2000)], "text": [f"row {i} " * 30 for i in range(2000)]}))
    data = bytearray((p / "corrupt_pages.parquet").read_bytes())
    for k in range(64, len(data) // 2, 5):
        data[k] ^= 0xFF  # garbage data pages, intact footer
    (p / "corrupt_pages.parquet").write_bytes(bytes(data))
    expect["in/p/corrupt_pages.parquet"] = (2000, {"truncated or corrupt Parquet data": 2000})
    (p / "not_parquet.parquet").write_bytes(b"PAR1 but nothing else")
    expect["in/p/not_parquet.parquet"] = (1, {"unreadable Parquet file": 1})

    t = root / "in" / "t"
    t.mkdir()
    (t / "ok.txt").write_text(docs[2]["text"])
    (t / "nul.txt").write_bytes(docs[3]["text"].encode() + b" \x00\x00 trailing NULs")
    (t / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me ".encode("latin-1") * 20)
    (t / "utf16.txt").write_bytes(docs[4]["text"].encode("utf-16"))
    (t / "big.txt").write_bytes(b"z " * 200_000)
    for name, reasons in (("ok", {}), ("nul", {}), ("latin1", {"invalid UTF-8": 1}), ("utf16", {"invalid UTF-8": 1}),
                          ("big", {"document larger than max_doc_bytes": 1})):
        expect[f"in/t/{name}.txt"] = (1, reasons)
    return expect


HOSTILE_PIPELINE = """
name: hostile
sources:
  - {name: j, paths: ["in/j/*"], max_doc_bytes: 100000}
  - {name: p, paths: ["in/p/*"], max_doc_bytes: 100000}
  - {name: t, paths: ["in/t"], format: text, max_doc_bytes: 100000}
annotate: {langid: null, dedup_keys: {}}
dedup: {}
select:
  rules:
    - {name: too_short, keep: "word_count >= 30"}
"""


def test_every_hostile_input_counted_per_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expect = make_hostile_corpus(tmp_path)
    (tmp_path / "p.yaml").write_text(HOSTILE_PIPELINE)
    r = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "run", workers=1, progress=False)
    stats = json.loads((r.run_dir / "stats.json").read_text())["stages"]
    annotate = {f["file"]: f for f in stats["annotate"]["files"]}
    select = {f["file"]: f for f in stats["select"]["files"]}
    assert sorted(annotate) == sorted(expect) == sorted(select)
    for name, (records, reasons) in expect.items():
        a, s = annotate[name], select[name]
        assert a["drops"] == reasons, name
        assert s["docs_in"] == a["docs_out"], name
        # nothing lost: every record is kept, dropped with a reason, or quarantined with a reason
        assert records == s["docs_out"] + sum(s["drops"].values()) + sum(a["drops"].values()), name
    # a few hand-checked outcomes
    assert select["in/j/nul.jsonl"]["docs_out"] == 1 and select["in/j/bom_utf8.jsonl"]["docs_out"] == 2
    assert select["in/t/nul.txt"]["docs_out"] == 1 and select["in/p/nulls.parquet"]["docs_out"] == 2
    (nul,) = (r.run_dir / "annotated" / "j").glob("nul.jsonl.parquet")  # an escaped NUL is valid JSON: kept as text
    assert "escaped \x00 NUL kept" in pq.read_table(nul).column("text").to_pylist()
    records = [orjson.loads(line) for q in (r.run_dir / "quarantine").rglob("*.jsonl") for line in q.read_bytes().splitlines()]
    assert all(rec["file"].startswith("in/") and "line" in rec and rec["reason"] for rec in records)
    big = next(rec for rec in records if rec["file"] == "in/j/huge.jsonl")
    assert big["line"] == 2 and len(big["excerpt"]) <= 200
    whole = next(rec for rec in records if rec["file"] == "in/p/wrong_column.parquet")
    assert whole["documents"] == 40 and "set sources[].text_field" in whole["detail"]


def test_strict_mode_names_file_and_line_through_the_cli(tmp_path):
    make_hostile_corpus(tmp_path)
    (tmp_path / "p.yaml").write_text(HOSTILE_PIPELINE)
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "strict", "--strict", "--workers", "1", "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "in/j/bad_lines.jsonl:2: malformed JSON" in proc.stderr and "fix:" in proc.stderr


def _cli(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curate.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))


# ---- one line far beyond max_doc_bytes: quarantined after reading at most the limit plus a buffer

RSS_PROBE = textwrap.dedent("""
    import json, resource, sys
    from curate.pipeline import run_pipeline
    from curate.config import PipelineConfig

    def cfg(path):
        return PipelineConfig.model_validate({"name": "huge", "sources": [{"name": "s", "paths": [path], "max_doc_bytes": LIMIT}],
                                              "annotate": {"langid": None}})

    run_pipeline(cfg("small.jsonl"), out="warm", workers=1, progress=False)  # load every library first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = run_pipeline(cfg("huge.jsonl"), out="run", workers=1, progress=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kb": before, "after_kb": after, "files": r.stats["annotate"]["files"]}))
""")


def _write_huge_line(path: Path, size: int) -> None:
    """A JSONL file whose second line is `size` bytes, written in 1 MiB pieces (never held whole)."""
    piece = b"x" * (1 << 20)
    with open(path, "wb") as fh:
        fh.write(b'{"id": "before", "text": "a small document before the huge one"}\n{"id": "huge", "text": "')
        for _ in range(size >> 20):
            fh.write(piece)
        fh.write(b'"}\n{"id": "after", "text": "a small document after the huge one"}\n')


def test_huge_line_quarantined_with_bounded_memory(tmp_path, size_mb=300):  # ~2 s here, so not marked slow
    limit = 1 << 20
    _write_huge_line(tmp_path / "huge.jsonl", size_mb << 20)
    (tmp_path / "small.jsonl").write_bytes(b'{"id": "w", "text": "warm up"}\n')
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RSS_PROBE.replace("LIMIT", str(limit))], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    (f,) = out["files"]  # one entry per input file, even when several tasks read it (annotate.split_mb)
    assert f["docs_in"] == 3 and f["docs_out"] == 2 and f["drops"] == {"document larger than max_doc_bytes": 1}
    grown_mb = (out["after_kb"] - out["before_kb"]) / 1024
    # the reader keeps at most the limit (1 MiB) plus its 1 MiB buffers; allow for allocator slack
    assert grown_mb < 16, f"peak RSS grew by {grown_mb:.1f} MB reading a {size_mb} MB line"
    assert time.perf_counter() - t0 < 120


# ---- symlink loops, output inside input, wrong config keys


def test_symlink_loop_in_input_folder_terminates(tmp_path):
    d = tmp_path / "in" / "loop"
    (d / "sub").mkdir(parents=True)
    (d / "a.jsonl").write_bytes(GOOD[0] + b"\n")
    (d / "sub" / "b.jsonl").write_bytes(GOOD[1] + b"\n")
    (d / "sub" / "up").symlink_to("..")  # folder cycles
    (d / "self").symlink_to(".")
    (d / "x.jsonl").symlink_to("y.jsonl")  # a file-symlink cycle
    (d / "y.jsonl").symlink_to("x.jsonl")
    (d / "t.txt").write_text("text file in a looped folder")
    for paths in (["in/loop/**/*.jsonl"], ["in/loop"]):
        (tmp_path / "p.yaml").write_text(f"name: loop\nsources:\n  - {{name: s, paths: {json.dumps(paths)}, format: jsonl}}\n"
                                         "annotate: {heuristics: null, langid: null}\n")
        out = f"run{len(paths[0])}"
        proc = _cli(tmp_path, "run", "p.yaml", "--out", out, "--workers", "1", "--quiet", timeout=60)
        assert proc.returncode == 0, proc.stderr
        files = json.loads((tmp_path / out / "stats.json").read_text())["stages"]["annotate"]["files"]
        want = ["in/loop/a.jsonl", "in/loop/sub/b.jsonl"] + (["in/loop/t.txt"] if paths == ["in/loop"] else [])
        assert sorted(f["file"] for f in files) == want  # each file once, symlink loops not walked
        if paths == ["in/loop"]:  # the folder walk also lists the .txt: read as JSONL (format: jsonl), quarantined
            assert next(f for f in files if f["file"] == "in/loop/t.txt")["drops"] == {"malformed JSON": 1}
    # the text-folder reader on the same folder: terminates, one document per real .txt file
    q = Quarantine("in/loop")
    tables = list(read_text_dir(d, ReadSpec(source="s", role="general"), q))
    assert sum(t.num_rows for t in tables) == 1 and q.count == 0


def test_output_inside_input_folder_refused_without_debris(tmp_path):
    (tmp_path / "in" / "fin").mkdir(parents=True)
    (tmp_path / "in" / "fin" / "a.jsonl").write_bytes(GOOD[0] + b"\n")
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: fin, paths: [in/fin]}\n")
    for out in ("in/fin/run", "in"):
        proc = _cli(tmp_path, "run", "p.yaml", "--out", out, "--quiet")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "fix:" in proc.stderr, proc.stderr
    assert "inside the input folder" in _cli(tmp_path, "run", "p.yaml", "--out", "in/fin/run", "--quiet").stderr
    assert not (tmp_path / "in" / "fin" / "run").exists()  # refused before anything was written there


@pytest.mark.parametrize("yaml_text, message", [
    ("name: x\nsources:\n  - {name: s, paths: [a.jsonl], txt_field: body}\n", r"p.yaml:3: unknown key `sources\[0\].txt_field` — did you mean `text_field`\?"),
    ("name: x\nsourcs:\n  - {name: s, paths: [a.jsonl]}\n", r"p.yaml:2: unknown key `sourcs` — did you mean `sources`\?"),
    ("name: x\nsources:\n  - {name: s, paths: [a.jsonl]}\nselect:\n  rules:\n    - {name: r, mode: threshold}\n", r"p.yaml:6: .*needs `column`"),
    ("name: x\nsources:\n  - {name: s, paths: [a.jsonl], max_doc_bytes: -1}\n", r"p.yaml:3: `sources\[0\].max_doc_bytes`"),
    ("name: x\nsources:\n  - {name: s, paths: [nothing/*.jsonl]}\n", r"p.yaml:3: `sources\[0\].paths` of source `s` matches no file"),
    ("name: x\nsources: [\n", r"p.yaml:\d+: not valid YAML"),
])
def test_wrong_config_keys_name_file_line_and_key(tmp_path, monkeypatch, yaml_text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_bytes(GOOD[0] + b"\n")
    (tmp_path / "p.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "p.yaml")


def test_wrong_config_through_the_cli_has_no_traceback(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(GOOD[0] + b"\n")
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: s, paths: [a.jsonl], txt_field: body}\n")
    proc = _cli(tmp_path, "run", "p.yaml", "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "txt_field" in proc.stderr and "text_field" in proc.stderr


# ---- names that cannot collide, --out that never deletes user files, input sets that change


@pytest.mark.parametrize("name", ["..", ".", "X.val", "a/b", "_parts", "-x", "", "a b"])
def test_unsafe_source_names_refused(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_bytes(GOOD[0] + b"\n")
    (tmp_path / "p.yaml").write_text(f"name: x\nsources:\n  - {{name: {json.dumps(name)}, paths: [a.jsonl]}}\n")
    with pytest.raises(ConfigError, match=r"p.yaml:3: `sources\[0\].name`"):
        load_config(tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text(f"name: x\nsources:\n  - {{name: s, role: {json.dumps(name)}, paths: [a.jsonl]}}\n")
    with pytest.raises(ConfigError, match=r"`sources\[0\].role`"):
        load_config(tmp_path / "p.yaml")


def test_out_into_a_folder_of_user_files_leaves_every_file_in_place(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_bytes(b"\n".join(GOOD) + b"\n")
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: s, paths: [in/a.jsonl]}\nannotate: {langid: null}\n")
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    files = {"thesis.tex": b"\\documentclass{article}", "data.csv": b"a,b\n1,2\n", "sub/notes.tmp-123": b"draft"}
    for name, data in files.items():
        (mine / name).write_bytes(data)
    for extra in ([], ["--fresh"]):
        proc = _cli(tmp_path, "run", "p.yaml", "--out", "mine", "--quiet", *extra)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "not a curate run directory" in proc.stderr, proc.stderr
        assert {str(p.relative_to(mine)): p.read_bytes() for p in mine.rglob("*") if p.is_file()} == files
    # a run directory with a user file beside curate's own: --fresh deletes only what curate wrote
    assert _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet").returncode == 0
    (tmp_path / "run" / "my-notes.md").write_text("keep me")
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet", "--fresh")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "my-notes.md").read_text() == "keep me" and (tmp_path / "run" / "stats.json").exists()


def _selected_ids(run: Path, source: str) -> list[str]:
    return [i for p in sorted((run / "selected" / source).rglob("*.parquet")) for i in pq.read_table(p, columns=["id"]).column("id").to_pylist()]


def test_same_named_file_in_a_new_folder_is_read_on_resume(tmp_path):
    """Spark-style part files in several folders: adding w/part-00000.jsonl must not shift x's and y's
    outputs onto other keys; w is read, x and y once each, and their annotate tasks are reused."""
    for folder, seed in (("x", 1), ("y", 2)):
        (tmp_path / "in" / folder).mkdir(parents=True)
        (tmp_path / "in" / folder / "part-00000.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in make_docs(20, seed, folder)))
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: s, paths: [in/*/part-*.jsonl]}\nannotate: {langid: null}\n")
    assert _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet").returncode == 0
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run" / "annotated" / "s").glob("*.parquet")}
    assert sorted(before) == ["x~part-00000.jsonl.parquet", "y~part-00000.jsonl.parquet"]
    (tmp_path / "in" / "w").mkdir()
    (tmp_path / "in" / "w" / "part-00000.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in make_docs(20, 3, "w")))
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run" / "annotated" / "s").glob("*.parquet")}
    assert {k: after[k] for k in before} == before and "w~part-00000.jsonl.parquet" in after
    ids = _selected_ids(tmp_path / "run", "s")
    assert sorted(ids) == sorted(f"{f}{i}" for f in "wxy" for i in range(20))  # every document once, none twice
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())["stages"]["annotate"]
    assert {f["file"]: f["docs_in"] for f in stats["files"]} == {f"in/{f}/part-00000.jsonl": 20 for f in "wxy"}


def test_ids_unique_per_source_in_selected(tmp_path):
    """Text documents are named by their path from the glob root (not the stem); JSONL without ids by
    path and line; ids given twice are counted in a warning."""
    docs = tmp_path / "in" / "doc"
    texts = {"GFDL-1.2": "GNU Free Documentation License version 1.2 text. " * 8,
             "GFDL-1.3": "GNU Free Documentation License version 1.3 text. " * 8,
             "pkg-a/copyright": "Copyright notice of package a, with its licence terms. " * 8,
             "pkg-b/copyright": "Copyright notice of package b, with other licence terms. " * 8}
    for rel, text in texts.items():
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_text(text)
    (tmp_path / "in" / "j").mkdir(parents=True)
    (tmp_path / "in" / "j" / "noid.jsonl").write_bytes(b"".join(orjson.dumps({"text": d["text"]}) + b"\n" for d in make_docs(5, 1)) * 2)
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: lic, paths: [in/doc], format: text}\n"
                                     "  - {name: j, paths: [in/j/*.jsonl]}\nannotate: {langid: null}\n")
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    lic, j = _selected_ids(tmp_path / "run", "lic"), _selected_ids(tmp_path / "run", "j")
    assert sorted(lic) == sorted(texts) and len(j) == 10 and len(set(j)) == 10


def test_repeated_given_ids_are_counted_in_a_warning(tmp_path):
    (tmp_path / "in").mkdir()
    recs = [{"id": "copyright" if i < 6 else f"u{i}", "text": d["text"]} for i, d in enumerate(make_docs(10, 4))]
    (tmp_path / "in" / "a.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: lic, paths: [in/a.jsonl]}\nannotate: {langid: null}\n")
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "source lic: 1 ids are given to more than one document (6 documents)" in proc.stdout
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())["stages"]["annotate"]["sources"]["lic"]
    assert stats["repeated_ids"] == {"ids": 1, "docs": 6}
    # a resume counts from RUN/_markers/repeated_ids.json; a changed input is counted again
    cache = tmp_path / "run" / "_markers" / "repeated_ids.json"
    kept = cache.stat().st_mtime_ns
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet")
    assert proc.returncode == 0 and "(6 documents)" in proc.stdout and cache.stat().st_mtime_ns == kept
    recs[7]["id"] = "copyright"
    (tmp_path / "in" / "a.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet")
    assert proc.returncode == 0 and "1 ids are given to more than one document (7 documents)" in proc.stdout
# ---- select expressions: min()/max() work, bad calls and huge literals are clear errors naming the rule


@pytest.mark.parametrize("keep, code, message", [
    ("min(word_count, 10000) >= 30 and max(word_count, 30) >= 30", 0, None),
    ("min() >= 30", 2, "rule `r`: .*min\\(\\) compares values element-wise and needs at least two, got 0"),
    ("word_count < 99999999999999999999", 2, "rule `r`: .*integer 99999999999999999999 does not fit in 64 bits"),
    ("min(word_count, 'x') == 'x'", 2, "rule `r`: .*cannot be evaluated.*word_count: int"),
    ("word_count >= 30 and", 2, "rule `r`: cannot parse .* at column 21 \\(the end of the expression"),
])
def test_select_expression_calls_and_literals_through_the_cli(tmp_path, keep, code, message):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_bytes(b"\n".join(GOOD[:4]) + b"\n")
    (tmp_path / "in" / "b.jsonl").write_bytes(b"\n".join(GOOD[4:8]) + b"\n")
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: s, paths: [in]}\nannotate: {langid: null}\n"
                                     f"select:\n  rules:\n    - {{name: r, keep: {json.dumps(keep)}}}\n")
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--workers", "2", "--quiet")
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenProcessPool" not in proc.stderr
    if message is None:
        select = json.loads((tmp_path / "run" / "stats.json").read_text())["stages"]["select"]
        assert select["total"]["docs_out"] == 8
    else:
        import re
        assert re.search(message, proc.stderr, re.S), proc.stderr


# ---- YAML alias bombs: refused within seconds, in every YAML curate reads


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """`levels` anchors, each a list of `width` aliases to the one before: width ** levels values."""
    lines = ["x0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_within_seconds(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(GOOD[0] + b"\n")
    (tmp_path / "p.yaml").write_text("name: bomb\nsources:\n  - {name: s, paths: [a.jsonl]}\n" + _alias_bomb())
    t0 = time.perf_counter()
    proc = _cli(tmp_path, "run", "p.yaml", "--out", "run", "--quiet", timeout=60)
    assert time.perf_counter() - t0 < 20  # it hung (minutes, gigabytes) expanding the aliases for line numbers
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "p.yaml: refused YAML" in proc.stderr and "alias" in proc.stderr and "fix:" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_yaml_alias_bombs_and_recursive_aliases_refused_by_every_loader(tmp_path, monkeypatch):
    from curate.classify.recipe import load_recipe
    from curate.train.ablate.config import load_ablation

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_bytes(GOOD[0] + b"\n")
    bomb = _alias_bomb(levels=12, width=10)  # 10**12 values in 1.3 kB
    for loader, head in ((load_config, "name: x\nsources:\n  - {name: s, paths: [a.jsonl]}\n"),
                         (load_recipe, "name: r\npositives: [a.jsonl]\nnegatives: [a.jsonl]\n"),
                         (load_ablation, "base: p.yaml\n")):
        for body, message in ((bomb, "alias bomb"), ("loop: &l [1, *l]\n", "recursive")):
            (tmp_path / "y.yaml").write_text(head + body)
            t0 = time.perf_counter()
            with pytest.raises(ConfigError, match=f"y.yaml: refused YAML: .*{message}"):
                loader(tmp_path / "y.yaml")
            assert time.perf_counter() - t0 < 5, loader
    # ordinary anchors still work, with line numbers for errors under them
    ok = tmp_path / "ok.yaml"
    ok.write_text("name: x\ncommon: &c {paths: [a.jsonl], max_doc_bytes: 100}\nsources:\n  - {name: s, <<: *c}\n")
    with pytest.raises(ConfigError, match=r"ok.yaml:2: unknown key `common`"):
        load_config(ok)
    ok.write_text("name: x\nsources:\n  - &s {name: s, paths: [a.jsonl]}\n  - {<<: *s, name: t}\n")
    assert [s.name for s in load_config(ok).sources] == ["s", "t"]


def test_yaml_read_by_libyaml_gives_the_pure_python_values_and_messages():
    """Configs are parsed by libyaml when it is installed (10x faster); values and error messages
    are those of PyYAML's own parser."""
    import yaml

    from curate.io.yaml_file import load_yaml

    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "pipelines").glob("*.yaml")):
        text = path.read_text()
        assert load_yaml(text, str(path)) == yaml.safe_load(text), path
    for text, message in (("a: b: c\n", "f.yaml:1: not valid YAML: mapping values are not allowed here"),
                          ("x: *nope\n", "f.yaml:1: not valid YAML: found undefined alias 'nope'"),
                          ("a: [1, 2\nb: 3\n", "f.yaml:2: not valid YAML: expected ',' or ']', but got ':'")):
        with pytest.raises(ConfigError) as err:
            load_yaml(text, "f.yaml")
        assert str(err.value).startswith(message)


# ---- a file whose name says compressed but whose bytes do not; max_doc_bytes in bytes for every format


def test_misnamed_compressed_file_counts_every_record_and_max_doc_bytes_is_bytes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "in"
    d.mkdir()
    plain = b"\n".join(GOOD[:5]) + b"\n\n"  # 5 records, plain text, named as compressed
    (d / "plain.jsonl.gz").write_bytes(plain)
    (d / "plain.jsonl.zst").write_bytes(plain[:-1] + b"\n" + GOOD[5] + b"\n")  # 6 records
    wide = "é" * 600  # 600 characters, 1,200 UTF-8 bytes: over a 1,000-byte limit in every format
    (d / "wide.jsonl").write_bytes(GOOD[6] + b"\n" + orjson.dumps({"id": "w", "text": wide}) + b"\n")
    small = make_docs(40, seed=9)  # short documents: well under 1,000 bytes each
    small = [x for x in small if len(x["text"].encode()) < 1000][:3]
    _parquet(d / "wide.parquet", pa.table({"id": ["w", *(x["id"] for x in small)], "text": [wide, *(x["text"] for x in small)]}))
    (tmp_path / "p.yaml").write_text("name: x\nsources:\n  - {name: s, paths: [in], max_doc_bytes: 1000}\n"
                                     "annotate: {heuristics: null, langid: null}\n")
    r = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "run", workers=1, progress=False)
    files = {f["file"]: f for f in json.loads((r.run_dir / "stats.json").read_text())["stages"]["annotate"]["files"]}
    assert files["in/plain.jsonl.gz"]["drops"] == {"not gzip data despite its .gz name": 5}
    assert files["in/plain.jsonl.zst"]["drops"] == {"not zstd data despite its .zst name": 6}
    assert files["in/wide.jsonl"]["drops"] == {"document larger than max_doc_bytes": 1}
    assert files["in/wide.parquet"]["drops"] == {"document larger than max_doc_bytes": 1}  # was kept: 600 characters
    assert files["in/wide.parquet"]["docs_out"] == 3
    records = [orjson.loads(line) for q in (r.run_dir / "quarantine").rglob("*.jsonl") for line in q.read_bytes().splitlines()]
    gz = next(rec for rec in records if rec["file"] == "in/plain.jsonl.gz")
    assert gz["documents"] == 5 and "rename the file" in gz["detail"]
    # a real gzip file is still read, and a truncated one is still the cut plus what survived
    write_jsonl(d / "real.jsonl.gz", make_docs(4, seed=1), gz=True)
    from curate.io.readers import ReadSpec, read_jsonl

    q = Quarantine("in/real.jsonl.gz")
    assert sum(t.num_rows for t in read_jsonl(d / "real.jsonl.gz", ReadSpec(source="s", role="general"), q)) == 4 and q.count == 0
