"""Packs: many small input files of one source annotated, selected and stored as one unit.

A folder of thousands of tiny files would otherwise cost thousands of annotated, selected and
decisions files, markers and opens in every later stage. When a source has at least `PACK_FILES`
small files (each at most `SMALL_BYTES`), its consecutive small files are grouped into packs of at
most `UNIT_BYTES` input bytes. A pack is one unit of work from annotate on: one annotated Parquet
file holding its members' rows in member order, one marker (with per-member stats), one selected
and one decisions file. Stats, quarantine records and document keys (`source`, `file`, `line`,
`id` columns) stay per input file, so a run with packs selects, tokenizes and mixes exactly the
documents and tokens a run without them does.

Packs depend only on the files (names, sizes) and these constants, never on the worker count. A
pack closes at the size cap, or, once it holds a quarter of it, after a member whose name hashes to
a boundary: adding or removing one file changes the packs around it, not every pack after it.

A pack's key is its first member's key + `@u<members>` (`@u` never appears in an input's key).
`CURATE_PACK_FILES` (environment) overrides `PACK_FILES`; `0` turns packing off (one unit per
file: the reference path the tests compare packs against).
"""

from __future__ import annotations

import functools
import os
import stat
import zlib
from dataclasses import dataclass
from typing import Any

PACK_FILES = 64  # a source packs its small files only when it has at least this many
SMALL_BYTES = 128_000  # a file this size or smaller may join a pack
UNIT_BYTES = 1_000_000  # input bytes of one pack at most
BOUNDARY = 16  # after a quarter of UNIT_BYTES, a member whose name hashes to 0 mod this closes the pack


@dataclass(frozen=True, eq=False)
class Pack:
    """Consecutive small input files of one source, annotated and stored as one unit."""

    members: tuple  # tuple[InputFile, ...], in input order

    @property
    def source(self) -> Any:
        return self.members[0].source

    @functools.cached_property
    def key(self) -> str:
        return f"{self.members[0].key}@u{len(self.members)}"


def pack_files() -> int:
    raw = os.environ.get("CURATE_PACK_FILES", "").strip()
    return int(raw) if raw else PACK_FILES


def _size(f) -> int | None:
    """Bytes of a whole plain input file, None when it cannot join a pack (a part, a folder)."""
    if f.parts != 1:
        return None
    try:
        st = os.stat(f.path)
    except OSError:
        return None
    return st.st_size if st.st_size <= SMALL_BYTES and stat.S_ISREG(st.st_mode) else None


def pack_units(inputs: list) -> list:
    """The annotated units of a run's inputs (see the module docstring), in input order."""
    least = pack_files()
    if least <= 0:
        return list(inputs)
    sizes = [_size(f) for f in inputs]
    small: dict[str, int] = {}
    for f, n in zip(inputs, sizes):
        if n is not None:
            small[f.source.name] = small.get(f.source.name, 0) + 1
    out: list = []
    group: list = []
    weight = 0

    def close() -> None:
        nonlocal weight
        out.extend(group if len(group) < 2 else [Pack(tuple(group))])
        group.clear()
        weight = 0

    for f, n in zip(inputs, sizes):
        if n is None or small.get(f.source.name, 0) < least:
            close()
            out.append(f)
            continue
        if group and (group[0].source.name != f.source.name or weight + n > UNIT_BYTES):
            close()
        group.append(f)
        weight += n
        if weight >= UNIT_BYTES // 4 and zlib.crc32(f.key.encode()) % BOUNDARY == 0:
            close()
    close()
    return out
