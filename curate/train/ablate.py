"""Mixture and selection ablations: re-mix a finished run's per-source tokens at several ratios (or
re-select its annotated documents at other thresholds), train the same proxy on each arm, and compare
held-out loss per source and role (BloombergGPT/DoReMi/RegMix style).

Why this shape:
- Re-mixing reads RUN/tokens/<source>/<role>/train.{bin,idx} through `curate.mix.mix_to_dir`: nothing is
  re-tokenized, so an arm costs seconds of mixing plus its proxy training.
- Every arm gets the same token budget (one explicit mixture total; "all" becomes the largest
  total that every arm can meet within the epoch cap), the same model, steps, batch and seed(s);
  only the mixture differs.
- Every arm is evaluated on the *parent run's* held-out shards, so losses are comparable.
- A selection arm (`select:` or `set_rule:`) re-runs only select + tokenize in
  RUN/ablations/<name>/<arm>/run/, over links to the parent's annotated Parquet and dedup drops
  (no signal is recomputed), with the parent's tokenizer, seed and val_fraction: token ids stay
  comparable and the held-out hash puts the parent's held-out documents in the arm's held-out split
  too, so they never reach an arm's training data.
- Each (arm, seed) is resumable: a fingerprint of its mixture/training settings guards its folder;
  a finished one is skipped, an interrupted one resumes its trainer checkpoint.

Outputs in RUN/ablations/<name>/: results.csv (one row per arm and seed), results.md (means per
arm, best arm), results.json, and loss_vs_domain_share.png.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import shutil
from pathlib import Path

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curate.config import PipelineConfig, RuleConfig, SelectConfig
from curate.context import RunContext
from curate.errors import ConfigError, CurateError
from curate.io.atomic import TMP_MARK, read_json, write_json, write_text
from curate.io.rundir import token_prefix
from curate.mix import MixConfig, mix_to_dir, plan_mixture
from curate.shards.megatron import IndexedDataset
from curate.shards.tokenizer import TokenizerConfig
from curate.train.data import DataSpec, from_manifest, source_roles
from curate.train.trainer import Runtime, TrainConfig, train


RULE_KEYS = set(RuleConfig.model_fields)


class Arm(BaseModel):
    """One arm. Its mixture: `domain_share` (the domain role's share; other roles keep their relative
    weights from the base target) or a full `target`, plus any other mix overrides. Its selection
    (optional; default: the parent's selected tokens): `select` replaces the parent's whole select
    section, or `set_rule` patches named rules of it ({name: low_quality, threshold: 0.9}, or a list)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    domain_share: float | None = Field(None, ge=0, le=1)
    target: dict[str, float] | None = None
    mix: dict = Field(default_factory=dict)  # other MixConfig fields (not total_tokens: budgets are equal)
    select: SelectConfig | None = None
    set_rule: list[dict] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_patch_is_a_list(cls, data):
        if isinstance(data, dict) and isinstance(data.get("set_rule"), dict):
            data = {**data, "set_rule": [data["set_rule"]]}
        return data

    @model_validator(mode="after")
    def _one_way(self):
        if self.domain_share is not None and self.target is not None:
            raise ValueError("give either domain_share or target, not both")
        if "total_tokens" in self.mix or "target" in self.mix:
            raise ValueError("arms share one token budget: set total_tokens in the top-level `mix`, and shares via domain_share/target")
        if self.select is not None and self.set_rule is not None:
            raise ValueError(f"arm `{self.name}`: give either `select` (all rules) or `set_rule` (patch named rules), not both")
        for i, patch in enumerate(self.set_rule or []):
            if not isinstance(patch.get("name"), str):
                raise ValueError(f"arm `{self.name}`: set_rule.{i} needs `name:` (the parent rule to change)")
            bad = sorted(set(patch) - RULE_KEYS)
            if bad:
                raise ValueError(f"arm `{self.name}`: set_rule.{i} has unknown key(s) {bad}; rule keys are {sorted(RULE_KEYS)}")
        return self

    @property
    def selects(self) -> bool:
        return self.select is not None or self.set_rule is not None

    def describe_selection(self) -> str:
        if self.select is not None:
            return f"select: {len(self.select.rules)} rules"
        if self.set_rule:
            return "; ".join(p["name"] + " " + " ".join(f"{k}={v}" for k, v in p.items() if k != "name") for p in self.set_rule)
        return "parent"


class Constraint(BaseModel):
    """Held-out loss of `loss` (a role or source) must be <= max, or <= arm `vs` + max_increase."""

    model_config = ConfigDict(extra="forbid")

    loss: str
    max: float | None = None
    max_increase: float | None = None
    vs: str | None = None

    @model_validator(mode="after")
    def _complete(self):
        if (self.max is None) == (self.max_increase is None):
            raise ValueError("give exactly one of max or max_increase")
        if self.max_increase is not None and self.vs is None:
            raise ValueError("max_increase needs `vs: <arm name>`")
        return self


class Objective(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minimize: str = "domain"  # a role or source name: its held-out loss
    subject_to: list[Constraint] = Field(default_factory=list)


class AblationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str  # a finished run directory (tokens/ + manifest.json), relative to this YAML
    name: str = Field("ablation", pattern=r"^[A-Za-z0-9_.-]+$")
    out: str | None = None  # default RUN/ablations/<name>
    domain_role: str = "domain"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    mix: dict = Field(default_factory=dict)  # base MixConfig overrides shared by all arms
    train: TrainConfig = Field(default_factory=TrainConfig)
    runtime: Runtime = Field(default_factory=Runtime)
    arms: list[Arm] = Field(min_length=1)
    objective: Objective = Field(default_factory=Objective)

    @model_validator(mode="after")
    def _unique(self):
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique: {names}")
        for c in self.objective.subject_to:
            if c.vs is not None and c.vs not in names:
                raise ValueError(f"objective constraint compares with unknown arm {c.vs!r} (arms: {names})")
        return self


def load_config(path: Path) -> AblationConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text())
        return AblationConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=str(path)) from None
    except ValidationError as exc:
        msg = "; ".join(f"{_loc(raw, e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(msg, where=str(path), fix="see pipelines/ablation-finance.yaml and docs/training.md") from None


def _loc(raw, loc: tuple) -> str:
    """`arms.1[q90].set_rule.0`: a validation error's key path, with the arm's name after its index."""
    text = ".".join(str(x) for x in loc)
    if len(loc) >= 2 and loc[0] == "arms" and isinstance(loc[1], int) and isinstance(raw, dict):
        arms = raw.get("arms")
        if isinstance(arms, list) and loc[1] < len(arms) and isinstance(arms[loc[1]], dict) and "name" in arms[loc[1]]:
            text = ".".join(["arms", f"{loc[1]}[{arms[loc[1]]['name']}]", *(str(x) for x in loc[2:])])
    return text


class Parent:
    """The finished run the ablation re-mixes: manifest, tokenizer, roles, tokens and held-out sets."""

    def __init__(self, run: Path):
        self.dir = run
        man_path = run / "manifest.json"
        if not man_path.is_file():
            raise CurateError("no manifest.json: the run has not finished its mix stage", where=str(run), fix="run `curate run PIPELINE.yaml` first")
        self.manifest = read_json(man_path)
        # the folder the parent's pipeline paths resolve against (older runs: the current directory)
        self.config_dir = Path(self.manifest.get("config_dir") or Path.cwd())
        self.tokens_dir = run / "tokens"
        self.roles = source_roles(self.manifest)
        missing = [s for s, r in self.roles.items() if not token_prefix(self.tokens_dir, s, r).with_suffix(".idx").is_file()]
        if not self.roles or missing:
            raise CurateError(f"per-source token files missing for {missing or 'every source'}", where=str(self.tokens_dir),
                              fix="re-run the tokenize stage of this run")
        self.base_mix = dict((self.manifest.get("config") or {}).get("mix") or {})
        self.heldout = self._heldout()

    def _heldout(self) -> DataSpec:
        spec = from_manifest(self.dir)
        if not spec.val:  # fall back to the tokenize stage's held-out files
            spec.val = {s: [str(token_prefix(self.tokens_dir, s, r, "heldout"))] for s, r in self.roles.items()
                        if token_prefix(self.tokens_dir, s, r, "heldout").with_suffix(".idx").is_file()}
        if not spec.val:
            raise CurateError("the run has no held-out tokens to evaluate on", where=str(self.dir), fix="set tokenizer.val_fraction > 0 and re-run tokenize/mix")
        spec.roles = self.roles
        return spec

    def available(self) -> dict[str, int]:
        return {s: IndexedDataset(token_prefix(self.tokens_dir, s, r)).num_tokens for s, r in self.roles.items()}

    def pipeline_config(self, where: str) -> PipelineConfig:
        """The config the parent ran with (its manifest), which a selection arm re-selects from."""
        try:
            return PipelineConfig.model_validate(self.manifest.get("config") or {})
        except ValidationError as exc:
            raise CurateError(f"the run's manifest holds no usable pipeline config ({exc.error_count()} errors)", where=f"{self.dir / 'manifest.json'} ({where})",
                              fix="selection arms need a run made by `curate run`; use mixture-only arms here") from None

    def tokenizer_file(self) -> Path:
        p = Path(self.manifest["tokenizer"]["path"])
        return p if p.is_absolute() else self.dir / p

    def config_fingerprint(self) -> str:
        fp = self.dir / "config.fingerprint"
        return fp.read_text().strip() if fp.is_file() else _fingerprint(self.manifest.get("config"))

    def selected_docs(self) -> int | None:
        stats = self.dir / "stats.json"
        sel = (read_json(stats).get("stages") or {}).get("select") if stats.is_file() else None
        return sel["total"]["docs_out"] if sel else None


def arm_mix(cfg: AblationConfig, parent: Parent, arm: Arm) -> MixConfig:
    base = {**parent.base_mix, **cfg.mix, **arm.mix}
    target = arm.target
    if arm.domain_share is not None:
        if base.get("by", "role") != "role":
            raise ConfigError("domain_share needs a mix by role", where=f"arms.{arm.name}", fix="use `target:` for a mix by source")
        others = {k: v for k, v in (base.get("target") or MixConfig().target).items() if k != cfg.domain_role}
        rest = sum(others.values()) or 1.0
        target = {cfg.domain_role: arm.domain_share, **{k: (1 - arm.domain_share) * v / rest for k, v in others.items()}}
    if target is not None:
        base["target"] = target
    try:
        return MixConfig.model_validate(base)
    except ValidationError as exc:
        raise ConfigError("; ".join(e["msg"] for e in exc.errors()), where=f"arms.{arm.name}") from None


def equal_budget(mixes: dict[str, MixConfig], parent: Parent, available: dict[str, dict[str, int]] | None = None) -> dict[str, MixConfig]:
    """One explicit total for every arm: the configured one, or (for `all`, or a total some arm
    cannot reach within max_epochs when on_shortfall is `warn`) the largest that every arm meets.
    `available` gives selection arms their own per-source token counts (default: the parent's)."""
    avail = parent.available()
    caps = {}
    for k, m in mixes.items():
        try:
            caps[k] = plan_mixture((available or {}).get(k, avail), parent.roles, m.model_copy(update={"total_tokens": "all"})).total
        except CurateError as exc:
            raise CurateError(f"arm `{k}`: {exc.message}", where=f"arms.{k}", fix=exc.fix) from None
    limit = min(caps.values())
    total = next(iter(mixes.values())).total_tokens  # arms cannot override it (Arm validator)
    if total != "all" and total > limit:
        short = min(caps, key=caps.get)
        if next(iter(mixes.values())).on_shortfall == "error":
            raise CurateError(f"mix.total_tokens {total:,} is more than arm `{short}` can mix within max_epochs ({limit:,})",
                              where="mix.total_tokens", fix=f"lower it to <= {limit:,}, use `all`, or set mix.on_shortfall: warn")
        total = limit
    if total == "all":
        total = limit
    return {k: m.model_copy(update={"total_tokens": total}) for k, m in mixes.items()}


def _fingerprint(*parts) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def arm_select(base: SelectConfig, arm: Arm) -> SelectConfig:
    """The arm's select section: its own, or the parent's with the `set_rule` patches applied."""
    if arm.select is not None:
        return arm.select
    rules = list(base.rules)
    names = [r.name for r in rules]
    for i, patch in enumerate(arm.set_rule or []):
        where = f"arms.{arm.name}.set_rule.{i}"
        if patch["name"] not in names:
            raise ConfigError(f"no rule named `{patch['name']}` in the run's select section", where=where, fix=f"use one of {names}")
        k = names.index(patch["name"])
        try:
            rules[k] = RuleConfig.model_validate({**rules[k].model_dump(), **patch})
        except ValidationError as exc:
            raise ConfigError("; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'rule'}: {e['msg']}" for e in exc.errors()), where=where) from None
    return base.model_copy(update={"rules": rules})


