"""Token-exact mixing of per-source token files into Megatron shards.

`config` holds the pipeline section's model (light), `engine` the plan and the shard writer (also
used by `curate ablate` to re-mix without re-tokenizing), and `stage` the pipeline's `mix` stage.
"""


def __getattr__(name: str):
    # `from curate.mix import X` reaches the engine's public names without loading it eagerly
    from curate.mix import engine

    return getattr(engine, name)
