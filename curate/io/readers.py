"""Streaming readers: every format yields Arrow tables of at most `batch_size` documents.

Memory stays bounded by the batch size and `max_doc_bytes`: a JSONL line longer than the limit is
skipped in chunks (never held whole) and quarantined, like every other bad record.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from curate import schema
from curate.errors import InputError
from curate.io.compressed import CHUNK, COMPRESSED_SUFFIXES, count_records, misnamed_compression, open_maybe_compressed
from curate.io.formats import FunctionReader, Reader, detect_format, get_reader, register_reader
from curate.io.quarantine import Quarantine
from curate.io.ranges import RangeReader, jsonl_max_parts, line_range, parquet_max_parts, row_group_range
from curate.io.parquet_stream import open_parquet_stream

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class ReadSpec:
    """What a reader needs to know about its source."""

    source: str
    role: str
    text_field: str = "text"
    id_field: str | None = "id"
    max_doc_bytes: int = 8_000_000
    batch_size: int = 2048
    display: str = ""  # file name as shown in quarantine records and errors
    rel: str = ""  # the file's path relative to its source's glob root: generated ids are built from it
    part: int = 0  # a large file is read by `parts` tasks; this one reads the `part`-th contiguous range of it
    parts: int = 1  # (bytes cut at line ends for plain JSONL, row groups for Parquet: see `line_range`, `row_group_range`)


class _Batcher:
    """Accumulates documents column-wise and emits Arrow tables."""

    def __init__(self, spec: ReadSpec, file: str):
        self.spec, self.file = spec, file
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.lines: list[int] = []

    def add(self, doc_id: str | None, text: str, line: int) -> None:
        if doc_id is None:  # unique within the source: `<path from the glob root>:<line or row>`
            doc_id = f"{self.spec.rel or self.file}:{line}"
        self.ids.append(doc_id)
        self.texts.append(text)
        self.lines.append(line)

    def full(self) -> bool:
        return len(self.ids) >= self.spec.batch_size

    def flush(self) -> pa.Table | None:
        if not self.ids:
            return None
        n = len(self.ids)
        t = pa.table(
            {
                schema.ID: pa.array(self.ids, pa.string()),
                schema.TEXT: pa.array(self.texts, pa.large_string()),
                schema.SOURCE: pa.array([self.spec.source] * n, pa.string()),
                schema.ROLE: pa.array([self.spec.role] * n, pa.string()),
                schema.FILE: pa.array([self.file] * n, pa.string()),
                schema.LINE: pa.array(self.lines, pa.int64()),
            },
            schema=schema.BASE_SCHEMA,
        )
        self.ids, self.texts, self.lines = [], [], []
        return t


def _read_long_line(fh, limit: int) -> tuple[bytes, bool]:
    """Read one line, keeping at most `limit` bytes; returns (prefix, complete)."""
    line = fh.readline(limit + 1)
    if len(line) <= limit or line.endswith(b"\n"):
        return line, True
    # too long: consume the rest in chunks without keeping it
    while True:
        chunk = fh.readline(CHUNK)
        if not chunk or chunk.endswith(b"\n"):
            return line[:limit], False


def _doc_id(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def read_jsonl(path: Path, spec: ReadSpec, q: Quarantine) -> Iterator[pa.Table]:
    b = _Batcher(spec, spec.display or str(path))
    misnamed = misnamed_compression(path)
    if misnamed is not None:
        if spec.part == 0:  # reported once, by the first part (compressed files are not split: see context.parts_for)
            ext, kind = misnamed
            with open(path, "rb") as fh:
                head = fh.read(200)
            n = count_records(path)
            q.add(1, f"not {kind} data despite its {ext} name", head,
                  detail=f"{n} non-blank lines skipped; rename the file without {ext} if it is plain JSONL, or compress it",
                  documents=max(n, 1))
        return
    lineno = 0
    if spec.parts > 1:  # one byte range of a plain file; its lines keep their numbers in the whole file
        start, end, lineno = line_range(path, spec.part, spec.parts)
        fh = RangeReader(path, start, end)
    else:
        fh = open_maybe_compressed(path)
    try:
        while True:
            try:
                raw, complete = _read_long_line(fh, spec.max_doc_bytes)
            except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
                q.add(lineno + 1, "truncated or corrupt compressed file", detail=f"{type(exc).__name__}: {exc}; {lineno} lines read before it")
                break
            if not raw:
                break
            lineno += 1
            if lineno == 1 and raw.startswith(UTF8_BOM):  # files saved by Windows tools; the BOM is not part of the record
                raw = raw[len(UTF8_BOM):]
            if not complete:
                q.add(lineno, "document larger than max_doc_bytes", raw[:200], detail=f"line exceeds {spec.max_doc_bytes} bytes; raise sources[].max_doc_bytes to keep such documents")
                continue
            if not raw.strip():
                continue
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                reason = "invalid UTF-8" if "utf-8" in str(exc).lower() else "malformed JSON"
                q.add(lineno, reason, raw, detail=str(exc))
                continue
            if not isinstance(rec, dict):
                q.add(lineno, "record is not a JSON object", raw)
                continue
            text = rec.get(spec.text_field)
            if text is None:
                q.add(lineno, f"missing text field `{spec.text_field}`", raw, detail=f"keys: {sorted(rec)[:10]}")
                continue
            if not isinstance(text, str):
                q.add(lineno, f"text field `{spec.text_field}` is not a string", raw)
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                q.add(lineno, "invalid UTF-8 (lone surrogate escape)", raw)
                continue
            b.add(_doc_id(rec.get(spec.id_field)) if spec.id_field else None, text, lineno)
            if b.full():
                yield b.flush()
    finally:
        fh.close()
    t = b.flush()
    if t is not None:
        yield t


def read_parquet(path: Path, spec: ReadSpec, q: Quarantine) -> Iterator[pa.Table]:
    try:
        pf = open_parquet_stream(path)
    except Exception as exc:
        q.add(0, "unreadable Parquet file", detail=f"{type(exc).__name__}: {exc}")
        return
    names = pf.schema_arrow.names
    if spec.part != 0 and (spec.text_field not in names or not _is_string(pf.schema_arrow.field(spec.text_field).type)):
        return  # a whole-file problem is reported once, by part 0
    if spec.text_field not in names:
        q.add(0, f"missing text field `{spec.text_field}`", detail=f"columns: {names}; set sources[].text_field",
              documents=pf.metadata.num_rows)
        return
    ftype = pf.schema_arrow.field(spec.text_field).type
    if not _is_string(ftype):
        q.add(0, f"text field `{spec.text_field}` has type {ftype}, expected string", detail=f"{pf.metadata.num_rows} rows skipped",
              documents=pf.metadata.num_rows)
        return
    cols = [spec.text_field] + ([spec.id_field] if spec.id_field and spec.id_field in names else [])
    meta = pf.metadata
    if spec.parts > 1:  # a contiguous run of row groups; rows keep their numbers in the whole file
        groups = row_group_range(meta.num_row_groups, spec.part, spec.parts)
        first = sum(meta.row_group(g).num_rows for g in range(groups.start))
        total = sum(meta.row_group(g).num_rows for g in groups)
        if not groups:
            return
        batches = pf.iter_batches(batch_size=spec.batch_size, columns=cols, row_groups=list(groups))
    else:
        first, total = 0, meta.num_rows
        batches = pf.iter_batches(batch_size=spec.batch_size, columns=cols)
    counted = _CountingBatches(batches)
    try:
        yield from _tables_from_batches(counted, spec, q, str(path), first_row=first)
    except (OSError, pa.ArrowException) as exc:
        # a corrupt data page: keep the rows before it and quarantine the rest (of this range), as for a truncated .gz
        rest = total - counted.rows
        q.add(first + counted.rows + 1, "truncated or corrupt Parquet data",
              detail=f"{type(exc).__name__}: {exc}; {counted.rows} rows read, {rest} rows unreadable", documents=rest)


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


class _CountingBatches:
    """Iterates record batches and counts the rows handed out, so a failure can say where it happened."""

    def __init__(self, batches):
        self._it, self.rows, self.batches = batches, 0, 0

    def __iter__(self):
        for rb in self._it:
            self.rows += rb.num_rows
            self.batches += 1
            yield rb


def _tables_from_batches(batches, spec: ReadSpec, q: Quarantine, display: str, first_row: int = 0) -> Iterator[pa.Table]:
    row = first_row
    for rb in batches:
        b = _Batcher(spec, spec.display or display)
        column = rb.column(spec.text_field)
        # max_doc_bytes counts UTF-8 bytes, as for JSONL lines and text files (not characters)
        nbytes = pc.fill_null(pc.binary_length(column), 0).to_numpy(zero_copy_only=False)
        texts = column.to_pylist()
        ids = rb.column(spec.id_field).to_pylist() if spec.id_field and spec.id_field in rb.schema.names else [None] * len(texts)
        for i, (doc_id, text) in enumerate(zip(ids, texts)):
            r = row + i + 1
            if text is None:
                q.add(r, f"missing text field `{spec.text_field}` (null)")
            elif nbytes[i] > spec.max_doc_bytes:
                q.add(r, "document larger than max_doc_bytes", text[:200], detail=f"{int(nbytes[i]):,} bytes")
            else:
                b.add(_doc_id(doc_id), text, r)
        row += len(texts)
        t = b.flush()
        if t is not None:
            yield t


TEXT_SUFFIXES = (".txt", ".txt.gz", ".txt.zst", ".txt.zstd")


def _read_text_file(f: Path, limit: int, q: Quarantine) -> bytes | None:
    """The bytes of one text document (gzip/zstd-compressed when its name says so), at most `limit`
    of them; None (quarantined) when it is larger, misnamed or its compression is broken."""
    name = f.name.lower()
    if not name.endswith(COMPRESSED_SUFFIXES):
        if f.stat().st_size > limit:
            q.add(0, "document larger than max_doc_bytes", detail=str(f))
            return None
        return f.read_bytes()
    misnamed = misnamed_compression(f)
    if misnamed is not None:
        ext, kind = misnamed
        q.add(0, f"not {kind} data despite its {ext} name", detail=f"{f.name}: rename the file without {ext} if it is plain text")
        return None
    try:
        with open_maybe_compressed(f) as fh:
            data = fh.read(limit + 1)
    except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
        q.add(0, "truncated or corrupt compressed file", detail=f"{f.name}: {type(exc).__name__}: {exc}")
        return None
    if len(data) > limit:
        q.add(0, "document larger than max_doc_bytes", detail=f"{f}: more than {limit:,} bytes after decompression")
        return None
    return data


def read_text_dir(path: Path, spec: ReadSpec, q: Quarantine) -> Iterator[pa.Table]:
    """A single text file is one document; a folder yields one document per .txt file inside it.
    Files named .gz or .zst (e.g. README.gz, notes.txt.gz) are decompressed."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(TEXT_SUFFIXES))
    b = _Batcher(spec, spec.display or str(path))
    for k, f in enumerate(files):
        data = _read_text_file(f, spec.max_doc_bytes, q)
        if data is None:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            q.add(0, "invalid UTF-8", data, detail=f"{f.name}: {exc}")
            continue
        # the path from the source's glob root, whole (not the stem: `GFDL-1.2` and `GFDL-1.3` differ)
        inner = f.relative_to(path).as_posix()
        doc_id = (spec.rel or path.name) if path.is_file() else (f"{spec.rel}/{inner}" if spec.rel else inner)
        b.add(doc_id, text, 0 if path.is_file() else k + 1)  # line: 0 for a file, its position in a folder
        if b.full():
            yield b.flush()
    t = b.flush()
    if t is not None:
        yield t


