"""Decontam stage: flag annotated documents that share n-grams with the configured evaluation sets.

Runs after annotate (and dedup), before select, over the stored text: changing the evaluation sets
never re-annotates. The driver reads the evaluation sets once and saves their n-gram index
(`decontam/index.npz`, `decontam/items.parquet`); one task per annotated file streams it in batches
and writes the contaminated rows to `decontam/hits/<task key>.parquet` (row, id, source, file,
line, matching n-grams, items hit). The select stage drops those rows (reason `contaminated`) when
`decontam.action` is `drop`. `decontam.json` at the run root lists every evaluation item that was
hit and by which documents; report.md shows it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import stats
from curate.decontam.config import DecontamConfig
from curate.dedup.lookup import file_drops
from curate.decontam.engine import EvalIndex, EvalItems, Matches, match, read_eval_sets
from curate.errors import ConfigError
from curate.exec.base import Task, marker_fingerprint
from curate.fingerprint import content_hash, digest, files_fingerprint, named_files
from curate.io.atomic import atomic_path, read_json_dict, write_if_changed, write_json
from curate.sampling import doc_keys, unit_hash
from curate.stages import unit_stats
from curate.stages.base import Stage
from curate.io.parquet_stream import open_parquet_stream

STAGE = "decontam"
EXCERPT = 160
HIT_SCHEMA = pa.schema([("row", pa.int64()), ("id", pa.string()), ("source", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                        ("ngrams", pa.int64()), ("items", pa.list_(pa.int32()))])


def _match_batch(batch: pa.RecordBatch, idx: EvalIndex | None, held: EvalIndex | None, held_from: int, seed: int,
                 val_fraction: float) -> Matches:
    """Matches against the evaluation sets, and — for documents outside the held-out split — against
    the held-out documents (whose item numbers start at `held_from`)."""
    n = batch.num_rows
    m = match(batch.column("text"), idx) if idx is not None else Matches(np.zeros(n, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))
    if held is None:
        return m
    train = np.flatnonzero(unit_hash(doc_keys(pa.Table.from_batches([batch])), seed, "heldout") >= val_fraction)  # the tokenize split
    h = match(batch.column("text").take(pa.array(train)), held)
    counts = m.counts.copy()
    counts[train] += h.counts
    pd = np.concatenate([m.pair_doc, train[h.pair_doc]])
    pi = np.concatenate([m.pair_item, (h.pair_item + held_from).astype(np.int32)])
    order = np.lexsort((pi, pd))
    return Matches(counts, pd[order], pi[order])


def decontam_file(*, annotated: str, index: str | None, out: str, source: str, file: str, key: str, min_matches: int, batch_size: int,
                  drops: str | None, action: str, heldout_index: str | None = None, held_from: int = 0, seed: int = 0,
                  val_fraction: float = 0.0, members: list[str] | None = None) -> dict:
    idx = EvalIndex.load(Path(index)) if index else None
    held = EvalIndex.load(Path(heldout_index)) if heldout_index else None
    pf = open_parquet_stream(annotated)
    parts: list[pa.Table] = []
    row0 = 0
    docs = 0
    matched = 0
    matched_rows: list[np.ndarray] = []  # per row, its n-gram matches (a pack unit's stats split them by member)
    files: list = []  # a pack unit's `file` column
    for batch in pf.iter_batches(batch_size=batch_size, columns=["id", "text", "source", "file", "line"]):
        m = _match_batch(batch, idx, held, held_from, seed, val_fraction)
        hit = np.flatnonzero(m.counts >= min_matches)
        docs += batch.num_rows
        matched += int(m.counts.sum())
        if members:
            matched_rows.append(np.asarray(m.counts, np.int64))
            files.append(batch.column("file"))
        if hit.size:
            keep = np.isin(m.pair_doc, hit)
            pd, pi = m.pair_doc[keep], m.pair_item[keep]
            starts = np.searchsorted(pd, hit, side="left")
            ends = np.searchsorted(pd, hit, side="right")
            offsets = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int32)
            take = pa.array(hit)
            parts.append(pa.table({
                "row": pa.array(hit + row0, pa.int64()),
                "id": batch.column("id").take(take).cast(pa.string()),
                "source": batch.column("source").take(take).cast(pa.string()),
                "file": batch.column("file").take(take).cast(pa.string()),
                "line": batch.column("line").take(take).cast(pa.int64()),
                "ngrams": pa.array(m.counts[hit], pa.int64()),
                "items": pa.ListArray.from_arrays(pa.array(offsets), pa.array(pi, pa.int32())),
            }, schema=HIT_SCHEMA))
        row0 += batch.num_rows
    table = pa.concat_tables(parts) if parts else HIT_SCHEMA.empty_table()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    # Stats follow the funnel: documents still alive after dedup in, and out of those the contaminated
    # ones (select drops them with `action: drop`). The hits file and decontam.json list every
    # contaminated document, duplicates included.
    dup_rows = np.zeros(0, np.int64)
    if drops and Path(drops).exists():
        dup_rows = file_drops(drops, key, columns=("row",)).column("row").to_numpy()
    if members:  # a pack unit: the same counts per member file (members are contiguous row spans)
        counts = np.concatenate(matched_rows) if matched_rows else np.zeros(0, np.int64)
        spans = unit_stats.spans_of(members, pa.chunked_array(files, pa.string()))
        return {"members": unit_stats.decontam_rows(source, spans, table.column("row").to_numpy(), dup_rows, action, counts), "docs_in": docs}
    alive_hits = int((~np.isin(table.column("row").to_numpy(), dup_rows)).sum()) if table.num_rows else 0
    docs_in = docs - int(np.unique(dup_rows).size)
    dropped = alive_hits if action == "drop" else 0
    return stats.row(source, file, docs_in=docs_in, docs_out=docs_in - dropped, drops={"contaminated": dropped},
                     contaminated=int(table.num_rows), ngram_matches=matched)


def _drop_duplicates(ctx) -> bool:
    sel = getattr(ctx.cfg, "select", None)
    return bool(getattr(sel, "drop_duplicates", True))


class DecontamStage(Stage):
    """Flags annotated documents that share n-grams with the evaluation sets (select drops them)."""

    def run(self) -> dict:
        ctx, lay = self.ctx, self.layout
        cfg: DecontamConfig = self.section()
        lay.decontam_dir.mkdir(parents=True, exist_ok=True)
        annotated = ctx.annotated_files()
        val_fraction = _val_fraction(ctx) if cfg.heldout else 0.0
        dump = cfg.model_dump(mode="json")
        eval_files = files_fingerprint(named_files(dump, ctx.root))
        held_fps = [marker_fingerprint(ctx.run_dir, "annotate", f.key) for f, _ in annotated] if cfg.heldout else None
        batch_size = ctx.cfg.annotate.batch_size
        index_key = digest("decontam-index", dump, eval_files, ctx.seed, val_fraction, batch_size, held_fps)
        items, has_index, has_held, held_from, skipped = eval_indexes(ctx, cfg, annotated, val_fraction, index_key)
        # what decides a file's hits: the decontam section, the content of the evaluation sets it names,
        # the seed and held-out share (held-out matching reads every annotated file), the dedup drops it
        # skips, and the annotated file itself (its annotate task's fingerprint)
        drops_used = lay.drops.exists() and _drop_duplicates(ctx)
        base_fp = digest("decontam", dump, eval_files, batch_size, ctx.seed, val_fraction,
                         content_hash(lay.drops) if drops_used else None, held_fps)
        tasks = [Task(id=f.key, fn=decontam_file, weight=path.stat().st_size,
                      fingerprint=digest(base_fp, marker_fingerprint(ctx.run_dir, "annotate", f.key)), kwargs=dict(
            annotated=str(path), index=str(lay.decontam_index) if has_index else None, out=str(lay.decontam_hits(f.key)),
            source=f.source.name, file=ctx.display(f.path) if len(f.members) == 1 else None, key=f.key,
            members=unit_stats.member_files(ctx, f), min_matches=cfg.min_matches, batch_size=batch_size,
            drops=str(lay.drops) if drops_used else None, action=cfg.action,
            heldout_index=str(lay.decontam_heldout_index) if has_held else None, held_from=held_from,
            seed=ctx.seed, val_fraction=val_fraction)) for f, path in annotated]
        results = [r for res in ctx.executor.map(STAGE, tasks, desc="decontam") for r in res.get("members", [res])]
        return summarize(ctx, cfg, items, skipped, [f for f, _ in annotated], results)

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "annotate": self.ctx.cfg.annotate.model_dump(mode="json")}


def eval_indexes(ctx, cfg: DecontamConfig, annotated: list, val_fraction: float, key: str) -> tuple[EvalItems, bool, bool, int, np.ndarray]:
    """The n-gram indexes of the evaluation items (and of the held-out documents), on disk: (items, is
    there an index, is there a held-out index, how many items come before the held-out ones, which
    items are too short to match). Built when what they are made of changed (`key`, kept in
    `RUN/decontam/index_key.json`: the decontam section, the evaluation files' content, the seed, the
    held-out share and, with `heldout`, the annotate tasks); otherwise read back, the items from
    items.parquet (their texts cut to the excerpt the report shows), so a resumed run does not rebuild them."""
    lay = ctx.layout
    kept = read_json_dict(lay.decontam_index_key)
    paths = [lay.decontam_items] + [p for p, on in ((lay.decontam_index, kept.get("index")), (lay.decontam_heldout_index, kept.get("heldout"))) if on]
    if kept.get("key") == key and all(p.exists() for p in paths):
        t = pq.ParquetFile(lay.decontam_items).read()  # (pq.read_table would import pyarrow.dataset, and pandas with it)
        items = EvalItems(*(t.column(c).to_pylist() for c in ("set", "id", "excerpt", "file", "line")))
        skipped = [np.load(p)["skipped"] for p in paths[1:]]
        return items, bool(kept["index"]), bool(kept["heldout"]), int(kept["held_from"]), np.concatenate(skipped) if skipped else np.zeros(0, bool)
    items = read_eval_sets(cfg.eval_sets, ctx.root) if cfg.eval_sets else EvalItems([], [], [], [], [])
    index = EvalIndex.build(items.text, cfg.n, cfg.min_words) if items.text else None
    if index is not None:
        index.save(lay.decontam_index)
    held_from, held = len(items.text), None
    if cfg.heldout:
        held_items = heldout_items(annotated, ctx.seed, val_fraction, ctx.cfg.annotate.batch_size)
        if held_items.text:
            held = EvalIndex.build(held_items.text, cfg.n, cfg.min_words)
            held.save(lay.decontam_heldout_index)
            for a, b in zip(vars(items).values(), vars(held_items).values()):
                a.extend(b)
    built = [x for x in (index, held) if x is not None]
    words = np.concatenate([x.item_words for x in built]) if built else np.zeros(0, np.int64)
    skipped = np.concatenate([x.skipped for x in built]) if built else np.zeros(0, bool)
    excerpt = [t[:EXCERPT] for t in items.text]
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"set": pa.array(items.set_name, pa.string()), "id": pa.array(items.item_id, pa.string()),
                             "file": pa.array(items.file, pa.string()), "line": pa.array(items.line, pa.int64()),
                             "words": pa.array(words, pa.int64()), "excerpt": pa.array(excerpt, pa.string())}), buf)
    write_if_changed(lay.decontam_items, buf.getvalue().to_pybytes())
    write_json(lay.decontam_index_key, {"key": key, "index": index is not None, "heldout": held is not None, "held_from": held_from}, durable=False)
    return items, index is not None, held is not None, held_from, skipped


def _val_fraction(ctx) -> float:
    tok = getattr(ctx.cfg, "tokenizer", None)
    if tok is None or not tok.val_fraction:
        raise ConfigError("`decontam.heldout: true` needs the run's held-out split, but there is none",
                          where="decontam.heldout", fix="set tokenizer.val_fraction > 0, or drop `heldout: true`")
    return float(tok.val_fraction)


def heldout_items(annotated: list, seed: int, val_fraction: float, batch_size: int) -> EvalItems:
    """Every annotated document in the held-out split (the tokenize stage's hash of seed and document key): a
    superset of the held-out documents, since select has not run yet."""
    out = EvalItems([], [], [], [], [])
    for _, path in annotated:
        for b in open_parquet_stream(path).iter_batches(batch_size=batch_size, columns=["id", "text", "source", "file", "line"]):
            rows = np.flatnonzero(unit_hash(doc_keys(pa.Table.from_batches([b])), seed, "heldout") < val_fraction)
            if rows.size == 0:
                continue
            t = pa.Table.from_batches([b]).take(pa.array(rows))
            out.set_name.extend(["heldout"] * rows.size)
            out.item_id.extend(t.column("id").to_pylist())
            out.text.extend(pc.fill_null(t.column("text"), "").to_pylist())
            out.file.extend(t.column("file").to_pylist())
            out.line.extend(t.column("line").to_pylist())
    return out


def summarize(ctx, cfg: DecontamConfig, items, skipped: np.ndarray, files: list, results: list[dict]) -> dict:
    """Stats in the shared shape (plus `contaminated`, `ngram_matches`) and decontam.json (which
    items were hit, by which documents)."""
    st = stats.stage_stats(results, sources=[s.name for s in ctx.cfg.sources], action=cfg.action)
    hit_docs: dict[int, list[dict]] = {}
    hit_count: dict[int, int] = {}
    for f in files:
        p = ctx.layout.decontam_hits(f.key)
        if not p.exists():
            continue
        t = pq.ParquetFile(p).read()
        if t.num_rows == 0:
            continue
        for rec in t.to_pylist():  # contaminated documents only: few, by construction
            for it in rec["items"]:
                hit_count[it] = hit_count.get(it, 0) + 1
                lst = hit_docs.setdefault(it, [])
                if len(lst) < cfg.report_docs_per_item:
                    lst.append({"id": rec["id"], "source": rec["source"], "file": rec["file"], "line": rec["line"], "ngrams": rec["ngrams"]})
    sets: dict[str, dict] = {}
    for i, name in enumerate(items.set_name):
        s = sets.setdefault(name, {"items": 0, "too_short": 0, "items_hit": 0})
        s["items"] += 1
        s["too_short"] += int(skipped[i])
        s["items_hit"] += int(i in hit_count)
    listed = [{"set": items.set_name[i], "id": items.item_id[i], "file": items.file[i], "line": items.line[i],
               "excerpt": items.text[i][:EXCERPT], "documents": hit_count[i], "docs": hit_docs[i]} for i in sorted(hit_count)]
    keys = ("contaminated", "ngram_matches")
    annotated = [(f.source.name, pq.read_metadata(p).num_rows) for f, p in ctx.annotated_files()]
    sources = {name: {"docs_in": sum(n for src, n in annotated if src == name),
                      **{k: s.get(k, 0) for k in keys}} for name, s in st["sources"].items()}
    total = {"docs_in": sum(s["docs_in"] for s in sources.values()), **{k: st["total"].get(k, 0) for k in keys}}
    write_json(ctx.layout.decontam_report, {"n": cfg.n, "min_words": cfg.min_words, "min_matches": cfg.min_matches, "action": cfg.action,
                                            "eval_sets": sets, "sources": sources, "total": total, "items_hit": listed})
    st["eval_sets"] = sets
    return st
