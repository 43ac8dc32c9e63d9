"""The `curate` command line. Thin: parses arguments and calls the library.

Subcommands live beside the code they drive and are imported only when used, so `curate --help`
stays fast (torch is not imported unless you train).
"""

from __future__ import annotations

import importlib
import sys

import click

from curate.errors import CurateError, disk_full_error

# command name -> "module:attribute" (a click command or group)
SUBCOMMANDS = {
    "run": "curate.pipeline.cli:run",
    "classifier": "curate.classify.cli:classifier",
    "tokenizer": "curate.tokenize.cli:tokenizer",
    "shards": "curate.shards.cli:shards",
    "train": "curate.train.cli:train",
    "ablate": "curate.train.cli:ablate",
    "plan": "curate.plan.cli:plan",
    "export": "curate.export.cli:export",
    "show": "curate.show:show",
}

HELP = {
    "run": "Run a pipeline YAML: annotate, dedup, select, tokenize, mix (resumable).",
    "classifier": "Train, evaluate and inspect quality/domain classifiers.",
    "tokenizer": "Train a tokenizer on selected data.",
    "shards": "Verify and inspect Megatron .bin/.idx shards.",
    "train": "Train a small proxy model on curate shards (CLM, MLM, span corruption).",
    "ablate": "Run a mixture/threshold ablation sweep and report held-out loss per domain.",
    "plan": "Scaling-law planning: parameters, tokens, compute, memory, data needs.",
    "export": "Export a run's selected or mixed documents as a Hugging Face / Parquet / JSONL dataset with a card.",
    "show": "Example documents of a run: what each rule dropped and kept, with their signal values.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:  # pragma: no cover - only while a module is missing
            raise click.ClickException(f"`curate {name}` is unavailable: {exc}") from None

    def format_commands(self, ctx, formatter):
        rows = [(name, HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="curate")
def cli():
    """curate: curate raw corpora into mixed, tokenized shards for domain LLM pre-training."""


def main(argv=None):
    try:
        cli.main(args=argv, prog_name="curate", standalone_mode=False)
    except CurateError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; rerun the same command to resume", err=True)
        sys.exit(130)
    except OSError as exc:  # a full disk under any command: say so, not a traceback
        full = disk_full_error(exc)
        if full is None:
            raise
        click.echo(f"error: {full}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
