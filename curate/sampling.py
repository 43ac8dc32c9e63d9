"""Seeded per-document coin flips that depend only on (seed, salt, document id).

Why: the held-out split, the tokenizer's training sample and Pareto selection must not change
when files are re-split across workers or a run resumes, so the decision for a document is a hash of its id,
never a draw from a stream whose position depends on processing order.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import xxhash


def unit_hash(ids: Iterable[str], seed: int, salt: str) -> np.ndarray:
    """A float64 in [0, 1) per id, uniform and stable for a given (seed, salt)."""
    key = xxhash.xxh64_intdigest(f"{seed}:{salt}".encode())
    h = np.fromiter((xxhash.xxh64_intdigest(i.encode("utf-8"), key) for i in ids), dtype=np.uint64)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
