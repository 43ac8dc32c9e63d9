"""One registry type behind every extension point (signals, readers, stages, executors).

An entry names its implementation either as the object itself or as a `"module:attribute"`
string, which is imported only when the entry is used: the pipeline config can list every
registered signal and stage (and validate their sections) without importing a tokenizer, an
Aho-Corasick automaton or the dedup engine. `ref` is the importable name of an entry's target,
which is what tasks carry to worker processes: a worker imports that module, so an extension
registered from any importable module works with the process pool and Ray alike.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from curate.errors import ConfigError


def resolve(target: Any) -> Any:
    """The object a `"module:attribute"` string names (other values are returned as they are)."""
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def ref_of(obj: Any) -> str:
    """`"module:qualname"` of a class or function (the inverse of `resolve`)."""
    if isinstance(obj, str):
        return obj
    return f"{obj.__module__}:{obj.__qualname__}"


@dataclass
class Entry:
    name: str
    target: Any  # the implementation, or "module:attribute"
    meta: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        if isinstance(self.target, str):
            self.target = resolve(self.target)
        return self.target

    @property
    def ref(self) -> str:
        return ref_of(self.target)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["meta"][key]
        except KeyError:
            raise AttributeError(key) from None


class Registry:
    """Named entries of one kind, in registration order. `builtins` is a module whose import
    registers the project's own entries; it is imported on first use."""

    def __init__(self, kind: str, builtins: str | None = None):
        self.kind = kind
        self.builtins = builtins
        self._entries: dict[str, Entry] = {}
        self.version = 0  # bumped on every change: models built from the registry rebuild

    def _load_builtins(self) -> None:
        if self.builtins:
            module, self.builtins = self.builtins, None
            importlib.import_module(module)

    def register(self, name: str, target: Any = None, **meta: Any) -> Callable:
        """`register(name, target, **meta)`, or as a decorator: `@register(name, **meta)`."""
        if target is None:
            def deco(obj):
                self.register(name, obj, **meta)
                return obj

            return deco
        old = self._entries.get(name)
        if old is not None and ref_of(old.target) != ref_of(target):
            raise ValueError(f"{self.kind} `{name}` is already registered (by {old.ref})")
        self._entries[name] = Entry(name, target, dict(meta))
        self.version += 1
        return target

    def unregister(self, name: str) -> None:
        if self._entries.pop(name, None) is not None:
            self.version += 1

    def get(self, name: str) -> Entry:
        self._load_builtins()
        entry = self._entries.get(name)
        if entry is None:
            raise ConfigError(f"unknown {self.kind} `{name}`", fix=self.hint(name))
        return entry

    def hint(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=1)
        return f"did you mean `{close[0]}`?" if close else f"known: {', '.join(self.names())}"

    def __contains__(self, name: str) -> bool:
        self._load_builtins()
        return name in self._entries

    def names(self) -> list[str]:
        self._load_builtins()
        return list(self._entries)

    def entries(self) -> Iterator[Entry]:
        self._load_builtins()
        return iter(list(self._entries.values()))

    def state(self) -> int:
        self._load_builtins()
        return self.version
