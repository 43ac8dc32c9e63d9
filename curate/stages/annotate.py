"""Annotate: per input file, in parallel — read, compute every configured signal, write Parquet.

Signals are columns; selection is done later over the stored columns (annotate once, select many
times). One task per input file; its stats (docs, bytes, quarantine reasons as drops) live in its marker.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import stats
from curate.context import InputFile, RunContext
from curate.exec.base import Task
from curate.io.atomic import atomic_path
from curate.io.quarantine import Quarantine
from curate.io.formats import Reader, get_reader
from curate.io.readers import ReadSpec, read_documents
from curate.registry import ref_of
from curate.signals.base import Signal, SignalContext
from curate.stages.base import Stage

STAGE = "annotate"

_SIGNAL_CACHE: dict[bytes, list] = {}


def signal_plan(cfg) -> list[tuple[type, type, dict]]:
    """(signal class, config model, config) of every enabled signal, in the order they run: what an
    annotate task carries (classes pickle by reference), so a worker builds the same signals
    whether or not the signal was registered in that process."""
    return [(entry.load(), entry.config, item.model_dump(mode="json")) for entry, item in cfg.signal_items()]


def build_signals(plan: list[tuple[type, type, dict]], sctx: SignalContext) -> list[Signal]:
    """Instantiate every planned signal once per process (models and lexicons load once)."""
    key = orjson.dumps([[(ref_of(cls), ref_of(model), item) for cls, model, item in plan], str(sctx.root), sctx.seed])
    if key in _SIGNAL_CACHE:
        return _SIGNAL_CACHE[key]
    signals = []
    for cls, model, item in plan:
        signals.append(cls(model.model_validate(item), sctx))
    _SIGNAL_CACHE[key] = signals
    return signals


def annotate_table(table: pa.Table, signals: list) -> pa.Table:
    for sig in signals:
        for name, col in sig.columns(table).items():
            if name in table.column_names:
                raise ValueError(f"signal {type(sig).__name__} produced column `{name}` twice")
            table = table.append_column(name, col)
    return table


def annotate_file(*, path: str, display: str, reader: Reader, spec: dict, signals: list, root: str, seed: int,
                  out: str, quarantine: str, strict: bool) -> dict:
    """One task: stream one input file through every signal into one Parquet file."""
    signals = build_signals(signals, SignalContext(root=Path(root), seed=seed))
    rspec = ReadSpec(**spec)
    q = Quarantine(display, strict=strict)
    docs = 0
    text_bytes = 0
    writer = None
    with atomic_path(out) as tmp:
        for table in read_documents(Path(path), reader, rspec, q):
            table = annotate_table(table, signals)
            docs += table.num_rows
            text_bytes += int(pc.sum(pc.binary_length(table.column("text"))).as_py() or 0)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is None:  # empty (or wholly quarantined) input: an empty file that still has every signal column
            from curate import schema as S

            pq.write_table(annotate_table(S.BASE_SCHEMA.empty_table(), signals), tmp)
        else:
            writer.close()
    q.write(Path(quarantine))
    return stats.row(rspec.source, display, docs_in=docs + q.count, docs_out=docs, bytes=text_bytes, drops=q.reasons)


def make_task(ctx: RunContext, f: InputFile) -> Task:
    src = f.source
    spec = dict(source=src.name, role=src.role, text_field=src.text_field, id_field=src.id_field,
                max_doc_bytes=src.max_doc_bytes, batch_size=ctx.cfg.annotate.batch_size, display=ctx.display(f.path),
                part=f.part, parts=f.parts)
    size = f.path.stat().st_size if f.path.is_file() else sum(p.stat().st_size for p in f.path.rglob("*") if p.is_file())
    return Task(
        id=f.key,
        fn=annotate_file,
        kwargs=dict(path=str(f.path), display=spec["display"], reader=get_reader(f.format), spec=spec,
                    signals=signal_plan(ctx.cfg.annotate), root=str(ctx.root), seed=ctx.seed,
                    out=str(ctx.annotated_path(f)), quarantine=str(ctx.quarantine_path(f)), strict=ctx.strict),
        weight=max(size // f.parts, 1),
    )


class AnnotateStage(Stage):
    """Every input file (or part of a large one) through every registered, configured signal."""

    def run(self) -> dict:
        results = self.ctx.executor.map(STAGE, [make_task(self.ctx, f) for f in self.ctx.inputs()], desc="annotate")
        return stats.stage_stats(results, sources=[s.name for s in self.ctx.cfg.sources])
