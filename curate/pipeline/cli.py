"""`curate run PIPELINE.yaml`: the main job."""

from __future__ import annotations

import click

from curate.errors import CurateError
from curate.pipeline.run import run_pipeline
from curate.stats import summary_lines


def _check_stages(ctx, param, value):
    from curate.stages.base import STAGES

    for name in value:
        if name not in STAGES:
            raise click.BadParameter(f"unknown stage `{name}`: {STAGES.hint(name)}")
    return value


@click.command("run")
@click.argument("pipeline", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory (default: `out:` in the YAML, else runs/<name>).")
@click.option("--executor", default="local", show_default=True, help="Where tasks run: local (a process pool) or ray.")
@click.option("--address", default=None, help="Ray cluster address (`auto` or HOST:PORT); default starts a local Ray.")
@click.option("--workers", type=int, default=None, help="Parallel tasks (default: CPU count, at most 4; then a stage with under 4 MiB of input runs in this process, no pool to start).")
@click.option("--strict", is_flag=True, default=None, help="Stop at the first bad record, naming file and line, instead of quarantining it.")
@click.option("--fresh", is_flag=True, help="Delete what curate wrote in the run directory first (never other files) instead of reusing it.")
@click.option("--stage", "stages", multiple=True, callback=_check_stages,
              help="Run only these stages (repeatable): annotate, dedup, decontam, select, tokenize, mix, or a registered one.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config key before validation (repeatable). VALUE is YAML; list items by name, "
                   "e.g. --set 'sources.pool.paths=[\"/data/*.jsonl.gz\"]' or --set mix.total_tokens=2M.")
@click.option("--retries", type=int, default=0, show_default=True, help="Retry a failed task this many times before failing the run.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def run(pipeline, out, executor, address, workers, strict, fresh, stages, sets, retries, quiet):
    """Run PIPELINE (a YAML file) end to end. Rerunning the same command resumes; after a change to
    the YAML or the inputs, only the work that change affects is redone (no --fresh needed)."""
    try:
        result = run_pipeline(pipeline, out=out, executor=executor, workers=workers, strict=strict, progress=not quiet,
                              fresh=fresh, stages=list(stages) or None, address=address, retries=retries, sets=list(sets))
    except CurateError as exc:
        partial = getattr(exc, "run_result", None)
        if partial is not None:  # what was done before the failure, then the error (printed by curate.cli)
            print_summary(partial, failed=getattr(exc, "failed_stage", None))
        raise
    print_summary(result)


# the executor's names for the tasks of each stage (a stage may run several kinds)
STAGE_TASKS = {"dedup": ("dedup_keys", "dedup_pairs", "dedup_clusters"), "tokenize": ("tokenizer", "tokenize", "tokenize-merge")}


def _reuse_note(result, stage: str) -> str:
    """`(reused)` when every task of the stage came from an earlier run, `(n of m tasks reused)` when some did."""
    reuse = result.reuse or {}
    names = STAGE_TASKS.get(stage, (stage,))
    tasks = sum(reuse.get(s, {}).get("tasks", 0) for s in names)
    done = sum(reuse.get(s, {}).get("reused", 0) for s in names)
    if not tasks or not done:
        return ""
    return "  (reused)" if done == tasks else f"  ({done} of {tasks} tasks reused)"


def print_summary(result, failed: str | None = None) -> None:
    s = result.stats
    click.echo(f"run directory: {result.run_dir}")
    for name, line in zip(s, summary_lines(s)):
        click.echo(f"  {line}{_reuse_note(result, name)}")
    for name, src in s.get("annotate", {}).get("sources", {}).items():
        if src.get("repeated_ids"):
            r = src["repeated_ids"]
            click.echo(f"  warning:  source {name}: {r['ids']:,} ids are given to more than one document ({r['docs']:,} documents)")
    if "mix" in s:
        m = s["mix"]
        srcs = m.get("sources", {})
        repeated = sum(max(0, v.get("tokens", 0) - v.get("available_tokens", 0)) for v in srcs.values())
        click.echo(f"  mixed:    {m.get('total', {}).get('tokens', 0):,} tokens in {m.get('total', {}).get('train_shards', 0)} train shards, "
                   f"{repeated:,} of them repeated")
        for name, v in srcs.items():
            click.echo(f"            {name}: {v.get('tokens', 0):,} tokens, {float(v.get('epochs', 0)):.2f} epochs")
        for w in m.get("warnings", []):
            click.echo(f"  warning:  {w}")
        click.echo(f"  shards:   {result.run_dir / 'shards'}  (manifest: {result.manifest})")
    if failed:
        click.echo(f"  {failed}: FAILED (stats.json records the error)")
    if result.report:
        click.echo(f"report: {result.report}")
        html = result.report.with_name("report.html")
        if html.exists():
            click.echo(f"        {html}  (open in a browser; `curate show {result.run_dir}` for the examples in the terminal)")
