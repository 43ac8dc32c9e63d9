"""Tokenizers and tokenization.

`config` holds the pipeline's `tokenizer:` section model (light), `tokenizer` trains/loads
tokenizers and encodes (with `fastbpe`, the tiktoken fast path), `stage` is the pipeline's
`tokenize` stage and `cli` the `curate tokenizer` command.
"""
