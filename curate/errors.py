"""Errors a user sees. Each one says where (file, line or key) and what to do about it."""

from __future__ import annotations


class CurateError(Exception):
    """An error with a location and a fix, printed without a traceback by the CLI."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}: ")
        parts.append(self.message)
        if self.fix:
            parts.append(f"\n  fix: {self.fix}")
        return "".join(parts)


class ConfigError(CurateError):
    """The pipeline YAML (or a recipe) is invalid."""


class InputError(CurateError):
    """An input record or file is bad and --strict is on (or the file cannot be read at all)."""
