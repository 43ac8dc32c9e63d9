"""`curate export`: a run's selected or mixed documents as a Hugging Face / Parquet / JSONL dataset with a card."""

from curate.export.engine import export_run

__all__ = ["export_run"]
