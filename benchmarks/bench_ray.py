"""Ray executor vs the local process pool on the same pipeline: wall times, ratio, identical outputs.

    python benchmarks/bench_ray.py --corpora CORPORA [--pipeline pipelines/finance-51-49.yaml]
                                   [--workers 2] [--vocab-size 8000] [--sample-bytes 20000000]

Runs the whole pipeline (annotate with heuristics + langid + keywords + dedup keys, dedup, select,
tokenize, mix) twice from scratch: `--executor local --workers N` and `--executor ray` on a local
Ray cluster of N CPUs (its start-up is included in the Ray wall time, and also shown apart).
Prints both wall times, their ratio (bar: Ray <= 1.3x local), and whether the shards and
manifest.json are byte-identical (sha256). Not part of pytest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

from curate.config import load_config
from curate.pipeline import run_pipeline


# source of pipelines/finance-51-49.yaml -> its files in the benchmark corpora folder
FILES = {
    "sec10k": ["gh_fin_sec10k_risk_factors.jsonl.gz"],
    "fomc": ["gh_fin_fomc_minutes.jsonl.gz"],
    "books": ["gh_gen_brown.jsonl.gz", "gh_gen_gutenberg_nltk.jsonl.gz"],
    "speeches": ["gh_gen_us_speeches.jsonl.gz"],
    "web": ["gh_hq_web_article_body.jsonl.gz", "gh_lq_web_fullpage_text.jsonl.gz", "gh_lq_nltk_webtext.jsonl.gz"],
}


def outputs_sha256(run: Path) -> dict[str, str]:
    files = sorted(run.glob("shards/*.bin")) + sorted(run.glob("shards/*.idx")) + [run / "manifest.json"]
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", required=True, help="folder holding the benchmark corpora (see FILES)")
    ap.add_argument("--pipeline", default="pipelines/finance-51-49.yaml")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--vocab-size", type=int, default=8000, help="smaller than the shipped 32k to keep the run short")
    ap.add_argument("--sample-bytes", type=int, default=20_000_000, help="tokenizer training sample")
    ap.add_argument("--out", default=None, help="where the two run directories go (default: a temp folder)")
    args = ap.parse_args()

    cfg = load_config(args.pipeline, check_paths=False)
    for src in cfg.sources:  # the pipeline's paths are placeholders: point each source at its corpora
        src.paths = [str(Path(args.corpora) / name) for name in FILES[src.name]]
    cfg.tokenizer.vocab_size = args.vocab_size
    cfg.tokenizer.sample_bytes = args.sample_bytes
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_ray_"))

    t0 = time.perf_counter()
    local = run_pipeline(cfg, out=out / "local", executor="local", workers=args.workers, progress=False, fresh=True)
    t_local = time.perf_counter() - t0

    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}})
    t_start = time.perf_counter() - t0
    on_ray = run_pipeline(cfg, out=out / "ray", executor="ray", workers=args.workers, progress=False, fresh=True)
    t_ray = time.perf_counter() - t0
    ray.shutdown()

    a, b = outputs_sha256(local.run_dir), outputs_sha256(on_ray.run_dir)
    stages = {name: json.loads((run.run_dir / "timings.json").read_text()) for name, run in (("local", local), ("ray", on_ray))}
    print(f"input: {local.stats['annotate']['total']['docs_in']:,} docs, {local.stats['annotate']['total']['bytes'] / 1e6:.1f} MB text; "
          f"{local.stats['mix']['total']['tokens']:,} mixed tokens, {len(a) - 1} shard files")
    print(f"local ({args.workers} workers): {t_local:.1f} s   stages {stages['local']}")
    print(f"ray   ({args.workers} CPUs):    {t_ray:.1f} s   (cluster start {t_start:.1f} s)   stages {stages['ray']}")
    print(f"ratio ray/local: {t_ray / t_local:.2f} (bar <= 1.30); without the cluster start: {(t_ray - t_start) / t_local:.2f}")
    print(f"identical shards + manifest (sha256): {a == b}  [manifest {a['manifest.json'][:12]}]")


if __name__ == "__main__":
    main()
