"""Annotate: per input file, in parallel — read, compute every configured signal, write Parquet.

Signals are columns; selection is done later over the stored columns (annotate once, select many
times). One task per input file; its stats (docs, bytes, quarantine reasons) live in its marker.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.config import AnnotateConfig
from curate.context import InputFile, RunContext
from curate.exec.base import Task
from curate.io.atomic import atomic_path
from curate.io.quarantine import Quarantine
from curate.io.readers import ReadSpec, read_documents
from curate.signals.base import SignalContext

STAGE = "annotate"

# (config attribute, module) in the order signals run
SIGNAL_MODULES = (
    ("heuristics", "curate.signals.heuristics"),
    ("langid", "curate.signals.langid"),
    ("keywords", "curate.signals.keywords"),
    ("pii", "curate.signals.pii"),
    ("classifiers", "curate.signals.classifier"),
    ("dedup_keys", "curate.signals.minhash"),
)

_SIGNAL_CACHE: dict[bytes, list] = {}


def build_signals(cfg: AnnotateConfig, sctx: SignalContext) -> list:
    """Instantiate every configured signal once per process (models and lexicons load once)."""
    key = orjson.dumps([cfg.model_dump(mode="json"), str(sctx.root), sctx.seed])
    if key in _SIGNAL_CACHE:
        return _SIGNAL_CACHE[key]
    signals = []
    for attr, module in SIGNAL_MODULES:
        section = getattr(cfg, attr)
        if not section or getattr(section, "enabled", True) is False:
            continue
        cls = importlib.import_module(module).SIGNAL
        for item in section if isinstance(section, list) else [section]:
            signals.append(cls(item, sctx))
    _SIGNAL_CACHE[key] = signals
    return signals


def annotate_table(table: pa.Table, signals: list) -> pa.Table:
    for sig in signals:
        for name, col in sig.columns(table).items():
            if name in table.column_names:
                raise ValueError(f"signal {type(sig).__name__} produced column `{name}` twice")
            table = table.append_column(name, col)
    return table


def annotate_file(*, path: str, display: str, fmt: str, spec: dict, annotate_cfg: dict, root: str, seed: int,
                  out: str, quarantine: str, strict: bool) -> dict:
    """One task: stream one input file through every signal into one Parquet file."""
    cfg = AnnotateConfig.model_validate(annotate_cfg)
    signals = build_signals(cfg, SignalContext(root=Path(root), seed=seed))
    rspec = ReadSpec(**spec)
    q = Quarantine(display, strict=strict)
    docs = 0
    text_bytes = 0
    writer = None
    with atomic_path(out) as tmp:
        for table in read_documents(Path(path), fmt, rspec, q):
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
    return {
        "source": rspec.source,
        "file": display,
        "docs_in": docs + q.count,
        "docs_out": docs,
        "bytes": text_bytes,
        "quarantined": dict(sorted(q.reasons.items())),
    }


def make_task(ctx: RunContext, f: InputFile) -> Task:
    src = f.source
    spec = dict(source=src.name, role=src.role, text_field=src.text_field, id_field=src.id_field,
                max_doc_bytes=src.max_doc_bytes, batch_size=ctx.cfg.annotate.batch_size, display=_display(ctx, f.path),
                part=f.part, parts=f.parts)
    size = f.path.stat().st_size if f.path.is_file() else sum(p.stat().st_size for p in f.path.rglob("*") if p.is_file())
    return Task(
        id=f.key,
        fn=annotate_file,
        kwargs=dict(path=str(f.path), display=spec["display"], fmt=src.format, spec=spec,
                    annotate_cfg=ctx.cfg.annotate.model_dump(mode="json"), root=str(ctx.root), seed=ctx.seed,
                    out=str(ctx.annotated_path(f)), quarantine=str(ctx.quarantine_path(f)), strict=ctx.strict),
        weight=max(size // f.parts, 1),
    )


def _display(ctx: RunContext, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ctx.root.resolve()))
    except ValueError:
        return str(path)


def run(ctx: RunContext) -> dict:
    results = ctx.executor.map(STAGE, [make_task(ctx, f) for f in ctx.inputs()], desc="annotate")
    return summarize(results)


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
