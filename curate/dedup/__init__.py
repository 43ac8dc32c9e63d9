"""Near-duplicate and exact-duplicate removal.

`config` holds the pipeline section's model (light: loading a config imports nothing else),
`engine` the three bounded-memory passes (band keys, candidate pairs, clusters), and `stage` the
wiring that runs them as the pipeline's `dedup` stage.
"""

from curate.lazy import engine_getattr

__getattr__ = engine_getattr(__name__, ("config", "engine", "stage"))
