"""Near-duplicate and exact-duplicate removal.

`config` holds the pipeline section's model (light: loading a config imports nothing else),
`engine` the three bounded-memory passes (band keys, candidate pairs, clusters), and `stage` the
wiring that runs them as the pipeline's `dedup` stage.
"""

import importlib

_SUBMODULES = ('config', 'engine', 'stage')


def __getattr__(name: str):
    # `from curate.dedup import X` reaches the engine's public names without loading it eagerly;
    # submodule names are imported as submodules (answering them through the engine would recurse)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.engine"), name)
