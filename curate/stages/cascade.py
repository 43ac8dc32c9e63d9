"""The annotate cascade (opt-in, `annotate.cascade: true`): cheap rules first, expensive signals only
for the documents that survive them.

Select drops a document by the first rule it fails. Inside an annotate task the cascade walks the
select rules in the same order; before a rule it computes the signals that rule reads, but only for
documents that have not failed an earlier rule, then marks the documents the rule drops. Signals no
rule reads are computed last, for the survivors. A document that failed rule k keeps every column
computed before rule k, has null in the others, and carries the rule's name in `cascade_stop`.

Select later reaches the same verdicts: a document's first failing rule is evaluated on the same
values in both paths, and every rule before it was evaluated for it too. So selected documents,
their drop reasons, tokens and shards are the same bytes as with full annotation (tests compare them).

The cascade stops (later rules and signals run on every document) at the first rule annotate
cannot decide alone: a `top_fraction` rule (its cutoff is global) or a rule reading a column no
signal makes (e.g. the adapt stage's). Signals whose columns a later stage reads for every document
(dedup keys, adapt priors) are never skipped.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

STOP_COLUMN = "cascade_stop"


def _scatter(col: pa.Array | pa.ChunkedArray, rows: np.ndarray, n: int) -> pa.Array:
    """A column computed for `rows` of n, spread back to length n with nulls elsewhere."""
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows), dtype=np.int64)
    return col.take(pa.array(where, mask=where < 0))


class Cascade:
    """One annotate task's cascade plan: the select rules it may apply and the signals it must not skip."""

    def __init__(self, rules: list[dict], seed: int, keep_all: set[str], where: str):
        from curate.stages.sections import RuleConfig

        self.rules = [RuleConfig.model_validate(r) for r in rules]
        self.seed = seed
        self.keep_all = keep_all  # columns some later stage reads for every document
        self.where = where
        self.skipped: dict[str, int] = {}  # signal id -> documents it was not computed for

    def run(self, table: pa.Table, signals: list, schemas: dict[str, pa.Schema], owners: dict[str, list[str]]) -> pa.Table:
        """`table` with every signal's columns (in signal order) and `cascade_stop`."""
        from curate.stages.select import rule_columns, rule_keep_mask, scope_mask

        n = table.num_rows
        made: dict[str, dict[str, pa.Array]] = {}
        producer = {c: sid for sid, _ in signals for c in schemas[sid].names}
        stop = np.full(n, -1, dtype=np.int32)
        alive = np.ones(n, dtype=bool)
        names: list[str] = []

        def compute(sid: str, sig, rows: np.ndarray | None) -> None:
            if rows is None or len(rows) == n:
                made[sid] = sig.columns(table)
                return
            self.skipped[sid] = self.skipped.get(sid, 0) + n - len(rows)
            if len(rows) == 0:
                made[sid] = {f.name: pa.nulls(n, f.type) for f in schemas[sid]}
                return
            part = sig.columns(table.take(pa.array(rows)))
            made[sid] = {name: _scatter(col, rows, n) for name, col in part.items()}

        def view(cols: set[str]) -> pa.Table:
            t = table
            for c in sorted(cols):
                if c in producer and c not in t.column_names:
                    t = t.append_column(c, made[producer[c]][c])
            return t

        signal_of = dict(signals)
        for rule in self.rules:
            needed = rule_columns(rule)
            if any(c not in table.column_names and c not in producer for c in needed) or rule.mode == "top_fraction":
                break  # annotate cannot decide this rule alone: the cascade ends here
            for sid in dict.fromkeys(producer[c] for c in needed if c in producer):
                if sid not in made:
                    everyone = any(c in self.keep_all for c in schemas[sid].names)
                    compute(sid, signal_of[sid], None if everyone else np.flatnonzero(alive))
            keep = rule_keep_mask(view(needed), rule, None, self.seed, self.where)
            drop = alive & scope_mask(table, rule) & ~keep
            if drop.any():
                stop[drop] = len(names)
                names.append(rule.name)
                alive &= ~drop
        for sid, sig in signals:  # what no applied rule read: the survivors (or every document, if a later stage needs it)
            if sid not in made:
                everyone = any(c in self.keep_all for c in schemas[sid].names)
                compute(sid, sig, None if everyone else np.flatnonzero(alive))
        for sid, _ in signals:
            for name, col in made[sid].items():
                if name in table.column_names:
                    raise ValueError(f"signal {sid} produced column `{name}` twice")
                table = table.append_column(name, col)
            owners[sid] = list(made[sid])
        reason = pa.array(names, pa.string()).take(pa.array(stop, mask=stop < 0))
        return table.append_column(STOP_COLUMN, reason)
