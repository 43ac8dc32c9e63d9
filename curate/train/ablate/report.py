"""Ablation results: mean/std per arm, the best arm under the objective, CSV, Markdown and a plot."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from curate.errors import ConfigError
from curate.train.ablate.config import AblationConfig, Arm, Objective

def _mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    return m, (math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0)


SELECTION_COLS = ("selection", "selected_docs", "available_tokens")  # in rows only when some arm re-selects


def aggregate(rows: list[dict], arms: list[Arm]) -> dict[str, dict]:
    """Per arm: mean (and std over seeds) of every held-out loss, keyed `<role>` / `<source>` / `val_loss`."""
    out = {}
    for arm in arms:
        mine = [r for r in rows if r["arm"] == arm.name]
        keys = ["val_loss"] + sorted(mine[0]["role"]) + sorted(mine[0]["source"])
        vals = {k: [r["val_loss"] if k == "val_loss" else r["role"].get(k, r["source"].get(k)) for r in mine] for k in keys}
        out[arm.name] = {"domain_share": sum(r["domain_share"] for r in mine) / len(mine), "seeds": len(mine),
                         "roles": sorted(mine[0]["role"]), "sources": sorted(mine[0]["source"]),
                         "mean": {k: _mean_std(v)[0] for k, v in vals.items()}, "std": {k: _mean_std(v)[1] for k, v in vals.items()}}
        out[arm.name].update({k: mine[0][k] for k in SELECTION_COLS if k in mine[0]})
    return out


def choose_best(agg: dict[str, dict], objective: Objective) -> dict:
    """The arm with the lowest mean `minimize` loss among those meeting every constraint."""
    def loss(arm: str, key: str) -> float:
        if key not in agg[arm]["mean"]:
            raise ConfigError(f"objective names {key!r}, which is no role or source here ({sorted(agg[arm]['mean'])})", where="objective")
        return agg[arm]["mean"][key]

    feasible, why = [], {}
    for arm in agg:
        broken = []
        for c in objective.subject_to:
            limit = c.max if c.max is not None else loss(c.vs, c.loss) + c.max_increase
            if loss(arm, c.loss) > limit:
                broken.append(f"{c.loss} loss {loss(arm, c.loss):.4f} > {limit:.4f}")
        (why.__setitem__(arm, broken) if broken else feasible.append(arm))
    pool = feasible or list(agg)
    best = min(pool, key=lambda a: (loss(a, objective.minimize), a))
    return {"arm": best, "feasible": bool(feasible), "minimize": objective.minimize, "value": loss(best, objective.minimize), "infeasible": why}


def write_csv(rows: list[dict]) -> str:
    roles = sorted({k for r in rows for k in r["role"]})
    sources = sorted({k for r in rows for k in r["source"]})
    cols = ["arm", "seed", *(c for c in SELECTION_COLS if c in rows[0]), "domain_share_target", "domain_share", "mix_budget", "mix_tokens", "train_tokens", "val_loss"] + \
        [f"val_{k}" for k in roles] + [f"val_src_{k}" for k in sources] + ["final_train_loss", "tokens_per_s"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        flat = {**r, **{f"val_{k}": v for k, v in r["role"].items()}, **{f"val_src_{k}": v for k, v in r["source"].items()}}
        w.writerow([f"{flat[c]:.6g}" if isinstance(flat.get(c), float) else flat.get(c) for c in cols])
    return buf.getvalue()


def write_markdown(cfg: AblationConfig, agg: dict[str, dict], best: dict, rows: list[dict]) -> str:
    keys = list(next(iter(agg.values()))["mean"])
    multi = any(a["seeds"] > 1 for a in agg.values())
    sel = "selection" in next(iter(agg.values()))
    fmt = (lambda a, k: f"{agg[a]['mean'][k]:.4f} ± {agg[a]['std'][k]:.4f}") if multi else (lambda a, k: f"{agg[a]['mean'][k]:.4f}")
    t = cfg.train
    lines = [
        f"# Ablation `{cfg.name}`", "",
        f"Run: `{cfg.run}`. Same budget for every arm: {rows[0]['mix_budget']:,} mixed tokens (achieved to document granularity), {rows[0]['train_tokens']:,} "
        f"trained tokens ({t.model} {t.objective}, {t.steps} steps x {t.batch_size} x {t.seq_len}, grad accum {t.grad_accum}, lr {t.lr:g}), "
        f"seeds {cfg.seeds}. Held-out loss (nats/token) on the run's held-out shards; lower is better.", "",
        "| arm | " + ("selection | kept docs | tokens available | " if sel else "") + "domain share | " + " | ".join(keys) + " |",
        "|---|" + ("---|---:|---:|" if sel else "") + "---:|" + "---:|" * len(keys),
    ]
    for a in agg:
        mark = " **(best)**" if a == best["arm"] else ""
        docs = agg[a].get("selected_docs")
        extra = f"{agg[a]['selection']} | {'?' if docs is None else f'{docs:,}'} | {agg[a]['available_tokens']:,} | " if sel else ""
        lines.append(f"| {a}{mark} | {extra}{agg[a]['domain_share']:.3f} | " + " | ".join(fmt(a, k) for k in keys) + " |")
    cons = "; ".join(f"{c.loss} <= {c.max}" if c.max is not None else f"{c.loss} <= {c.vs} + {c.max_increase}" for c in cfg.objective.subject_to)
    lines += ["", f"Objective: minimize held-out `{best['minimize']}` loss" + (f" subject to {cons}" if cons else "") + ".",
              f"Best arm: **{best['arm']}** ({best['minimize']} loss {best['value']:.4f})" +
              ("" if best["feasible"] else " - no arm met the constraints; this is the unconstrained best") + "."]
    for arm, broken in best["infeasible"].items():
        lines.append(f"- {arm} excluded: {'; '.join(broken)}")
    return "\n".join(lines) + "\n"


def plot(agg: dict[str, dict], path: Path, title: str) -> None:
    """Held-out loss vs domain share: one line per role (solid) and per source (dashed). When arms
    share a domain share (selection arms), they are placed side by side in config order instead."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = [round(agg[a]["domain_share"], 4) for a in agg]
    by_share = len(set(shares)) == len(shares)
    arms = sorted(agg, key=lambda a: agg[a]["domain_share"]) if by_share else list(agg)
    x = [agg[a]["domain_share"] for a in arms] if by_share else list(range(len(arms)))
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    first = agg[arms[0]]
    for keys, fmt in ((first["roles"], "-o"), (first["sources"], "--.")):
        for k in keys:
            y = [agg[a]["mean"][k] for a in arms]
            e = [agg[a]["std"][k] for a in arms]
            ax.errorbar(x, y, yerr=e if any(e) else None, fmt=fmt, label=k, capsize=3)
    ax.set_xticks(x, [f"{agg[a]['domain_share']:.2f}\n{a}" for a in arms], fontsize=8)
    ax.set_xlabel("domain share of mixed tokens" if by_share else "arm (domain share)")
    ax.set_ylabel("held-out loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
