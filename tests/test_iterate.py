"""The second iteration on a run directory never needs --fresh: per-task fingerprints redo exactly
what a change affects, and what they redo equals a fresh run with the new config."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import make_docs, write_jsonl
from curate.errors import ConfigError, InputError
from curate.pipeline import run_pipeline

PIPELINE = """
name: it
seed: 5
sources:
  - {name: fin, role: domain, paths: ["in/fin/*.jsonl"]}
  - {name: gen, role: general, paths: ["in/gen/*.jsonl"]}
annotate:
  batch_size: 64
  langid: null
  keywords:
    - {name: money, lexicon: lex/money.txt}
KEYWORDS
select:
  rules:
    - {name: short, keep: "word_count >= RULE"}
tokenizer: {vocab_size: 300, min_frequency: 1, val_fraction: 0.1, batch_docs: 64, sample_bytes: 200000}
mix: {shard_tokens: 20000, on_shortfall: warn}
"""


def write(root: Path, rule: int = 5, keywords: str = "") -> Path:
    p = root / "p.yaml"
    p.write_text(PIPELINE.replace("RULE", str(rule)).replace("KEYWORDS", keywords))
    return p


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i in range(2):
        write_jsonl(tmp_path / "in" / "fin" / f"f{i}.jsonl", make_docs(60, 10 + i, f"f{i}_"))
        write_jsonl(tmp_path / "in" / "gen" / f"g{i}.jsonl", make_docs(60, 20 + i, f"g{i}_"))
    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "money.txt").write_text("bank\nmarket\nprice\n")
    (tmp_path / "lex" / "risk.txt").write_text("risk\nloss\n")
    return tmp_path


def mtimes(run: Path, folder: str) -> dict[str, int]:
    return {str(p.relative_to(run)): p.stat().st_mtime_ns for p in (run / folder).rglob("*") if p.is_file()}


def digest(run: Path, folder: str) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted((run / folder).rglob("*")) if p.is_file()}


def test_select_only_change_reuses_annotate_and_equals_a_fresh_run(corpus):
    run = corpus / "r"
    first = run_pipeline(write(corpus, rule=5), out=run, workers=1, progress=False)
    annotated = mtimes(run, "annotated")
    markers = mtimes(run, "_markers/annotate")
    second = run_pipeline(write(corpus, rule=60), out=run, workers=1, progress=False)  # no --fresh
    assert mtimes(run, "annotated") == annotated and mtimes(run, "_markers/annotate") == markers  # untouched
    assert second.reuse["annotate"]["reused"] == 4 and second.reuse["select"]["changed"] == 4
    assert second.stats["select"]["total"]["docs_out"] < first.stats["select"]["total"]["docs_out"]
    fresh = run_pipeline(write(corpus, rule=60), out=corpus / "fresh", workers=1, progress=False)
    for folder in ("selected", "tokens", "shards"):
        assert digest(run, folder) == digest(fresh.run_dir, folder), folder
    assert second.stats == fresh.stats
    timings = json.loads((run / "timings.json").read_text())
    assert "annotate" in timings["reused_stages"] and "select" not in timings["reused_stages"]


def test_adding_a_signal_computes_only_its_columns(corpus):
    run = corpus / "r"
    run_pipeline(write(corpus), out=run, workers=1, progress=False)
    before = {p: pq.read_table(run / p) for p in mtimes(run, "annotated")}
    # lexicon files named in the config are fingerprinted by content
    risk = "    - {name: risk, lexicon: lex/risk.txt}\n"
    again = run_pipeline(write(corpus, keywords=risk), out=run, workers=1, progress=False)
    fresh = run_pipeline(write(corpus, keywords=risk), out=corpus / "fresh", workers=1, progress=False)
    assert again.reuse["annotate"]["changed"] == 4
    for p, old in before.items():
        new = pq.read_table(run / p)
        assert new.equals(pq.read_table(fresh.run_dir / p))  # same table as a fresh annotate
        assert "kw_risk_hits" in new.column_names
        for c in old.column_names:  # the stored columns were carried over, not recomputed
            assert new.column(c).equals(old.column(c))
    marker = json.loads(next((run / "_markers" / "annotate").rglob("*.json")).read_text())
    assert set(marker["_signals"]) == {"heuristics", "keywords:money", "keywords:risk"}
    assert again.stats == fresh.stats
    # editing one lexicon invalidates exactly the columns built from it
    (corpus / "lex" / "risk.txt").write_text("risk\nloss\nbank\n")
    third = run_pipeline(write(corpus, keywords=risk), out=run, workers=1, progress=False)
    assert third.reuse["annotate"]["changed"] == 4
    for p, old in before.items():
        new = pq.read_table(run / p)
        for c in old.column_names:
            assert new.column(c).equals(old.column(c))
    refreshed = run_pipeline(write(corpus, keywords=risk), out=corpus / "fresh2", workers=1, progress=False)
    assert digest(run, "annotated") == digest(refreshed.run_dir, "annotated")


def test_changed_input_reruns_only_its_tasks(corpus):
    run = corpus / "r"
    run_pipeline(write(corpus), out=run, workers=1, progress=False)
    write_jsonl(corpus / "in" / "gen" / "g1.jsonl", make_docs(70, 99, "g1b_"))
    again = run_pipeline(write(corpus), out=run, workers=1, progress=False)
    assert again.reuse["annotate"] == {"tasks": 4, "reused": 3, "changed": 1}
    assert again.stats["annotate"]["sources"]["gen"]["docs_in"] == 130
    (corpus / "in" / "gen" / "g1.jsonl").unlink()
    third = run_pipeline(write(corpus), out=run, workers=1, progress=False)
    assert third.reuse["annotate"] == {"tasks": 3, "reused": 3, "changed": 0}
    assert not list((run / "annotated").rglob("g1*")) and not list((run / "selected").rglob("g1*"))  # no orphans left
    fresh = run_pipeline(write(corpus), out=corpus / "fresh", workers=1, progress=False)
    assert third.stats == fresh.stats and digest(run, "shards") == digest(fresh.run_dir, "shards")


def test_broken_select_expression_fails_before_anything_is_written(corpus):
    p = write(corpus)
    p.write_text(p.read_text().replace('keep: "word_count >= 5"', 'keep: "word_count >= 5 and kw_mony_hits > 0"'))
    with pytest.raises(ConfigError, match=r"p.yaml:\d+: select.rules\[0\] rule `short`.*unknown column `kw_mony_hits`"):
        run_pipeline(p, out=corpus / "r", workers=1, progress=False)
    assert not (corpus / "r").exists()
    p.write_text(p.read_text().replace('kw_mony_hits > 0"', 'kw_money_hits >"'))
    with pytest.raises(ConfigError, match="rule `short`.*cannot parse"):
        run_pipeline(p, out=corpus / "r", workers=1, progress=False)
    assert not (corpus / "r").exists()


def test_unknown_format_fails_before_anything_is_written_and_the_fix_is_accepted(corpus):
    (corpus / "in" / "fin" / "notes.md").write_text("# not a known format\n")
    p = write(corpus)
    p.write_text(p.read_text().replace('"in/fin/*.jsonl"', '"in/fin/*"'))
    with pytest.raises(InputError, match="cannot tell the format of notes.md"):
        run_pipeline(p, out=corpus / "r", workers=1, progress=False)
    assert not (corpus / "r").exists()
    p.write_text(p.read_text().replace('"in/fin/*"', '"in/fin/*.jsonl"'))
    run_pipeline(p, out=corpus / "r", workers=1, progress=False)  # the fixed YAML runs, no --fresh


def test_failure_writes_stats_and_names_the_root_cause(corpus):
    p = write(corpus)
    p.write_text(p.read_text().replace('paths: ["in/fin/*.jsonl"]}', 'paths: ["in/fin/*.jsonl"], text_field: body}'))
    with pytest.raises(Exception) as err:
        run_pipeline(p, out=corpus / "r", workers=1, progress=False)
    assert "fin: 120/120 records quarantined: missing text field `body`" in str(err.value)
    stats = json.loads((corpus / "r" / "stats.json").read_text())
    assert stats["failed"]["root_causes"] == ["fin: 120/120 records quarantined: missing text field `body` (sources[].text_field is `body`)"]
    assert stats["stages"]["annotate"]["sources"]["fin"]["docs_out"] == 0


def test_relative_paths_resolve_from_the_yaml_folder_and_errors_print_the_resolved_path(corpus, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("cwd")
    (corpus / "conf").mkdir()
    p = corpus / "conf" / "p.yaml"
    p.write_text(write(corpus).read_text().replace('"in/', '"../in/').replace("lex/money.txt", "../lex/money.txt"))
    import os

    os.chdir(elsewhere)  # any current directory: paths in the YAML are relative to its folder
    r = run_pipeline(p, out="r", workers=1, progress=False)
    assert r.run_dir == elsewhere / "r"  # --out is a command-line path: from the current directory
    assert r.stats["annotate"]["total"]["docs_in"] == 240
    p.write_text(p.read_text().replace('"../in/gen/*.jsonl"', '"in/gen/*.jsonl"'))
    with pytest.raises(ConfigError) as err:
        run_pipeline(p, out="r", workers=1, progress=False)
    assert f"looked for ['{corpus / 'conf' / 'in' / 'gen'}/*.jsonl']" in str(err.value)
    assert "relative paths are relative to the pipeline YAML's folder" in str(err.value)


def test_a_marker_whose_output_vanished_is_redone(corpus):
    """What a concurrent clean-up used to leave (a marker, no Parquet) is repaired by a rerun."""
    run = corpus / "r"
    first = run_pipeline(write(corpus), out=run, workers=1, progress=False)
    victim = next((run / "annotated" / "gen").glob("*.parquet"))
    victim.unlink()
    again = run_pipeline(write(corpus), out=run, workers=1, progress=False)
    assert victim.exists() and again.reuse["annotate"]["reused"] == 3 and again.stats == first.stats
