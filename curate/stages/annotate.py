"""Annotate: per input file, in parallel — read, compute every configured signal, write Parquet.

Signals are columns; selection is done later over the stored columns (annotate once, select many
times). One task per annotated unit: an input file (or a part of a large one), or a pack of small
files (`curate.io.packs`: one annotated file, `annotate_unit`); small units' tasks run several per
worker call (`annotate_files`). Its stats (docs, bytes, quarantine reasons as drops; per member
file for a pack) live in its marker,
with a fingerprint of the reading (input file identity and reader settings) and one per signal
(its config and the content of the files it loads). When only signals changed (one added, one
removed, a lexicon edited), a rerun keeps the stored columns of the unchanged signals and computes
just the changed ones from the stored text, without reading the input again.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import stats
from curate.context import InputFile, RunContext
from curate.io.packs import Pack
from curate.exec.base import Task, marker_path, pack_tasks, read_marker
from curate.fingerprint import digest, files_fingerprint, input_identity, named_files
from curate.io.atomic import atomic_path
from curate.io.quarantine import Quarantine
from curate.io.formats import Reader, get_reader
from curate.io.readers import ReadSpec, read_documents
from curate.registry import ref_of
from curate.signals.base import Signal, SignalContext
from curate.stages.base import Stage
from curate.stages.cascade import Cascade
from curate.io.parquet_stream import open_parquet_stream

STAGE = "annotate"
log = logging.getLogger("curate.annotate")

_SIGNAL_CACHE: dict[bytes, list] = {}
_SCHEMA_CACHE: dict[int, dict] = {}
PACK_BYTES = 4e6  # input bytes per pack of small files at most (fewer when that leaves workers idle)


def signal_plan(cfg) -> list[tuple[str, type, type, dict]]:
    """(signal id, signal class, config model, config) of every enabled signal, in the order they
    run: what an annotate task carries (classes pickle by reference), so a worker builds the same
    signals whether or not the signal was registered in that process."""
    out = []
    for entry, item in cfg.signal_items():
        listed = isinstance(getattr(cfg, entry.name, None), list)
        sid = f"{entry.name}:{item.name}" if listed and isinstance(getattr(item, "name", None), str) else entry.name
        out.append((sid, entry.load(), entry.config, item.model_dump(mode="json")))
    return out


def build_signals(plan: list[tuple[str, type, type, dict]], sctx: SignalContext, only: set[str] | None = None) -> list[tuple[str, Signal]]:
    """Instantiate the planned signals (all, or the ids in `only`) once per process: models and
    lexicons load once. Returns (signal id, signal) pairs in run order."""
    key = orjson.dumps([[(sid, ref_of(cls), ref_of(model), item) for sid, cls, model, item in plan], str(sctx.root), sctx.seed,
                        sorted(only) if only is not None else None])
    if key in _SIGNAL_CACHE:
        return _SIGNAL_CACHE[key]
    signals = [(sid, cls(model.model_validate(item), sctx)) for sid, cls, model, item in plan if only is None or sid in only]
    _SIGNAL_CACHE[key] = signals
    return signals


def signal_fingerprints(plan: list[tuple[str, type, type, dict]], root: Path, seed: int) -> dict[str, str]:
    """Per signal: its config, the seed and the content of every file it loads (named in its config,
    or a bundled default the signal declares with `default_files()`)."""
    out = {}
    for sid, cls, model, item in plan:
        files = named_files(item, root)
        declared = getattr(cls, "default_files", None)
        if callable(declared):
            files += [Path(p) for p in declared(model.model_validate(item))]
        out[sid] = digest("signal", sid, item, seed, files_fingerprint(files))
    return out


def signal_schemas(signals: list[tuple[str, Signal]]) -> dict[str, pa.Schema]:
    """The columns (names and types) each signal makes, from one call on an empty table (once per process)."""
    key = id(signals)
    if key not in _SCHEMA_CACHE:
        from curate import schema as S

        empty = S.BASE_SCHEMA.empty_table()
        _SCHEMA_CACHE[key] = {sid: pa.schema([(n, c.type) for n, c in sig.columns(empty).items()]) for sid, sig in signals}
    return _SCHEMA_CACHE[key]


def annotate_table(table: pa.Table, signals: list[tuple[str, Signal]], owners: dict[str, list[str]] | None = None) -> pa.Table:
    """Append every signal's columns; `owners` (if given) records which columns each signal made."""
    for sid, sig in signals:
        made = []
        for name, col in sig.columns(table).items():
            if name in table.column_names:
                raise ValueError(f"signal {type(sig).__name__} produced column `{name}` twice")
            table = table.append_column(name, col)
            made.append(name)
        if owners is not None:
            owners[sid] = made
    return table


