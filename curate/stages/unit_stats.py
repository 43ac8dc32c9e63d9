"""Per input file stats of a pack unit (`curate.io.packs`): the unit's rows are its members' rows in
member order, so each member is a contiguous span of rows; a stage decides over the whole unit
(rules are row-wise) and splits its counts by span here, vectorized (no per-document Python)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import stats


def member_files(ctx, unit) -> list[str] | None:
    """The files (as stats show them) of a pack unit's members, in order; None for a unit that is one input file."""
    return [ctx.display(m.path) for m in unit.members] if len(unit.members) > 1 else None


def spans_of(files: list[str], file_column) -> list[tuple[str, int]]:
    """(file, rows) of each member of a pack unit, from its annotated rows' `file` column (a member's
    rows are contiguous, in member order; a member with no rows has an empty span)."""
    counts = {r["values"]: int(r["counts"]) for r in pc.value_counts(file_column).to_pylist()} if len(file_column) else {}
    spans = [(f, counts.pop(f, 0)) for f in files]
    if counts:
        raise ValueError(f"annotated rows of files that are not members of the unit: {sorted(counts)[:3]}")
    return spans


def member_index(spans: list[tuple[str, int]]) -> np.ndarray:
    """Per row of the unit, the index of the member it belongs to."""
    return np.repeat(np.arange(len(spans), dtype=np.int64), [n for _, n in spans])


def count_by(member: np.ndarray, values: pa.Array, members: int) -> list[dict[str, int]]:
    """Per member, {value: rows} of a string column (nulls not counted)."""
    out: list[dict[str, int]] = [{} for _ in range(members)]
    enc = pc.dictionary_encode(values).combine_chunks() if isinstance(values, pa.ChunkedArray) else pc.dictionary_encode(values)
    names = enc.dictionary.to_pylist()
    if not names:
        return out
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    live = codes >= 0
    counts = np.bincount(member[live] * len(names) + codes[live], minlength=members * len(names)).reshape(members, len(names))
    for m, k in zip(*np.nonzero(counts)):
        out[m][names[k]] = int(counts[m, k])
    return out


def select_rows(source: str, spans: list[tuple[str, int]], why: pa.Array, kept: pa.Table, alive: np.ndarray,
                pii: list[dict[str, int]] | None) -> list[dict]:
    """The select stage's stats row of each member: rows in, kept, kept text bytes, drops by reason,
    kept roles (and PII items found, when select.pii is on)."""
    n = len(spans)
    member = member_index(spans)
    reasons = count_by(member, why, n)
    kept_member = member[alive]
    lengths = pc.binary_length(kept.column("text")).to_numpy(zero_copy_only=False) if kept.num_rows else np.zeros(0)
    text_bytes = np.bincount(kept_member, weights=np.nan_to_num(lengths.astype(np.float64)), minlength=n)
    docs_out = np.bincount(kept_member, minlength=n)
    roles = count_by(kept_member, kept.column("role"), n) if kept.num_rows else [{} for _ in range(n)]
    rows = []
    for m, (file, rows_in) in enumerate(spans):
        extra = {"pii": pii[m]} if pii is not None else {}
        rows.append(stats.row(source, file, docs_in=rows_in, docs_out=int(docs_out[m]), bytes=int(text_bytes[m]), drops=reasons[m],
                              roles=dict(sorted(roles[m].items())), **extra))
    return rows


def pii_by_member(kept: pa.Table, alive: np.ndarray, spans: list[tuple[str, int]], apply) -> tuple[pa.Table, np.ndarray, list[dict[str, int]]]:
    """`select.pii` applied to each member's kept rows (items found are counted per member file):
    (the kept table with redacted text, keep mask over its rows, items per type of each member)."""
    per = np.bincount(member_index(spans)[alive], minlength=len(spans))
    tables, keeps, found = [], [], []
    at = 0
    for n in per:
        t, keep, items = apply(kept.slice(at, int(n)))
        tables.append(t)
        keeps.append(keep)
        found.append(items)
        at += int(n)
    out = pa.concat_tables(tables) if tables else kept
    return out, (np.concatenate(keeps) if keeps else np.ones(0, bool)), found


def decontam_rows(source: str, spans: list[tuple[str, int]], hit_rows: np.ndarray, dup_rows: np.ndarray, action: str,
                  matches: np.ndarray) -> list[dict]:
    """The decontam stage's stats row of each member: documents alive after dedup in, contaminated
    ones dropped (with `action: drop`), contaminated documents and n-gram matches found."""
    n = len(spans)
    bounds = np.cumsum([0] + [k for _, k in spans])
    of = lambda rows: np.searchsorted(bounds, rows, side="right") - 1  # noqa: E731 - row -> member
    dups = np.bincount(of(np.unique(dup_rows)), minlength=n)
    hits = np.bincount(of(hit_rows), minlength=n) if hit_rows.size else np.zeros(n, np.int64)
    alive_hits = np.bincount(of(hit_rows[~np.isin(hit_rows, dup_rows)]), minlength=n) if hit_rows.size else np.zeros(n, np.int64)
    found = np.bincount(member_index(spans), weights=matches.astype(np.float64), minlength=n) if matches.size else np.zeros(n)
    rows = []
    for m, (file, docs) in enumerate(spans):
        docs_in = docs - int(dups[m])
        dropped = int(alive_hits[m]) if action == "drop" else 0
        rows.append(stats.row(source, file, docs_in=docs_in, docs_out=docs_in - dropped, drops={"contaminated": dropped},
                              contaminated=int(hits[m]), ngram_matches=int(round(found[m]))))
    return rows
