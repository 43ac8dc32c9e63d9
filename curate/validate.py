"""Checks made before a run writes anything: every input's format is known, every signal loads
(models, lexicons), and every select rule compiles against the columns the configured signals will
produce. A broken expression thus fails in seconds, naming the rule, instead of after annotate.
"""

from __future__ import annotations

from pathlib import Path

from curate.config import PipelineBase as PipelineConfig
from curate.fingerprint import digest
from curate.io.atomic import read_json_dict, write_json
from curate.errors import ConfigError


def check_formats(cfg: PipelineConfig, inputs: list) -> None:
    """Every `format: auto` input has an extension curate knows (raises InputError naming the file)."""
    for f in inputs:
        if f.source.format == "auto" and f.part == 0:
            f.format  # noqa: B018 - detected once per file (raises InputError naming the file)


def signal_columns(cfg: PipelineConfig, root: Path, cache: Path | None = None) -> dict:
    """{"key": the configured signals' fingerprint (config, seed, content of their files), "columns": the
    base columns plus what each signal makes}, found by running the signals on an empty table, as
    annotate does for an empty input; taken from `cache` (a run's `_markers/columns.json`, written by
    `remember_columns`) when its key is the same, without loading any model."""
    from curate import schema as S
    from curate.signals.base import SignalContext
    from curate.stages.annotate import annotate_table, build_signals, signal_fingerprints, signal_plan

    plan = signal_plan(cfg.annotate)
    key = digest("columns", signal_fingerprints(plan, root, cfg.seed))
    cached = read_json_dict(cache) if cache is not None else {}
    if cached.get("key") == key and isinstance(cached.get("columns"), list):
        return {"key": key, "columns": list(cached["columns"])}
    signals = build_signals(plan, SignalContext(root=root, seed=cfg.seed))
    return {"key": key, "columns": annotate_table(S.BASE_SCHEMA.empty_table(), signals).column_names}


def adapt_columns(cfg: PipelineConfig) -> list[str]:
    """The adapt stage's learned columns, joined to annotated rows by select."""
    adapt = getattr(cfg, "adapt", None)
    return [f"{task.name}_{kind}" for task in (adapt.tasks if adapt is not None else []) for kind in ("score", "dsir")]


def predicted_columns(cfg: PipelineConfig, root: Path, cache: Path | None = None) -> list[str]:
    """The columns select will see: what annotate makes plus the adapt stage's columns."""
    return signal_columns(cfg, root, cache)["columns"] + adapt_columns(cfg)


def remember_columns(cache: Path, record: dict | None) -> None:
    """Store a pre-run check's `signal_columns` (once the run directory is prepared; not when unchanged)."""
    if record and read_json_dict(cache) != record:
        write_json(cache, record, durable=False)


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


def check_before_run(cfg: PipelineConfig, inputs: list, root: Path, config_path: Path | None, stages: list[str],
                     cache: Path | None = None) -> dict | None:
    """Raise on an unknown input format or a rule that cannot compile; returns the `signal_columns`
    the rules were checked against (None when no stage run needs them), for `remember_columns`."""
    check_formats(cfg, inputs)
    if "annotate" not in stages and "select" not in stages:
        return None
    record = signal_columns(cfg, root, cache)
    check_rules(cfg, record["columns"] + adapt_columns(cfg), config_path)
    return record
