"""Checks made before a run writes anything: every input's format is known, every signal loads
(models, lexicons), and every select rule compiles against the columns the configured signals will
produce. A broken expression thus fails in seconds, naming the rule, instead of after annotate.
"""

from __future__ import annotations

from pathlib import Path

from curate.config import PipelineBase as PipelineConfig
from curate.fingerprint import digest
from curate.io.atomic import read_json, write_json
from curate.errors import ConfigError


def check_formats(cfg: PipelineConfig, inputs: list) -> None:
    """Every `format: auto` input has an extension curate knows (raises InputError naming the file)."""
    for f in inputs:
        if f.source.format == "auto" and f.part == 0:
            f.format  # noqa: B018 - detected once per file (raises InputError naming the file)


def predicted_columns(cfg: PipelineConfig, root: Path, cache: Path | None = None) -> list[str]:
    """The columns annotated files will hold: the base columns plus what each configured signal makes
    (found by running the signals on an empty table, as annotate does for an empty input). With
    `cache` (a run's `_markers/columns.json`), signals whose config, seed and files are unchanged since
    it was written are not loaded again; the caller stores the answer with `remember_columns`."""
    from curate import schema as S
    from curate.signals.base import SignalContext
    from curate.stages.annotate import annotate_table, build_signals, signal_fingerprints, signal_plan

    plan = signal_plan(cfg.annotate)
    key = digest("columns", signal_fingerprints(plan, root, cfg.seed))
    cached = _read_cache(cache)
    if cached.get("key") == key and isinstance(cached.get("columns"), list):
        cols = list(cached["columns"])
    else:
        signals = build_signals(plan, SignalContext(root=root, seed=cfg.seed))
        cols = annotate_table(S.BASE_SCHEMA.empty_table(), signals).column_names
    _LAST[0] = {"key": key, "columns": list(cols)}
    adapt = getattr(cfg, "adapt", None)  # the adapt stage's learned columns, joined to annotated rows by select
    for task in (adapt.tasks if adapt is not None else []):
        cols += [f"{task.name}_score", f"{task.name}_dsir"]
    return cols


_LAST: list[dict] = [{}]  # the last check's signal columns and key, for remember_columns


def _read_cache(cache: Path | None) -> dict:
    if cache is None or not cache.is_file():
        return {}
    try:
        data = read_json(cache)
    except (OSError, ValueError):  # unreadable: the signals are loaded and the file written again
        return {}
    return data if isinstance(data, dict) else {}


def remember_columns(cache: Path) -> None:
    """Store the last pre-run check's signal columns (called once the run directory is prepared)."""
    if _LAST[0] and _read_cache(cache) != _LAST[0]:
        write_json(cache, _LAST[0], durable=False)


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
                     cache: Path | None = None) -> None:
    check_formats(cfg, inputs)
    if "annotate" in stages or "select" in stages:
        check_rules(cfg, predicted_columns(cfg, root, cache), config_path)
