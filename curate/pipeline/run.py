"""Run a pipeline: the Python API behind `curate run`.

    from curate.pipeline import run_pipeline
    result = run_pipeline("pipelines/demo.yaml", out="runs/demo", workers=2)
    print(result.run_dir, result.stats["select"]["total"])

Rerunning with the same config and run directory resumes: finished tasks (completion markers) are
skipped and the outputs are identical to an uninterrupted run.
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
from curate.config import PipelineBase, config_root, expand_source, load_config
from curate.context import RunContext
from curate.errors import ConfigError, disk_full_error
from curate.exec import EXECUTORS, make_executor
from curate.io.atomic import remove_stale_tmp, write_json, write_text
from curate.layout import RunLayout
from curate.stages.base import STAGES, load_stage


@dataclass
class RunResult:
    run_dir: Path
    stats: dict
    report: Path | None
    manifest: Path


def config_fingerprint(cfg: PipelineBase) -> str:
    """What decides a run's outputs: the config minus where it is written, how it is executed and what
    the report shows (the report is rewritten by every run)."""
    data = cfg.model_dump(mode="json", exclude={"out", "report"})
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def prepare_run_dir(cfg: PipelineBase, run_dir: Path, fresh: bool) -> None:
    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    layout = RunLayout(run_dir)
    fp_path = layout.fingerprint
    fp = config_fingerprint(cfg)
    if fp_path.exists() and fp_path.read_text().strip() != fp:
        raise ConfigError(
            "this run directory holds a run made with a different config; resuming would mix outputs",
            where=str(run_dir),
            fix="choose another --out, or pass --fresh to delete it and start over",
        )
    write_text(fp_path, fp + "\n")
    write_text(layout.config_yaml, yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    remove_stale_tmp(run_dir)


def check_out_not_in_inputs(cfg: PipelineBase, root: Path, run_dir: Path) -> None:
    """Refuse a run directory that holds an input, or that lies inside an input folder (where a
    later run's glob or folder walk would read its outputs back as inputs). Checked before the run
    directory is created, so a refused run leaves nothing behind in the input folder."""
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
        for f in expand_source(src, root):
            p = f.resolve()
            if p == run or run in p.parents:
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
) -> RunResult:
    """`sets`: `KEY=VALUE` overrides applied to the YAML before validation (see curate.config)."""
    if isinstance(config, PipelineBase):
        cfg, config_path = config, None
        root = Path.cwd()
    else:
        config_path = Path(config)
        cfg = load_config(config_path, sets=sets)
        root = config_root()
    run_dir = Path(out or cfg.out or f"runs/{cfg.name}")
    if not run_dir.is_absolute():
        run_dir = root / run_dir
    EXECUTORS.get(executor)  # an unknown executor fails before anything is written
    for name in stages or ():
        STAGES.get(name)  # so does an unknown stage
    check_out_not_in_inputs(cfg, root, run_dir)
    prepare_run_dir(cfg, run_dir, fresh)
    workers = workers or min(os.cpu_count() or 1, 4)
    ex = make_executor(executor, run_dir, workers=workers, progress=progress, address=address, retries=retries)
    ctx = RunContext(cfg=cfg, run_dir=run_dir, root=root, executor=ex, config_path=config_path,
                     strict=cfg.strict if strict is None else strict, progress=progress)
    layout = ctx.layout
    stats: dict = {}
    timings: dict = {}
    try:
        for stage in stages or cfg.stage_list():
            t0 = time.perf_counter()
            stats[stage] = load_stage(stage)(ctx).run()
            timings[stage] = round(time.perf_counter() - t0, 3)
    finally:
        ex.close()
    # stats.json holds only deterministic content; wall times go to timings.json
    write_json(layout.stats, {"curate_version": __version__, "seed": cfg.seed, "stages": stats})
    write_json(layout.timings, timings)
    manifest_path = layout.write_manifest(cfg.seed, cfg.model_dump(mode="json"))
    from curate.report import write_report

    report = write_report(ctx, stats)
    return RunResult(run_dir=run_dir, stats=stats, report=report, manifest=manifest_path)
