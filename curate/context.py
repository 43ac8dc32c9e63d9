"""RunContext: what every stage gets — the config, the run directory layout, the executor, the seed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from curate.config import PipelineConfig, SourceConfig, expand_source
from curate.exec.base import Executor
from curate.io.input_keys import relative_name, source_root, task_key
from curate.io.readers import detect_format
from curate.signals.base import SignalContext


MAX_PARTS = 4  # each part re-reads (decompresses) the whole file: enough parts to balance, no more


@dataclass
class InputFile:
    """One annotate task: a whole input file, or one part of a large JSONL/Parquet file."""

    source: SourceConfig
    index: int  # position in the source's sorted file list
    path: Path
    part: int = 0
    parts: int = 1
    rel: str = ""  # path relative to the source's glob root (curate.io.input_keys)

    @property
    def key(self) -> str:
        """Stable name of this task's outputs: `<source>/<relative path as one name>` (+ `@pKK` for a part);
        it does not change when other files are added or removed."""
        return task_key(self.source.name, self.rel or self.path.name, self.part, self.parts)


def parts_for(path: Path, fmt: str, split_mb: float) -> int:
    """How many tasks read a file: by its size on disk, for the formats that can be dealt in blocks.

    Depends only on the file and the config (never on worker count), so outputs stay identical.
    """
    if fmt == "auto":
        try:
            fmt = detect_format(path)
        except Exception:
            return 1
    if fmt not in ("jsonl", "parquet") or not path.is_file() or split_mb <= 0:
        return 1
    return max(1, min(MAX_PARTS, math.ceil(path.stat().st_size / (split_mb * 1e6))))


@dataclass
class RunContext:
    cfg: PipelineConfig
    run_dir: Path
    root: Path  # relative paths in the YAML resolve here
    executor: Executor
    config_path: Path | None = None
    strict: bool = False
    progress: bool = True
    _inputs: list[InputFile] | None = field(default=None, repr=False)

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
                    n = parts_for(p, src.format, split)
                    self._inputs += [InputFile(src, i, p, part, n, relative_name(p, base)) for part in range(n)]
        return self._inputs

    def signal_context(self) -> SignalContext:
        return SignalContext(root=self.root, seed=self.seed)

    # ---- layout (docs/internals.md) ----
    def annotated_path(self, f: InputFile) -> Path:
        return self.run_dir / "annotated" / f"{f.key}.parquet"

    def quarantine_path(self, f: InputFile) -> Path:
        return self.run_dir / "quarantine" / f"{f.key}.jsonl"

    def selected_path(self, f: InputFile) -> Path:
        return self.run_dir / "selected" / f"{f.key}.parquet"

    def annotated_files(self) -> list[tuple[InputFile, Path]]:
        return [(f, self.annotated_path(f)) for f in self.inputs() if self.annotated_path(f).exists()]

    def selected_inputs(self, source: str) -> list[tuple[InputFile, Path]]:
        return [(f, self.selected_path(f)) for f in self.inputs() if f.source.name == source and self.selected_path(f).exists()]

    def selected_files(self, source: str) -> list[Path]:
        """Kept documents of one source (Parquet, columns id, text, source, role, ...), in task order."""
        return [self.selected_path(f) for f in self.inputs() if f.source.name == source and self.selected_path(f).exists()]

    @property
    def dedup_dir(self) -> Path:
        return self.run_dir / "dedup"

    @property
    def tokens_dir(self) -> Path:
        return self.run_dir / "tokens"

    @property
    def shards_dir(self) -> Path:
        return self.run_dir / "shards"
