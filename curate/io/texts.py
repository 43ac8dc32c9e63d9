"""Text of any input file through the registered readers, for classifier recipes and tokenizer
training: one reader stack, so a format (or a fix to one) serves the pipeline and both tools, and a
bad record is an error naming file:line (strict) rather than a silently skipped document."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa

from curate.errors import InputError
from curate.io.formats import detect_format
from curate.io.quarantine import Quarantine
from curate.io.readers import ReadSpec, read_documents


def read_tables(path: Path, text_field: str = "text", fallback: str | None = None, batch_size: int = 8192) -> Iterator[pa.Table]:
    """Base-schema tables of one file. `fallback`: the format of a file no reader claims (else an error)."""
    path = Path(path)
    try:
        fmt = detect_format(path)
    except InputError:
        if fallback is None:
            raise
        fmt = fallback
    spec = ReadSpec(source=path.name, role="", text_field=text_field, max_doc_bytes=1 << 31, batch_size=batch_size, display=str(path))
    yield from read_documents(path, fmt, spec, Quarantine(str(path), strict=True))


def read_texts(path: Path, text_field: str = "text") -> Iterator[pa.Array]:
    """The text column of a JSONL(.gz/.zst), Parquet, text, WARC or HF-dataset input, in batches."""
    for table in read_tables(path, text_field):
        yield table.column("text").combine_chunks()
