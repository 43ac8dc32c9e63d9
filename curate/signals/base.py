"""The Signal contract: a class that turns a batch of documents into new columns.

    @register_signal("my_signal", config=MyConfig)          # the annotate section key
    class MySignal(Signal):
        def __init__(self, cfg: MyConfig, ctx: SignalContext): ...   # once per worker process
        def columns(self, table: pa.Table) -> dict[str, pa.Array]: ... # one value per row

`annotate:` in a pipeline YAML gets one key per registered signal: a mapping (one instance) or,
with `many=True`, a list of mappings each with a unique `name` (several instances, e.g. one per
lexicon). `default=True` turns a signal on when its key is absent. The project's own signals are
registered by the modules listed in `curate/signals/__init__.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from curate.registry import Registry

if TYPE_CHECKING:
    import pyarrow as pa
    from pydantic import BaseModel

SIGNALS = Registry("signal", builtins="curate.signals")


@dataclass(frozen=True)
class SignalContext:
    root: Path = field(default_factory=Path.cwd)  # folder the pipeline YAML lives in
    seed: int = 0

    def resolve(self, path: str | Path) -> Path:
        p = Path(path)
        return p if p.is_absolute() else (self.root / p)


class Signal:
    """Base class of annotate signals. Subclasses set nothing but `__init__` and `columns`;
    `register_signal` fills `name` and `config_model`."""

    name: ClassVar[str] = ""
    config_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, cfg: Any, ctx: SignalContext):
        self.cfg = cfg
        self.ctx = ctx

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def default_files(cls, cfg: Any) -> list[Path]:
        """Files the signal loads when its config names none (bundled defaults). Files named in the
        config are found by the annotate stage itself; both are part of the signal's fingerprint, so
        editing one recomputes exactly this signal's columns."""
        return []


def register_signal(name: str, *, config: type[BaseModel], many: bool = False, default: bool = False):
    """Class decorator: register a Signal under `annotate.<name>` with its config model."""

    def deco(cls: type[Signal]) -> type[Signal]:
        cls.name = name
        cls.config_model = config
        SIGNALS.register(name, cls, config=config, many=many, default=default)
        return cls

    return deco
