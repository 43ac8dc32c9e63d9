"""Annotate: per input file, in parallel — read, compute every configured signal, write Parquet.

Signals are columns; selection is done later over the stored columns (annotate once, select many
times). One task per input file; its stats (docs, bytes, quarantine reasons) live in its marker,
with a fingerprint of the reading (input file identity and reader settings) and one per signal
(its config and the content of the files it loads). When only signals changed (one added, one
removed, a lexicon edited), a rerun keeps the stored columns of the unchanged signals and computes
just the changed ones from the stored text, without reading the input again.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.config import AnnotateConfig
from curate.context import InputFile, RunContext
from curate.exec.base import Task, marker_path, read_marker
from curate.fingerprint import digest, files_fingerprint, input_identity, named_files
from curate.io.atomic import atomic_path
from curate.io.quarantine import Quarantine
from curate.io.readers import ReadSpec, read_documents
from curate.signals.base import SignalContext

STAGE = "annotate"
log = logging.getLogger("curate.annotate")

# (config attribute, module) in the order signals run
SIGNAL_MODULES = (
    ("heuristics", "curate.signals.heuristics"),
    ("langid", "curate.signals.langid"),
    ("keywords", "curate.signals.keywords"),
    ("classifiers", "curate.signals.classifier"),
    ("dedup_keys", "curate.signals.minhash"),
)

_SIGNAL_CACHE: dict[bytes, list] = {}


def configured_signals(cfg: AnnotateConfig) -> list[tuple[str, str, object]]:
    """(signal id, module, config item) of every configured signal, in the order they run; the id is
    the section name, with the entry's name for list sections (`keywords:finance`)."""
    out = []
    for attr, module in SIGNAL_MODULES:
        section = getattr(cfg, attr)
        if not section or getattr(section, "enabled", True) is False:
            continue
        for item in section if isinstance(section, list) else [section]:
            out.append((f"{attr}:{item.name}" if isinstance(section, list) else attr, module, item))
    return out


def build_signals(cfg: AnnotateConfig, sctx: SignalContext, only: set[str] | None = None) -> list[tuple[str, object]]:
    """Instantiate the configured signals (all, or the ids in `only`) once per process: models and
    lexicons load once. Returns (signal id, signal) pairs in run order."""
    key = orjson.dumps([cfg.model_dump(mode="json"), str(sctx.root), sctx.seed, sorted(only) if only is not None else None])
    if key in _SIGNAL_CACHE:
        return _SIGNAL_CACHE[key]
    signals = [(sid, importlib.import_module(module).SIGNAL(item, sctx)) for sid, module, item in configured_signals(cfg)
               if only is None or sid in only]
    _SIGNAL_CACHE[key] = signals
    return signals


def _default_files(attr: str, item) -> list[Path]:
    """Files a signal loads when its config names none (bundled defaults)."""
    if attr == "keywords" and not getattr(item, "lexicon", None):
        from curate.signals.keywords import DEFAULT_LEXICON

        return [DEFAULT_LEXICON]
    if attr == "langid" and not getattr(item, "model", None):
        from curate.signals.langid import bundled_model_path

        try:
            return [bundled_model_path()]
        except Exception:  # reported when the signal loads
            return []
    return []


def signal_fingerprints(cfg: AnnotateConfig, root: Path, seed: int) -> dict[str, str]:
    """Per signal: its config, the seed and the content of every file it loads."""
    out = {}
    for sid, _module, item in configured_signals(cfg):
        dump = item.model_dump(mode="json")
        files = named_files(dump, root) + _default_files(sid.split(":")[0], item)
        out[sid] = digest("signal", sid, dump, seed, files_fingerprint(files))
    return out


def annotate_table(table: pa.Table, signals: list, owners: dict[str, list[str]] | None = None) -> pa.Table:
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


