"""Token-exact mixing of per-source token files into Megatron shards.

`config` holds the pipeline section's model (light), `engine` the plan and the shard writer (also
used by `curate ablate` to re-mix without re-tokenizing), and `stage` the pipeline's `mix` stage.
"""

from curate.lazy import engine_getattr

__getattr__ = engine_getattr(__name__, ("config", "engine", "stage"))
