"""`curate run PIPELINE.yaml`: the main job."""

from __future__ import annotations

import click

from curate.pipeline import run_pipeline


@click.command("run")
@click.argument("pipeline", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory (default: `out:` in the YAML, else runs/<name>).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where tasks run.")
@click.option("--address", default=None, help="Ray cluster address (`auto` or HOST:PORT); default starts a local Ray.")
@click.option("--workers", type=int, default=None, help="Parallel tasks (default: CPU count, at most 4).")
@click.option("--strict", is_flag=True, default=None, help="Stop at the first bad record, naming file and line, instead of quarantining it.")
@click.option("--fresh", is_flag=True, help="Delete the run directory first instead of resuming.")
@click.option("--stage", "stages", multiple=True, type=click.Choice(["annotate", "dedup", "select", "tokenize", "mix"]), help="Run only these stages (repeatable).")
@click.option("--retries", type=int, default=0, show_default=True, help="Retry a failed task this many times before failing the run.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def run(pipeline, out, executor, address, workers, strict, fresh, stages, retries, quiet):
    """Run PIPELINE (a YAML file) end to end. Rerunning the same command resumes."""
    result = run_pipeline(pipeline, out=out, executor=executor, workers=workers, strict=strict, progress=not quiet,
                          fresh=fresh, stages=list(stages) or None, address=address, retries=retries)
    s = result.stats
    click.echo(f"run directory: {result.run_dir}")
    if "annotate" in s:
        a = s["annotate"]["total"]
        click.echo(f"  annotate: {a['docs_in']:,} docs read, {a['quarantined']:,} quarantined, {a['bytes'] / 1e6:.1f} MB")
    if "dedup" in s and "total" in s["dedup"]:
        click.echo(f"  dedup:    {s['dedup']['total'].get('drops', 0):,} duplicates")
    if "select" in s:
        t = s["select"]["total"]
        click.echo(f"  select:   {t['docs_out']:,} of {t['docs_in']:,} docs kept")
    if "tokenize" in s and "total" in s["tokenize"]:
        click.echo(f"  tokenize: {s['tokenize']['total'].get('tokens', 0):,} tokens")
    if "mix" in s:
        click.echo(f"  mix:      {result.manifest}")
    if result.report:
        click.echo(f"report: {result.report}")
        html = result.report.with_name("report.html")
        if html.exists():
            click.echo(f"        {html}  (open in a browser; `curate show {result.run_dir}` for the examples in the terminal)")
