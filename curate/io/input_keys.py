"""Names of inputs that do not shift when files are added or removed.

An input is named by its path relative to its source's *glob root*: the folder before the first
wildcard of each `paths:` entry (a folder entry is its own root, a plain file's root is its folder),
and for a source with several entries the deepest folder they all share. The root depends only on
the YAML, never on which files exist, so `x/part-00000.jsonl` keeps its name when
`w/part-00000.jsonl` appears beside it.

The relative path becomes a *task key* `<source>/<flat>` where `<flat>` is the path in one file
name: `/` becomes `~`, characters other than letters, digits, `.`, `_`, `-` are percent-encoded
(`%20`, `%7E` for a literal `~`), and a part of a split file gets `@pKK`. The encoding is
one-to-one, so two inputs never share a key (or an output file).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path

SAFE = re.compile(r"[A-Za-z0-9._-]")
MAX_FLAT = 180  # file names stay well under the usual 255-byte limit, with room for suffixes


def _is_hf_dir(p: Path) -> bool:
    return p.is_dir() and ((p / "dataset_info.json").exists() or (p / "state.json").exists())


def pattern_base(pattern: str, root: Path, fmt: str = "auto") -> Path:
    """The folder a `paths:` entry's matches are named relative to (lexical, symlinks not resolved)."""
    p = Path(pattern)
    full = p if p.is_absolute() else root / p
    fixed = next((i for i, part in enumerate(full.parts) if glob.has_magic(part)), None)
    if fixed is not None:
        return Path(*full.parts[:fixed])
    if full.is_dir() and fmt != "hf" and not _is_hf_dir(full):
        return full  # a folder is walked: its files are named from inside it
    return full.parent  # a plain file (or a dataset folder read as one input) is named by its own name


def source_root(paths: list[str], root: Path, fmt: str = "auto") -> Path:
    """The glob root of a source: the deepest folder shared by every entry's base."""
    bases = [str(pattern_base(p, root, fmt)) for p in paths]
    return Path(os.path.commonpath(bases)) if len(bases) > 1 else Path(bases[0])


def relative_name(path: Path, src_root: Path) -> str:
    """`path` relative to the source's glob root, with `/` separators (the absolute path if outside it)."""
    try:
        return Path(path).relative_to(src_root).as_posix()
    except ValueError:
        return Path(os.path.abspath(path)).as_posix().lstrip("/")


def flat_name(rel: str) -> str:
    """A relative path as one safe, unique file name (see the module docstring)."""
    out = []
    for i, piece in enumerate(rel.split("/")):
        if i:
            out.append("~")
        enc = "".join(ch if SAFE.fullmatch(ch) else "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")) for ch in piece)
        if enc.startswith("."):  # never `.`, `..` or a hidden file
            enc = "%2E" + enc[1:]
        out.append(enc)
    flat = "".join(out) or "%00"
    if len(flat) > MAX_FLAT:  # keep a readable head and make it unique with a hash of the whole path
        head = flat[:MAX_FLAT]
        cut = head.rfind("%", MAX_FLAT - 2)  # never end inside a %XX escape
        flat = (head[:cut] if cut >= 0 else head) + "@h" + hashlib.sha256(rel.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return flat


def task_key(source: str, rel: str, part: int = 0, parts: int = 1) -> str:
    base = f"{source}/{flat_name(rel)}"
    return base if parts == 1 else f"{base}@p{part:02d}"
