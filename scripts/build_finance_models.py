"""Build the finance models that ship in classifiers/ from real public text.

    python scripts/build_finance_models.py --corpora DIR [--out classifiers]

DIR must hold (JSONL.gz, one {"text": ...} per line):
  gh_fin_sec10k_risk_factors.jsonl.gz   10-K Item 1A risk factors (SEC EDGAR, US public record)
  gh_fin_fomc_minutes.jsonl.gz          FOMC minutes (US government work, public record)
  gh_gen_gutenberg_nltk.jsonl.gz        Project Gutenberg books (public domain)
  gh_gen_us_speeches.jsonl.gz           US presidential speeches (public domain)

Writes
  finance_domain.ftz/.json/.md   the seed classifier (classifiers/finance_domain.yaml)
  finance_target.npz             DSIR target model: hashed unigram+bigram counts of the finance text
  finance_anchor.jsonl.gz        a seeded sample of finance documents (first 2,000 characters each):
                                 the self-training anchor
  finance_adapt.md               provenance card for the two files above
Nothing from research-only corpora is read. Deterministic: same inputs give the same files.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.adapt.dsir import NgramModel  # noqa: E402
from curate.classify.card import render_markdown  # noqa: E402
from curate.io.texts import read_texts  # noqa: E402
from curate.classify.recipe import validate_recipe  # noqa: E402
from curate.classify.train import train  # noqa: E402
from curate.io.atomic import sha256_file, write_json, write_text  # noqa: E402

FINANCE = {"sec10k_risk_factors": "gh_fin_sec10k_risk_factors.jsonl.gz", "fomc_minutes": "gh_fin_fomc_minutes.jsonl.gz"}
LICENCES = {"sec10k_risk_factors": "US public record (SEC EDGAR filings)", "fomc_minutes": "US government work (public record)",
            "gutenberg": "public domain (Project Gutenberg)", "us_speeches": "public domain (US presidential speeches)"}
ANCHOR_PER_SOURCE = 500
ANCHOR_CHARS = 2000


def _basename_card(meta: dict) -> dict:
    """Card paths as file names only (the build machine's folders mean nothing to a user)."""
    for label in ("positive", "negative"):
        d = meta["card"]["data"][label]
        d["files_sha256"] = {Path(k).name: v for k, v in d["files_sha256"].items()}
    meta["card"]["recipe"] = "classifiers/finance_domain.yaml"
    meta["card"]["licences"] = LICENCES
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "classifiers")
    args = ap.parse_args(argv)
    corpora, out = args.corpora.resolve(), args.out.resolve()

    recipe = validate_recipe(yaml.safe_load((ROOT / "classifiers" / "finance_domain.yaml").read_text()))
    res = train(recipe, corpora, out=out / "finance_domain", recipe_label="classifiers/finance_domain.yaml")
    meta = _basename_card(res.meta)
    write_json(res.model_path.with_suffix(".json"), meta)
    write_text(res.model_path.with_suffix(".md"), render_markdown(meta))
    print(f"{res.model_path}: recommended threshold {meta['recommended_threshold']:.4g}")

    texts, files = [], {}
    anchor = []
    rng = np.random.default_rng(recipe.seed)
    for name, fname in FINANCE.items():
        path = corpora / fname
        arr = pa.concat_arrays([a.cast(pa.large_string()) for a in read_texts(path)])
        texts.append(arr)
        files[name] = {"file": fname, "docs": len(arr), "sha256": sha256_file(path), "licence": LICENCES[name]}
        pick = np.sort(rng.choice(len(arr), min(ANCHOR_PER_SOURCE, len(arr)), replace=False))
        anchor.append(pc.utf8_slice_codeunits(arr.take(pa.array(pick)), 0, ANCHOR_CHARS))
    target = NgramModel.fit(pa.concat_arrays(texts), meta={"sources": files})
    target_path = target.save(out / "finance_target.npz")
    anchor_path = out / "finance_anchor.jsonl.gz"
    with gzip.GzipFile(anchor_path, "wb", compresslevel=9, mtime=0) as fh:
        for t in pa.concat_arrays(anchor).to_pylist():
            fh.write(orjson.dumps({"text": t}) + b"\n")
    card = [
        "# Finance adaptation files (DSIR target and self-training anchor)",
        "",
        "Built by `python scripts/build_finance_models.py --corpora DIR` from real public text only.",
        "",
        "| source | file | documents | sha256 | licence |",
        "|---|---|---:|---|---|",
        *(f"| {n} | {f['file']} | {f['docs']:,} | `{f['sha256'][:16]}…` | {f['licence']} |" for n, f in files.items()),
        "",
        f"- `finance_target.npz` ({target_path.stat().st_size:,} bytes, sha256 `{sha256_file(target_path)}`): hashed "
        f"word unigram+bigram counts ({target.cfg.n_features:,} buckets, stop words removed, first {target.cfg.prefix_chars:,} "
        f"characters of each of {target.docs:,} documents). The DSIR target distribution; it holds counts, not text.",
        f"- `finance_anchor.jsonl.gz` ({anchor_path.stat().st_size:,} bytes, sha256 `{sha256_file(anchor_path)}`): "
        f"{ANCHOR_PER_SOURCE} documents per source, seeded sample (seed {recipe.seed}), first {ANCHOR_CHARS:,} characters each. "
        "Self-training keeps them as positives in every round so the model stays on finance.",
        "",
        "Both describe 10-K risk factors and FOMC minutes only: two genres of finance text. On a pool, the `adapt` "
        "stage learns the pool's own finance genres from them (docs/classifiers.md).",
        "",
    ]
    write_text(out / "finance_adapt.md", "\n".join(card))
    print(f"{target_path}, {anchor_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
