"""PII counts as annotate columns: `pii_<type>` (int32, items found per document) and `pii_total`.

The same engine (`curate.pii.scan`) redacts at select time (`select.pii`), so a selection rule on
these columns and the redaction agree on what is PII. Annotate only counts; the text in
`annotated/` is the original, so changing the redaction settings never needs a re-annotate.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curate import schema
from curate.pii.config import ORDER, PiiConfig
from curate.pii.engine import scan
from curate.signals.base import Signal, SignalContext, register_signal


@register_signal("pii", config=PiiConfig)
class PiiSignal(Signal):
    def __init__(self, cfg: PiiConfig, ctx: SignalContext):
        super().__init__(cfg, ctx)

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        _, counts = scan(table.column(schema.TEXT), self.cfg)
        total = np.zeros(table.num_rows, np.int64)
        out: dict[str, pa.Array] = {}
        for kind in ORDER:
            if kind in counts:
                out[f"pii_{kind}"] = pa.array(counts[kind].astype(np.int32), pa.int32())
                total += counts[kind]
        out["pii_total"] = pa.array(total.astype(np.int32), pa.int32())
        return out
