"""A YAML file -> a pydantic model, with every error naming the file, the line, the key and a fix.

Used for pipeline YAMLs (curate.config) and ablation YAMLs (curate.train.ablate.config), so both
report mistakes the same way: `p.yaml:12: unknown key `words.min_hit` — did you mean `min_hits`?`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from curate.errors import ConfigError
from curate.io.yaml_file import compose_yaml, load_yaml


def read_mapping(path: Path, what: str) -> tuple[dict, str]:
    """(parsed mapping, text) of a YAML file; a missing file, bad YAML (with its line) or a
    non-mapping top level is a ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found", where=str(path), fix="check the path")
    text = path.read_text(encoding="utf-8")
    data = load_yaml(text, str(path))  # refuses alias bombs and recursive aliases
    if not isinstance(data, dict):
        raise ConfigError(f"{what} must be a mapping (key: value) at the top level", where=str(path))
    return data, text


def validate(model: type[BaseModel], data: dict, path: Path, text: str, what: str, fix: str, named_items: bool = False) -> Any:
    """`model.model_validate(data)`, its errors turned into one ConfigError with file:line per key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        msg = validation_message(exc, str(path), line_index(text), model, data if named_items else None)
        raise ConfigError(f"invalid {what}:\n" + msg, fix=fix) from None


def line_index(text: str) -> dict[tuple, int]:
    """Map key paths (tuples of str/int) to 1-based YAML line numbers."""
    index: dict[tuple, int] = {}
    try:
        root = compose_yaml(text, "config")  # refuses alias bombs, so the walk below is bounded
    except ConfigError:
        return index
    seen: set[int] = set()

    def walk(node, path):
        index.setdefault(path, node.start_mark.line + 1)  # a key's own line wins over its value's (a block list starts below)
        if id(node) in seen:  # an alias: its keys' lines were recorded where its anchor is
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = path + (k.value,)
                index[key] = k.start_mark.line + 1
                walk(v, key) if not isinstance(v, yaml.ScalarNode) else index.setdefault(key, v.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return index


def fmt_loc(loc: tuple, data: Any = None) -> str:
    """`sources[0].text_field`; with `data` (the raw YAML), a list item that has a `name` shows it:
    `arms[1: q90].set_rule`."""
    out, cur = "", data
    for part in loc:
        if isinstance(part, int):
            item = cur[part] if isinstance(cur, list) and 0 <= part < len(cur) else None
            name = item.get("name") if isinstance(item, dict) and data is not None else None
            out += f"[{part}: {name}]" if name is not None else f"[{part}]"
            cur = item
        else:
            out += f".{part}" if out else str(part)
            cur = cur.get(part) if isinstance(cur, dict) else None
    return out or "(top level)"


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names valid at the mapping that holds `loc`'s last key."""
    cur: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fld = getattr(cur, "model_fields", {}).get(part)
        if fld is None:
            return []
        ann = fld.annotation
        cur = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            for inner in (cand, *getattr(cand, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    cur = inner
        if cur is None:
            return []
    return list(getattr(cur, "model_fields", {}))


def validation_message(err: ValidationError, path: str, lines: dict[tuple, int], model: type[BaseModel], data: Any = None) -> str:
    """One line per error: `file:line: ...` with the key, and for an unknown key the closest valid one."""
    msgs = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p[0].isupper() and "[" in p))
        line = None
        for k in range(len(loc), -1, -1):
            if loc[:k] in lines:
                line = lines[loc[:k]]
                break
        where = f"{path}:{line}" if line else path
        key = fmt_loc(loc, data)
        if e["type"] == "extra_forbidden":
            known = _known_keys(model, loc)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"valid keys here: {', '.join(known)}"
            msgs.append(f"{where}: unknown key `{key}` — {hint}")
        elif e["type"] == "missing":
            msgs.append(f"{where}: missing required key `{key}`")
        else:
            got = e.get("input")
            got_s = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
            msgs.append(f"{where}: `{key}`: {e['msg']} (got {got_s[:80]})")
    return "\n".join(msgs)
