"""`curate run PIPELINE.yaml`: the main job."""

from __future__ import annotations

import click

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
@click.option("--workers", type=int, default=None, help="Parallel tasks (default: CPU count, at most 4).")
@click.option("--strict", is_flag=True, default=None, help="Stop at the first bad record, naming file and line, instead of quarantining it.")
@click.option("--fresh", is_flag=True, help="Delete the run directory first instead of resuming.")
@click.option("--stage", "stages", multiple=True, callback=_check_stages,
              help="Run only these stages (repeatable): annotate, dedup, decontam, select, tokenize, mix, or a registered one.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config key before validation (repeatable). VALUE is YAML; list items by name, "
                   "e.g. --set 'sources.pool.paths=[\"/data/*.jsonl.gz\"]' or --set mix.total_tokens=2M.")
@click.option("--retries", type=int, default=0, show_default=True, help="Retry a failed task this many times before failing the run.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def run(pipeline, out, executor, address, workers, strict, fresh, stages, sets, retries, quiet):
    """Run PIPELINE (a YAML file) end to end. Rerunning the same command resumes."""
    result = run_pipeline(pipeline, out=out, executor=executor, workers=workers, strict=strict, progress=not quiet,
                          fresh=fresh, stages=list(stages) or None, address=address, retries=retries, sets=list(sets))
    click.echo(f"run directory: {result.run_dir}")
    for line in summary_lines(result.stats):
        click.echo(f"  {line}")
    if "mix" in result.stats:
        click.echo(f"  manifest: {result.manifest}")
    if result.report:
        click.echo(f"report: {result.report}")
        html = result.report.with_name("report.html")
        if html.exists():
            click.echo(f"        {html}  (open in a browser; `curate show {result.run_dir}` for the examples in the terminal)")
