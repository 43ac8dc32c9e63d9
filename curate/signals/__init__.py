"""Signal families: each adds columns to a batch of documents (annotate once, select many times)."""
