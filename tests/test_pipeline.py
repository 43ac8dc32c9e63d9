"""End to end on small fixtures: outputs identical across worker counts, resume after kill -9."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from curate.errors import ConfigError, InputError
from curate.pipeline import run_pipeline
from curate.report.html import stable_bytes

from conftest import make_docs, write_jsonl

PIPELINE = """
name: t
seed: 11
sources:
  - name: fin
    role: domain
    paths: [in/fin/*]
  - name: gen
    role: general
    paths: [in/gen/*]
annotate:
  batch_size: 64
  heuristics: null
  langid: null
select:
  rules:
    - {name: short, keep: "line > 3"}
    - {name: top, mode: top_fraction, column: line, fraction: 0.8}
"""

SKIP_COMPARE = {"timings.json", "report.md", "config.fingerprint", "report.fingerprint"}


def tree_digest(run: Path) -> dict[str, str]:
    out = {}
    for p in sorted(run.rglob("*")):
        if p.is_file() and p.name not in SKIP_COMPARE:
            out[str(p.relative_to(run))] = hashlib.sha256(stable_bytes(p)).hexdigest()
    return out


@pytest.fixture
def pipeline(corpus, monkeypatch):
    monkeypatch.chdir(corpus)
    (corpus / "p.yaml").write_text(PIPELINE)
    return corpus / "p.yaml"


def test_identical_outputs_across_workers_and_reruns(pipeline, corpus):
    r1 = run_pipeline(pipeline, out=corpus / "r1", workers=1, progress=False)
    r2 = run_pipeline(pipeline, out=corpus / "r2", workers=2, progress=False)
    d1, d2 = tree_digest(r1.run_dir), tree_digest(r2.run_dir)
    assert d1 == d2 and any(k.startswith("selected/") for k in d1)
    # --workers left to curate: these small stages run in the driver, no pool (the report charts compared too)
    r0 = run_pipeline(pipeline, out=corpus / "r0", progress=False)
    assert tree_digest(r0.run_dir) == d1 and not (corpus / "r0" / "_workers").exists()
    # rerun in place: every task is skipped, nothing changes
    r3 = run_pipeline(pipeline, out=corpus / "r1", workers=2, progress=False)
    assert tree_digest(r3.run_dir) == d1 and r3.stats == r1.stats
    sel = r1.stats["select"]["total"]
    assert sel["docs_in"] == 350 and sel["docs_in"] == sel["docs_out"] + sum(sel["drops"].values())


def test_changed_config_reruns_in_place_like_a_fresh_run(pipeline, corpus):
    run_pipeline(pipeline, out=corpus / "r", workers=1, progress=False)
    pipeline.write_text(PIPELINE.replace("seed: 11", "seed: 12"))
    again = run_pipeline(pipeline, out=corpus / "r", workers=1, progress=False)  # no --fresh needed
    fresh = run_pipeline(pipeline, out=corpus / "f", workers=1, progress=False)
    assert tree_digest(again.run_dir) == tree_digest(fresh.run_dir) and again.stats == fresh.stats


def test_quarantine_counts_and_strict(pipeline, corpus):
    write_jsonl(corpus / "in" / "gen" / "d.jsonl", make_docs(5, 9, "gd"))
    with open(corpus / "in" / "gen" / "d.jsonl", "ab") as fh:
        fh.write(b'{"id": "broken"\n{"id": "notext"}\n')
    r = run_pipeline(pipeline, out=corpus / "r", workers=1, progress=False)
    a = r.stats["annotate"]["sources"]["gen"]
    assert a["drops"] == {"malformed JSON": 1, "missing text field `text`": 1}
    assert a["docs_in"] == 157 and a["docs_out"] == 155
    q = list((r.run_dir / "quarantine").rglob("*.jsonl"))
    assert len(q) == 1 and b'"line":7' in q[0].read_bytes()
    with pytest.raises(InputError, match=r"d.jsonl:6"):
        run_pipeline(pipeline, out=corpus / "s", workers=1, progress=False, strict=True)


def test_output_inside_input_refused(pipeline, corpus):
    with pytest.raises(ConfigError, match="inside the run directory"):
        run_pipeline(pipeline, out=corpus / "in", workers=1, progress=False)


def test_resume_after_kill_is_identical(pipeline, corpus):
    # many small files so the kill lands between tasks or inside one
    for i in range(8):
        write_jsonl(corpus / "in" / "gen" / f"x{i}.jsonl", make_docs(400, 100 + i, f"x{i}_"))
    clean = run_pipeline(pipeline, out=corpus / "clean", workers=1, progress=False)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "curate.cli", "run", str(pipeline), "--out", str(corpus / "killed"), "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=corpus, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = corpus / "killed" / "_markers" / "annotate"
    deadline = time.time() + 60
    while time.time() < deadline and (not markers.exists() or len(list(markers.rglob("*.json"))) < 3):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {str(p): p.stat().st_mtime_ns for p in markers.rglob("*.json")}
    assert 0 < len(done_before) < 11
    # every Parquet file under a final name is complete
    for p in (corpus / "killed" / "annotated").rglob("*.parquet"):
        pq.read_table(p)
    resumed = run_pipeline(pipeline, out=corpus / "killed", workers=2, progress=False)
    assert tree_digest(resumed.run_dir) == tree_digest(clean.run_dir)
    # finished tasks were not redone
    assert {str(p): p.stat().st_mtime_ns for p in markers.rglob("*.json") if str(p) in done_before} == done_before
    assert not list((corpus / "killed").rglob("*.tmp-*"))


def test_large_files_split_into_parts_lose_nothing(pipeline, corpus):
    """annotate.split_mb deals a file's record blocks to several tasks: same documents, same per-file stats."""
    whole = run_pipeline(pipeline, out=corpus / "whole", workers=1, progress=False)
    pipeline.write_text(PIPELINE.replace("  batch_size: 64\n", "  batch_size: 16\n  split_mb: 0.002\n"))
    split1 = run_pipeline(pipeline, out=corpus / "split1", workers=1, progress=False)
    split2 = run_pipeline(pipeline, out=corpus / "split2", workers=2, progress=False)
    assert tree_digest(split1.run_dir) == tree_digest(split2.run_dir)
    parts = list((split1.run_dir / "annotated" / "fin").glob("*@p0*.parquet"))
    assert len(parts) >= 4  # both fin files were split
    ids = lambda r: sorted(pq.read_table(p, columns=["id"]).column("id").to_pylist() for p in (r.run_dir / "annotated").rglob("*.parquet"))  # noqa: E731
    flat = lambda xs: sorted(i for x in xs for i in x)  # noqa: E731
    assert flat(ids(whole)) == flat(ids(split1))
    files = lambda r: {f["file"]: (f["docs_in"], f["docs_out"]) for f in r.stats["annotate"]["files"]}  # noqa: E731
    assert files(whole) == files(split1)


def test_a_failed_task_lets_running_tasks_finish(tmp_path, monkeypatch):
    """With a pool, one task failing must not throw away the work of tasks already running: they
    finish and write their markers, so the rerun after the fix does not redo them."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "in" / "big.jsonl", make_docs(3000, 5, "big"))
    (tmp_path / "in" / "0bad.jsonl").write_bytes(b'{"id": "x", "text": \n')  # fails at once under --strict
    (tmp_path / "p.yaml").write_text("sources:\n  - {name: s, paths: [in/*.jsonl]}\nannotate: {heuristics: {}, langid: null}\n")
    with pytest.raises(InputError, match="0bad.jsonl:1"):
        run_pipeline(tmp_path / "p.yaml", out=tmp_path / "r", workers=2, progress=False, strict=True)
    markers = [p.relative_to(tmp_path / "r" / "_markers" / "annotate").as_posix() for p in (tmp_path / "r" / "_markers" / "annotate").rglob("*.json")]
    assert markers == ["s/big.jsonl.json"]


ANYWHERE = """
name: t
seed: 5
sources:
  - {name: fin, role: domain, paths: ["../data/fin/*"]}
  - {name: gen, role: general, paths: ["../data/gen/*"]}
annotate: {batch_size: 64, langid: null}
select:
  rules:
    - {name: lucky, mode: pareto, column: top_2gram_char_fraction, alpha: 0.5}
tokenizer: {vocab_size: 300, min_frequency: 1, val_fraction: 0.2, sample_bytes: 200000}
mix: {target: {domain: 0.5, general: 0.5}, total_tokens: all}
"""


def test_same_outputs_wherever_the_inputs_are_stored(corpus, tmp_path):
    """Inputs outside the pipeline's folder are shown by absolute path; the held-out split, Pareto draws
    and every output must still not depend on where the tree is checked out."""
    runs = []
    for base in (tmp_path / "a", tmp_path / "b" / "deeper" / "still"):
        for src in ("fin", "gen"):
            for f in (corpus / "in" / src).iterdir():
                (base / "data" / src).mkdir(parents=True, exist_ok=True)
                (base / "data" / src / f.name).write_bytes(f.read_bytes())
        (base / "pipe").mkdir()
        (base / "pipe" / "p.yaml").write_text(ANYWHERE)
        runs.append(run_pipeline(base / "pipe" / "p.yaml", out=base / "run", workers=1, progress=False))
    a, b = runs
    assert a.stats["select"]["total"]["drops"].get("lucky", 0) > 0  # the Pareto rule drew something
    tok = a.stats["tokenize"]["total"]
    assert 0 < tok["docs_out"]
    bins = sorted(p.relative_to(a.run_dir) for p in a.run_dir.rglob("*.bin"))
    assert bins and any("heldout" in str(p) for p in bins)
    for rel in bins + [p.relative_to(a.run_dir) for p in a.run_dir.rglob("*.idx")]:
        assert (a.run_dir / rel).read_bytes() == (b.run_dir / rel).read_bytes(), rel


def test_a_small_run_with_tokenize_starts_no_worker_pool(corpus, monkeypatch):
    """--workers left to curate: every stage of a small run, the token merge included (its tasks weigh
    the bytes they copy), runs in this process; starting a pool costs more than such a stage."""
    from curate.exec.local import LocalExecutor

    started = []
    real_pool = LocalExecutor.pool
    monkeypatch.setattr(LocalExecutor, "pool", lambda self: started.append(1) or real_pool(self))
    monkeypatch.chdir(corpus)
    (corpus / "p.yaml").write_text(PIPELINE + "stages: [annotate, select, tokenize]\n"
                                   "tokenizer: {vocab_size: 300, sample_bytes: 100000, val_fraction: 0.1}\n")
    r = run_pipeline(corpus / "p.yaml", out=corpus / "tok", progress=False)
    assert r.stats["tokenize"]["total"]["tokens"] > 0 and not started


def test_the_pre_run_column_check_is_kept_until_a_signal_changes(corpus, monkeypatch):
    """The pre-run check learns the annotated columns by loading every signal; a rerun whose signals
    (config, seed, files) are unchanged takes them from RUN/_markers/columns.json, and a rule naming a
    missing column still fails before anything runs."""
    import curate.stages.annotate as annotate

    built = []
    real = annotate.build_signals
    monkeypatch.setattr(annotate, "build_signals", lambda *a, **k: built.append(1) or real(*a, **k))
    monkeypatch.chdir(corpus)
    lexicon = corpus / "words.txt"
    lexicon.write_text("line\nshort\n")
    text = PIPELINE.replace("  langid: null\n", "  langid: null\n  keywords: [{name: w, lexicon: words.txt}]\n")
    (corpus / "p.yaml").write_text(text)
    run_pipeline(corpus / "p.yaml", out=corpus / "r", workers=1, progress=False)
    first = len(built)
    assert first >= 1 and (corpus / "r" / "_markers" / "columns.json").is_file()
    run_pipeline(corpus / "p.yaml", out=corpus / "r", workers=1, progress=False)  # nothing changed: no model loaded
    assert len(built) == first
    lexicon.write_text("line\nshort\nnew\n")  # a signal's file changed: checked afresh
    run_pipeline(corpus / "p.yaml", out=corpus / "r", workers=1, progress=False)
    assert len(built) > first
    seen = len(built)
    (corpus / "p.yaml").write_text(text.replace('keep: "line > 3"', 'keep: "line > 3 and nope > 3"'))
    with pytest.raises(ConfigError, match="nope"):  # checked against the kept columns
        run_pipeline(corpus / "p.yaml", out=corpus / "r", workers=1, progress=False)
    assert len(built) == seen
    (corpus / "p.yaml").write_text(text)
    (corpus / "r" / "_markers" / "columns.json").write_text("{not json")  # unreadable: signals loaded, file rewritten
    run_pipeline(corpus / "p.yaml", out=corpus / "r", workers=1, progress=False)
    assert len(built) > seen and orjson.loads((corpus / "r" / "_markers" / "columns.json").read_bytes())["columns"]
