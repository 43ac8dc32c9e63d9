"""Lazy package attributes: a package that re-exports its engine's public names without importing the
engine (and its heavy dependencies) until a name is first used."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def engine_getattr(package: str, submodules: tuple[str, ...], engine: str = "engine") -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: submodule names import the submodule (Python asks the
    package for `stage` before importing `from pkg import stage`, so answering through the engine would
    recurse); any other public name is looked up on `package.engine`."""

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(importlib.import_module(f"{package}.{engine}"), name)

    return __getattr__
