"""(being written): shards/tokenizer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TokenizerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
