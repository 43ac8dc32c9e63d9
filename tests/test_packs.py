"""Pack units (curate.io.packs): a source's many small files annotated, selected and stored as one
unit must give the documents, tokens, shards and per-file stats (quarantine included) of the run
that keeps one unit per input file."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.pipeline import run_pipeline

from conftest import make_docs
from test_input_tasks import BAD_LINES, digests, file_stats, jsonl_bytes, quarantined, with_bad_lines

QUESTION = "Which central bank raised its policy rate by fifty basis points in the spring meeting of the year"
PIPELINE = """
name: t
seed: 11
sources:
  - {name: fin, role: domain, paths: [in/fin/**/*.jsonl*]}
  - {name: gen, role: general, paths: [in/gen/*]}
annotate:
  batch_size: 8
  heuristics: {}
  langid: {}
  dedup_keys: {}
  pii: {}
dedup: {threshold: 0.8}
decontam:
  eval_sets:
    - {name: quiz, paths: [evals/quiz.jsonl], fields: [question], id_field: qid}
  n: 13
select:
  rules:
    - {name: short, keep: "word_count >= 30"}
    - {name: top, mode: top_fraction, column: word_count, fraction: 0.9, per_source: true}
    - {name: lucky, mode: pareto, column: alpha_word_fraction, alpha: 3}
  pii: {action: redact, types: [email, phone]}
tokenizer: {vocab_size: 300, sample_bytes: 200000, val_fraction: 0.1}
mix:
  by: role
  target: {domain: 0.5, general: 0.5}
  total_tokens: all
  max_epochs: 4
  on_shortfall: warn
"""


@pytest.fixture
def many_small(tmp_path, monkeypatch):
    """Two sources of many tiny files: malformed and invalid-UTF-8 lines, an empty file, a file of
    nothing but bad lines, a compressed file, repeated ids, an exact duplicate across files, PII, a
    contaminated document; and one larger file that stays its own unit."""
    monkeypatch.chdir(tmp_path)
    docs = make_docs(330, 4, "s")
    for i in range(10, 330, 15):
        docs[i]["text"] += " Write to ir@bank.example or call +1 (555) 123-4567."
    docs[40]["text"] = "Background. " + QUESTION + " is a question we saw " + docs[40]["text"]
    fin = tmp_path / "in" / "fin"
    k = 0
    for i in range(80):
        n = 1 + i % 4
        chunk = [dict(d) for d in docs[k:k + n]]
        k += n
        if i % 11 == 2:
            chunk[0]["id"] = "same-id"  # an id several documents carry
        data = jsonl_bytes(chunk)
        if i % 9 == 3:
            data = data + BAD_LINES[i % 2] + jsonl_bytes(docs[k:k + 1])
            k += 1
        (fin / f"d{i // 30}").mkdir(parents=True, exist_ok=True)
        (fin / f"d{i // 30}" / f"f{i:03d}.jsonl").write_bytes(data)
    (fin / "d0" / "empty.jsonl").write_bytes(b"")
    (fin / "d0" / "bad.jsonl").write_bytes(BAD_LINES[0] + BAD_LINES[1])
    (fin / "d1" / "z.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes(docs[k:k + 3]), mtime=0))
    (fin / "d2" / "dup.jsonl").write_bytes(jsonl_bytes([dict(docs[0], id="dup-of-s0")]))
    gen = tmp_path / "in" / "gen"
    gen.mkdir(parents=True)
    gdocs = make_docs(150, 5, "g")
    for i in range(70):
        (gen / f"g{i:03d}.jsonl").write_bytes(jsonl_bytes(gdocs[2 * i:2 * i + 2]))
    (gen / "zz-big.jsonl").write_bytes(with_bad_lines(make_docs(140, 6, "b")))
    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "quiz.jsonl").write_bytes(jsonl_bytes([{"qid": "q1", "question": QUESTION}]))
    (tmp_path / "p.yaml").write_text(PIPELINE)
    return tmp_path


def run(project: Path, name: str, monkeypatch, packs: bool, **kw):
    from curate.io import packs as P

    monkeypatch.setenv("CURATE_PACK_FILES", "16" if packs else "0")
    monkeypatch.setattr(P, "UNIT_BYTES", 20000)  # several packs per source, closed by size and by name hash
    return run_pipeline(project / "p.yaml", out=project / name, progress=False, **kw)


def per_source(run_dir: Path, sub: str) -> dict[str, pa.Table]:
    """A source's rows of one output kind, its files concatenated in task order (units sort by their first member)."""
    out = {}
    for src in sorted(p.name for p in (run_dir / sub).iterdir()):
        files = sorted((run_dir / sub / src).glob("*.parquet"))
        out[src] = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    return out


def same_documents(a, b) -> None:
    for sub in ("annotated", "selected", "decisions"):
        ta, tb = per_source(a.run_dir, sub), per_source(b.run_dir, sub)
        assert ta.keys() == tb.keys(), sub
        for k in ta:
            assert ta[k].equals(tb[k]), (sub, k)
    assert digests(a.run_dir, "tokens") == digests(b.run_dir, "tokens")
    assert digests(a.run_dir, "shards") == digests(b.run_dir, "shards")
    assert quarantined(a.run_dir) == quarantined(b.run_dir)
    for stage in ("annotate", "decontam", "select"):
        assert file_stats(a.stats, stage) == file_stats(b.stats, stage), stage
        assert a.stats[stage]["sources"] == b.stats[stage]["sources"], stage
        assert a.stats[stage]["total"] == b.stats[stage]["total"], stage
    assert a.stats["dedup"]["sources"] == b.stats["dedup"]["sources"]
    # tokenize works per selected file (a pack's is one): `files` counts them, `verified_docs` is work done
    work = {"files", "verified_docs"}
    for stage in ("tokenize", "mix"):
        strip = lambda s: {name: {k: v for k, v in row.items() if k not in work} for name, row in s[stage]["sources"].items()}  # noqa: E731
        assert strip(a.stats) == strip(b.stats), stage


def test_packs_give_the_outputs_of_one_unit_per_file(many_small, monkeypatch):
    packed = run(many_small, "packed", monkeypatch, True, workers=2)
    alone = run(many_small, "alone", monkeypatch, False, workers=2)
    units = sorted(p.name for p in (packed.run_dir / "annotated" / "fin").glob("*.parquet"))
    assert len(units) < 20 and sum("@u" in n for n in units) >= 3  # the small fin files are in packs
    assert (packed.run_dir / "annotated" / "gen" / "zz-big.jsonl.parquet").exists()  # a larger file stays its own unit
    assert len(list((alone.run_dir / "annotated" / "fin").glob("*.parquet"))) == 84
    same_documents(packed, alone)
    files = file_stats(packed.stats, "annotate")
    assert len(files) == 84 + 71
    assert files["in/fin/d0/empty.jsonl"]["docs_in"] == 0 and files["in/fin/d0/bad.jsonl"]["drops"] == {"invalid UTF-8": 1, "malformed JSON": 1}
    assert packed.stats["dedup"]["total"]["exact_duplicates"] >= 1
    assert packed.stats["decontam"]["total"]["contaminated"] == 1
    assert packed.stats["annotate"]["sources"]["fin"]["repeated_ids"]["ids"] == 1
    assert packed.stats["select"]["sources"]["fin"]["pii"]["email"] >= 3


def test_a_changed_member_redoes_its_unit(many_small, monkeypatch):
    first = run(many_small, "r", monkeypatch, True, workers=1, stages=["annotate", "select"])
    units = first.reuse["annotate"]["tasks"]
    again = run(many_small, "r", monkeypatch, True, workers=1, stages=["annotate", "select"])
    assert again.reuse["annotate"] == {"tasks": units, "reused": units, "changed": 0}
    assert again.reuse["select"]["reused"] == units
    member = many_small / "in" / "fin" / "d1" / "f040.jsonl"
    member.write_bytes(member.read_bytes() + orjson.dumps({"id": "late", "text": make_docs(1, 9, "x")[0]["text"]}) + b"\n")
    changed = run(many_small, "r", monkeypatch, True, workers=1, stages=["annotate", "select"])
    assert changed.reuse["annotate"]["changed"] == 1 and changed.reuse["annotate"]["reused"] == units - 1
    selected_before = per_source(changed.run_dir, "selected")
    # select needs no annotate marker to split a pack's stats per file (an ablation arm has only the annotated files)
    shutil.rmtree(changed.run_dir / "_markers" / "annotate")
    reselect = run(many_small, "r", monkeypatch, True, workers=1, stages=["select"])
    # packs off (one unit per file, everything redone): the same rows and per-file stats, and the pack
    # units' outputs are pruned
    off = run(many_small, "r", monkeypatch, False, workers=1, stages=["annotate", "select"])
    assert not list((off.run_dir / "annotated").rglob("*@u*")) and not list((off.run_dir / "decisions").rglob("*@u*"))
    for stage in ("annotate", "select"):
        assert file_stats(changed.stats, stage) == file_stats(off.stats, stage), stage
    assert file_stats(reselect.stats, "select") == file_stats(off.stats, "select")
    assert "in/fin/d1/f040.jsonl" in file_stats(off.stats, "annotate")
    assert file_stats(changed.stats, "annotate")["in/fin/d1/f040.jsonl"]["docs_out"] == 2  # (1 + 40 % 4) + the one added
    assert per_source(off.run_dir, "selected") == selected_before


def test_packs_under_the_cascade(many_small, monkeypatch):
    """The opt-in cascade runs each member's tables alone (its skipped counts are per file); a pack
    writes them all to one file."""
    text = (many_small / "p.yaml").read_text()
    text = text.replace("annotate:\n", "annotate:\n  cascade: true\n")
    (many_small / "p.yaml").write_text(text)
    packed = run(many_small, "packed", monkeypatch, True, workers=1, stages=["annotate", "select"])
    alone = run(many_small, "alone", monkeypatch, False, workers=1, stages=["annotate", "select"])
    assert packed.reuse["annotate"]["tasks"] < alone.reuse["annotate"]["tasks"]
    for sub in ("annotated", "selected"):
        assert per_source(packed.run_dir, sub) == per_source(alone.run_dir, sub), sub
    assert packed.stats["annotate"]["files"] == alone.stats["annotate"]["files"]  # cascade_skipped per file included
    assert packed.stats["annotate"]["total"]["cascade_skipped"] and packed.stats["select"]["files"] == alone.stats["select"]["files"]


def test_a_signal_added_updates_the_packs_in_place(many_small, monkeypatch):
    """A changed signal set rewrites a pack's annotated file from its stored text (members' rows and
    stats kept), as it does for one input file."""
    text = (many_small / "p.yaml").read_text()
    (many_small / "p.yaml").write_text(text.replace("  pii: {}\n", "", 1))
    first = run(many_small, "r", monkeypatch, True, workers=1, stages=["annotate"])
    (many_small / "p.yaml").write_text(text)
    updated = run(many_small, "r", monkeypatch, True, workers=1, stages=["annotate", "select"])
    assert updated.reuse["annotate"]["changed"] == first.reuse["annotate"]["tasks"]
    alone = run(many_small, "alone", monkeypatch, False, workers=1, stages=["annotate", "select"])
    for sub in ("annotated", "selected"):
        assert per_source(updated.run_dir, sub) == per_source(alone.run_dir, sub), sub
    for stage in ("annotate", "select"):
        assert updated.stats[stage]["files"] == alone.stats[stage]["files"], stage
