"""`curate tokenizer train` (thin: the work is in curate.tokenize.tokenizer)."""

from __future__ import annotations

from pathlib import Path

import click

from curate.errors import CurateError
from curate.layout import RunLayout

_DATA_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".txt")


def _training_files(inputs: tuple[str, ...]) -> list[Path]:
    """Files to sample from: a run directory's selected/ Parquet, a folder's data files, or files."""
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            selected = RunLayout(p).selected_dir
            base = selected if selected.is_dir() else p
            found = sorted(q for q in base.rglob("*") if q.is_file() and q.name.endswith(_DATA_SUFFIXES))
            if not found:
                raise CurateError("no Parquet/JSONL/text files here", where=str(p), fix="pass a run directory (with selected/) or data files")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise CurateError("no such file or directory", where=item)
    return files


@click.group()
def tokenizer():
    """Train a tokenizer on selected data."""


@tokenizer.command("train")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write tokenizer.json.")
@click.option("--kind", type=click.Choice(["bpe", "unigram"]), default="bpe", show_default=True)
@click.option("--vocab-size", type=int, default=32_000, show_default=True)
@click.option("--min-frequency", type=int, default=2, show_default=True, help="BPE: least count of a pair to merge.")
@click.option("--pre-tokenizer", type=click.Choice(["gpt2", "bloomberg"]), default="gpt2", show_default=True)
@click.option("--eos", default="<|endoftext|>", show_default=True)
@click.option("--sample-bytes", type=int, default=100_000_000, show_default=True, help="Seeded sample size across inputs.")
@click.option("--seed", type=int, default=1234, show_default=True)
@click.option("--text-field", default="text", show_default=True)
def train_cmd(inputs, out, kind, vocab_size, min_frequency, pre_tokenizer, eos, sample_bytes, seed, text_field):
    """Train a byte-level BPE or Unigram tokenizer on INPUTS (a run directory's selected documents,
    folders or Parquet/JSONL files), sampled by seed across all of them."""
    from curate.tokenize.tokenizer import TokenizerConfig, load_tokenizer, sample_texts, train_tokenizer

    cfg = TokenizerConfig(kind=kind, vocab_size=vocab_size, min_frequency=min_frequency, pre_tokenizer=pre_tokenizer, eos=eos,
                          sample_bytes=sample_bytes)
    files = _training_files(inputs)
    texts = sample_texts(files, seed, cfg.sample_bytes, text_field)
    path = train_tokenizer(texts, cfg, out)
    tok = load_tokenizer(path, eos)
    engine = tok.encoder("auto")
    click.echo(f"wrote {path}: {kind} vocab={tok.vocab_size} eos_id={tok.eos_id} sha256={tok.sha256[:16]}… "
               f"from {len(texts):,} documents of {len(files)} files; fast engine: "
               f"{engine.engine}{'' if engine.reason is None else f' ({engine.reason})'}")
