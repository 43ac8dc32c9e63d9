"""(being written) signal module: minhash."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DedupKeysConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
