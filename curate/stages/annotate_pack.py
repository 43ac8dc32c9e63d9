"""Annotate tasks over several input files: a pack of small files' tasks in one worker call
(`annotate_files`: each file keeps its own outputs) and a pack unit (`annotate_unit`: the files'
rows go to one annotated file, `curate.io.packs`). Both gather tables across files up to
`batch_size` rows, so every signal's per-call cost is paid once per batch, not once per file.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import stats
from curate.io.atomic import atomic_path, deferred_renames, write_bytes
from curate.io.quarantine import Quarantine
from curate.io.readers import ReadSpec, read_documents
from curate.signals.base import SignalContext
from curate.stages.annotate import _update_columns, annotate_table, build_signals, signal_schemas, signals_record
from curate.stages.cascade import Cascade


class _Output:
    """One member of an annotate pack: its reading, quarantine, counts and Parquet writer."""

    def __init__(self, m: dict):
        self.m = m
        self.spec = ReadSpec(**m["spec"])
        self.q = Quarantine(m["display"], strict=m["strict"])
        self.docs = 0
        self.text_bytes = 0
        self.writer: pq.ParquetWriter | None = None
        self.tmp: Path | None = None
        self.casc: Cascade | None = None

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        self.writer.write_table(table)

    def close(self, empty: pa.Table) -> None:
        if self.writer is None:  # empty (or wholly quarantined) input: an empty file that still has every signal column
            pq.write_table(empty, self.tmp)
        else:
            self.writer.close()


def annotate_files(*, members: list[dict], signals: list, root: str, seed: int, signal_fps: dict | None = None,
                   cascade: dict | None = None, **_) -> dict:
    """A pack of small annotate tasks in one worker call (`pack_tasks`): each member's input is read
    as `annotate_file` reads it, but the signals run on tables gathered across members up to
    `batch_size` rows (the per-call cost of every signal is paid once per batch, not once per file),
    and each member's rows go back to its own Parquet file, in the tables its reader made. Signals
    are row-wise, so every file is the bytes `annotate_file` writes. Under the cascade each member
    keeps its own `Cascade` (its skipped counts are per file) and its tables are not gathered.
    Returns {member id: result}."""
    plan = signals
    sctx = SignalContext(root=Path(root), seed=seed)
    signal_fps = signal_fps or {}
    results: dict[str, dict] = {}
    outs = []
    for m in members:
        if m.get("previous") is not None and Path(m["out"]).exists():
            results[m["task_id"]] = _update_columns(m["out"], plan, sctx, signal_fps, m["previous"])
        else:
            outs.append(_Output(m))
    signals = build_signals(plan, sctx)
    schemas = signal_schemas(signals) if cascade else {}
    for o in outs:
        o.casc = Cascade(cascade["rules"], seed, set(cascade["keep_all"]), o.m["display"]) if cascade else None
    owners: dict[str, list[str]] = {}
    batch_size = max(o.spec.batch_size for o in outs) if outs and not cascade else 1  # cascade: one table at a time
    pending: list[tuple[_Output, pa.Table]] = []
    with deferred_renames(), contextlib.ExitStack() as stack:
        for o in outs:
            o.tmp = stack.enter_context(atomic_path(o.m["out"]))

        def flush() -> None:
            if not pending:
                return
            tables = [t for _, t in pending]
            if cascade:
                (o, table), = pending
                done = o.casc.run(table, signals, schemas, owners)
            else:
                done = annotate_table(pa.concat_tables(tables).combine_chunks() if len(tables) > 1 else tables[0], signals, owners)
            at = 0
            for o, t in pending:
                o.write(done.slice(at, t.num_rows))
                at += t.num_rows
            pending.clear()

        _read_members(outs, pending, batch_size, flush)
        from curate import schema as S

        empty = None
        for o in outs:
            if o.writer is None and o.casc is not None:
                o.close(o.casc.run(S.BASE_SCHEMA.empty_table(), signals, schemas, owners))
                continue
            if o.writer is None and empty is None:
                empty = annotate_table(S.BASE_SCHEMA.empty_table(), signals, owners)
            o.close(empty)
        for o in outs:
            o.q.write(Path(o.m["quarantine"]))
    for o in outs:
        extra = {"cascade_skipped": dict(sorted(o.casc.skipped.items()))} if o.casc else {}
        results[o.m["task_id"]] = stats.row(o.spec.source, o.m["display"], docs_in=o.docs + o.q.count, docs_out=o.docs, bytes=o.text_bytes,
                                            drops=o.q.reasons, _reader=o.m["reader_fp"], **extra,
                                            _signals=signals_record([sid for sid, _ in signals], signal_fps, owners))
    return results


def annotate_unit(*, members: list[dict], out: str, quarantine: str, signals: list, root: str, seed: int, reader_fp: str = "",
                  signal_fps: dict | None = None, previous: dict | None = None, cascade: dict | None = None, **_) -> dict:
    """One pack unit: its members' inputs read in order, their rows annotated in batches gathered
    across members and written to ONE Parquet file (`out`), their bad records to one quarantine file.
    Signals are row-wise, so its rows are the rows the members' own annotated files would hold, in
    order. Returns {"members": [each member's stats row], "docs_in": total, "_reader", "_signals"}:
    stats stay per input file. With `previous` (the same reading under other signals), the stored
    file is updated instead (its member rows are kept)."""
    plan = signals
    sctx = SignalContext(root=Path(root), seed=seed)
    signal_fps = signal_fps or {}
    if previous is not None and Path(out).exists():
        return _update_columns(out, plan, sctx, signal_fps, previous)
    signals = build_signals(plan, sctx)
    schemas = signal_schemas(signals) if cascade else {}
    outs = [_Output(m) for m in members]
    for o in outs:
        o.casc = Cascade(cascade["rules"], seed, set(cascade["keep_all"]), o.m["display"]) if cascade else None
    owners: dict[str, list[str]] = {}
    batch_size = max(o.spec.batch_size for o in outs) if not cascade else 1  # cascade: one table at a time
    pending: list[tuple[_Output, pa.Table]] = []
    writer: list[pq.ParquetWriter] = []
    with atomic_path(out) as tmp:

        def emit(table: pa.Table) -> None:
            if not writer:
                writer.append(pq.ParquetWriter(tmp, table.schema, compression="zstd"))
            writer[0].write_table(table)

        def flush() -> None:
            if not pending:
                return
            if cascade:
                (o, table), = pending
                emit(o.casc.run(table, signals, schemas, owners))
            else:
                tables = [t for _, t in pending]
                emit(annotate_table(pa.concat_tables(tables).combine_chunks() if len(tables) > 1 else tables[0], signals, owners))
            pending.clear()

        _read_members(outs, pending, batch_size, flush)
        from curate import schema as S

        for o in outs:  # every member's cascade sees the empty table too (as its own file would), so owners are alike
            if o.casc is not None and o.docs == 0:
                empty = o.casc.run(S.BASE_SCHEMA.empty_table(), signals, schemas, owners)
        if not writer:  # no rows at all: an empty file that still has every signal column
            if cascade:
                pq.write_table(empty, tmp)
            else:
                pq.write_table(annotate_table(S.BASE_SCHEMA.empty_table(), signals, owners), tmp)
        else:
            writer[0].close()
    records = [r for o in outs for r in o.q.records]
    if records:
        write_bytes(quarantine, b"\n".join(records) + b"\n")
    else:
        Path(quarantine).unlink(missing_ok=True)
    rows_out = []
    for o in outs:
        extra = {"cascade_skipped": dict(sorted(o.casc.skipped.items()))} if o.casc else {}
        rows_out.append(stats.row(o.spec.source, o.m["display"], docs_in=o.docs + o.q.count, docs_out=o.docs, bytes=o.text_bytes,
                                  drops=o.q.reasons, **extra))
    return {"members": rows_out, "docs_in": sum(r["docs_in"] for r in rows_out), "_reader": reader_fp,
            "_signals": signals_record([sid for sid, _ in signals], signal_fps, owners)}


def _read_members(outs: list[_Output], pending: list, batch_size: int, flush) -> None:
    """Read every member in order into `pending` (member, table), calling `flush` whenever a batch's
    worth of rows is gathered, and once at the end."""
    rows = 0
    for o in outs:
        for table in read_documents(Path(o.m["path"]), o.m["reader"], o.spec, o.q):
            o.docs += table.num_rows
            o.text_bytes += int(pc.sum(pc.binary_length(table.column("text"))).as_py() or 0)
            pending.append((o, table))
            rows += table.num_rows
            if rows >= batch_size:
                flush()
                rows = 0
    flush()


def member_rows(result: dict) -> list[dict]:
    """A unit's stats rows: its members' (a pack) or itself (one input file)."""
    return result["members"] if "members" in result else [result]
