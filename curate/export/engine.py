"""`curate export`: a finished run's documents as a dataset others can open — Hugging Face
`load_from_disk` (hf), Parquet or JSONL files (`datasets.load_dataset("parquet"|"json", ...)`) — with
their signal columns and a dataset card (README.md: sources, licences, rules, counts).

What is exported (`what`):
* `selected`: every document select kept, source by source in input-file order, as written to
  `selected/` (so with PII already redacted when `select.pii` redacts).
* `mixed`: the training stream of the mixed train shards, in order: one row per document instance
  (a document repeated for a second epoch appears twice). The mix stage records the order in
  `shards/mix_order.parquet` as (source, index among the source's train documents); the train
  documents of a source are its selected documents, in order, minus the held-out split, which is
  the same hash of (seed, id) the tokenize stage used. Export rebuilds that list, checks its length
  against the token file's document count, and takes rows in the recorded order. Held-out documents
  are not in the mixed stream (they are in `shards/val_<source>`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from curate import __version__
from curate.errors import CurateError
from curate.io.atomic import read_json
from curate.layout import RunLayout
from curate.io.parquet_stream import open_parquet_stream

Format = Literal["hf", "parquet", "jsonl"]
What = Literal["selected", "mixed"]
DROP_COLUMNS = ("minhash",)  # large and useless outside the run


def _run_config(run: Path):
    from curate.config import pipeline_model

    path = RunLayout(run).config_yaml
    if not path.is_file():
        raise CurateError("not a curate run directory (no config.yaml)", where=str(run), fix="pass the directory `curate run` wrote")
    return pipeline_model().model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def selected_files(run: Path, source: str) -> list[Path]:
    """A source's selected Parquet files in the order the tokenize stage concatenated them (its
    stats list its tasks, keyed by input, in that order); without tokenize stats, sorted by name."""
    lay = RunLayout(run)
    try:
        rows = read_json(lay.stats)["stages"]["tokenize"]["files"]
    except (OSError, KeyError, TypeError, ValueError):
        rows = None
    if rows:
        keys = [r["file"] for r in rows if r.get("source") == source and r.get("file")]
        return [lay.selected(k) for k in keys if lay.selected(k).is_file()]
    return sorted((lay.selected_dir / source).glob("*.parquet"))


def _columns(schema: pa.Schema) -> list[str]:
    return [c for c in schema.names if c not in DROP_COLUMNS]


def iter_selected(run: Path, cfg, batch_size: int = 4096) -> Iterator[pa.Table]:
    files = [f for s in cfg.sources for f in selected_files(run, s.name)]
    if not files:
        raise CurateError("the run has no selected documents", where=str(RunLayout(run).selected_dir), fix="run the select stage first (`curate run PIPELINE`)")
    schema = None
    for f in files:
        pf = open_parquet_stream(f)
        cols = _columns(pf.schema_arrow)
        for b in pf.iter_batches(batch_size=batch_size, columns=cols):
            t = pa.Table.from_batches([b])
            if schema is None:
                schema = t.schema
            elif t.schema != schema:  # a file with a different column set or type (e.g. an all-null column)
                t = _conform(t, schema, f)
            yield t


def _conform(t: pa.Table, schema: pa.Schema, where: Path) -> pa.Table:
    missing = [n for n in schema.names if n not in t.column_names]
    extra = [n for n in t.column_names if n not in schema.names]
    if missing or extra:
        raise CurateError(f"selected file has columns {sorted(t.column_names)}, the first file {sorted(schema.names)}", where=str(where),
                          fix="all sources must be annotated with the same signals to be exported as one dataset")
    return t.select(schema.names).cast(schema)


def _train_documents(run: Path, cfg, source: str) -> pa.Table:
    """A source's train documents in token-file order: selected rows minus the held-out hash split."""
    from curate.sampling import doc_keys, unit_hash

    tables = [pq.read_table(f, columns=_columns(pq.ParquetFile(f).schema_arrow)) for f in selected_files(run, source)]
    if not tables:
        return pa.table({})
    t = pa.concat_tables(tables, promote_options="permissive").combine_chunks()
    val_fraction = cfg.tokenizer.val_fraction if cfg.tokenizer else 0.0
    is_val = unit_hash(doc_keys(t), cfg.seed, "heldout") < val_fraction  # the tokenize stage's split
    return t.filter(pa.array(~is_val))