def arm_pipeline(parent: Parent, arm: Arm) -> PipelineConfig:
    """The parent's config with the arm's selection, the parent's tokenizer file (no retraining, same
    ids), and no mix stage (arms are mixed by `run_arm` at the shared budget). Seed and val_fraction
    stay the parent's: the held-out split is a hash of (seed, id), so it holds the same documents."""
    base = parent.pipeline_config(f"arms.{arm.name}")
    tok = (base.tokenizer or TokenizerConfig()).model_copy(update={"path": str(parent.tokenizer_file().resolve()), "out": None})
    return base.model_copy(update={"select": arm_select(base.select, arm), "tokenizer": tok, "mix": None, "stages": None, "out": None})


def _link_tree(src: Path, dst: Path) -> int:
    """Hard-link (else symlink) every finished file under src into dst: the arm reads the parent's
    annotated Parquet and dedup drops in place, without copying or recomputing them."""
    n = 0
    for f in sorted(src.rglob("*")):
        if not f.is_file() or TMP_MARK in f.name:
            continue
        to = dst / f.relative_to(src)
        to.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, to)
        except OSError:
            to.symlink_to(f.resolve())
        n += 1
    return n


def prepare_selection(parent: Parent, arm: Arm, arm_dir: Path, quiet: bool) -> dict:
    """Run select + tokenize for a selection arm into arm_dir/run (resumable; rebuilt when the arm's
    selection or the parent changes). Returns {fingerprint, tokens_dir, selected_docs, tokens}."""
    from curate.io.rundir import mark_run_dir
    from curate.pipeline import config_fingerprint, run_pipeline  # the pipeline imports every stage: load it only when needed

    pcfg = arm_pipeline(parent, arm)
    run = arm_dir / "run"
    fp = _fingerprint(config_fingerprint(pcfg), parent.config_fingerprint())
    done = run / "prepared.json"
    if done.is_file() and read_json(done).get("fingerprint") == fp:
        return read_json(done)
    stamp = run / "ablation.fingerprint"
    if run.exists() and not (stamp.is_file() and stamp.read_text().strip() == fp):
        shutil.rmtree(run)  # another selection (or a re-made parent): nothing in it may be reused
    if not stamp.is_file():
        n = _link_tree(parent.dir / "annotated", run / "annotated")
        if (parent.dir / "dedup").is_dir():
            _link_tree(parent.dir / "dedup", run / "dedup")
        found = len(RunContext(cfg=pcfg, run_dir=run, root=parent.config_dir, executor=None).annotated_files())  # type: ignore[arg-type]
        if n == 0 or found != n:
            shutil.rmtree(run)
            raise CurateError(f"arm `{arm.name}`: {found} of the parent's {n} annotated files match its inputs from {parent.config_dir}",
                              where=str(parent.dir / "annotated"),
                              fix="keep the parent run's input files in place (relative to its pipeline YAML's folder)")
        write_text(stamp, fp + "\n")
        mark_run_dir(run)  # a run directory curate made (so `run_pipeline` may write into it)
    res = run_pipeline(pcfg, out=run, stages=["select", "tokenize"], progress=not quiet, root=parent.config_dir)
    info = {"fingerprint": fp, "tokens_dir": str(run / "tokens"), "selected_docs": res.stats["select"]["total"]["docs_out"],
            "tokens": {s: IndexedDataset(token_prefix(run / "tokens", s, r)).num_tokens for s, r in parent.roles.items()}}
    write_json(done, info)
    return info


