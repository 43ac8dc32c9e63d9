"""How inputs become annotate tasks must never show in the outputs: a large file split into ranges
and many small files packed into one task give byte-identical selected documents, tokens, shards
and per-file stats (quarantine included) to one task per whole file."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.io.ranges import line_range
from curate.pipeline import run_pipeline
from curate.report.html import stable_bytes

from conftest import make_docs

PIPELINE = """
name: t
seed: 7
sources:
  - {name: fin, role: domain, paths: [in/fin/*]}
  - {name: gen, role: general, paths: [in/gen/*]}
annotate:
  batch_size: 16
  split_mb: SPLIT
  heuristics: {}
  langid: null
select:
  rules:
    - {name: short, keep: "word_count >= 30"}
    - {name: top, mode: top_fraction, column: word_count, fraction: 0.9}
TOKENIZER
mix:
  by: role
  target: {domain: 0.5, general: 0.5}
  total_tokens: all
  max_epochs: 4
  on_shortfall: warn
"""

BAD_LINES = [b'{"id": "bad-json", "text": "unterminated\n', b'{"id": "bad-utf8", "text": "caf\xe9 \xff"}\n']


def jsonl_bytes(docs: list[dict]) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in docs)


def with_bad_lines(docs: list[dict], every: int = 37) -> bytes:
    """JSONL with a malformed line, an invalid-UTF-8 line and a blank line among the documents."""
    out = []
    for i, d in enumerate(docs):
        out.append(orjson.dumps(d) + b"\n")
        if i % every == 5:
            out.append(BAD_LINES[(i // every) % 2])
        if i % every == 20:
            out.append(b"\n")
    return b"".join(out)


def run(project: Path, name: str, split: float, tokenizer: str, **kw):
    (project / "p.yaml").write_text(PIPELINE.replace("SPLIT", str(split)).replace("TOKENIZER", tokenizer))
    return run_pipeline(project / "p.yaml", out=project / name, progress=False, **kw)


def digests(run_dir: Path, sub: str) -> dict[str, str]:
    return {p.relative_to(run_dir / sub).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((run_dir / sub).rglob("*")) if p.is_file()}


def by_input(run_dir: Path, sub: str) -> dict[str, pa.Table]:
    """Per input file (parts of a split file concatenated in order), the rows of its Parquet outputs."""
    out: dict[str, list] = {}
    for p in sorted((run_dir / sub).rglob("*.parquet")):
        key = p.relative_to(run_dir / sub).as_posix().removesuffix(".parquet").split("@p")[0]
        out.setdefault(key, []).append(pq.read_table(p))
    return {k: pa.concat_tables(v) for k, v in out.items()}


def quarantined(run_dir: Path) -> list[tuple]:
    recs = [orjson.loads(line) for p in sorted((run_dir / "quarantine").rglob("*")) if p.is_file()
            for line in p.read_bytes().splitlines()]
    return sorted((r["file"], r["line"], r["reason"]) for r in recs)


def file_stats(stats: dict, stage: str) -> dict:
    """Per input file, its stats row with the parts of a split file added up."""
    out: dict[str, dict] = {}
    for row in stats[stage]["files"]:
        acc = out.setdefault(row["file"], {"docs_in": 0, "docs_out": 0, "bytes": 0, "drops": {}})
        for k in ("docs_in", "docs_out", "bytes"):
            acc[k] += row[k]
        for reason, n in row["drops"].items():
            acc["drops"][reason] = acc["drops"].get(reason, 0) + n
    return out


def same_outputs(a, b) -> None:
    """Everything a reader of the run sees, compared across two ways of cutting the inputs into tasks."""
    sel_a, sel_b = by_input(a.run_dir, "selected"), by_input(b.run_dir, "selected")
    assert sel_a.keys() == sel_b.keys()
    for k in sel_a:
        assert sel_a[k].equals(sel_b[k]), k
    ann_a, ann_b = by_input(a.run_dir, "annotated"), by_input(b.run_dir, "annotated")
    for k in ann_a:
        assert ann_a[k].equals(ann_b[k]), k
    assert digests(a.run_dir, "tokens") == digests(b.run_dir, "tokens")
    assert digests(a.run_dir, "shards") == digests(b.run_dir, "shards")
    assert quarantined(a.run_dir) == quarantined(b.run_dir)
    for stage in ("annotate", "select"):
        assert file_stats(a.stats, stage) == file_stats(b.stats, stage), stage
        assert a.stats[stage]["sources"] == b.stats[stage]["sources"], stage
    # `files` counts the stage's tasks (one per part of a split file), `verified_docs` the documents
    # tokenize re-encoded to check its fast engine (some in every task): work done, not output
    work = {"files", "verified_docs"}
    for stage in ("tokenize", "mix"):
        strip = lambda s: {name: {k: v for k, v in row.items() if k not in work} for name, row in s[stage]["sources"].items()}  # noqa: E731
        assert strip(a.stats) == strip(b.stats), stage


@pytest.fixture
def split_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in" / "fin").mkdir(parents=True)
    (tmp_path / "in" / "fin" / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + with_bad_lines(make_docs(400, 1, "fa")))
    gen = make_docs(300, 2, "gb")
    gen[17]["text"] = None  # a null text in Parquet is quarantined with its row number
    (tmp_path / "in" / "gen").mkdir(parents=True)
    pq.write_table(pa.table({"id": [d["id"] for d in gen], "text": [d["text"] for d in gen]}), tmp_path / "in" / "gen" / "b.parquet",
                   row_group_size=40)
    (tmp_path / "in" / "gen" / "c.jsonl.gz").write_bytes(gzip.compress(with_bad_lines(make_docs(150, 3, "gc")), mtime=0))
    return tmp_path


def test_line_ranges_cover_every_line_once(tmp_path):
    data = b"".join(b"x" * (i % 7) + b"\n" for i in range(200)) + b"no newline at the end"
    p = tmp_path / "f.jsonl"
    p.write_bytes(data)
    for parts in (1, 2, 3, 4, 7):
        ranges = [line_range(p, k, parts) for k in range(parts)]
        assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
        for (s, e, before), nxt in zip(ranges, ranges[1:] + [(len(data), len(data), 0)]):
            assert e == nxt[0] and (s == 0 or data[s - 1:s] == b"\n")
            assert before == data[:s].count(b"\n")


def test_split_files_give_the_outputs_of_whole_files(split_project):
    whole = run(split_project, "whole", 0, "tokenizer: {vocab_size: 300, sample_bytes: 200000, val_fraction: 0.1}", workers=1)
    tok = f"tokenizer: {{path: {whole.run_dir / 'tokenizer' / 'tokenizer.json'}, val_fraction: 0.1}}"
    whole = run(split_project, "whole2", 0, tok, workers=1)
    split = run(split_project, "split", 0.004, tok, workers=2)
    parts = sorted(p.name for p in (split.run_dir / "annotated").rglob("*@p*.parquet"))
    assert any(n.startswith("a.jsonl@p") for n in parts) and any(n.startswith("b.parquet@p") for n in parts)
    assert not any(n.startswith("c.jsonl.gz@p") for n in parts)  # a compressed file is read whole, once
    same_outputs(whole, split)
    q = quarantined(split.run_dir)
    assert ("in/fin/a.jsonl", 7, "malformed JSON") in q and any(r[2] == "invalid UTF-8" for r in q)
    assert ("in/gen/b.parquet", 18, "missing text field `text` (null)") in q
    assert file_stats(split.stats, "annotate")["in/fin/a.jsonl"]["docs_out"] == 400


PACKED = """
name: t
seed: 3
sources:
  - {name: fin, role: domain, paths: [in/fin/**/*.jsonl*]}
  - {name: gen, role: general, paths: [in/gen/*]}
annotate:
  batch_size: 8
  heuristics: {}
  langid: {}
  keywords:
    - {name: finance, lexicon: LEXICON}
  dedup_keys: {}
  pii: {}
dedup: {threshold: 0.8}
select:
  rules:
    - {name: short, keep: "word_count >= 30"}
    - {name: top, mode: top_fraction, column: word_count, fraction: 0.9}
tokenizer: {vocab_size: 300, sample_bytes: 200000, val_fraction: 0.1}
mix:
  by: role
  target: {domain: 0.5, general: 0.5}
  total_tokens: all
  max_epochs: 4
  on_shortfall: warn
"""


@pytest.fixture
def small_files(tmp_path, monkeypatch):
    """Many small files (1-4 documents; some with a malformed or invalid-UTF-8 line, one empty, one
    with nothing but bad lines, one compressed) beside a larger file. Each file is its own annotated
    unit here (pack units, one annotated file per many small files, are tested in test_packs.py)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CURATE_PACK_FILES", "0")
    docs = make_docs(260, 4, "s")
    fin = tmp_path / "in" / "fin"
    k = 0
    for i in range(70):
        n = 1 + i % 4
        chunk = docs[k:k + n]
        k += n
        data = jsonl_bytes(chunk)
        if i % 9 == 3:
            data = data + BAD_LINES[i % 2] + jsonl_bytes(docs[k:k + 1])
            k += 1
        (fin / f"d{i // 30}").mkdir(parents=True, exist_ok=True)
        (fin / f"d{i // 30}" / f"f{i:03d}.jsonl").write_bytes(data)
    (fin / "d0" / "empty.jsonl").write_bytes(b"")
    (fin / "d0" / "bad.jsonl").write_bytes(BAD_LINES[0] + BAD_LINES[1])
    (fin / "d1" / "z.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes(docs[k:k + 3]), mtime=0))
    dup = dict(docs[0], id="dup-of-s0")  # an exact duplicate across files
    (fin / "d2" / "dup.jsonl").write_bytes(jsonl_bytes([dup]))
    (tmp_path / "in" / "gen").mkdir(parents=True)
    (tmp_path / "in" / "gen" / "big.jsonl").write_bytes(with_bad_lines(make_docs(120, 5, "g")))
    lexicon = Path(__file__).resolve().parents[1] / "classifiers" / "lexicons" / "finance.txt"
    (tmp_path / "p.yaml").write_text(PACKED.replace("LEXICON", str(lexicon)))
    return tmp_path


def tree(run_dir: Path) -> dict[str, str]:
    skip = {"timings.json", "report.md", "report.html", "config.fingerprint", "report.fingerprint"}  # (these name the run folder)
    return {p.relative_to(run_dir).as_posix(): hashlib.sha256(stable_bytes(p)).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name not in skip and not p.name.endswith((".png", ".svg"))}


def test_small_files_packed_give_the_outputs_of_one_task_per_file(small_files, monkeypatch):
    from curate.stages import annotate

    packed = run_pipeline(small_files / "p.yaml", out=small_files / "packed", workers=2, progress=False)
    assert packed.reuse["annotate"]["tasks"] == 75
    packed1 = run_pipeline(small_files / "p.yaml", out=small_files / "packed1", workers=1, progress=False)
    monkeypatch.setattr(annotate, "PACK_BYTES", 0)  # every file its own task
    alone = run_pipeline(small_files / "p.yaml", out=small_files / "alone", workers=2, progress=False)
    assert tree(packed.run_dir) == tree(alone.run_dir) == tree(packed1.run_dir)
    q = quarantined(packed.run_dir)
    assert ("in/fin/d0/bad.jsonl", 1, "malformed JSON") in q and ("in/fin/d0/bad.jsonl", 2, "invalid UTF-8") in q
    files = file_stats(packed.stats, "annotate")
    assert files["in/fin/d0/empty.jsonl"]["docs_in"] == 0 and files["in/fin/d0/bad.jsonl"]["docs_in"] == 2
    assert files["in/fin/d0/f003.jsonl"]["drops"] == {"invalid UTF-8": 1} and files["in/fin/d0/f003.jsonl"]["docs_out"] == 5
    assert packed.stats["dedup"]["total"]["exact_duplicates"] >= 1


def test_a_resumed_run_packs_only_what_is_left(small_files):
    first = run_pipeline(small_files / "p.yaml", out=small_files / "r", workers=2, progress=False, stages=["annotate"])
    before = tree(first.run_dir)
    marker = first.run_dir / "_markers" / "annotate" / "fin" / "d1~f040.jsonl.json"
    assert marker.exists()
    marker.unlink()
    (first.run_dir / "annotated" / "fin" / "d1~f040.jsonl.parquet").unlink()
    again = run_pipeline(small_files / "p.yaml", out=small_files / "r", workers=2, progress=False, stages=["annotate"])
    assert again.reuse["annotate"]["reused"] == 74
    assert tree(again.run_dir) == before


def test_pack_tasks_groups_small_tasks_by_weight():
    from curate.exec.base import Task, pack_tasks, run_members

    tasks = [Task(id=f"t{i}", fn=dict, kwargs={"i": i}, weight=w) for i, w in enumerate([10, 10, 10, 500, 10, 10, 10, 10])]
    packs = pack_tasks(tasks, workers=1, max_weight=35)
    assert [[m.id for m in p.members] or [p.id] for p in packs] == [["t0", "t1", "t2"], ["t3"], ["t4", "t5", "t6"], ["t7"]]
    assert run_members(packs[0].members) == {"t0": {"i": 0}, "t1": {"i": 1}, "t2": {"i": 2}}
    # never fewer packs than workers * PACK_TASKS when the weight allows it
    assert len(pack_tasks(tasks[4:], workers=2, max_weight=1e9)) == 4
