"""What every signal gets: where relative paths resolve, the seed, shared settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SignalContext:
    root: Path = field(default_factory=Path.cwd)  # folder the pipeline YAML lives in
    seed: int = 0

    def resolve(self, path: str | Path) -> Path:
        p = Path(path)
        return p if p.is_absolute() else (self.root / p)
