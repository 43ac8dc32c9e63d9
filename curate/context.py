"""RunContext: what every stage gets — the config, the run's layout, the executor, the seed."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curate.config import SourceConfig, expand_source, resolved
from curate.io.formats import detect_format, get_reader
from curate.io.input_keys import relative_name, source_root, task_key
from curate.io.packs import Pack, pack_units
from curate.layout import RunLayout
from curate.signals.base import SignalContext

if TYPE_CHECKING:
    from curate.exec.base import Executor


MAX_PARTS = 4  # enough parts to balance a large file over the workers; each part counts the newlines before its range


@dataclass
class InputFile:
    """One annotate task: a whole input file, or one part of a large JSONL/Parquet file."""

    source: SourceConfig
    index: int  # position in the source's sorted file list
    path: Path
    part: int = 0
    parts: int = 1
    rel: str = ""  # path relative to the source's glob root (curate.io.input_keys)

    fmt: str | None = field(default=None, repr=False, compare=False)  # `auto` resolved once (see `format`)

    @property
    def format(self) -> str:
        """The source's format, `auto` resolved for this file (an error names the file when no reader claims it)."""
        if self.source.format != "auto":
            return self.source.format
        if self.fmt is None:
            self.fmt = detect_format(self.path)
        return self.fmt

    @functools.cached_property
    def key(self) -> str:
        """Stable name of this task's outputs: `<source>/<relative path as one name>` (+ `@pKK` for a part);
        it does not change when other files are added or removed. (Cached: asked for per file by every stage.)"""
        return task_key(self.source.name, self.rel or self.path.name, self.part, self.parts)

    @property
    def members(self) -> tuple["InputFile", ...]:
        """The input files of this annotated unit: itself (a pack lists several: `Pack`)."""
        return (self,)


def parts_for(path: Path, fmt: str, split_mb: float) -> int:
    """How many tasks read a file: by its size on disk, for the formats that can be cut into ranges
    (plain JSONL by bytes at line ends, Parquet by row groups; a compressed file is read whole, once).

    Depends only on the file and the config (never on worker count), so outputs stay identical.
    """
    if fmt == "auto":
        try:
            fmt = detect_format(path)
        except Exception:
            return 1
    reader = get_reader(fmt)
    if not reader.splittable or split_mb <= 0:
        return 1
    try:
        st = os.stat(path)
    except OSError:
        return 1
    if not stat.S_ISREG(st.st_mode):
        return 1
    want = math.ceil(st.st_size / (split_mb * 1e6))
    return max(1, min(MAX_PARTS, want, reader.max_parts(path) if want > 1 else 1))


@dataclass
class RunContext:
    cfg: Any  # curate.config.PipelineConfig
    run_dir: Path
    root: Path  # relative paths in the YAML resolve here
    executor: Executor | None = None  # None: the context only answers questions about paths and inputs
    config_path: Path | None = None
    strict: bool = False
    progress: bool = True
    _inputs: list[InputFile] | None = field(default=None, repr=False)
    _display: dict = field(default_factory=dict, repr=False)  # input path -> how it is shown (resolving costs syscalls)
    _root: Path | None = field(default=None, repr=False)
    _units: list | None = field(default=None, repr=False)
    _folders: dict = field(default_factory=dict, repr=False)  # input folder -> resolved (curate.config.resolved)

    @property
    def seed(self) -> int:
        return self.cfg.seed

    def source(self, name: str) -> SourceConfig:
        for s in self.cfg.sources:
            if s.name == name:
                return s
        raise KeyError(name)

    def inputs(self) -> list[InputFile]:
        """Every input file of every source, in a stable order (sources as listed, files sorted)."""
        if self._inputs is None:
            split = self.cfg.annotate.split_mb
            self._inputs = []
            for src in self.cfg.sources:
                base = source_root(src.paths, self.root, src.format)
                for i, p in enumerate(expand_source(src, self.root)):
                    fmt = src.format
                    if fmt == "auto":
                        with contextlib.suppress(Exception):  # an unknown extension fails when the format is asked (check_formats)
                            fmt = detect_format(p)
                    n = parts_for(p, fmt, split)
                    rel = relative_name(p, base)
                    self._inputs += [InputFile(src, i, p, part, n, rel, None if fmt == "auto" else fmt) for part in range(n)]
        return self._inputs

    def signal_context(self) -> SignalContext:
        return SignalContext(root=self.root, seed=self.seed)

    def units(self) -> list[InputFile | Pack]:
        """What the annotate stage writes one annotated file for, in input order: an input file (or a
        part of a split one) on its own, or a `Pack` of consecutive small files of one source
        (`curate.io.packs`). Later stages work per unit; stats and quarantine stay per input file."""
        if self._units is None:
            self._units = pack_units(self.inputs())
        return self._units

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.run_dir)

    def display(self, path: Path) -> str:
        """An input path as stats and quarantine records show it: relative to the root when inside it."""
        shown = self._display.get(path)
        if shown is None:
            if self._root is None:
                self._root = self.root.resolve()
            try:
                shown = str(resolved(path, self._folders).relative_to(self._root))
            except ValueError:
                shown = str(path)
            self._display[path] = shown
        return shown

    def annotated_path(self, f: InputFile | Pack) -> Path:
        return self.layout.annotated(f.key)

    def quarantine_path(self, f: InputFile | Pack) -> Path:
        return self.layout.quarantine(f.key)

    def selected_path(self, f: InputFile | Pack) -> Path:
        return self.layout.selected(f.key)

    def annotated_files(self) -> list[tuple[InputFile | Pack, Path]]:
        """Every annotated unit whose file exists, with that file, in input order."""
        return [(f, self.annotated_path(f)) for f in self.units() if self.annotated_path(f).exists()]

    def selected_inputs(self, source: str) -> list[tuple[InputFile | Pack, Path]]:
        return [(f, self.selected_path(f)) for f in self.units() if f.source.name == source and self.selected_path(f).exists()]

    def selected_files(self, source: str) -> list[Path]:
        """Kept documents of one source (Parquet, columns id, text, source, role, ...), in task order."""
        return [p for _, p in self.selected_inputs(source)]