def iter_mixed(run: Path, cfg, batch_size: int = 4096) -> Iterator[pa.Table]:
    lay = RunLayout(run)
    order_path = lay.mix_order
    if not order_path.is_file():
        raise CurateError("the run has no recorded training order (shards/mix_order.parquet)", where=str(run),
                          fix="run the mix stage (a run mixed before `curate export` existed: rerun with --stage mix)")
    from curate.shards.megatron import IndexedDataset

    order = pq.read_table(order_path)
    names = order.column("source").combine_chunks().dictionary.to_pylist()
    src = order.column("source").combine_chunks().indices.to_numpy()
    doc = order.column("doc").to_numpy()
    shard = order.column("shard").to_numpy()
    docs: list[pa.Table] = []
    roles = {s.name: s.role for s in cfg.sources}
    for name in names:
        t = _train_documents(run, cfg, name)
        prefix = lay.tokens(name, roles[name], "train")
        n_tok = len(IndexedDataset(prefix))
        if t.num_rows != n_tok:
            raise CurateError(f"source `{name}`: {t.num_rows:,} selected train documents but {n_tok:,} in {lay.rel(prefix)}.idx",
                              where=str(run), fix="selected/ and tokens/ come from different runs: rerun tokenize and mix")
        docs.append(t)
    schema = next((d.schema for d in docs if d.num_columns), None)
    docs = [d if (d.schema == schema or not d.num_rows) else _conform(d, schema, lay.selected_dir / n) for d, n in zip(docs, names)]
    for lo in range(0, src.size, batch_size):
        s, d = src[lo : lo + batch_size], doc[lo : lo + batch_size]
        # gather per source, then put rows back in stream order
        parts, pos = [], []
        for k in np.unique(s):
            m = np.flatnonzero(s == k)
            parts.append(docs[k].take(pa.array(d[m])))
            pos.append(m)
        t = pa.concat_tables(parts).take(pa.array(np.argsort(np.concatenate(pos), kind="stable")))
        t = t.append_column("mix_position", pa.array(np.arange(lo, lo + s.size), pa.int64()))
        yield t.append_column("mix_shard", pa.array(shard[lo : lo + batch_size], pa.int32()))


def _parts(tables: Iterator[pa.Table], rows_per_file: int) -> Iterator[tuple[int, pa.Table]]:
    """Non-empty slices of the stream, each tagged with the output file it belongs to (a new file every
    `rows_per_file` rows), so every writer rotates its files by the same rule."""
    part, in_file = 0, 0
    for t in tables:
        while t.num_rows:
            take = min(t.num_rows, rows_per_file - in_file)
            yield part, t.slice(0, take)
            t, in_file = t.slice(take), in_file + take
            if in_file >= rows_per_file:
                part, in_file = part + 1, 0


def _write_parquet(tables: Iterator[pa.Table], out: Path, rows_per_file: int) -> tuple[list[Path], pa.Schema | None, int]:
    out.mkdir(parents=True, exist_ok=True)
    files, writer, total, schema = [], None, 0, None
    for part, t in _parts(tables, rows_per_file):
        if part == len(files):  # a new file begins
            if writer is not None:
                writer.close()
            path = out / f"part-{part:05d}.parquet"
            writer, schema = pq.ParquetWriter(path, t.schema, compression="zstd"), t.schema
            files.append(path)
        writer.write_table(t)
        total += t.num_rows
    if writer is not None:
        writer.close()
    return files, schema, total


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    raise TypeError


