"""Checks made before a run writes anything: every input's format is known, every signal loads
(models, lexicons), and every select rule compiles against the columns the configured signals will
produce. A broken expression thus fails in seconds, naming the rule, instead of after annotate.
"""

from __future__ import annotations

from pathlib import Path

from curate.config import PipelineBase as PipelineConfig
from curate.errors import ConfigError


def check_formats(cfg: PipelineConfig, inputs: list) -> None:
    """Every `format: auto` input has an extension curate knows (raises InputError naming the file)."""
    for f in inputs:
        if f.source.format == "auto" and f.part == 0:
            f.format  # noqa: B018 - detected once per file (raises InputError naming the file)


def predicted_columns(cfg: PipelineConfig, root: Path) -> list[str]:
    """The columns annotated files will hold: the base columns plus what each configured signal makes
    (found by running the signals on an empty table, as annotate does for an empty input)."""
    from curate import schema as S
    from curate.signals.base import SignalContext
    from curate.stages.annotate import annotate_table, build_signals, signal_plan

    signals = build_signals(signal_plan(cfg.annotate), SignalContext(root=root, seed=cfg.seed))
    cols = annotate_table(S.BASE_SCHEMA.empty_table(), signals).column_names
    adapt = getattr(cfg, "adapt", None)  # the adapt stage's learned columns, joined to annotated rows by select
    for task in (adapt.tasks if adapt is not None else []):
        cols += [f"{task.name}_score", f"{task.name}_dsir"]
    return cols


def check_rules(cfg: PipelineConfig, columns: list[str], config_path: Path | None = None) -> None:
    """Compile every select rule against `columns`; the error names the rule (and its YAML line)."""
    from curate.expr import compile_expr

    lines = {}
    if config_path is not None and Path(config_path).is_file():
        from curate.yaml_model import line_index

        lines = line_index(Path(config_path).read_text(encoding="utf-8"))
    for i, rule in enumerate(cfg.select.rules):
        line = lines.get(("select", "rules", i))
        where = f"{config_path}:{line}: " if line else (f"{config_path}: " if config_path else "")
        where += f"select.rules[{i}] rule `{rule.name}`"
        if rule.mode == "expr":
            compile_expr(rule.keep if rule.keep is not None else rule.drop, columns, where=where)
        elif rule.column not in columns:
            raise ConfigError(f"rule `{rule.name}` needs column `{rule.column}`, which the configured signals do not produce",
                              where=where, fix=f"add the signal that makes `{rule.column}` under annotate:, or use one of: "
                                               + ", ".join(c for c in columns if c not in ("text",)))


def check_before_run(cfg: PipelineConfig, inputs: list, root: Path, config_path: Path | None, stages: list[str]) -> None:
    check_formats(cfg, inputs)
    if "annotate" in stages or "select" in stages:
        check_rules(cfg, predicted_columns(cfg, root), config_path)
