"""Column names shared by readers, signals and stages (see docs/internals.md)."""

import pyarrow as pa

ID = "id"
TEXT = "text"
SOURCE = "source"
ROLE = "role"
FILE = "file"
LINE = "line"

BASE_SCHEMA = pa.schema(
    [
        pa.field(ID, pa.string()),
        pa.field(TEXT, pa.large_string()),
        pa.field(SOURCE, pa.string()),
        pa.field(ROLE, pa.string()),
        pa.field(FILE, pa.string()),
        pa.field(LINE, pa.int64()),
    ]
)
