"""Training recipes: a YAML file naming positives, negatives, backend, hyperparameters and output.

Example (paths are relative to the recipe's folder, like pipeline YAMLs):

    name: finance_domain
    backend: fasttext
    positives: [../data/sample/train/finance_pos.jsonl.gz]
    negatives:
      - ../data/sample/train/general_neg.jsonl.gz
      - {run: ../runs/demo, where: "kw_finance_per_1k == 0", sources: [web]}
    normalize: {prefix_chars: 2000, strip_punct: true, drop_stopwords: true}
    fasttext: {lr: 0.1, dim: 16, epoch: 5, wordNgrams: 2}
    output: finance_domain          # -> finance_domain.ftz + .json + .md beside the recipe

Validation errors name the file, the key and a fix (`ConfigError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from curate.classify.base import NormalizeConfig, english_stopwords
from curate.classify.fasttext_backend import FastTextParams
from curate.classify.sklearn_backend import SklearnParams
from curate.errors import ConfigError
from curate.io.yaml_file import load_yaml


class FileInput(BaseModel):
    """JSONL (.gz/.zst) or Parquet files (a path or a glob) with a text field."""

    model_config = ConfigDict(extra="forbid")

    path: str
    text_field: str | None = Field(None, description="defaults to the recipe's text_field")
    name: str | None = Field(None, description="label in the model card; defaults to the file stem")


class RunInput(BaseModel):
    """Documents of a curate run's annotated Parquet that match an expression (weak labels)."""

    model_config = ConfigDict(extra="forbid")

    run: str
    where: str = Field(description="expression over annotated columns, e.g. \"kw_finance_per_1k >= 8\"")
    sources: list[str] | None = Field(None, description="annotated/<source>/ folders to read; default all")
    name: str | None = None


def _input_kind(value) -> str:
    if isinstance(value, dict):
        return "run" if "run" in value else "file"
    return "run" if isinstance(value, RunInput) else "file"


# a mapping with `run:` is a run selection, anything else a file input (errors then name one kind)
Input = Annotated[Union[Annotated[FileInput, Tag("file")], Annotated[RunInput, Tag("run")]], Discriminator(_input_kind)]


class NormalizeSpec(BaseModel):
    """The recipe's view of normalization; `drop_stopwords` expands to an explicit stored word list."""

    model_config = ConfigDict(extra="forbid")

    prefix_chars: int = Field(2000, ge=1)
    lowercase: bool = True
    strip_punct: bool = False
    drop_stopwords: bool = False
    mark_newlines: bool = False

    def build(self) -> NormalizeConfig:
        return NormalizeConfig(
            prefix_chars=self.prefix_chars, lowercase=self.lowercase, strip_punct=self.strip_punct,
            stopwords=english_stopwords() if self.drop_stopwords else [], mark_newlines=self.mark_newlines,
        )


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    backend: Literal["fasttext", "sklearn"] = "fasttext"
    positives: list[Input] = Field(min_length=1)
    negatives: list[Input] = Field(min_length=1)
    text_field: str = "text"
    max_per_class: int = Field(100_000, ge=10, description="cap per class (a seeded uniform sample) to bound memory")
    balance: bool = Field(True, description="down-sample the larger class to the smaller one's size")
    heldout_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    normalize: NormalizeSpec = Field(default_factory=NormalizeSpec)
    fasttext: FastTextParams = Field(default_factory=FastTextParams)
    sklearn: SklearnParams = Field(default_factory=SklearnParams)
    thresholds: list[float] = Field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    threshold_rule: Literal["best_f1", "precision", "fpr"] = Field(
        "best_f1",
        description="how the recommended threshold is chosen on held-out data: best F1 (middle of the tied interval), "
        "the lowest threshold reaching `threshold_precision`, or the one letting `threshold_fpr` of negatives through",
    )
    threshold_precision: float = Field(0.95, gt=0, le=1, description="target held-out precision for threshold_rule: precision")
    threshold_fpr: float = Field(0.02, gt=0, lt=1, description="for threshold_rule: fpr, this share of held-out negatives scores above the threshold")
    output: str | None = Field(None, description="model path stem, relative to the recipe; default <name> beside it")

    @field_validator("positives", "negatives", mode="before")
    @classmethod
    def _strings_are_paths(cls, value):
        if isinstance(value, (str, dict)):
            value = [value]
        if isinstance(value, list):
            return [{"path": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, value: list[float]) -> list[float]:
        if not value or any(not 0.0 <= t <= 1.0 for t in value):
            raise ValueError("thresholds must be a non-empty list of numbers in [0, 1]")
        return sorted(set(value))


_FIXES = {
    "name": "a short identifier such as finance_domain",
    "backend": "fasttext or sklearn",
    "positives": "a list of paths/globs, or {path: ..., text_field: ...}, or {run: RUN_DIR, where: EXPR}",
    "negatives": "a list of paths/globs, or {path: ..., text_field: ...}, or {run: RUN_DIR, where: EXPR}",
}


def load_recipe(path: str | Path) -> tuple[Recipe, Path]:
    """Parse and validate a recipe; returns it and the folder its relative paths resolve against."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("recipe file not found", where=str(path), fix="pass the path of a recipe YAML, e.g. classifiers/quality.yaml")
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(data, dict):
        raise ConfigError("a recipe must be a mapping of keys", where=str(path), fix="start with `name: ...`, `positives: [...]`, `negatives: [...]`")
    return validate_recipe(data, str(path)), path.parent.resolve()


def validate_recipe(data: dict, where: str = "recipe") -> Recipe:
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"] if p not in ("file", "run") or isinstance(p, int))
        top = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(err["loc"])
            fix = f"remove or rename `{key}`" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
        else:
            fix = _FIXES.get(top, "see docs/classifiers.md for the recipe keys")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"key `{key}`: {err['msg']}{more}", where=where, fix=fix) from None


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys allowed where an unknown key was found (walks the model tree along `loc`)."""
    model: type[BaseModel] | None = Recipe
    for part in loc[:-1]:
        if part in ("file", "run"):
            model = FileInput if part == "file" else RunInput
        elif isinstance(part, int) or model is None:
            continue
        else:
            field = model.model_fields.get(str(part))
            ann = field.annotation if field else None
            model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return sorted(model.model_fields) if model is not None else []