def run_arm(cfg: AblationConfig, parent: Parent, arm: Arm, mix: MixConfig, seed: int, root: Path, quiet: bool,
            selection: dict | None = None) -> dict:
    """Mix (unless already mixed with these settings), train/resume, return the arm's result row.
    `selection` (from `prepare_selection`): mix the arm's own tokens instead of the parent's."""
    adir = root / arm.name / f"seed{seed}"
    tcfg = cfg.train.model_copy(update={"seed": seed})
    parts = [mix.model_dump(mode="json"), tcfg.model_dump(mode="json"), seed, str(parent.dir.resolve())]
    fp = _fingerprint(*parts, selection["fingerprint"]) if selection else _fingerprint(*parts)
    tokens_dir = Path(selection["tokens_dir"]) if selection else parent.tokens_dir
    done = adir / "result.json"
    if done.is_file() and read_json(done).get("fingerprint") == fp:
        return read_json(done)
    mark = adir / "mixed.json"
    if not (mark.is_file() and read_json(mark).get("fingerprint") == fp):
        if adir.exists():
            shutil.rmtree(adir)  # settings changed: a stale mixture or checkpoint must not be reused
        mix_to_dir(tokens_dir, {s: {"role": r} for s, r in parent.roles.items()}, mix, adir, seed,
                   parent.manifest["tokenizer"], config={"mix": mix.model_dump(mode="json"), "ablation": cfg.name, "arm": arm.name})
        write_json(mark, {"fingerprint": fp})
    mixture = read_json(adir / "manifest.json")["mixture"]
    summary = train([(1.0, adir)], tcfg, adir / "train", cfg.runtime.model_copy(update={"quiet": quiet or cfg.runtime.quiet}),
                    heldout=parent.heldout)
    domain = sum(s["tokens"] for n, s in mixture["sources"].items() if s["role"] == cfg.domain_role) / mixture["total_tokens"]
    row = {
        "arm": arm.name, "seed": seed, "fingerprint": fp,
        "domain_share_target": mix.target.get(cfg.domain_role) if mix.by == "role" else None,
        "domain_share": domain, "mix_budget": mix.total_tokens, "mix_tokens": mixture["total_tokens"], "train_tokens": summary["tokens"],
        "epochs": {n: s["epochs"] for n, s in mixture["sources"].items()},
        "val_loss": summary["val_loss"], "role": summary["role"], "source": summary["source"],
        "final_train_loss": summary["final_train_loss"], "tokens_per_s": summary["tokens_per_s"],
    }
    write_json(done, row)
    return row


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


