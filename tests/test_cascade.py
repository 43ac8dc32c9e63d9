"""The opt-in annotate cascade: same selection, tokens and shards as full annotation, less work."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from curate.pipeline import run_pipeline

from conftest import make_docs, write_jsonl

FRENCH = ("Le marché des changes reste calme ce matin et la banque centrale prépare sa prochaine décision "
          "sur les taux, tandis que les ménages attendent une baisse de l'inflation dans les mois qui viennent.")
FINANCE = ("The bank raised its interest rate guidance after quarterly revenue growth; credit risk, liquidity "
           "and inflation were discussed by the company's board together with the dividend policy.")

PIPELINE = """
name: cascade
seed: 3
sources:
  - {name: fin, role: domain, paths: ["in/fin/*"]}
  - {name: gen, role: general, paths: ["in/gen/*"]}
annotate:
  batch_size: 40
  cascade: CASCADE
  keywords: [{name: finance}]
  dedup_keys: {}
dedup: {exact: true, near: false}
select:
  rules:
    - {name: too_short, keep: "word_count >= 25"}
    - {name: not_english, keep: "lang == 'en' and lang_score >= 0.5"}
    - {name: few_terms, keep: "kw_finance_per_1k >= 100", roles: [domain]}
    - {name: lucky, mode: pareto, column: top_2gram_char_fraction, alpha: 0.3}
    - {name: top, mode: top_fraction, column: mean_word_length, fraction: 0.9}
    - {name: stop_words, keep: "stop_word_distinct >= 2"}
tokenizer: {vocab_size: 300, min_frequency: 1, val_fraction: 0.1, sample_bytes: 200000}
mix: {target: {domain: 0.5, general: 0.5}, total_tokens: all}
"""


def _docs(n: int, seed: int, prefix: str) -> list[dict]:
    r = random.Random(seed)
    out = make_docs(n, seed, prefix)
    for d in out:
        pick = r.random()
        if pick < 0.15:
            d["text"] = " ".join(d["text"].split()[:8])  # too short
        elif pick < 0.3:
            d["text"] = FRENCH + " " + FRENCH
        elif pick < 0.55:
            d["text"] = FINANCE + " " + d["text"]
    out.append(dict(out[5], id=f"{prefix}-dup"))  # an exact duplicate
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "in" / "fin" / "a.jsonl.gz", _docs(150, 1, "fa"), gz=True)
    write_jsonl(tmp_path / "in" / "gen" / "b.jsonl", _docs(150, 2, "gb"))
    return tmp_path


def _run(project: Path, cascade: bool, out: str):
    (project / f"{out}.yaml").write_text(PIPELINE.replace("CASCADE", str(cascade).lower()))
    return run_pipeline(project / f"{out}.yaml", out=project / out, workers=1, progress=False)


def test_cascade_gives_the_same_bytes_with_less_work(project):
    full, casc = _run(project, False, "full"), _run(project, True, "casc")
    # the same selection, drop reasons, tokens and shards
    assert casc.stats["select"] == full.stats["select"]
    assert casc.stats["tokenize"] == full.stats["tokenize"] and casc.stats["dedup"] == full.stats["dedup"]
    for sub in ("selected", "tokens", "shards"):
        files = sorted(p.relative_to(full.run_dir) for p in (full.run_dir / sub).rglob("*") if p.is_file())
        assert files, sub
        for rel in files:
            assert (casc.run_dir / rel).read_bytes() == (full.run_dir / rel).read_bytes(), rel
    drops = full.stats["select"]["total"]["drops"]
    assert drops["too_short"] and drops["not_english"] and drops["few_terms"] and drops["exact_duplicate"]
    # less work, recorded: langid skipped the short documents, keywords also the French ones
    skipped = casc.stats["annotate"]["total"]["cascade_skipped"]
    assert skipped["langid"] >= drops["too_short"]
    assert skipped["keywords:finance"] > skipped["langid"]
    assert "dedup_keys" not in skipped  # the dedup stage reads dedup keys of every document
    assert "cascade_skipped" not in full.stats["annotate"]["total"]


def test_skipped_columns_are_null_and_the_stopping_rule_named(project):
    casc = _run(project, True, "casc")
    t = pa_concat([pq.read_table(p) for p in sorted((casc.run_dir / "annotated").rglob("*.parquet"))])
    stop = t.column("cascade_stop")
    short = pc.equal(stop, "too_short")
    assert pc.sum(short).as_py() > 0
    assert pc.all(pc.is_null(pc.filter(t.column("lang"), short))).as_py()
    assert pc.all(pc.is_valid(pc.filter(t.column("word_count"), short))).as_py()  # computed before the rule
    assert pc.all(pc.is_valid(t.column("dedup_hash"))).as_py()
    french = pc.equal(stop, "not_english")
    assert pc.sum(french).as_py() > 0
    assert pc.all(pc.is_valid(pc.filter(t.column("lang"), french))).as_py()
    assert pc.all(pc.is_null(pc.filter(t.column("kw_finance_per_1k"), french))).as_py()
    # the top_fraction rule ends the cascade: nothing after the pareto rule stops a document
    assert set(pc.unique(stop).to_pylist()) <= {None, "too_short", "not_english", "few_terms", "lucky"}
    assert "cascade_stop" not in pq.read_schema(next((casc.run_dir / "selected").rglob("*.parquet"))).names


def test_changing_a_rule_reannotates_under_the_cascade(project):
    _run(project, True, "casc")
    text = (project / "casc.yaml").read_text().replace("kw_finance_per_1k >= 100", "kw_finance_per_1k >= 70")
    (project / "casc.yaml").write_text(text)
    again = run_pipeline(project / "casc.yaml", out=project / "casc", workers=1, progress=False)
    (project / "fresh.yaml").write_text(text)
    fresh = run_pipeline(project / "fresh.yaml", out=project / "fresh", workers=1, progress=False)
    assert again.stats["select"] == fresh.stats["select"]
    for p in sorted((fresh.run_dir / "shards").rglob("*.bin")):
        assert (again.run_dir / p.relative_to(fresh.run_dir)).read_bytes() == p.read_bytes()


def pa_concat(tables):
    import pyarrow as pa

    return pa.concat_tables(tables)
