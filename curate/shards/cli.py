"""`curate shards verify|inspect` (thin: the work is in the library)."""

from __future__ import annotations

import sys

import click

@click.group()
def shards():
    """Verify and inspect Megatron .bin/.idx shards."""


@shards.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--eos-id", type=int, default=None, help="EOS id (defaults to the manifest's).")
@click.option("--vocab-size", type=int, default=None, help="Vocabulary size (defaults to the manifest's).")
def verify_cmd(directory, eos_id, vocab_size):
    """Check DIRECTORY's shards against manifest.json: checksums, idx/bin consistency, dtype, EOS
    at every document end. Exits 1 naming each bad file."""
    from curate.shards.verify import verify_dir

    report = verify_dir(directory, eos_id=eos_id, vocab_size=vocab_size)
    for c in report.checked:
        click.echo(f"checked {c['path']}: {c['tokens']:,} tokens, {c['documents']:,} documents")
    for p in report.problems:
        click.echo(f"CORRUPT {p}", err=True)
    if not report.ok:
        click.echo(f"{len(report.problems)} problem(s) in {directory}", err=True)
        sys.exit(1)
    click.echo(f"OK: {len(report.checked)} shard(s) verified")


@shards.command("inspect")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--samples", type=int, default=2, show_default=True, help="Documents to decode.")
@click.option("--chars", type=int, default=300, show_default=True, help="Characters shown per document.")
@click.option("--seed", type=int, default=0, show_default=True)
def inspect_cmd(directory, samples, chars, seed):
    """Show DIRECTORY's tokenizer, target vs achieved shares, tokens per source and sample documents."""
    from curate.shards.inspect import inspect_dir

    click.echo(inspect_dir(directory, samples=samples, chars=chars, seed=seed))
