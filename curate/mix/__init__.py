"""Token-exact mixing of per-source token files into Megatron shards.

`config` holds the pipeline section's model (light), `engine` the plan and the shard writer (also
used by `curate ablate` to re-mix without re-tokenizing), and `stage` the pipeline's `mix` stage.
"""

import importlib

_SUBMODULES = ("config", "engine", "stage")


def __getattr__(name: str):
    # `from curate.mix import X` reaches the engine's public names without loading it eagerly.
    # Submodule names are imported as submodules: `from curate.mix import stage` asks this hook for
    # `stage` before importing it, and answering through the engine would recurse.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.engine"), name)