def _write_jsonl(tables: Iterator[pa.Table], out: Path, rows_per_file: int) -> tuple[list[Path], pa.Schema | None, int]:
    out.mkdir(parents=True, exist_ok=True)
    files, fh, total, first = [], None, 0, {}

    def noting_schema(ts: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for t in ts:
            first.setdefault("schema", t.schema)
            yield t

    for part, t in _parts(noting_schema(tables), rows_per_file):
        if part == len(files):  # a new file begins
            if fh is not None:
                fh.close()
            path = out / f"part-{part:05d}.jsonl"
            fh = open(path, "wb")
            files.append(path)
        for b in t.to_batches():  # orjson serializes in C; Arrow has no JSON writer
            fh.write(b"".join(orjson.dumps(r, default=_json_default) + b"\n" for r in b.to_pylist()))
        total += t.num_rows
    if fh is not None:
        fh.close()
    return files, first.get("schema"), total


def export_run(run: str | Path, out: str | Path, fmt: Format = "hf", what: What = "selected", rows_per_file: int = 100_000,
               overwrite: bool = False) -> dict:
    """Write the run's selected (or mixed) documents to `out` in `fmt`, with a dataset card. Returns a summary."""
    run, out = Path(run), Path(out)
    cfg = _run_config(run)
    if out.exists():
        if not overwrite:
            raise CurateError("the output folder exists", where=str(out), fix="choose another --out or pass --overwrite")
        shutil.rmtree(out)
    if out.resolve() == run.resolve() or run.resolve() in out.resolve().parents:
        raise CurateError("export into the run directory would mix outputs", where=str(out), fix="write the export outside the run")
    tables = iter_selected(run, cfg) if what == "selected" else iter_mixed(run, cfg)
    out.mkdir(parents=True)
    counts: dict[str, int] = {}

    def counted(it):
        for t in it:
            for item in pc.value_counts(t.column("source")).to_pylist():
                counts[item["values"]] = counts.get(item["values"], 0) + item["counts"]
            yield t

    if fmt == "jsonl":
        files, schema, total = _write_jsonl(counted(tables), out / "data", rows_per_file)
    else:
        files, schema, total = _write_parquet(counted(tables), (out / "data") if fmt == "parquet" else (out / "_parquet"), rows_per_file)
    if fmt == "hf":
        _save_hf(files, out)
    summary = {"format": fmt, "what": what, "documents": total, "per_source": counts, "files": len(files),
               "columns": schema.names if schema is not None else []}
    (out / "README.md").write_text(dataset_card(run, cfg, summary), encoding="utf-8")
    return summary


def _save_hf(parquet_files: list[Path], out: Path) -> None:
    """Turn the Parquet parts into a `datasets.load_from_disk` folder (Arrow files + state.json)."""
    try:
        import datasets
    except ImportError:
        raise CurateError("--format hf needs the `datasets` package", fix="pip install 'curate[hf]' (or use --format parquet)") from None
    tmp = out / "_parquet"
    cache = out / "_cache"
    try:
        ds = datasets.Dataset.from_parquet([str(p) for p in parquet_files], cache_dir=str(cache), keep_in_memory=False)
        ds.save_to_disk(str(out / "hf"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    # the dataset files sit directly in `out` so that load_from_disk(out) works
    for p in (out / "hf").iterdir():
        p.rename(out / p.name)
    (out / "hf").rmdir()


def dataset_card(run: Path, cfg, summary: dict) -> str:
    """README.md with a YAML header (licence, how to load) and the run's sources, rules and counts."""
    licenses = {s.name: s.license for s in cfg.sources}
    known = {v for v in licenses.values() if v}
    header: dict = {"license": (next(iter(known)).lower() if len(known) == 1 and all(licenses.values()) else "other")}
    if summary["format"] in ("parquet", "jsonl"):
        ext = "parquet" if summary["format"] == "parquet" else "jsonl"
        header["configs"] = [{"config_name": "default", "data_files": [{"split": "train", "path": f"data/*.{ext}"}]}]
    lay = RunLayout(run)
    stats = read_json(lay.stats) if lay.stats.exists() else {}
    sel = (stats.get("stages") or {}).get("select", {}).get("sources", {})
    lines = ["---", yaml.safe_dump(header, sort_keys=False).strip(), "---", "", f"# {cfg.name}", "",
             f"Documents curated by curate {__version__} (run seed {cfg.seed}), exported with `curate export --format {summary['format']} "
             f"--what {summary['what']}`: {summary['documents']:,} rows, {summary['files']} file(s).", ""]
    if summary["what"] == "mixed":
        lines += ["Rows follow the training order of the mixed train shards (`mix_position`, `mix_shard`); a document used for more than "
                  "one epoch appears once per use. Held-out documents are not included.", ""]
    load = {"hf": "datasets.load_from_disk(PATH)", "parquet": 'datasets.load_dataset("parquet", data_files="PATH/data/*.parquet")',
            "jsonl": 'datasets.load_dataset("json", data_files="PATH/data/*.jsonl")'}[summary["format"]]
    lines += ["## Load", "", "```python", "import datasets", f"ds = {load}", "```", "", "## Sources", "",
              "| source | role | licence | rows exported | selected | dropped by select |", "|---|---|---|---:|---:|---:|"]
    for s in cfg.sources:
        st = sel.get(s.name, {})
        dropped = sum(st.get("drops", {}).values())
        lines.append(f"| {s.name} | {s.role} | {s.license or 'not given'} | {summary['per_source'].get(s.name, 0):,} | "
                     f"{st.get('docs_out', 0):,} | {dropped:,} |")
    lines += ["", "Licences are as given in the pipeline's `license:` keys; check each source's terms before redistributing.", ""]
    rules = cfg.select.rules
    if rules:
        lines += ["## Selection rules (a document is dropped by the first rule it fails)", "", "| rule | definition |", "|---|---|"]
        for r in rules:
            how = (f"keep `{r.keep}`" if r.keep else f"drop `{r.drop}`") if r.mode == "expr" else \
                f"{r.mode} on `{r.column}`" + (f" >= {r.threshold}" if r.threshold is not None else "") + (f" top {r.fraction:.0%}" if r.fraction else "")
            lines.append(f"| {r.name} | {how.replace('|', '/')} |")
        lines.append("")
    extra = []
    if cfg.dedup is not None:
        extra.append(f"- near-duplicate removal: MinHash threshold {cfg.dedup.threshold}" if hasattr(cfg.dedup, "threshold") else "- deduplicated")
    if cfg.decontam is not None:
        sets = ", ".join(e.name for e in cfg.decontam.eval_sets)
        extra.append(f"- decontamination: {cfg.decontam.n}-gram overlap with {sets} ({cfg.decontam.action})")
    if cfg.select.pii is not None:
        extra.append(f"- PII ({', '.join(cfg.select.pii.types)}): {cfg.select.pii.action}"
                     + (" with typed placeholders such as <EMAIL>" if cfg.select.pii.action == "redact" else ""))
    if extra:
        lines += ["## Processing", "", *extra, ""]
    lines += ["## Columns", "", ", ".join(f"`{c}`" for c in summary["columns"]), ""]
    return "\n".join(lines)
