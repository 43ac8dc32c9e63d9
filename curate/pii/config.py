"""Config of PII detection (`annotate.pii`) and redaction (`select.pii`); the engine is curate.pii.engine."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PiiType = Literal["email", "phone", "ipv4", "ipv6", "card", "iban", "ssn"]
ORDER: tuple[str, ...] = ("email", "iban", "card", "ssn", "ipv4", "ipv6", "phone")  # the order types are applied in
DEFAULT_PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>", "ipv4": "<IP>", "ipv6": "<IP>",
                        "card": "<CARD>", "iban": "<IBAN>", "ssn": "<SSN>"}


class PiiConfig(BaseModel):
    """Which PII types to find and what the redaction placeholders are (`annotate.pii` / `select.pii`)."""

    model_config = ConfigDict(extra="forbid")

    types: list[PiiType] = Field(default_factory=lambda: list(ORDER), description="types to detect, any of " + ", ".join(ORDER))
    placeholders: dict[str, str] = Field(default_factory=dict, description="type -> replacement text (default <EMAIL>, <PHONE>, <IP>, <CARD>, <IBAN>, <SSN>)")

    @field_validator("types")
    @classmethod
    def _unique(cls, v):
        if len(set(v)) != len(v):
            raise ValueError(f"types repeat: {v}")
        return v

    @field_validator("placeholders")
    @classmethod
    def _known(cls, v):
        bad = sorted(set(v) - set(ORDER))
        if bad:
            raise ValueError(f"unknown PII type(s) {bad}; types: {', '.join(ORDER)}")
        return v

    def placeholder(self, kind: str) -> str:
        return self.placeholders.get(kind, DEFAULT_PLACEHOLDERS[kind])


class PiiSelectConfig(PiiConfig):
    """`select.pii`: rewrite the text written to `selected/` (redact) or drop documents with PII (drop)."""

    action: Literal["redact", "drop"] = Field("redact", description="redact: replace with placeholders; drop: remove the document (reason `pii`)")
