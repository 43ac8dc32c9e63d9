"""Model cards: what a classifier was trained on, how, and how well it did on held-out data.

The JSON card lives inside the model's sidecar (`<stem>.json`, key `card`) so it can never be
separated from the model it describes; `<stem>.md` renders the same facts for people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.classify.evaluate import threshold_table


def render_markdown(meta: dict[str, Any]) -> str:
    card = meta.get("card", {})
    data = card.get("data", {})
    held = card.get("heldout", {})
    norm = dict(meta.get("normalize", {}))
    words = norm.pop("stopwords", [])
    norm["stopwords"] = f"{len(words)} words" if words else "none"
    lines = [
        f"# Classifier `{card.get('name', Path(meta['model_file']).stem)}`",
        "",
        f"Backend **{meta['kind']}**, model file `{meta['model_file']}` "
        f"({meta.get('bytes', 0):,} bytes, sha256 `{meta['sha256']}`), seed {meta.get('seed', 0)}.",
        f"Trained by `curate classifier train {card.get('recipe', '')}` in {card.get('train_seconds', 0):.1f} s.",
        "Scores are P(positive) in [0, 1]; as an annotate signal the column is `<name>_score`.",
        "",
        "## Data",
        "",
        "| class | source | read | kept (dedup + cap) | train | held-out |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for cls in ("positive", "negative"):
        d = data.get(cls, {})
        for src in sorted(d.get("read", {})):
            lines.append(
                f"| {cls} | {src} | {d['read'].get(src, 0):,} | {d.get('kept', {}).get(src, 0):,} "
                f"| {d.get('train', {}).get(src, 0):,} | {d.get('heldout', {}).get(src, 0):,} |"
            )
    lines += [
        "",
        f"Exact duplicates (same normalized text) collapse before the split, so no held-out text is in training; "
        f"{data.get('conflicts', 0)} texts labelled both positive and negative were dropped. "
        f"Balanced: {data.get('balanced', False)}; held-out fraction {data.get('heldout_fraction', 0)}.",
        "",
        "## Held-out metrics",
        "",
        f"ROC-AUC **{held.get('roc_auc', float('nan')):.4f}** on {held.get('n_pos', 0):,} positives and {held.get('n_neg', 0):,} negatives.",
        "",
    ]
    if held.get("at"):
        lines += [threshold_table(held), ""]
    rec = meta.get("recommended_threshold")
    if rec is not None and held.get("recommended"):
        r = held["recommended"]
        lines.append(
            f"Recommended threshold **{rec:.4g}**, criterion: "
            f"{card.get('threshold_criterion') or str(round(100 * card.get('threshold_fpr', 0))) + '% of held-out negatives score above it'}. "
            f"Expected on data like the held-out set: precision {r['precision']:.4f}, recall {r['recall']:.4f}, F1 {r['f1']:.4f}."
        )
    if held.get("best_f1"):
        lines.append(f"Best held-out F1 {held['best_f1']['f1']:.4f} at {held['best_f1']['threshold']:.4g} (chosen on the held-out set itself: optimistic).")
    lines += [
        "",
        "## Hyperparameters",
        "",
        "```",
        *(f"{k}: {v}" for k, v in sorted(meta.get("params", {}).items())),
        *(f"normalize.{k}: {v}" for k, v in sorted(norm.items())),
        "```",
        "",
        "## Limitations",
        "",
        "The held-out figures are **in-distribution**: held-out data comes from the same sources (genres) as the "
        f"training data ({', '.join(_genres(card)) or 'see Data'}). On other genres scores shift and the threshold "
        "does not carry its precision/recall (measure with `curate classifier eval`, or adapt to the pool with the "
        "`adapt` stage). Near-duplicates (not exact) may still straddle the split.",
        "",
    ]
    return "\n".join(lines)


def _genres(card: dict) -> list[str]:
    """The source names the model saw, positives then negatives."""
    data = card.get("data", {})
    return [f"{label}: {src}" for label in ("positive", "negative") for src in data.get(label, {}).get("kept", {})]