def annotate_file(*, path: str, display: str, fmt: str, spec: dict, annotate_cfg: dict, root: str, seed: int,
                  out: str, quarantine: str, strict: bool, reader_fp: str = "", signal_fps: dict | None = None,
                  previous: dict | None = None) -> dict:
    """One task: stream one input file through every signal into one Parquet file. With `previous`
    (the marker of the same reading under other signals), update the stored file instead."""
    cfg = AnnotateConfig.model_validate(annotate_cfg)
    sctx = SignalContext(root=Path(root), seed=seed)
    signal_fps = signal_fps or {}
    if previous is not None and Path(out).exists():
        return _update_columns(out, cfg, sctx, signal_fps, previous)
    signals = build_signals(cfg, sctx)
    rspec = ReadSpec(**spec)
    q = Quarantine(display, strict=strict)
    docs = 0
    text_bytes = 0
    writer = None
    owners: dict[str, list[str]] = {}
    with atomic_path(out) as tmp:
        for table in read_documents(Path(path), fmt, rspec, q):
            table = annotate_table(table, signals, owners)
            docs += table.num_rows
            text_bytes += int(pc.sum(pc.binary_length(table.column("text"))).as_py() or 0)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is None:  # empty (or wholly quarantined) input: an empty file that still has every signal column
            from curate import schema as S

            pq.write_table(annotate_table(S.BASE_SCHEMA.empty_table(), signals, owners), tmp)
        else:
            writer.close()
    q.write(Path(quarantine))
    return {
        "source": rspec.source,
        "file": display,
        "docs_in": docs + q.count,
        "docs_out": docs,
        "bytes": text_bytes,
        "quarantined": dict(sorted(q.reasons.items())),
        "_reader": reader_fp,
        "_signals": {sid: {"fingerprint": signal_fps.get(sid, ""), "columns": owners.get(sid, [])} for sid, _ in signals},
    }


def _update_columns(out: str, cfg: AnnotateConfig, sctx: SignalContext, signal_fps: dict, previous: dict) -> dict:
    """Rewrite an annotated file keeping the columns of signals whose fingerprint is unchanged and
    computing the others from its stored text (row group by row group, the batches it was written in)."""
    from curate import schema as S

    old = previous.get("_signals", {})
    wanted = [sid for sid, _m, _i in configured_signals(cfg)]
    keep = {sid for sid in wanted if sid in old and old[sid]["fingerprint"] == signal_fps.get(sid)}
    fresh = build_signals(cfg, sctx, only=set(wanted) - keep)
    pf = pq.ParquetFile(out)
    base = [c for c in S.BASE_SCHEMA.names]
    writer = None
    with atomic_path(out) as tmp:
        for i in range(pf.num_row_groups):
            stored = pf.read_row_group(i)
            table = _assemble(stored, base, wanted, keep, old, fresh)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is None:
            pq.write_table(_assemble(pf.schema_arrow.empty_table(), base, wanted, keep, old, fresh), tmp)
        else:
            writer.close()
    owners = {sid: list(old[sid]["columns"]) for sid in keep}
    owners.update(_fresh_owners(pf.schema_arrow.empty_table().select(base), fresh))
    result = {k: v for k, v in previous.items() if not k.startswith("_")}
    result["_reader"] = previous.get("_reader", "")
    result["_signals"] = {sid: {"fingerprint": signal_fps.get(sid, ""), "columns": owners.get(sid, [])} for sid in wanted}
    return result


def _assemble(stored: pa.Table, base: list[str], wanted: list[str], keep: set[str], old: dict, fresh: list) -> pa.Table:
    """Base columns, then each signal's columns in run order: stored ones for kept signals, new ones
    computed on the base columns for the others (the same table a full annotate would write)."""
    computed: dict[str, dict[str, pa.Array]] = {}
    base_table = stored.select(base)
    for sid, sig in fresh:
        computed[sid] = sig.columns(base_table)
    table = base_table
    for sid in wanted:
        cols = {c: stored.column(c) for c in old[sid]["columns"]} if sid in keep else computed[sid]
        for name, col in cols.items():
            if name in table.column_names:
                raise ValueError(f"signal {sid} produced column `{name}` twice")
            table = table.append_column(name, col)
    return table


def _fresh_owners(empty: pa.Table, fresh: list) -> dict[str, list[str]]:
    return {sid: list(sig.columns(empty)) for sid, sig in fresh}


def reader_fingerprint(ctx: RunContext, f: InputFile) -> str:
    src = f.source
    return digest("read", src.name, src.role, src.format, src.text_field, src.id_field, src.max_doc_bytes,
                  ctx.cfg.annotate.batch_size, f.rel, f.part, f.parts, input_identity(f.path))


