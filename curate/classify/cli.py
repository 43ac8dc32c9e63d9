"""`curate classifier train|eval|info`: thin wrappers over curate.classify."""

from __future__ import annotations

import click
import orjson

DEFAULT_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@click.group()
def classifier():
    """Train, evaluate and inspect quality/domain classifiers."""


@classifier.command("train")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", default=None, help="model path stem (default: the recipe's `output`, beside the recipe)")
def train_cmd(recipe: str, out: str | None) -> None:
    """Train the classifier a RECIPE.yaml describes; writes the model, <stem>.json and <stem>.md."""
    import time

    from curate.classify.train import train_recipe

    t0 = time.perf_counter()
    res = train_recipe(recipe, out, progress=lambda msg: click.echo(f"[{time.perf_counter() - t0:6.1f}s] {msg}", err=True))
    held = res.meta["card"]["heldout"]
    rec = held["recommended"]
    click.echo(f"model  {res.model_path} ({res.meta['bytes']:,} bytes, sha256 {res.meta['sha256'][:16]}…)")
    click.echo(f"card   {res.model_path.with_suffix('.md')}")
    click.echo(f"held-out: {held['n_pos']} pos / {held['n_neg']} neg, ROC-AUC {held['roc_auc']:.4f}")
    click.echo(f"recommended threshold {res.meta['recommended_threshold']:.4g}: P {rec['precision']:.4f} R {rec['recall']:.4f} F1 {rec['f1']:.4f}")


@classifier.command("eval")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--pos", multiple=True, required=True, help="positive files or globs (repeatable)")
@click.option("--neg", multiple=True, required=True, help="negative files or globs (repeatable)")
@click.option("--threshold", "-t", "thresholds", multiple=True, type=click.FloatRange(0, 1), help="thresholds to report (repeatable)")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="folder for eval.json, the PR curve and the score histogram PNGs")
@click.option("--text-field", default="text", show_default=True)
@click.option("--max-docs", type=click.IntRange(1), default=None, help="score at most N documents per file")
def eval_cmd(model, pos, neg, thresholds, out, text_field, max_docs) -> None:
    """Precision/recall/F1 at thresholds, ROC-AUC, PR curve, and one score histogram figure with a curve per
    --pos/--neg argument (a glob is one source)."""
    from curate.classify.evaluate import evaluate_files, threshold_table

    res = evaluate_files(model, list(pos), list(neg), sorted(set(thresholds or DEFAULT_THRESHOLDS)), out, text_field, max_docs)
    click.echo(f"{res['n_pos']} positives, {res['n_neg']} negatives; ROC-AUC {res['roc_auc']:.4f}")
    click.echo(threshold_table(res))
    if "recommended" in res:
        r = res["recommended"]
        click.echo(f"model's recommended threshold {r['threshold']:.4g}: P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f}")
    for name, src in res["sources"].items():
        score = f"mean score {src['mean_score']:.4f}" if src["n"] else "no documents"
        click.echo(f"  {src['label']:8s} {name}: n={src['n']} {score}" + (f" ({len(src['files'])} files)" if len(src["files"]) > 1 else ""))
    for w in res["warnings"]:
        click.echo(f"warning: {w}", err=True)
    if out:
        click.echo(f"wrote {res['pr_curve_png']}, {res['histogram_png']}")


@classifier.command("info")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print the whole sidecar (model card included)")
def info_cmd(model: str, as_json: bool) -> None:
    """Verify a model file (sidecar, sha256, kind) and summarize its card."""
    from curate.classify.base import read_meta

    meta = read_meta(model)
    if as_json:
        click.echo(orjson.dumps(meta, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
        return
    card = meta.get("card", {})
    click.echo(f"{model}: {meta['kind']} classifier, {meta['bytes']:,} bytes, sha256 {meta['sha256']} (verified)")
    norm = meta["normalize"]
    click.echo(f"normalize: prefix {norm['prefix_chars']} chars, lowercase {norm['lowercase']}, strip_punct {norm['strip_punct']}, {len(norm['stopwords'])} stopwords")
    click.echo("params: " + ", ".join(f"{k}={v}" for k, v in sorted(meta["params"].items())))
    if card:
        held = card["heldout"]
        click.echo(f"trained from {card.get('recipe')} (seed {meta['seed']}); held-out ROC-AUC {held['roc_auc']:.4f} on {held['n_pos']}+{held['n_neg']} docs")
    if meta.get("recommended_threshold") is not None:
        click.echo(f"recommended threshold {meta['recommended_threshold']:.4g}")
