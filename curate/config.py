"""Pipeline YAML -> validated config. Every error names the file, the key (and its line) and a fix.

The top level (name, seed, sources, stages) is defined here; every other section belongs to a
registered stage (curate.stages), whose config model lives beside its engine and is looked up
through the stage registry, so loading a config imports no engine (no tokenizer, no dedup, no
mixer). `PipelineConfig` is the model for the stages registered now (`pipeline_model()`).
"""

from __future__ import annotations

import difflib
import glob
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import model_validator, BaseModel, ConfigDict, Field, create_model, field_validator

from curate.errors import ConfigError
from curate.io.formats import READERS
from curate.stages.base import STAGES, config_model, ordered
from curate.stages.sections import RuleConfig, SelectConfig  # noqa: F401  (public names of the select section)
from curate.yaml_model import line_index, read_mapping, validate

# source and role names: they become folder names in the run directory (no `.`, `..` or separators;
# a leading `_` or `-` is reserved for curate's own folders and for command-line options)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteConfig(_Strict):
    """One routing rule of a source: documents matching `when` (a select expression) get `role`."""

    role: str = Field(pattern=NAME_PATTERN)
    when: str = Field(min_length=1, description="expression over the document's columns, e.g. `finance_adapt_score >= 0.5`")


class SourceConfig(_Strict):
    """One input corpus: files matched by globs, all of one role, or split among roles by `routes`."""

    name: str = Field(pattern=NAME_PATTERN, description="letters, digits, `_` and `-` (it names folders)")
    role: str = Field(default="general", pattern=NAME_PATTERN)
    routes: list[RouteConfig] | None = Field(
        None, description="split the source among roles in select: the first matching route wins; unmatched documents are dropped (reason `unrouted`)")
    paths: list[str] = Field(min_length=1)
    format: str = "auto"
    text_field: str = "text"
    id_field: str | None = "id"
    max_doc_bytes: int = Field(default=8_000_000, gt=0)
    license: str | None = Field(default=None, description="the source's licence as you know it (shown in `curate export`'s dataset card)")

    @property
    def roles(self) -> list[str]:
        """The roles this source's documents can end up in (routes in order, or its one role)."""
        if not self.routes:
            return [self.role]
        return list(dict.fromkeys(r.role for r in self.routes))

    def stream(self, role: str) -> str:
        """The name of one (source, role) token stream: the source name, or `<source>-<role>` when routed."""
        return f"{self.name}-{role}" if self.routes else self.name

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str) -> str:
        if v != "auto" and v not in READERS:
            raise ValueError(f"unknown format `{v}`: {READERS.hint(v)} (or `auto`)")
        return v


class ReportConfig(_Strict):
    """What report.html shows; it changes no other output, so it is not part of the run's fingerprint."""

    examples: int = Field(default=5, ge=0, le=200)  # documents shown per rule, for dropped and for kept near its threshold
    excerpt_chars: int = Field(default=400, ge=40)  # characters of each example shown before its full text is expanded
    full_text_chars: int = Field(default=20_000, ge=100)  # longer documents are cut in the expandable full text


class PipelineBase(_Strict):
    """The top level of a pipeline YAML; each registered stage adds its section."""

    name: str = "run"
    seed: int = 1234
    out: str | None = None
    strict: bool = False
    stages: list[str] | None = None
    sources: list[SourceConfig] = Field(min_length=1)
    report: ReportConfig = Field(default_factory=ReportConfig)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v):
        names = [s.name for s in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"source names must be unique; repeated: {sorted(dup)}")
        streams = [s.stream(r) for s in v for r in s.roles]
        clash = {n for n in streams if streams.count(n) > 1}
        if clash:
            raise ValueError(f"a routed source's streams (`<source>-<role>`) clash with other sources: {sorted(clash)}; rename a source")
        return v

    @model_validator(mode="after")
    def _signatures_when_needed(self):
        """MinHash signatures cost ~half of the dedup keys' time and only near-duplicate search reads
        them: unless `annotate.dedup_keys.signatures` is set, compute them iff `dedup.near` is on."""
        keys = getattr(getattr(self, "annotate", None), "dedup_keys", None)
        if keys is not None and getattr(keys, "signatures", True) is None:
            dedup = getattr(self, "dedup", None)
            keys.signatures = bool(dedup is not None and dedup.near)
        return self

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v):
        for name in v or ():
            if name not in STAGES:
                raise ValueError(f"unknown stage `{name}`: {STAGES.hint(name)}")
        return v

    def stage_list(self) -> list[str]:
        """Stages to run: as listed, or every stage whose `requires` sections are configured."""
        if self.stages:
            return [e.name for e in ordered() if e.name in self.stages]
        return [e.name for e in ordered() if all(getattr(self, s, None) is not None for s in e.requires)]


