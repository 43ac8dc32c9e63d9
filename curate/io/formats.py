"""The Reader contract: one input format -> a stream of Arrow tables with the base schema.

    class MyReader(Reader):
        suffixes = (".myformat",)       # how `format: auto` recognises a file
        splittable = False              # True: several tasks may read one file, each its own contiguous
                                        # range (ReadSpec.part of ReadSpec.parts); max_parts(path) caps them
        def read(self, path, spec, q):  # yield pa.Tables (curate.schema.BASE_SCHEMA); bad records -> q
            ...

    register_reader("myformat", MyReader())   # one line; `format: myformat` in a source

Readers are used by the annotate stage, by classifier recipes and by tokenizer training, so a
format registered once is readable everywhere. The project's own readers are registered at the
end of `curate/io/readers.py`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from curate.errors import InputError
from curate.registry import Registry

if TYPE_CHECKING:
    import pyarrow as pa

    from curate.io.quarantine import Quarantine
    from curate.io.readers import ReadSpec

READERS = Registry("format", builtins="curate.io.readers")


class Reader:
    """Base class of input readers. `detect` decides `format: auto` (by `suffixes` by default)."""

    name: str = ""
    suffixes: tuple[str, ...] = ()
    splittable: bool = False

    def max_parts(self, path: Path) -> int:
        """How many ranges this file can be cut into (1: it is read whole, e.g. when compressed)."""
        return 1 << 30 if self.splittable else 1

    def detect(self, path: Path) -> bool:
        return path.name.lower().endswith(self.suffixes) and not path.is_dir()

    def read(self, path: Path, spec: ReadSpec, q: Quarantine) -> Iterator[pa.Table]:  # pragma: no cover - abstract
        raise NotImplementedError


class FunctionReader(Reader):
    """A reader given as a function `(path, spec, quarantine) -> Iterator[pa.Table]`."""

    def __init__(self, fn: Callable, suffixes: tuple[str, ...] = (), splittable: bool = False,
                 detect: Callable[[Path], bool] | None = None, max_parts: Callable[[Path], int] | None = None):
        self.fn = fn
        self.suffixes = suffixes
        self.splittable = splittable
        self._detect = detect
        self._max_parts = max_parts

    def max_parts(self, path: Path) -> int:
        return self._max_parts(path) if self._max_parts is not None and self.splittable else super().max_parts(path)

    def detect(self, path: Path) -> bool:
        return self._detect(path) if self._detect is not None else super().detect(path)

    def read(self, path, spec, q):
        return self.fn(path, spec, q)


def register_reader(name: str, reader: Reader) -> Reader:
    reader.name = name
    READERS.register(name, reader)
    return reader


def get_reader(fmt: str) -> Reader:
    return READERS.get(fmt).load()


def detect_format(path: Path) -> str:
    """The registered format that claims `path` (first registered wins)."""
    for entry in READERS.entries():
        if entry.load().detect(path):
            return entry.name
    known = sorted({s for e in READERS.entries() for s in e.load().suffixes})
    raise InputError(
        f"cannot tell the format of {path.name}",
        where=str(path),
        fix=f"set `format:` on the source ({', '.join(READERS.names())}) or use a known extension ({', '.join(known)})",
    )


STEM_SUFFIXES = (".gz", ".zst", ".zstd", ".jsonl", ".json", ".parquet", ".txt", ".warc", ".wet")


def file_stem(path: Path) -> str:
    """A file's name without its format and compression suffixes (`a.jsonl.gz` -> `a`), safe as a
    path part; it names a task's outputs, so it never changes for the project's own formats."""
    name = path.name
    for suffix in STEM_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    for entry in READERS.entries():  # an extension's own suffix
        for suffix in entry.load().suffixes:
            if suffix not in STEM_SUFFIXES and name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "input"
