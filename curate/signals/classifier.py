"""(being written) signal module: classifier."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ClassifierSignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