def run_ablation(config_path: Path, quiet: bool = False) -> dict:
    cfg = load_config(config_path)
    # relative paths resolve against the ablation YAML's folder, as in pipeline YAMLs and recipes
    here = Path(config_path).absolute().parent
    run_dir = (here / cfg.run).resolve()
    if not (run_dir / "manifest.json").is_file():
        raise ConfigError(f"`run: {cfg.run}` is not a finished run: no {run_dir / 'manifest.json'}", where=str(config_path),
                          fix=f"`run:` is relative to the ablation YAML's folder {here}; run `curate run PIPELINE.yaml` first")
    parent = Parent(run_dir)
    root = (here / cfg.out).resolve() if cfg.out else run_dir / "ablations" / cfg.name
    selections = {a.name: prepare_selection(parent, a, root / a.name, quiet) for a in cfg.arms if a.selects}
    mixes = equal_budget({a.name: arm_mix(cfg, parent, a) for a in cfg.arms}, parent, {k: v["tokens"] for k, v in selections.items()})
    rows = [run_arm(cfg, parent, arm, mixes[arm.name], seed, root, quiet, selections.get(arm.name)) for arm in cfg.arms for seed in cfg.seeds]
    if selections:  # report what each arm trained from: its own selection, or the parent's
        parent_docs, parent_tokens = parent.selected_docs(), sum(parent.available().values())
        arms = {a.name: a for a in cfg.arms}
        for r in rows:
            own = selections.get(r["arm"])
            r.update(selection=arms[r["arm"]].describe_selection(), selected_docs=own["selected_docs"] if own else parent_docs,
                     available_tokens=sum(own["tokens"].values()) if own else parent_tokens)
    agg = aggregate(rows, cfg.arms)
    best = choose_best(agg, cfg.objective)
    md = write_markdown(cfg, agg, best, rows)
    write_text(root / "results.csv", write_csv(rows))
    write_text(root / "results.md", md)
    write_json(root / "results.json", {"config": cfg.model_dump(mode="json"), "rows": rows, "arms": agg, "best": best})
    plot(agg, root / "loss_vs_domain_share.png", f"{cfg.name}: held-out loss per arm" if selections else f"{cfg.name}: held-out loss vs domain share")
    return {"dir": str(root), "rows": rows, "arms": agg, "best": best, "markdown": md}
