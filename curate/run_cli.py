"""`curate run PIPELINE.yaml`: the main job."""

from __future__ import annotations

import click

from curate.errors import CurateError
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
    """Run PIPELINE (a YAML file) end to end. Rerunning the same command resumes; after a change to
    the YAML or the inputs, only the work that change affects is redone (no --fresh needed)."""
    try:
        result = run_pipeline(pipeline, out=out, executor=executor, workers=workers, strict=strict, progress=not quiet,
                              fresh=fresh, stages=list(stages) or None, address=address, retries=retries)
    except CurateError as exc:
        partial = getattr(exc, "run_result", None)
        if partial is not None:  # what was done before the failure, then the error (printed by curate.cli)
            print_summary(partial, failed=getattr(exc, "failed_stage", None))
        raise
    print_summary(result)


def _reuse_note(result, *stages: str) -> str:
    """`(reused)` when every task of the stage(s) came from an earlier run, `(n of m reused)` when some did."""
    reuse = result.reuse or {}
    tasks = sum(reuse.get(s, {}).get("tasks", 0) for s in stages)
    done = sum(reuse.get(s, {}).get("reused", 0) for s in stages)
    if not tasks or not done:
        return ""
    return "  (reused)" if done == tasks else f"  ({done} of {tasks} tasks reused)"


def print_summary(result, failed: str | None = None) -> None:
    s = result.stats
    click.echo(f"run directory: {result.run_dir}")
    if "annotate" in s:
        a = s["annotate"]["total"]
        click.echo(f"  annotate: {a['docs_in']:,} docs read, {a['quarantined']:,} quarantined, {a['bytes'] / 1e6:.1f} MB"
                   + _reuse_note(result, "annotate"))
        for name, src in s["annotate"].get("sources", {}).items():
            if src.get("repeated_ids"):
                r = src["repeated_ids"]
                click.echo(f"  warning:  source {name}: {r['ids']:,} ids are given to more than one document ({r['docs']:,} documents)")
    if "dedup" in s and "total" in s["dedup"]:
        click.echo(f"  dedup:    {s['dedup']['total'].get('drops', 0):,} duplicates" + _reuse_note(result, "dedup_keys", "dedup_pairs", "dedup_clusters"))
    if "select" in s:
        t = s["select"]["total"]
        click.echo(f"  select:   {t.get('docs_out', 0):,} of {t.get('docs_in', 0):,} docs kept" + _reuse_note(result, "select"))
    if "tokenize" in s and "total" in s["tokenize"]:
        click.echo(f"  tokenize: {s['tokenize']['total'].get('tokens', 0):,} tokens" + _reuse_note(result, "tokenize", "tokenize-merge"))
    if "mix" in s:
        m = s["mix"]
        srcs = m.get("sources", {})
        repeated = sum(max(0, v.get("tokens", 0) - v.get("available_tokens", 0)) for v in srcs.values())
        total = m.get("total", {}).get("tokens", 0)
        click.echo(f"  mix:      {total:,} tokens in {m.get('total', {}).get('train_shards', 0)} train shards, "
                   f"{repeated:,} of them repeated" + _reuse_note(result, "mix"))
        for name, v in srcs.items():
            click.echo(f"            {name}: {v.get('tokens', 0):,} tokens, {v.get('epochs', 0):.2f} epochs")
        for w in m.get("warnings", []):
            click.echo(f"  warning:  {w}")
        click.echo(f"  shards:   {result.run_dir / 'shards'}  (manifest: {result.manifest})")
    if failed:
        click.echo(f"  {failed}: FAILED (stats.json records the error)")
    if result.report:
        click.echo(f"report: {result.report}")
