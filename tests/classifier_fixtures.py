"""Small generated corpora for the classifier tests (no shared data, no network).

Documents mix common words, their class's topic words and some of the other class's words, with
line breaks, so that separation is real but not trivial: a broken classifier scores near chance.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson

COMMON = "the of and to in a is that for it as was with be by on not this are at from or have an they which".split()
FINANCE = (
    "revenue earnings interest rate inflation credit liquidity dividend equity debt bond yield capital "
    "margin quarter fiscal monetary policy federal reserve treasury loan deposit asset portfolio risk "
    "securities market valuation shareholders income expenses cash flow"
).split()
GENERAL = (
    "garden river dog castle song walked forest child night rain mother village horse church letter "
    "window summer winter morning story king queen beautiful heart smiled friend dream mountain sea ship"
).split()
MENU = "home | about | contact | login | subscribe | share | next | privacy policy | terms".split(" | ")


def doc(rng: np.random.Generator, topic: list[str], other: list[str], words: int = 60) -> str:
    mix = rng.choice(3, size=words, p=[0.55, 0.33, 0.12])
    pools = (COMMON, topic, other)
    toks = [pools[m][rng.integers(len(pools[m]))] for m in mix]
    lines = [" ".join(toks[i : i + 15]).capitalize() + "." for i in range(0, words, 15)]
    return "\n".join(lines)


def boilerplate(rng: np.random.Generator, words: int = 60) -> str:
    """A 'page' of menu lines around a little prose: the low-quality class of the quality tests."""
    lines = [MENU[rng.integers(len(MENU))] for _ in range(8)]
    lines.insert(int(rng.integers(8)), doc(rng, GENERAL, FINANCE, words // 3).replace("\n", " "))
    return "\n".join(lines)


def finance_docs(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [doc(rng, FINANCE, GENERAL) for _ in range(n)]


def general_docs(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [doc(rng, GENERAL, FINANCE) for _ in range(n)]


def prose_docs(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [doc(rng, GENERAL, FINANCE, 90) for _ in range(n)]


def page_docs(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [boilerplate(rng) for _ in range(n)]


def write_jsonl_gz(path: Path, texts: list[str], field: str = "text") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        for i, t in enumerate(texts):
            fh.write(orjson.dumps({"id": f"d{i}", field: t}) + b"\n")
    return path
