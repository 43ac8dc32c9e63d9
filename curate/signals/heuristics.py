"""(being written) signal module: heuristics."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class HeuristicsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
