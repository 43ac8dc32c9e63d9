"""Run a pipeline: the Python API behind `curate run` (see `curate.pipeline.run`)."""

from curate.pipeline.run import RunResult, config_fingerprint, run_pipeline

__all__ = ["RunResult", "config_fingerprint", "run_pipeline"]
