"""`curate export RUN --format hf|parquet|jsonl [--what selected|mixed] --out DIR`."""

from __future__ import annotations

import click


@click.command("export")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["hf", "parquet", "jsonl"]), default="hf", show_default=True,
              help="hf: a datasets.load_from_disk folder; parquet/jsonl: data/part-*.{parquet,jsonl} for datasets.load_dataset.")
@click.option("--what", type=click.Choice(["selected", "mixed"]), default="selected", show_default=True,
              help="selected: every kept document; mixed: the mixed train stream in training order (one row per use).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder (must not exist unless --overwrite).")
@click.option("--rows-per-file", type=int, default=100_000, show_default=True, help="Rows per Parquet/JSONL part.")
@click.option("--overwrite", is_flag=True, help="Replace the output folder.")
def export(run, fmt, what, out, rows_per_file, overwrite):
    """Export RUN's documents with their signal columns and a dataset card (README.md)."""
    from curate.export import export_run

    s = export_run(run, out, fmt=fmt, what=what, rows_per_file=rows_per_file, overwrite=overwrite)
    per = ", ".join(f"{k} {v:,}" for k, v in s["per_source"].items())
    click.echo(f"exported {s['documents']:,} {what} documents ({per}) as {fmt} to {out}")