_MODELS: dict[tuple, type[PipelineBase]] = {}


def pipeline_model() -> type[PipelineBase]:
    """The pipeline model for the stages (and signals) registered now."""
    from curate.signals.base import SIGNALS

    key = (STAGES.state(), SIGNALS.state())
    if key not in _MODELS:
        fields: dict[str, Any] = {}
        for e in ordered():
            if e.section is None:
                continue
            model = config_model(e.name)
            fields[e.section] = (model | None, None) if e.optional else (model, Field(default_factory=model))
        _MODELS.clear()
        _MODELS[key] = create_model("PipelineConfig", __base__=PipelineBase, __module__=__name__, **fields)
    return _MODELS[key]


def __getattr__(name: str):
    if name == "PipelineConfig":
        return pipeline_model()
    if name == "AnnotateConfig":
        from curate.stages.sections import annotate_model

        return annotate_model()
    raise AttributeError(name)


def load_config(path: str | Path, overrides: dict | None = None, check_paths: bool = True, sets: list[str] | None = None) -> PipelineBase:
    """Read and validate a pipeline YAML. Raises ConfigError naming file, key and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("pipeline file not found", where=str(path), fix="pass the path of a pipeline YAML, e.g. pipelines/demo.yaml")
    data, text = read_mapping(path, "a pipeline YAML")
    if overrides:
        data.update(overrides)
    for item in sets or ():
        apply_set(data, item, str(path))
    cfg = validate(pipeline_model(), data, path, text, what="pipeline config", fix="see docs/pipeline.md for every key and its type")
    if check_paths:
        check_inputs(cfg, path)
    return cfg


def apply_set(data: dict, item: str, where: str) -> None:
    """Apply one `KEY=VALUE` override (`curate run --set`): KEY is a dotted path whose parts are
    mapping keys, list indexes, or the `name` of an item in a list of named mappings (sources,
    rules, keywords, classifiers); VALUE is parsed as YAML. Applied before validation, so the
    result is validated (and fingerprinted) like the file itself."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set `{item}` is not KEY=VALUE", where=where, fix="e.g. --set seed=7 or --set 'sources.web.paths=[\"/data/*.jsonl\"]'")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: the value is not valid YAML ({getattr(exc, 'problem', exc)})", where=where,
                          fix="quote the value for the shell, e.g. --set 'mix.target={domain: 0.6, general: 0.4}'") from None
    parts = key.split(".")
    cur: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        at = ".".join(parts[: i + 1])
        if isinstance(cur, list):
            named = [k for k, x in enumerate(cur) if isinstance(x, dict) and x.get("name") == part]
            if named:
                idx = named[0]
            elif part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
                idx = int(part)
            else:
                names = [x.get("name") for x in cur if isinstance(x, dict) and "name" in x]
                close = difflib.get_close_matches(part, [str(n) for n in names], n=1)
                raise ConfigError(f"--set {key}: `{at}` names no item of the list",
                                  where=where, fix=f"did you mean `{close[0]}`?" if close else f"items: {', '.join(map(str, names)) or 'by index 0..' + str(len(cur) - 1)}")
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        elif isinstance(cur, dict):
            if last:
                cur[part] = value
            else:
                if cur.get(part) is None:
                    cur[part] = {}
                cur = cur[part]
        else:
            raise ConfigError(f"--set {key}: `{'.'.join(parts[:i])}` holds a value, not a mapping or list", where=where,
                              fix="set the whole value at that key instead")


