"""(being written) signal module: langid."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LangIdConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
