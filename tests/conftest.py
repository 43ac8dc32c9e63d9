"""Shared fixtures: small corpora the tests write themselves (no network, no data from outside the repository)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import orjson
import pytest

WORDS = ("market revenue growth the of and to company risk interest rate bank policy inflation river mountain "
         "garden story music child teacher morning window bread coffee train city").split()


def make_docs(n: int, seed: int = 0, prefix: str = "d") -> list[dict]:
    r = random.Random(seed)
    out = []
    for i in range(n):
        sents = []
        for _ in range(r.randint(3, 12)):
            words = [r.choice(WORDS) for _ in range(r.randint(6, 18))]
            sents.append(" ".join(words).capitalize() + ".")
        out.append({"id": f"{prefix}{i}", "text": " ".join(sents)})
    return out


def write_jsonl(path: Path, docs: list[dict], gz: bool = False) -> Path:
    data = b"".join(orjson.dumps(d) + b"\n" for d in docs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Two sources, three files: enough for resume and determinism tests."""
    write_jsonl(tmp_path / "in" / "fin" / "a.jsonl.gz", make_docs(120, 1, "fa"), gz=True)
    write_jsonl(tmp_path / "in" / "fin" / "b.jsonl", make_docs(80, 2, "fb"))
    write_jsonl(tmp_path / "in" / "gen" / "c.jsonl.gz", make_docs(150, 3, "gc"), gz=True)
    return tmp_path
