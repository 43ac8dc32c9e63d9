"""Pipeline YAML -> validated config. Every error names the file, the key (and its line) and a fix.

Each stage owns its section's model (signals in `curate/signals/*`, dedup in `curate/dedup.py`,
tokenizer in `curate/shards/tokenizer.py`, mixing in `curate/mix.py`); this module assembles them.
"""

from __future__ import annotations

import difflib
import glob
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curate.dedup import DedupConfig
from curate.errors import ConfigError
from curate.mix import MixConfig
from curate.shards.tokenizer import TokenizerConfig
from curate.signals.classifier import ClassifierSignalConfig
from curate.signals.heuristics import HeuristicsConfig
from curate.signals.keywords import KeywordConfig
from curate.signals.langid import LangIdConfig
from curate.signals.minhash import DedupKeysConfig

STAGES = ("annotate", "dedup", "select", "tokenize", "mix")
FORMATS = ("auto", "jsonl", "parquet", "text", "hf", "warc")


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Strict):
    """One input corpus: files matched by globs, all of one role."""

    # plain names: they become folder names (annotated/<source>/, tokens/<source>/<role>/), so no `.`,
    # `..` or separators; a leading `_` or `-` is reserved (curate's own folders, command-line options)
    name: str = Field(pattern=NAME_PATTERN)
    role: str = Field(default="general", pattern=NAME_PATTERN)
    paths: list[str] = Field(min_length=1)
    format: Literal["auto", "jsonl", "parquet", "text", "hf", "warc"] = "auto"
    text_field: str = "text"
    id_field: str | None = "id"
    max_doc_bytes: int = Field(default=8_000_000, gt=0)


class AnnotateConfig(_Strict):
    batch_size: int = Field(default=2048, gt=0)
    # JSONL/Parquet files larger than this on disk are annotated by several tasks (ceil(size / split_mb)),
    # each taking every n-th block of `batch_size` records, so one big file does not serialize the stage
    split_mb: float = Field(default=2.0, ge=0)
    heuristics: HeuristicsConfig | None = Field(default_factory=HeuristicsConfig)
    langid: LangIdConfig | None = Field(default_factory=LangIdConfig)
    keywords: list[KeywordConfig] = Field(default_factory=list)
    classifiers: list[ClassifierSignalConfig] = Field(default_factory=list)
    dedup_keys: DedupKeysConfig | None = None

    @field_validator("keywords", "classifiers")
    @classmethod
    def _unique_signal_names(cls, v):
        names = [x.name for x in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"names must be unique (they name the output columns); repeated: {dup}")
        return v


class RuleConfig(_Strict):
    """One selection rule. A document is dropped by the first rule it fails; the rule's name is the reason.

    mode `expr`: `keep` (or `drop`) is an expression over columns, e.g. "lang == 'en' and lang_score >= 0.65".
    mode `threshold`: keep if `column >= threshold`.
    mode `top_fraction`: keep the top `fraction` of each source (or the whole run) by `column`.
    mode `pareto`: GPT-3 style, keep if pareto(alpha) > 1 - column (seeded per document).
    """

    name: str
    mode: Literal["expr", "threshold", "top_fraction", "pareto"] = "expr"
    keep: str | None = None
    drop: str | None = None
    column: str | None = None
    threshold: float | None = None
    fraction: float | None = Field(default=None, gt=0, le=1)
    per_source: bool = True
    alpha: float = Field(default=9.0, gt=0)
    sources: list[str] | None = None  # apply only to these sources (default: all)
    roles: list[str] | None = None  # apply only to these roles (default: all)

    @model_validator(mode="after")
    def _check_mode(self):
        if self.mode == "expr":
            if (self.keep is None) == (self.drop is None):
                raise ValueError("an expr rule needs exactly one of `keep` or `drop`")
        else:
            if not self.column:
                raise ValueError(f"a {self.mode} rule needs `column`")
            if self.mode == "threshold" and self.threshold is None:
                raise ValueError("a threshold rule needs `threshold`")
            if self.mode == "top_fraction" and self.fraction is None:
                raise ValueError("a top_fraction rule needs `fraction` (0 < f <= 1)")
        return self


class SelectConfig(_Strict):
    rules: list[RuleConfig] = Field(default_factory=list)
    drop_duplicates: bool = True  # apply dedup/drops.parquet when the dedup stage ran


