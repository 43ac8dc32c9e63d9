"""Near-duplicate and exact-duplicate removal.

`config` holds the pipeline section's model (light: loading a config imports nothing else),
`engine` the three bounded-memory passes (band keys, candidate pairs, clusters), and `stage` the
wiring that runs them as the pipeline's `dedup` stage.
"""


def __getattr__(name: str):
    # `from curate.dedup import X` reaches the engine's public names without loading it eagerly
    from curate.dedup import engine

    return getattr(engine, name)
