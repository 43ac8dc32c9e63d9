"""The dedup drops of one annotated file, read without reading every file's drops.

The dedup stage writes `drops.parquet` (sorted by source, id) and beside it `drops_by_file.parquet`
(file, row, reason; sorted by file then row, in small row groups). A reader of one file's drops
picks the row groups whose `file` statistics can hold the file's key and reads only those: the
work per file is its own drops plus at most two row groups, not all drops of the run. A run
directory made before the index existed falls back to filtering `drops.parquet`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

INDEX_NAME = "drops_by_file.parquet"


def index_path(drops: str | Path) -> Path:
    """The index beside a drops file (`RunLayout.drops_by_file` for the run's own)."""
    return Path(drops).with_name(INDEX_NAME)


def file_drops(drops: str | Path, key: str, columns: tuple[str, ...] = ("row", "reason")) -> pa.Table:
    """Rows (and reasons) of annotated file `key` that dedup dropped, sorted by row."""
    index = index_path(drops)
    if not index.exists():  # a run directory written before the index existed
        t = pq.read_table(drops, columns=["file", *columns], filters=[("file", "==", key)])
        return t.select(list(columns)).sort_by("row").combine_chunks()
    pf = pq.ParquetFile(index)
    md = pf.metadata
    col = pf.schema_arrow.get_field_index("file")
    groups = []
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(col).statistics
        if st is None or not st.has_min_max or st.min <= key <= st.max:
            groups.append(g)
    if not groups:
        return pf.schema_arrow.empty_table().select(list(columns))
    t = pf.read_row_groups(groups, columns=["file", *columns])
    return t.filter(pc.equal(t.column("file"), key)).select(list(columns)).combine_chunks()