def annotate_file(*, path: str, display: str, reader: Reader, spec: dict, signals: list, root: str, seed: int,
                  out: str, quarantine: str, strict: bool, reader_fp: str = "", signal_fps: dict | None = None,
                  previous: dict | None = None, cascade: dict | None = None) -> dict:
    """One task: stream one input file through every signal into one Parquet file. With `previous`
    (the marker of the same reading under other signals), update the stored file instead."""
    plan = signals
    sctx = SignalContext(root=Path(root), seed=seed)
    signal_fps = signal_fps or {}
    if previous is not None and Path(out).exists():
        return _update_columns(out, plan, sctx, signal_fps, previous)
    signals = build_signals(plan, sctx)
    casc = Cascade(cascade["rules"], seed, set(cascade["keep_all"]), display) if cascade else None
    schemas = signal_schemas(signals) if casc else {}
    rspec = ReadSpec(**spec)
    q = Quarantine(display, strict=strict)
    docs = 0
    text_bytes = 0
    writer = None
    owners: dict[str, list[str]] = {}
    with atomic_path(out) as tmp:
        for table in read_documents(Path(path), reader, rspec, q):
            table = casc.run(table, signals, schemas, owners) if casc else annotate_table(table, signals, owners)
            docs += table.num_rows
            text_bytes += int(pc.sum(pc.binary_length(table.column("text"))).as_py() or 0)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is None:  # empty (or wholly quarantined) input: an empty file that still has every signal column
            from curate import schema as S

            empty = S.BASE_SCHEMA.empty_table()
            pq.write_table(casc.run(empty, signals, schemas, owners) if casc else annotate_table(empty, signals, owners), tmp)
        else:
            writer.close()
    q.write(Path(quarantine))
    extra = {"cascade_skipped": dict(sorted(casc.skipped.items()))} if casc else {}  # per signal: documents it was not computed for
    return stats.row(rspec.source, display, docs_in=docs + q.count, docs_out=docs, bytes=text_bytes, drops=q.reasons,
                     _reader=reader_fp, **extra,
                     _signals=signals_record([sid for sid, _ in signals], signal_fps, owners))


def signals_record(sids: list[str], signal_fps: dict, owners: dict[str, list[str]]) -> dict:
    """A marker's `_signals`: per signal, the fingerprint it ran with and the columns it made (what a
    rerun with other signals keeps or recomputes)."""
    return {sid: {"fingerprint": signal_fps.get(sid, ""), "columns": owners.get(sid, [])} for sid in sids}


def _update_columns(out: str, plan: list, sctx: SignalContext, signal_fps: dict, previous: dict) -> dict:
    """Rewrite an annotated file keeping the columns of signals whose fingerprint is unchanged and
    computing the others from its stored text (row group by row group, the batches it was written in)."""
    from curate import schema as S

    old = previous.get("_signals", {})
    wanted = [p[0] for p in plan]
    keep = {sid for sid in wanted if sid in old and old[sid]["fingerprint"] == signal_fps.get(sid)}
    fresh = build_signals(plan, sctx, only=set(wanted) - keep)
    pf = open_parquet_stream(out)
    base = list(S.BASE_SCHEMA.names)
    writer = None
    with atomic_path(out) as tmp:
        for i in range(pf.num_row_groups):
            table = _assemble(pf.read_row_group(i), base, wanted, keep, old, fresh)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is None:
            pq.write_table(_assemble(pf.schema_arrow.empty_table(), base, wanted, keep, old, fresh), tmp)
        else:
            writer.close()
    owners = {sid: list(old[sid]["columns"]) for sid in keep}
    empty = pf.schema_arrow.empty_table().select(base)
    owners.update({sid: list(sig.columns(empty)) for sid, sig in fresh})
    result = {k: v for k, v in previous.items() if not k.startswith("_")}
    result["_reader"] = previous.get("_reader", "")
    result["_signals"] = signals_record(wanted, signal_fps, owners)
    return result


