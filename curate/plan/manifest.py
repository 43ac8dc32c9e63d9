"""Manifest reading: the sources, roles and available tokens a finished curate run produced.

Why: the planner checks a model's data need against what the corpus actually holds, and a manifest
written by hand or by an older run may lack keys; every problem is reported with the manifest path,
the dotted key and a fix instead of a bare KeyError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from curate.errors import CurateError


@dataclass(frozen=True)
class ManifestSource:
    name: str
    role: str
    available_tokens: int
    run_tokens: int | None  # tokens the run actually mixed from it (optional in the manifest)


def _need(obj: dict, key: str, where: str, path: Path, kinds: tuple[type, ...]):
    """obj[key], or an error naming the manifest, the dotted key and what it should hold."""
    if not isinstance(obj, dict) or key not in obj:
        raise CurateError(f"missing key {where}{key}", where=str(path),
                          fix="pass a manifest.json written by the mix stage (`curate run`), or add the key")
    val = obj[key]
    if not isinstance(val, kinds) or isinstance(val, bool):
        raise CurateError(f"key {where}{key} has type {type(val).__name__}", where=str(path),
                          fix=f"it must be {' or '.join(k.__name__ for k in kinds)}")
    return val


def read_manifest(path: str | Path) -> tuple[list[ManifestSource], dict[str, float] | None]:
    """The sources (role, available tokens) and target mixture of a run's manifest.json.

    Required: mixture.sources.<name>.role and .available_tokens. Optional: .tokens, mixture.target.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CurateError("manifest not found", where=str(path),
                          fix="pass RUN/manifest.json of a finished run") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CurateError(f"not valid JSON: {exc}", where=str(path),
                          fix="pass the manifest.json a run wrote") from None
    mixture = _need(doc, "mixture", "", path, (dict,))
    raw = _need(mixture, "sources", "mixture.", path, (dict,))
    if not raw:
        raise CurateError("mixture.sources is empty", where=str(path),
                          fix="the run mixed no sources; rerun the mix stage")
    sources = []
    def by_role(name: str) -> tuple[str, str]:
        entry = raw[name]
        return (str(entry.get("role", "")) if isinstance(entry, dict) else "", name)

    for name in sorted(raw, key=by_role):
        at = f"mixture.sources.{name}."
        entry = _need(raw, name, "mixture.sources.", path, (dict,))
        role = _need(entry, "role", at, path, (str,))
        avail = _need(entry, "available_tokens", at, path, (int, float))
        run_tokens = entry.get("tokens")
        if avail < 0:
            raise CurateError(f"{at}available_tokens is negative", where=str(path), fix="fix the manifest")
        sources.append(ManifestSource(name, role, int(avail),
                                      int(run_tokens) if isinstance(run_tokens, (int, float)) else None))
    target = mixture.get("target")
    if target is not None and not (isinstance(target, dict)
                                   and all(isinstance(v, (int, float)) for v in target.values())):
        raise CurateError("mixture.target must map names to shares", where=str(path), fix="fix the manifest")
    return sources, ({str(k): float(v) for k, v in target.items()} if target else None)