def config_root(path: str | Path | None = None) -> Path:
    """The folder relative paths in a YAML resolve against: the folder of the file that names them
    (pipeline, recipe or ablation YAML), whatever the current directory; for a config built in
    code (no file), the current directory."""
    return Path(path).absolute().parent if path is not None else Path.cwd()


def expand_source(src: SourceConfig, root: Path) -> list[Path]:
    """Files of a source, sorted (stable task order => deterministic outputs)."""
    files: list[Path] = []
    for pattern in src.paths:
        p = Path(pattern)
        full = p if p.is_absolute() else root / p
        if src.format == "hf" or (full.is_dir() and (full / "dataset_info.json").exists()):
            files.append(full)
            continue
        if full.is_dir():
            files.extend(sorted(q for q in full.rglob("*") if q.is_file()))
            continue
        files.extend(m for m in glob_paths(full) if m.is_file() or (m / "dataset_info.json").exists())
    # de-duplicate, keep order
    seen: set[Path] = set()
    out = []
    folders: dict[Path, Path] = {}
    for f in files:
        r = resolved(f, folders)
        if r not in seen:
            seen.add(r)
            out.append(f)
    return out


def resolved(path: Path, folders: dict[Path, Path]) -> Path:
    """`path.resolve()` for many files at a time: one `realpath` per folder (cached in `folders`,
    which the caller keeps across calls) and one `lstat` per file (a symlinked file is resolved in full)."""
    parent = path.parent
    real = folders.get(parent)
    if real is None:
        real = folders[parent] = parent.resolve()
    if path.name in ("", ".", "..") or os.path.islink(path):
        return path.resolve()
    return real / path.name


def source_matches(src: SourceConfig, root: Path) -> bool:
    """Whether a source's paths match at least one input (`expand_source` is not empty), found
    without listing, resolving and sorting every file of a large folder."""
    for pattern in src.paths:
        p = Path(pattern)
        full = p if p.is_absolute() else root / p
        if src.format == "hf" or (full.is_dir() and (full / "dataset_info.json").exists()):
            return True
        if full.is_dir():
            if any(q.is_file() for q in full.rglob("*")):
                return True
            continue
        found = (Path(m) for m in glob.iglob(str(full))) if not any("**" in part for part in full.parts) else glob_paths(full)
        if any(m.is_file() or (m / "dataset_info.json").exists() for m in found):
            return True
    return False


def glob_paths(full: Path) -> list[Path]:
    """Matches of a glob, sorted. `**` does not descend into symlinked folders (like a folder path):
    `glob.glob` follows them, so a symlink loop in an input folder made it run (almost) forever."""
    if not any("**" in part for part in full.parts):
        return [Path(m) for m in sorted(glob.glob(str(full)))]
    parts = full.parts
    k = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base, pattern = Path(*parts[:k]), "/".join(parts[k:])
    if pattern.endswith("**"):
        pattern += "/*"  # glob.glob's `dir/**` lists files too; pathlib's lists folders only
    # like glob.glob, wildcards do not match hidden names
    found = (m for m in base.glob(pattern) if not any(x.startswith(".") for x in m.relative_to(base).parts))
    return sorted(found, key=str)


def check_inputs(cfg: PipelineBase, path: Path) -> None:
    root = config_root(path)
    lines = line_index(path.read_text(encoding="utf-8")) if path.exists() else {}
    for i, src in enumerate(cfg.sources):
        if not source_matches(src, root):
            line = lines.get(("sources", i, "paths"))
            where = f"{path}:{line}" if line else str(path)
            looked = [str(Path(p) if Path(p).is_absolute() else root / p) for p in src.paths]
            raise ConfigError(
                f"`sources[{i}].paths` of source `{src.name}` matches no file: {src.paths} (looked for {looked})",
                where=where,
                fix=f"relative paths are relative to the pipeline YAML's folder {root}; check the glob (e.g. data/*.jsonl.gz)",
            )
