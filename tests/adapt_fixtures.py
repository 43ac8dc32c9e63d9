"""Generated genres for the adaptation tests: the seed data and the pool share no genre.

Seed finance (filings) and pool finance (policy minutes) share a few finance words; the pool's
general genres (software manuals, chat) never appear in the seed data. A selector that only
learned the seed genres transfers poorly, one that adapts to the pool should not.
"""

from __future__ import annotations

import numpy as np

COMMON = "the of and to in a is that for it as was with be by on not this are at from or have an they which".split()
FIN_SHARED = "interest rate inflation credit debt capital market risk liquidity financial".split()
FILINGS = "revenue shareholders dividend impairment goodwill covenant indebtedness subsidiaries audit fiscal securities litigation".split()
MINUTES = "committee participants federal funds policy accommodation treasury yields outlook employment balance sheet purchases".split()
NOVEL = "garden river castle walked forest child night rain mother village horse church letter window".split()
SOFTWARE = "install configure option default command server version library function argument file directory package module".split()
CHAT = "lol hey thanks guys anyone know game play tonight lmao weekend fun awesome cool".split()


def _doc(rng: np.random.Generator, own: list[str], extra: list[str], words: int = 60) -> str:
    mix = rng.choice(3, size=words, p=[0.5, 0.4, 0.1])
    pools = (COMMON, own, extra)
    toks = [pools[m][rng.integers(len(pools[m]))] for m in mix]
    return "\n".join(" ".join(toks[i : i + 15]).capitalize() + "." for i in range(0, words, 15))


def seed_sets(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    return [_doc(rng, FILINGS, FIN_SHARED) for _ in range(n)], [_doc(rng, NOVEL, COMMON) for _ in range(n)]


def pool(n: int, seed: int, share: float = 0.1) -> tuple[list[str], np.ndarray]:
    """`n` documents, `share` of them policy-minutes finance, the rest software manuals and chat."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < share
    texts = []
    for is_fin in y:
        if is_fin:
            texts.append(_doc(rng, MINUTES, FIN_SHARED))
        else:
            texts.append(_doc(rng, SOFTWARE if rng.random() < 0.5 else CHAT, COMMON + ["rate", "default"]))
    return texts, y
