"""Pipeline stages: each has `run(ctx) -> stats` and spreads per-file work over the executor."""
