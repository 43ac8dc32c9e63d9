"""(being written) signal module: keywords."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class KeywordConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
