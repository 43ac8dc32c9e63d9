"""`curate ablate` YAML: arms (mixtures, selection changes), the objective and its constraints."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from curate.config import RuleConfig, SelectConfig
from curate.yaml_model import read_mapping, validate
from curate.train.trainer import Runtime, TrainConfig

RULE_KEYS = set(RuleConfig.model_fields)


class Arm(BaseModel):
    """One arm. Its mixture: `domain_share` (the domain role's share; other roles keep their relative
    weights from the base target) or a full `target`, plus any other mix overrides. Its selection
    (optional; default: the parent's selected tokens): `select` replaces the parent's whole select
    section, or `set_rule` patches named rules of it ({name: low_quality, threshold: 0.9}, or a list)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    domain_share: float | None = Field(None, ge=0, le=1)
    target: dict[str, float] | None = None
    mix: dict = Field(default_factory=dict)  # other MixConfig fields (not total_tokens: budgets are equal)
    select: SelectConfig | None = None
    set_rule: list[dict] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_patch_is_a_list(cls, data):
        if isinstance(data, dict) and isinstance(data.get("set_rule"), dict):
            data = {**data, "set_rule": [data["set_rule"]]}
        return data

    @model_validator(mode="after")
    def _one_way(self):
        if self.domain_share is not None and self.target is not None:
            raise ValueError("give either domain_share or target, not both")
        if "total_tokens" in self.mix or "target" in self.mix:
            raise ValueError("arms share one token budget: set total_tokens in the top-level `mix`, and shares via domain_share/target")
        if self.select is not None and self.set_rule is not None:
            raise ValueError(f"arm `{self.name}`: give either `select` (all rules) or `set_rule` (patch named rules), not both")
        for i, patch in enumerate(self.set_rule or []):
            if not isinstance(patch.get("name"), str):
                raise ValueError(f"arm `{self.name}`: set_rule.{i} needs `name:` (the parent rule to change)")
            bad = sorted(set(patch) - RULE_KEYS)
            if bad:
                raise ValueError(f"arm `{self.name}`: set_rule.{i} has unknown key(s) {bad}; rule keys are {sorted(RULE_KEYS)}")
        return self

    @property
    def selects(self) -> bool:
        return self.select is not None or self.set_rule is not None

    def describe_selection(self) -> str:
        if self.select is not None:
            return f"select: {len(self.select.rules)} rules"
        if self.set_rule:
            return "; ".join(p["name"] + " " + " ".join(f"{k}={v}" for k, v in p.items() if k != "name") for p in self.set_rule)
        return "parent"


class Constraint(BaseModel):
    """Held-out loss of `loss` (a role or source) must be <= max, or <= arm `vs` + max_increase."""

    model_config = ConfigDict(extra="forbid")

    loss: str
    max: float | None = None
    max_increase: float | None = None
    vs: str | None = None

    @model_validator(mode="after")
    def _complete(self):
        if (self.max is None) == (self.max_increase is None):
            raise ValueError("give exactly one of max or max_increase")
        if self.max_increase is not None and self.vs is None:
            raise ValueError("max_increase needs `vs: <arm name>`")
        return self


class Objective(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minimize: str = "domain"  # a role or source name: its held-out loss
    subject_to: list[Constraint] = Field(default_factory=list)


class AblationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str  # a finished run directory (tokens/ + manifest.json), relative to this YAML
    name: str = Field("ablation", pattern=r"^[A-Za-z0-9_.-]+$")
    out: str | None = None  # default RUN/ablations/<name>
    domain_role: str = "domain"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    mix: dict = Field(default_factory=dict)  # base MixConfig overrides shared by all arms
    train: TrainConfig = Field(default_factory=TrainConfig)
    runtime: Runtime = Field(default_factory=Runtime)
    arms: list[Arm] = Field(min_length=1)
    objective: Objective = Field(default_factory=Objective)

    @model_validator(mode="after")
    def _unique(self):
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique: {names}")
        for c in self.objective.subject_to:
            if c.vs is not None and c.vs not in names:
                raise ValueError(f"objective constraint compares with unknown arm {c.vs!r} (arms: {names})")
        return self


def load_ablation(path: Path) -> AblationConfig:
    """Read and validate an ablation YAML; errors name the file, line and key (arms by name)."""
    data, text = read_mapping(Path(path), "an ablation YAML")
    return validate(AblationConfig, data, Path(path), text, what="ablation config", named_items=True,
                    fix="see pipelines/ablation-finance.yaml and docs/training.md")