def _assemble(stored: pa.Table, base: list[str], wanted: list[str], keep: set[str], old: dict, fresh: list) -> pa.Table:
    """Base columns, then each signal's columns in run order: stored ones for kept signals, new ones
    computed on the base columns for the others (the same table a full annotate would write)."""
    base_table = stored.select(base)
    computed = {sid: sig.columns(base_table) for sid, sig in fresh}
    table = base_table
    for sid in wanted:
        cols = {c: stored.column(c) for c in old[sid]["columns"]} if sid in keep else computed[sid]
        for name, col in cols.items():
            if name in table.column_names:
                raise ValueError(f"signal {sid} produced column `{name}` twice")
            table = table.append_column(name, col)
    return table


def reader_fingerprint(ctx: RunContext, f: InputFile, identity: list | None = None) -> str:
    """What decides how a file is read: the source's reading settings, the batch size, which part, and
    the file's identity (`input_identity`: size and mtime; given when the caller has it)."""
    src = f.source
    # a part of a split file is a contiguous range (`ranges`), no longer every n-th block: older parts are redone
    split = ("ranges",) if f.parts > 1 else ()
    return digest("read", src.name, src.role, src.format, src.text_field, src.id_field, src.max_doc_bytes,
                  ctx.cfg.annotate.batch_size, f.rel, f.part, f.parts,
                  identity if identity is not None else input_identity(f.path), *split)


def cascade_plan(cfg) -> dict | None:
    """What an annotate task needs to run the cascade (None when it is off): the select rules, in order,
    and the columns later stages read for every document (dedup keys, adapt priors)."""
    if not getattr(cfg.annotate, "cascade", False) or "select" not in cfg.stage_list() or not cfg.select.rules:
        return None
    keep_all: set[str] = set()
    if "dedup" in cfg.stage_list():
        from curate.signals.minhash import HASH_COLUMN, MINHASH_COLUMN

        keep_all |= {HASH_COLUMN, MINHASH_COLUMN}
    adapt = getattr(cfg, "adapt", None)
    if adapt is not None and "adapt" in cfg.stage_list():
        keep_all |= {c for t in adapt.tasks for c in t.priors.values()}
    return {"rules": [r.model_dump(mode="json") for r in cfg.select.rules], "keep_all": sorted(keep_all)}


