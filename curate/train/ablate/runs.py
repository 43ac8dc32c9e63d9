"""Mixture and selection ablations: re-mix a finished run's per-source tokens at several ratios (or
re-select its annotated documents at other thresholds), train the same proxy on each arm, and compare
held-out loss per source and role (BloombergGPT/DoReMi/RegMix style).

Why this shape:
- Re-mixing reads RUN/tokens/<source>.{bin,idx} through `curate.mix.mix_to_dir`: nothing is
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

import hashlib
import os
import shutil
from pathlib import Path

import orjson
from pydantic import ValidationError

from curate.config import PipelineConfig, RuleConfig, SelectConfig
from curate.context import RunContext
from curate.errors import ConfigError, CurateError
from curate.io.atomic import TMP_MARK, read_json, write_json, write_text
from curate.layout import RunLayout
from curate.mix.config import MixConfig
from curate.mix.engine import mix_to_dir, plan_mixture
from curate.shards.megatron import IndexedDataset, paths_of
from curate.tokenize.config import TokenizerConfig
from curate.train.ablate.config import AblationConfig, Arm, load_ablation
from curate.train.ablate.report import aggregate, choose_best, plot, write_csv, write_markdown
from curate.train.inputs import DataSpec, from_manifest, source_roles
from curate.train.trainer import train


class Parent:
    """The finished run the ablation re-mixes: manifest, tokenizer, roles, tokens and held-out sets."""

    def __init__(self, run: Path):
        self.dir = run
        self.layout = RunLayout(run)
        man_path = self.layout.manifest
        if not man_path.is_file():
            raise CurateError("no manifest.json: the run has not finished its mix stage", where=str(run), fix="run `curate run PIPELINE.yaml` first")
        self.manifest = read_json(man_path)
        # the folder the parent's pipeline paths resolve against (older runs: the current directory)
        self.config_dir = Path(self.manifest.get("config_dir") or Path.cwd())
        self.tokens_dir = self.layout.tokens_dir
        self.roles = source_roles(self.manifest)
        missing = [s for s, r in self.roles.items() if not paths_of(self.layout.tokens(s, r))[1].is_file()]
        if not self.roles or missing:
            raise CurateError(f"per-source token files missing for {missing or 'every source'}", where=str(self.tokens_dir),
                              fix="re-run the tokenize stage of this run")
        self.base_mix = dict((self.manifest.get("config") or {}).get("mix") or {})
        self.heldout = self._heldout()

    def _heldout(self) -> DataSpec:
        spec = from_manifest(self.dir)
        if not spec.val:  # fall back to the tokenize stage's held-out files
            spec.val = {s: [str(self.layout.tokens(s, r, "heldout"))] for s, r in self.roles.items()
                        if paths_of(self.layout.tokens(s, r, "heldout"))[1].is_file()}
        if not spec.val:
            raise CurateError("the run has no held-out tokens to evaluate on", where=str(self.dir), fix="set tokenizer.val_fraction > 0 and re-run tokenize/mix")
        spec.roles = self.roles
        return spec

    def available(self) -> dict[str, int]:
        return {s: IndexedDataset(self.layout.tokens(s, r)).num_tokens for s, r in self.roles.items()}

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
        fp = self.layout.fingerprint
        return fp.read_text().strip() if fp.is_file() else _fingerprint(self.manifest.get("config"))

    def selected_docs(self) -> int | None:
        stats = self.layout.stats
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
        n = _link_tree(parent.layout.annotated_dir, RunLayout(run).annotated_dir)
        for part in ("dedup_dir", "decontam_dir"):  # an arm drops the parent's duplicates and contaminated documents too
            if getattr(parent.layout, part).is_dir():
                _link_tree(getattr(parent.layout, part), getattr(RunLayout(run), part))
        found = len(RunContext(cfg=pcfg, run_dir=run, root=parent.config_dir).annotated_files())
        if n == 0 or found != n:
            shutil.rmtree(run)
            raise CurateError(f"arm `{arm.name}`: {found} of the parent's {n} annotated files match its inputs from {parent.config_dir}",
                              where=str(parent.layout.annotated_dir),
                              fix="keep the parent run's input files in place (relative to its pipeline YAML's folder)")
        write_text(stamp, fp + "\n")
        mark_run_dir(run)  # a run directory curate made (so `run_pipeline` may write into it)
    res = run_pipeline(pcfg, out=run, stages=["select", "tokenize"], progress=not quiet, root=parent.config_dir)
    info = {"fingerprint": fp, "tokens_dir": str(RunLayout(run).tokens_dir), "selected_docs": res.stats["select"]["total"]["docs_out"],
            "tokens": {s: IndexedDataset(RunLayout(run).tokens(s, r)).num_tokens for s, r in parent.roles.items()}}
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
    mixture = RunLayout(adir).read_manifest()["mixture"]
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


def run_ablation(config_path: Path, quiet: bool = False) -> dict:
    cfg = load_ablation(config_path)
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
