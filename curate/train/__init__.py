"""The pre-training step: shard loader, objectives, proxy models, trainer, ablations."""
