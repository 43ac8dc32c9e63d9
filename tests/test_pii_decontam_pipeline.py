"""PII redaction and decontamination inside a pipeline run: columns, selected/ text, stats, report, decontam.json."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from curate.io.atomic import read_json
from curate.pipeline import run_pipeline

from conftest import make_docs, write_jsonl

QUESTION = "Which central bank raised its policy rate by fifty basis points in the spring meeting of the year"
PIPELINE = """
name: t
seed: 5
sources:
  - {name: fin, role: domain, paths: [in/fin/*], license: CC-BY-4.0}
  - {name: gen, role: general, paths: [in/gen/*]}
annotate:
  batch_size: 32
  heuristics: null
  langid: null
  pii: {}
decontam:
  eval_sets:
    - {name: quiz, paths: [evals/quiz.jsonl], fields: [question, answer], id_field: qid}
  n: 13
  action: ACTION
select:
  rules:
    - {name: no_ssn, keep: "pii_ssn == 0"}
  pii: {action: redact, types: [email, phone, card]}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fin = make_docs(60, 1, "f")
    fin[3]["text"] += " Contact ir@bank.example or +1 (555) 123-4567."
    fin[4]["text"] += " Card 4111 1111 1111 1111 on file; price $1,234.56 on 2024-01-15."
    fin[5]["text"] += " Employee SSN 123-45-6789."
    fin[6]["text"] = "Background. " + QUESTION + " is a question we saw."
    gen = make_docs(40, 2, "g")
    gen[7]["text"] += " " + QUESTION.upper() + "!"
    write_jsonl(tmp_path / "in" / "fin" / "a.jsonl", fin)
    write_jsonl(tmp_path / "in" / "gen" / "b.jsonl", gen)
    write_jsonl(tmp_path / "evals" / "quiz.jsonl", [{"qid": "q1", "question": QUESTION, "answer": "the reserve bank"},
                                                    {"qid": "q2", "question": "An unrelated question about rivers and mountains far away from any", "answer": "none"}])
    return tmp_path


def run(project, action: str):
    (project / "p.yaml").write_text(PIPELINE.replace("ACTION", action))
    return run_pipeline(project / "p.yaml", out=project / f"run-{action}", workers=1, progress=False)


def selected(run_dir):
    return {r["id"]: r for f in sorted((run_dir / "selected").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()}


def test_redaction_and_decontam_drop(project):
    r = run(project, "drop")
    ann = pq.read_table(next((r.run_dir / "annotated" / "fin").glob("*.parquet"))).to_pylist()
    by_id = {x["id"]: x for x in ann}
    assert by_id["f3"]["pii_email"] == 1 and by_id["f3"]["pii_phone"] == 1 and by_id["f4"]["pii_card"] == 1 and by_id["f5"]["pii_ssn"] == 1
    assert "ir@bank.example" in by_id["f3"]["text"]  # annotated/ keeps the original text
    sel = selected(r.run_dir)
    assert "<EMAIL>" in sel["f3"]["text"] and "<PHONE>" in sel["f3"]["text"] and "ir@bank.example" not in sel["f3"]["text"]
    assert "<CARD>" in sel["f4"]["text"] and "$1,234.56 on 2024-01-15" in sel["f4"]["text"]
    assert "f5" not in sel  # the rule on the pii_ssn column
    assert "f6" not in sel and "g7" not in sel  # contaminated
    st = r.stats
    assert st["decontam"]["total"]["contaminated"] == 2
    assert st["decontam"]["total"]["drops"] == {"contaminated": 2} and st["decontam"]["total"]["docs_out"] == 98
    assert st["select"]["sources"]["fin"]["pii"] == {"email": 1, "phone": 1, "card": 1}
    assert st["select"]["sources"]["fin"]["drops"]["contaminated"] == 1 and st["select"]["sources"]["gen"]["drops"]["contaminated"] == 1
    d = read_json(r.run_dir / "decontam.json")
    assert d["eval_sets"]["quiz"] == {"items": 2, "too_short": 0, "items_hit": 1}
    [item] = d["items_hit"]
    assert item["id"] == "q1" and item["documents"] == 2
    assert {(x["id"], x["source"], x["line"]) for x in item["docs"]} == {("f6", "fin", 7), ("g7", "gen", 8)}
    report = (r.run_dir / "report.md").read_text()
    assert "## PII" in report and "## Decontamination" in report and "| quiz | q1 |" in report


def test_decontam_flag_keeps_documents(project):
    r = run(project, "flag")
    sel = selected(r.run_dir)
    assert "f6" in sel and "g7" in sel
    assert "contaminated" not in r.stats["select"]["total"]["drops"]
    assert r.stats["decontam"]["total"]["contaminated"] == 2 and r.stats["decontam"]["total"]["drops"] == {}


def test_a_resume_that_changed_nothing_rewrites_no_decontam_file_and_keeps_the_report(project):
    """The index and items are read back on a resume (`decontam/index_key.json`), not rebuilt, so
    the report (which fingerprints data files by size and mtime) is not drawn again, and decontam.json
    and the stats come out the same as from a fresh build."""
    r = run(project, "drop")
    files = ["decontam/index.npz", "decontam/items.parquet", "decontam/index_key.json", "report.md", "report.fingerprint"]
    before = {f: (r.run_dir / f).stat().st_mtime_ns for f in files}
    built = (r.run_dir / "decontam.json").read_bytes()
    again = run(project, "drop")
    assert all(c["reused"] == c["tasks"] for c in again.reuse.values())
    assert {f: (r.run_dir / f).stat().st_mtime_ns for f in files} == before
    assert (r.run_dir / "decontam.json").read_bytes() == built and again.stats["decontam"] == r.stats["decontam"]
    assert json.loads(built)["items_hit"], "the fixture must hit an item, so that excerpts are compared"
    # a changed evaluation set is written again
    quiz = project / "evals" / "quiz.jsonl"
    saved = quiz.read_bytes()
    quiz.write_bytes(saved.replace(b"rivers and mountains", b"lakes and valleys"))
    try:
        third = run(project, "drop")
        assert (r.run_dir / "decontam/items.parquet").stat().st_mtime_ns != before["decontam/items.parquet"]
        assert third.stats["decontam"]["total"]["contaminated"] == 2
    finally:
        quiz.write_bytes(saved)


def test_pii_drop_action(project):
    (project / "p.yaml").write_text(PIPELINE.replace("ACTION", "flag").replace("action: redact", "action: drop"))
    r = run_pipeline(project / "p.yaml", out=project / "run-piidrop", workers=1, progress=False)
    sel = selected(r.run_dir)
    assert "f3" not in sel and "f4" not in sel
    assert r.stats["select"]["sources"]["fin"]["drops"]["pii"] == 2


def test_heldout_documents_as_an_evaluation_set(project):
    """`heldout: true`: training documents sharing a 13-gram with a held-out document are flagged;
    held-out documents themselves never are (they are the evaluation data)."""
    from curate.sampling import unit_hash

    fin = make_docs(60, 1, "f")
    # the tokenize split's key: source, file name, line (1-based), id
    val = unit_hash([f"fin\x1fa.jsonl\x1f{i + 1}\x1f{d['id']}" for i, d in enumerate(fin)], 5, "heldout") < 0.2
    held = [d for d, v in zip(fin, val) if v]
    train = [d for d, v in zip(fin, val) if not v]
    assert held and len(train) > 3
    passage = " ".join(held[0]["text"].split()[:20])
    train[2]["text"] += " As quoted: " + passage  # a training document quoting a held-out one
    write_jsonl(project / "in" / "fin" / "a.jsonl", fin)
    text = PIPELINE.replace("ACTION", "drop").replace("    - {name: quiz, paths: [evals/quiz.jsonl], fields: [question, answer], id_field: qid}\n", "")
    text = text.replace("  eval_sets:\n", "  heldout: true\n")
    text += "tokenizer: {vocab_size: 300, sample_bytes: 100000, val_fraction: 0.2}\n"
    (project / "p.yaml").write_text(text)
    r = run_pipeline(project / "p.yaml", out=project / "run-held", workers=1, progress=False, stages=["annotate", "decontam", "select"])
    d = read_json(r.run_dir / "decontam.json")
    hit_ids = {x["id"] for it in d["items_hit"] for x in it["docs"]}
    assert train[2]["id"] in hit_ids
    assert not hit_ids & {h["id"] for h in held}
    assert d["eval_sets"]["heldout"]["items"] >= len(held)
    assert train[2]["id"] not in selected(r.run_dir)