class PipelineConfig(_Strict):
    name: str = "run"
    seed: int = 1234
    out: str | None = None
    strict: bool = False
    stages: list[Literal["annotate", "dedup", "select", "tokenize", "mix"]] | None = None
    sources: list[SourceConfig] = Field(min_length=1)
    annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)
    dedup: DedupConfig | None = None
    select: SelectConfig = Field(default_factory=SelectConfig)
    tokenizer: TokenizerConfig | None = None
    mix: MixConfig | None = None

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v):
        names = [s.name for s in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"source names must be unique; repeated: {sorted(dup)}")
        return v

    def stage_list(self) -> list[str]:
        """Stages to run: as listed, or every stage whose section is configured."""
        if self.stages:
            return [s for s in STAGES if s in self.stages]
        out = ["annotate"]
        if self.dedup is not None:
            out.append("dedup")
        out.append("select")
        if self.tokenizer is not None:
            out.append("tokenize")
            if self.mix is not None:
                out.append("mix")
        return out


# ----------------------------------------------------------------------------------------------
# Loading with line numbers and helpful messages


def _line_index(text: str) -> dict[tuple, int]:
    """Map key paths (tuples of str/int) to 1-based YAML line numbers."""
    index: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return index

    def walk(node, path):
        index.setdefault(path, node.start_mark.line + 1)  # a key's own line wins over its value's (a block list starts below)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = path + (k.value,)
                index[key] = k.start_mark.line + 1
                walk(v, key) if not isinstance(v, yaml.ScalarNode) else index.setdefault(key, v.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return index


def _fmt_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names valid at the mapping that holds `loc`'s last key."""
    cur: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fld = getattr(cur, "model_fields", {}).get(part)
        if fld is None:
            return []
        ann = fld.annotation
        cur = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            for inner in (cand, *getattr(cand, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    cur = inner
        if cur is None:
            return []
    return list(getattr(cur, "model_fields", {}))


def _validation_message(err: ValidationError, path: str, lines: dict[tuple, int]) -> str:
    msgs = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p[0].isupper() and "[" in p))
        line = None
        for k in range(len(loc), -1, -1):
            if loc[:k] in lines:
                line = lines[loc[:k]]
                break
        where = f"{path}:{line}" if line else path
        key = _fmt_loc(loc)
        if e["type"] == "extra_forbidden":
            known = _known_keys(PipelineConfig, loc)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"valid keys here: {', '.join(known)}"
            msgs.append(f"{where}: unknown key `{key}` — {hint}")
        elif e["type"] == "missing":
            msgs.append(f"{where}: missing required key `{key}`")
        else:
            got = e.get("input")
            got_s = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
            msgs.append(f"{where}: `{key}`: {e['msg']} (got {got_s[:80]})")
    return "\n".join(msgs)


def load_config(path: str | Path, overrides: dict | None = None, check_paths: bool = True) -> PipelineConfig:
    """Read and validate a pipeline YAML. Raises ConfigError naming file, key and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("pipeline file not found", where=str(path), fix="pass the path of a pipeline YAML, e.g. pipelines/demo.yaml")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where, fix="check indentation and quoting on that line") from None
    if not isinstance(data, dict):
        raise ConfigError("a pipeline YAML must be a mapping (key: value) at the top level", where=str(path))
    if overrides:
        data.update(overrides)
    try:
        cfg = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("invalid pipeline config:\n" + _validation_message(exc, str(path), _line_index(text)), fix="see docs/pipeline.md for every key and its type") from None
    if check_paths:
        check_inputs(cfg, path)
    return cfg


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
        files.extend(m for m in _glob(full) if m.is_file() or (m / "dataset_info.json").exists())
    # de-duplicate, keep order
    seen: set[Path] = set()
    out = []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            out.append(f)
    return out


def _glob(full: Path) -> list[Path]:
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


def check_inputs(cfg: PipelineConfig, path: Path) -> None:
    root = config_root(path)
    lines = _line_index(path.read_text(encoding="utf-8")) if path.exists() else {}
    for i, src in enumerate(cfg.sources):
        if not expand_source(src, root):
            line = lines.get(("sources", i, "paths"))
            where = f"{path}:{line}" if line else str(path)
            looked = [str(Path(p) if Path(p).is_absolute() else root / p) for p in src.paths]
            raise ConfigError(
                f"`sources[{i}].paths` of source `{src.name}` matches no file: {src.paths} (looked for {looked})",
                where=where,
                fix=f"relative paths are relative to the pipeline YAML's folder {root}; check the glob (e.g. data/*.jsonl.gz)",
            )