def read_hf_dataset(path: Path, spec: ReadSpec, q: Quarantine) -> Iterator[pa.Table]:
    """A Hugging Face dataset saved with `save_to_disk`: Arrow stream files listed in state.json."""
    state = path / "state.json"
    if state.exists():
        files = [path / f["filename"] for f in json.loads(state.read_text())["_data_files"]]
    else:
        files = sorted(path.glob("*.arrow"))
    if not files:
        q.add(0, "no Arrow data files in Hugging Face dataset folder", detail=str(path))
        return

    def batches():
        for f in files:
            with pa.memory_map(str(f)) as src:
                try:
                    reader = pa.ipc.open_stream(src)
                except pa.ArrowInvalid:
                    reader = pa.ipc.open_file(src)
                    for i in range(reader.num_record_batches):
                        yield reader.get_batch(i)
                    continue
                for rb in reader:
                    yield rb

    first = None
    for rb in batches():
        if first is None:
            first = rb
            if spec.text_field not in rb.schema.names:
                q.add(0, f"missing text field `{spec.text_field}`", detail=f"columns: {rb.schema.names}")
                return
        yield from _tables_from_batches([rb], spec, q, str(path))


def read_warc(path: Path, spec: ReadSpec, q: Quarantine) -> Iterator[pa.Table]:
    """WARC responses (HTML -> text with resiliparse) and WET conversion records (plain text)."""
    try:
        from warcio.archiveiterator import ArchiveIterator
    except ImportError:  # pragma: no cover - optional extra
        raise InputError("WARC support needs the `warc` extra", where=str(path), fix="pip install 'curate[warc]'") from None
    b = _Batcher(spec, spec.display or str(path))
    n = 0
    with open(path, "rb") as fh:
        try:
            for rec in ArchiveIterator(fh):
                if rec.rec_type not in ("response", "conversion"):
                    continue
                n += 1
                url = rec.rec_headers.get_header("WARC-Target-URI") or ""
                rid = rec.rec_headers.get_header("WARC-Record-ID") or None
                payload = rec.content_stream().read(spec.max_doc_bytes + 1)
                if len(payload) > spec.max_doc_bytes:
                    q.add(n, "document larger than max_doc_bytes", detail=url)
                    continue
                if rec.rec_type == "conversion":
                    text = payload.decode("utf-8", errors="replace")
                else:
                    ctype = (rec.http_headers.get_header("Content-Type") if rec.http_headers else "") or ""
                    if "html" not in ctype.lower():
                        continue
                    from resiliparse.extract.html2text import extract_plain_text
                    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

                    html = bytes_to_str(payload, detect_encoding(payload))
                    text = extract_plain_text(html, main_content=True)
                if not text.strip():
                    q.add(n, "empty text after HTML extraction", detail=url)
                    continue
                b.add(rid.strip("<>").replace("urn:uuid:", "") if rid else None, text, n)
                if b.full():
                    yield b.flush()
        except Exception as exc:
            q.add(n + 1, "truncated or corrupt WARC file", detail=f"{type(exc).__name__}: {exc}")
    t = b.flush()
    if t is not None:
        yield t


