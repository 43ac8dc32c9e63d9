"""(being written): mix."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class MixConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
