"""Run a pipeline: the Python API behind `curate run`.

    from curate.pipeline import run_pipeline
    result = run_pipeline("pipelines/demo.yaml", out="runs/demo", workers=2)
    print(result.run_dir, result.stats["select"]["total"])

Rerunning into the same run directory resumes: a finished task (completion marker) whose
fingerprint still matches is skipped, so the outputs are identical to an uninterrupted run; after a
config or input change exactly the tasks whose fingerprint changed are redone (curate.fingerprint).
One run at a time holds a run directory (curate.io.runlock).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml

from curate import __version__
from curate.config import PipelineBase, config_root, expand_source, load_config, resolved
from curate.context import RunContext
from curate.errors import ConfigError, CurateError, disk_full_error
from curate.exec import EXECUTORS, make_executor
from curate.io.atomic import remove_stale_tmp, write_json, write_text
from curate.io.rundir import check_out_dir, clear_run_dir, mark_run_dir
from curate.io.runlock import RunLock
from curate.layout import RunLayout
from curate.stages.base import STAGES, load_stage
from curate.validate import check_before_run, remember_columns


@dataclass
class RunResult:
    run_dir: Path
    stats: dict
    report: Path | None
    manifest: Path
    reuse: dict | None = None  # per stage: tasks, reused, changed (timings.json "tasks")


def config_fingerprint(cfg: PipelineBase) -> str:
    """A hash of the config minus where it is written and what the report shows (ablations key their
    runs by it); a run directory itself is keyed per task (curate.fingerprint), never by this."""
    data = cfg.model_dump(mode="json", exclude={"out", "report"})
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


SMALL_STAGE_BYTES = 4 << 20  # input bytes below which starting pool workers costs more than the work


def prepare_run_dir(cfg: PipelineBase, run_dir: Path, fresh: bool, lock: RunLock) -> None:
    """With the lock held: `--fresh` clears what curate wrote, temp files of killed runs go."""
    if fresh:
        clear_run_dir(run_dir)
    mark_run_dir(run_dir)
    layout = RunLayout(run_dir)
    layout.fingerprint.unlink(missing_ok=True)  # older runs refused any config change by it
    remove_stale_tmp(run_dir, lock=lock)
    shutil.rmtree(layout.workers_dir, ignore_errors=True)  # what the pool of a killed run left
    write_text(layout.config_yaml, yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))


def prune_orphans(ctx: RunContext) -> int:
    """Outputs and markers of per-unit tasks whose unit is no longer in the config (removed or
    renamed files, files now packed or no longer packed: curate.io.packs): deleted, so no later
    reader meets them. Returns how many files went."""
    keys = {f.key for f in ctx.units()}
    n = 0
    for folder, suffix in (("annotated", ".parquet"), ("quarantine", ".jsonl"), ("selected", ".parquet"), ("decisions", ".parquet"),
                           ("_markers/annotate", ".json"), ("_markers/select", ".json"), ("_markers/tokenize", ".json"),
                           ("_markers/annotate", ".failed.txt"), ("_markers/select", ".failed.txt")):
        base = ctx.run_dir / folder
        if not base.is_dir():
            continue
        for p in base.rglob(f"*{suffix}"):
            rel = p.relative_to(base).as_posix()
            if rel.endswith(".failed.txt") and suffix == ".json":
                continue
            key = rel[: -len(suffix)]
            if key not in keys and p.is_file():
                p.unlink()
                n += 1
    return n


def check_out_not_in_inputs(cfg: PipelineBase, root: Path, run_dir: Path, files: dict[str, list[Path]] | None = None) -> None:
    """Refuse a run directory that holds an input, or that lies inside an input folder (where a
    later run's glob or folder walk would read its outputs back as inputs). Checked before the run
    directory is created, so a refused run leaves nothing behind in the input folder. `files`: each
    source's input files when the caller has listed them already."""
    run = run_dir.resolve()
    for src in cfg.sources:
        for pattern in src.paths:
            full = Path(pattern) if Path(pattern).is_absolute() else root / pattern
            fixed = next((i for i, part in enumerate(full.parts) if glob.has_magic(part)), len(full.parts))
            base = Path(*full.parts[:fixed]).resolve()  # the folder before any wildcard (or a plain file or folder)
            if not (run == base or base in run.parents):
                continue
            # a folder walk or `**` reaches any depth; `in/*/*.json` reaches files 2 levels below `in`
            walks = full.is_dir() or any("**" in part for part in full.parts[fixed:])
            if walks or len(full.parts) - fixed > len(run.relative_to(base).parts):
                raise ConfigError(f"the run directory {run_dir} lies inside the input folder {base} of source `{src.name}`",
                                  where=f"sources[{src.name}].paths", fix="write the run outside every input folder (--out)")
        folders: dict[Path, Path] = {}
        inside = str(run).rstrip(os.sep) + os.sep
        for f in (files[src.name] if files is not None else expand_source(src, root)):
            p = resolved(f, folders)
            if p == run or str(p).startswith(inside):
                raise ConfigError(f"input file {f} lies inside the run directory {run_dir}", where=f"sources[{src.name}]",
                                  fix="write the run elsewhere (--out) so outputs are never read back as inputs")


def run_pipeline(config: str | Path | PipelineBase, out: str | Path | None = None, **kwargs) -> RunResult:
    """Run a pipeline (see the module doc); a disk that fills up is a DiskFull error naming the path."""
    try:
        return _run_pipeline(config, out=out, **kwargs)
    except OSError as exc:
        full = disk_full_error(exc, str(out) if out else None)
        if full is None:
            raise
        raise full from None


def _run_pipeline(
    config: str | Path | PipelineBase,
    out: str | Path | None = None,
    executor: str = "local",
    workers: int | None = None,
    strict: bool | None = None,
    progress: bool = True,
    fresh: bool = False,
    stages: list[str] | None = None,
    address: str | None = None,
    retries: int = 0,
    sets: list[str] | None = None,
    root: str | Path | None = None,
) -> RunResult:
    """`sets`: `KEY=VALUE` overrides applied to the YAML before validation (see curate.config);
    `root`: where the relative paths of a config given as an object resolve (default: the current directory)."""
    if isinstance(config, PipelineBase):
        cfg, config_path = config, None
        root = Path(root) if root is not None else Path.cwd()
    else:
        config_path = Path(config)
        cfg = load_config(config_path, sets=sets)
        root = config_root(config_path)  # relative paths in the YAML: from its folder
    # --out is a command-line path (from the current directory), `out:` in the YAML is from the YAML's
    # folder, and the default runs/<name> is in the current directory
    run_dir = Path(out).absolute() if out else (root / cfg.out if cfg.out else Path.cwd() / "runs" / cfg.name)
    strict = cfg.strict if strict is None else strict
    probe = RunContext(cfg=cfg, run_dir=run_dir, root=root, executor=None, config_path=config_path, strict=strict)  # type: ignore[arg-type]
    listed: dict[str, list[Path]] = {s.name: [] for s in cfg.sources}
    for f in probe.inputs():
        if f.part == 0:
            listed[f.source.name].append(f.path)
    check_out_not_in_inputs(cfg, root, run_dir, listed)
    check_out_dir(run_dir)  # before anything is created: never write into (or clear) a folder of user files
    EXECUTORS.get(executor)  # an unknown executor fails before anything is written
    for name in stages or ():
        STAGES.get(name)  # so does an unknown stage
    stage_list = stages or cfg.stage_list()
    columns = RunLayout(run_dir).column_check
    checked = check_before_run(cfg, probe.inputs(), root, config_path, stage_list, cache=None if fresh else columns)  # nothing is written before this passes
    lock = RunLock(run_dir).acquire()
    try:
        prepare_run_dir(cfg, run_dir, fresh, lock)
        remember_columns(columns, checked)
        # with --workers left to curate, a small stage before any pool runs in this process (no workers to start)
        inline = SMALL_STAGE_BYTES if workers is None else 0
        workers = workers or min(os.cpu_count() or 1, 4)
        ex = make_executor(executor, run_dir, workers=workers, progress=progress, address=address, retries=retries, inline_bytes=inline)
        ctx = RunContext(cfg=cfg, run_dir=run_dir, root=root, executor=ex, config_path=config_path, strict=strict,
                         progress=progress, _inputs=probe.inputs())
        prune_orphans(ctx)
        return _run_stages(ctx, stage_list)
    finally:
        lock.release()


def _run_stages(ctx: RunContext, stage_list: list[str]) -> RunResult:
    run_dir, cfg, ex = ctx.run_dir, ctx.cfg, ctx.executor
    stats: dict = {}
    timings: dict = {}
    failed: tuple[str, CurateError] | None = None
    try:
        for stage in stage_list:
            t0 = time.perf_counter()
            try:
                stats[stage] = load_stage(stage)(ctx).run()
            except CurateError as exc:
                failed = (stage, exc)
                break
            finally:
                timings[stage] = round(time.perf_counter() - t0, 3)
    finally:
        ex.close()
    # stats.json holds only deterministic content; wall times and what was reused go to timings.json
    body = {"curate_version": __version__, "seed": cfg.seed, "stages": stats}
    causes = root_causes(stats, ctx) if failed else []
    if failed:
        body["failed"] = {"stage": failed[0], "error": failed[1].message, "root_causes": causes}
    layout = ctx.layout
    write_json(layout.stats, body)
    write_json(layout.timings, {**timings, "tasks": ex.reuse, "reused_stages": reused_stages(ex.reuse)})
    # config_dir: where the config's relative paths resolve (a re-selection by `curate ablate` needs it)
    manifest_path = layout.write_manifest(cfg.seed, cfg.model_dump(mode="json"), config_dir=str(ctx.root))
    report = None
    if not failed:
        from curate.report import write_report

        report = write_report(ctx, stats)
    result = RunResult(run_dir=run_dir, stats=stats, report=report, manifest=manifest_path, reuse=dict(ex.reuse))
    if failed:
        # the stage's own error (its type, place and fix), with the root causes found in the stats,
        # and what was written anyway (stats.json names the failure) for the CLI's summary
        stage, exc = failed
        if causes:
            exc.message += "".join(f"\n  root cause: {c}" for c in causes)
        exc.failed_stage, exc.run_result = stage, result
        raise exc
    return result


def reused_stages(reuse: dict) -> list[str]:
    """Stages whose every task was reused from an earlier run (nothing recomputed)."""
    return [stage for stage, c in reuse.items() if c["tasks"] and c["reused"] == c["tasks"]]


def root_causes(stats: dict, ctx: RunContext) -> list[str]:
    """Why a stage may have failed, from the stats of the stages before it: a source whose every
    record was quarantined (with the main reason), or whose every document was dropped."""
    out = []
    ann = stats.get("annotate", {}).get("sources", {})
    sel = stats.get("select", {}).get("sources", {})
    for src in ctx.cfg.sources:
        a = ann.get(src.name)
        if a and a["docs_in"] and a["docs_out"] == 0:
            reasons = sorted(a.get("drops", {}).items(), key=lambda kv: -kv[1])  # annotate's drops are quarantine reasons
            top = f": {reasons[0][0]}" if reasons else ""
            out.append(f"{src.name}: {a['docs_in'] - a['docs_out']}/{a['docs_in']} records quarantined{top}"
                       + (f" (sources[].text_field is `{src.text_field}`)" if "text field" in top else ""))
        elif a and a["docs_in"] == 0:
            out.append(f"{src.name}: its input files hold no records")
        elif (s := sel.get(src.name)) and s["docs_in"] and s["docs_out"] == 0:
            drops = ", ".join(f"{k}: {v}" for k, v in sorted(s.get("drops", {}).items(), key=lambda kv: -kv[1]))
            out.append(f"{src.name}: select dropped all {s['docs_in']} documents ({drops})")
    return out