def read_documents(path: Path, fmt: str | Reader, spec: ReadSpec, q: Quarantine) -> Iterator[pa.Table]:
    """Stream `path` as Arrow tables with the base schema; bad records go to `q`. `fmt`: a
    registered format name, `auto`, or a Reader."""
    if fmt == "auto":
        fmt = detect_format(path)
    if path.is_file() and path.stat().st_size == 0:
        return
    yield from (fmt if isinstance(fmt, Reader) else get_reader(fmt)).read(path, spec, q)


def _is_hf_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_info.json").exists() or (path / "state.json").exists())


def _is_text(path: Path) -> bool:
    return (path.is_dir() and not _is_hf_dir(path)) or path.name.lower().endswith(TEXT_SUFFIXES)


# the project's own formats, in the order `format: auto` tries them
register_reader("parquet", FunctionReader(read_parquet, (".parquet",), splittable=True, max_parts=parquet_max_parts))
register_reader("warc", FunctionReader(read_warc, (".warc", ".warc.gz", ".wet", ".wet.gz")))
register_reader("jsonl", FunctionReader(read_jsonl, (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".jsonl.zstd", ".ndjson",
                                                     ".ndjson.gz"), splittable=True,
                                           max_parts=jsonl_max_parts))
register_reader("hf", FunctionReader(read_hf_dataset, detect=_is_hf_dir))
register_reader("text", FunctionReader(read_text_dir, TEXT_SUFFIXES, detect=_is_text))
