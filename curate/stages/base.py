"""The Stage contract: one step of a run, reading and writing only through the run's layout.

    class MyStage(Stage):
        def run(self) -> dict:                 # the stage's stats (curate.stats shape)
            cfg = self.section()               # this stage's validated config section
            results = self.ctx.executor.map(self.name, tasks)   # resumable tasks
            return stage_stats(results)

    register_stage("my_stage", MyStage, config=MyConfig, after="select")   # one line

`config` adds a key (default: the stage's name) to the pipeline YAML; with `optional=True` the
section may be absent, and a stage whose `requires` sections are all present runs by default
(`stages:` in the YAML or `curate run --stage` choose explicitly). Stages run in registration
order (`after=` places one behind another). The project's own stages are registered in
`curate/stages/__init__.py`; implementations and config models may be named as
`"module:attribute"` strings so that listing them imports no engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from curate.registry import Registry

if TYPE_CHECKING:
    from curate.context import RunContext

STAGES = Registry("stage", builtins="curate.stages")


class Stage:
    """Base class of pipeline stages; `register_stage` sets `name` and `section_key`."""

    name: ClassVar[str] = ""
    section_key: ClassVar[str | None] = None

    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    @property
    def layout(self):
        return self.ctx.layout

    def section(self) -> Any:
        """This stage's config section (its model's defaults when the YAML leaves it out)."""
        if self.section_key is None:
            return None
        value = getattr(self.ctx.cfg, self.section_key, None)
        return value if value is not None else config_model(self.name)()

    def fingerprint(self) -> dict:
        """What decides this stage's outputs: its config section and the seed (subclasses add
        the sections or input files they also read). Not yet used to invalidate outputs."""
        sec = self.section()
        return {"stage": self.name, "seed": self.ctx.seed,
                "config": sec.model_dump(mode="json") if sec is not None else None}

    def run(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


def register_stage(name: str, target: Any, *, config: Any = None, section: str | None = None, optional: bool = False,
                   requires: tuple[str, ...] = (), after: str | None = None) -> Any:
    """Register a Stage subclass (or `"module:Class"`). `config`: its section's model (or
    `"module:attribute"`); `section`: the YAML key (default `name`); `optional`: the section may
    be absent; `requires`: sections that must be present for the stage to run by default;
    `after`: run right after that stage (default: last)."""
    key = (section or name) if config is not None else None
    return STAGES.register(name, target, config=config, section=key, optional=optional, requires=tuple(requires), after=after)


def config_model(stage: str) -> Any:
    """The model class of a stage's section (resolving a lazy `"module:attribute"`)."""
    from curate.registry import resolve

    entry = STAGES.get(stage)
    model = resolve(entry.config)
    if not isinstance(model, type):  # a function that builds the model (e.g. from another registry)
        model = model()
    return model


def ordered() -> list:
    """Registered stages in run order: registration order, each `after=` one moved behind its anchor."""
    out: list = []
    pending = list(STAGES.entries())
    for e in [e for e in pending if not e.after]:
        out.append(e)
    for e in [e for e in pending if e.after]:
        names = [x.name for x in out]
        out.insert(names.index(e.after) + 1 if e.after in names else len(out), e)
    return out


def load_stage(name: str) -> type[Stage]:
    entry = STAGES.get(name)
    cls = entry.load()
    cls.name = name
    cls.section_key = entry.section
    return cls