def make_task(ctx: RunContext, f: InputFile, signal_fps: dict[str, str] | None = None) -> Task:
    src = f.source
    signal_fps = signal_fps if signal_fps is not None else signal_fingerprints(ctx.cfg.annotate, ctx.root, ctx.seed)
    spec = dict(source=src.name, role=src.role, text_field=src.text_field, id_field=src.id_field,
                max_doc_bytes=src.max_doc_bytes, batch_size=ctx.cfg.annotate.batch_size, display=_display(ctx, f.path),
                part=f.part, parts=f.parts, rel=f.rel)
    size = f.path.stat().st_size if f.path.is_file() else sum(p.stat().st_size for p in f.path.rglob("*") if p.is_file())
    rfp = reader_fingerprint(ctx, f)
    fp = digest("annotate", rfp, [[sid, signal_fps[sid]] for sid in signal_fps], ctx.strict)
    # the same reading under other signals: reuse the stored columns that did not change
    prev = read_marker(ctx.run_dir, STAGE, f.key)
    previous = prev if prev is not None and prev.get("_reader") == rfp and "_signals" in prev else None
    return Task(
        id=f.key,
        fn=annotate_file,
        kwargs=dict(path=str(f.path), display=spec["display"], fmt=src.format, spec=spec,
                    annotate_cfg=ctx.cfg.annotate.model_dump(mode="json"), root=str(ctx.root), seed=ctx.seed,
                    out=str(ctx.annotated_path(f)), quarantine=str(ctx.quarantine_path(f)), strict=ctx.strict,
                    reader_fp=rfp, signal_fps=signal_fps, previous=previous),
        weight=max(size // f.parts, 1),
        fingerprint=fp,
    )


def _display(ctx: RunContext, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ctx.root.resolve()))
    except ValueError:
        return str(path)


def run(ctx: RunContext) -> dict:
    signal_fps = signal_fingerprints(ctx.cfg.annotate, ctx.root, ctx.seed)
    for f in ctx.inputs():  # a marker without its output (deleted by hand, or by an old curate's clean-up) is not done
        if not ctx.annotated_path(f).exists():
            marker_path(ctx.run_dir, STAGE, f.key).unlink(missing_ok=True)
    results = ctx.executor.map(STAGE, [make_task(ctx, f, signal_fps) for f in ctx.inputs()], desc="annotate")
    out = summarize(results)
    for name, rep in repeated_ids(ctx).items():
        out["sources"][name]["repeated_ids"] = rep
        log.warning("source %s: %s ids are given to more than one document (%s documents); ids stay as given, "
                    "the held-out split and sampling are keyed by file and line instead", name, f"{rep['ids']:,}", f"{rep['docs']:,}")
    return out


def repeated_ids(ctx: RunContext) -> dict[str, dict[str, int]]:
    """Per source, ids that more than one document carries: {"ids": how many such ids, "docs": documents carrying them}."""
    by_source: dict[str, list] = {}
    for f, path in ctx.annotated_files():
        by_source.setdefault(f.source.name, []).append(path)
    out = {}
    for name, paths in by_source.items():
        ids = pa.chunked_array([pq.read_table(p, columns=["id"]).column("id") for p in paths], pa.string())
        if len(ids) < 2:
            continue
        counts = pc.value_counts(ids).field("counts")
        many = pc.filter(counts, pc.greater(counts, 1))
        if len(many):
            out[name] = {"ids": len(many), "docs": int(pc.sum(many).as_py())}
    return out


def _add(into: dict, r: dict) -> None:
    for k in ("docs_in", "docs_out", "bytes"):
        into[k] += r[k]
    for k, v in r["quarantined"].items():
        into["quarantined"][k] = into["quarantined"].get(k, 0) + v


def summarize(results: list[dict]) -> dict:
    """Per input file (the parts of a split file added up), per source, and in total."""
    files: dict[tuple[str, str], dict] = {}
    for r in results:
        f = files.setdefault((r["source"], r["file"]), {"source": r["source"], "file": r["file"], "docs_in": 0, "docs_out": 0,
                                                        "bytes": 0, "quarantined": {}})
        _add(f, r)
    sources: dict[str, dict] = {}
    for f in files.values():
        s = sources.setdefault(f["source"], {"files": 0, "docs_in": 0, "docs_out": 0, "bytes": 0, "quarantined": {}})
        s["files"] += 1
        _add(s, f)
    total = {k: sum(s[k] for s in sources.values()) for k in ("files", "docs_in", "docs_out", "bytes")}
    total["quarantined"] = sum(sum(s["quarantined"].values()) for s in sources.values())
    return {"sources": sources, "total": total, "files": list(files.values())}