def make_task(ctx: RunContext, f: InputFile | Pack, plan: list | None = None, signal_fps: dict[str, str] | None = None,
              cascade: dict | None = None) -> Task:
    if isinstance(f, Pack):
        return make_unit_task(ctx, f, plan, signal_fps, cascade)
    src = f.source
    plan = plan if plan is not None else signal_plan(ctx.cfg.annotate)
    signal_fps = signal_fps if signal_fps is not None else signal_fingerprints(plan, ctx.root, ctx.seed)
    spec = dict(source=src.name, role=src.role, text_field=src.text_field, id_field=src.id_field,
                max_doc_bytes=src.max_doc_bytes, batch_size=ctx.cfg.annotate.batch_size, display=ctx.display(f.path),
                part=f.part, parts=f.parts, rel=f.rel)
    size = f.path.stat().st_size if f.path.is_file() else sum(p.stat().st_size for p in f.path.rglob("*") if p.is_file())
    rfp = reader_fingerprint(ctx, f)
    fp = digest("annotate", rfp, [[sid, signal_fps[sid]] for sid in signal_fps], *([cascade] if cascade else []))
    # the same reading under other signals: reuse the stored columns that did not change (not under the
    # cascade: which documents a signal runs on depends on the others)
    prev = read_marker(ctx.run_dir, STAGE, f.key)
    previous = prev if prev is not None and prev.get("_reader") == rfp and "_signals" in prev and not cascade else None
    return Task(
        id=f.key,
        fn=annotate_file,
        kwargs=dict(path=str(f.path), display=spec["display"], reader=get_reader(f.format), spec=spec,
                    signals=plan, root=str(ctx.root), seed=ctx.seed,
                    out=str(ctx.annotated_path(f)), quarantine=str(ctx.quarantine_path(f)), strict=ctx.strict,
                    reader_fp=rfp, signal_fps=signal_fps, previous=previous, cascade=cascade),
        weight=max(size // f.parts, 1),
        fingerprint=fp,
    )


def make_unit_task(ctx: RunContext, unit: Pack, plan: list, signal_fps: dict[str, str], cascade: dict | None) -> Task:
    """The task of a pack unit: its members read as `make_task` reads each of them, into one annotated
    file; its fingerprint covers every member's reading, so a changed member redoes its unit."""
    import os

    from curate.stages.annotate_pack import annotate_unit

    members, fps, size = [], [], 0
    batch_size = ctx.cfg.annotate.batch_size
    for f in unit.members:  # (per file: one stat, one lstat; the members are plain files, curate.io.packs)
        src = f.source
        st = os.stat(f.path)
        size += st.st_size
        display = ctx.display(f.path)
        spec = dict(source=src.name, role=src.role, text_field=src.text_field, id_field=src.id_field, max_doc_bytes=src.max_doc_bytes,
                    batch_size=batch_size, display=display, part=0, parts=1, rel=f.rel)
        members.append(dict(path=str(f.path), display=display, reader=get_reader(f.format), spec=spec, strict=ctx.strict))
        fps.append(reader_fingerprint(ctx, f, [st.st_size, st.st_mtime_ns]))
    rfp = digest("unit", fps)
    fp = digest("annotate", rfp, [[sid, signal_fps[sid]] for sid in signal_fps], *([cascade] if cascade else []))
    prev = read_marker(ctx.run_dir, STAGE, unit.key)
    previous = prev if prev is not None and prev.get("_reader") == rfp and "_signals" in prev and not cascade else None
    return Task(id=unit.key, fn=annotate_unit, weight=max(size, 1), fingerprint=fp,
                kwargs=dict(members=members, out=str(ctx.annotated_path(unit)), quarantine=str(ctx.quarantine_path(unit)), signals=plan,
                            root=str(ctx.root), seed=ctx.seed, reader_fp=rfp, signal_fps=signal_fps, previous=previous, cascade=cascade))


class AnnotateStage(Stage):
    """Every input file (or part of a large one) through every registered, configured signal."""

    def run(self) -> dict:
        ctx = self.ctx
        plan = signal_plan(ctx.cfg.annotate)
        signal_fps = signal_fingerprints(plan, ctx.root, ctx.seed)
        from curate.stages.annotate_pack import annotate_files, member_rows
        from curate.stages.repeated_ids import repeated_ids

        for f in ctx.units():  # a marker without its output (deleted by hand, or by an old curate's clean-up) is not done
            if not ctx.annotated_path(f).exists():
                marker_path(ctx.run_dir, STAGE, f.key).unlink(missing_ok=True)
        cascade = cascade_plan(ctx.cfg)
        tasks = [make_task(ctx, f, plan, signal_fps, cascade) for f in ctx.units()]
        # small files' tasks (those not in a pack unit) run several per worker call (signals over batches gathered across files)
        pack = functools.partial(pack_tasks, workers=ctx.executor.workers, max_weight=PACK_BYTES, fn=annotate_files,
                                 kwargs=dict(signals=plan, root=str(ctx.root), seed=ctx.seed, signal_fps=signal_fps, cascade=cascade))
        results = ctx.executor.map(STAGE, tasks, desc="annotate",
                                   pack=lambda todo: [t for t in todo if "members" in t.kwargs] + pack([t for t in todo if "members" not in t.kwargs]))
        # the bookkeeping fields (`_reader`, `_signals`) stay in the markers, not in stats.json; stats per input file
        out = stats.stage_stats([{k: v for k, v in r.items() if not k.startswith("_")} for res in results for r in member_rows(res)],
                                sources=[s.name for s in ctx.cfg.sources])
        for name, rep in repeated_ids(ctx).items():
            out["sources"][name]["repeated_ids"] = rep
            log.warning("source %s: %s ids are given to more than one document (%s documents); ids stay as given, "
                        "the held-out split and sampling are keyed by file and line instead", name, f"{rep['ids']:,}", f"{rep['docs']:,}")
        return out

