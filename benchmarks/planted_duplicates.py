"""A seeded corpus with planted near-duplicates, for measuring dedup recall and precision.

Base documents are real texts from the benchmark corpora folder (one source per corpus file). Base documents
that already resemble each other (5-word-shingle Jaccard >= 0.3, which the corpora have: yearly
10-K sections, repeated spam) are removed first, so every true duplicate pair is a planted one.
Then a fraction of bases get 1-3 variants, each made by one or more of:

- `scatter`: substitute / insert / delete 5-20% of the words at random positions
- `span`:    replace contiguous spans covering 5-20% of the words with words of other documents
- `reorder`: shuffle the paragraphs (or sentence groups when there is one paragraph)
- `boiler`:  add a header and/or footer of boilerplate (newsletter, copyright, navigation text)

A variant is written under a random source (so duplicates cross sources). Ground truth records,
for each (base, variant) pair, its kind and its exact Jaccard over the same normalized 5-word
shingles the MinHash signal uses (computed from sets, not estimated).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import xxhash

from curate.signals.base import SignalContext
from curate.signals.minhash import DedupKeysConfig, MinHashSignal

DOMAIN_FILES = ("gh_fin_sec10k_risk_factors", "gh_fin_fomc_minutes")
GENERAL_FILES = ("gh_gen_brown", "gh_gen_gutenberg_nltk", "gh_gen_us_speeches", "gh_hq_web_article_body",
                 "gh_lq_nltk_webtext", "gh_lq_spamassassin_spam", "gh_lq_web_fullpage_text")
BOILERPLATE = (
    "Subscribe to our newsletter to get the latest stories delivered to your inbox every morning.",
    "Copyright 2024 All rights reserved. Reproduction in whole or in part without permission is prohibited.",
    "Home | News | Markets | Business | Opinion | Sign in | Register | Contact us | Privacy policy",
    "This article originally appeared on our partner site and is republished here with permission.",
    "Click here to read more articles like this one. Share this story on social media with your friends.",
    "Disclaimer: the views expressed here are those of the author and do not reflect the official policy.",
)
KINDS = ("scatter", "span", "reorder", "boiler", "reorder+boiler", "span+boiler")


@dataclass
class Planted:
    docs: pa.Table  # id, text, source, role
    truth: list[dict]  # base, variant, kind, edit, jaccard


def load_bases(corpora: Path, limit_per_file: int, min_words: int = 60) -> list[tuple[str, str, str, str]]:
    """(id, text, source, role) of the first `limit_per_file` documents of each corpus file."""
    out = []
    for name in DOMAIN_FILES + GENERAL_FILES:
        role = "domain" if name in DOMAIN_FILES else "general"
        with gzip.open(corpora / f"{name}.jsonl.gz") as fh:
            n = 0
            for line in fh:
                text = orjson.loads(line)["text"]
                if len(text.split()) < min_words:
                    continue
                out.append((f"{name}-{n:06d}", text, name, role))
                n += 1
                if n >= limit_per_file:
                    break
    return out


def shingle_sets(texts: list[str], k: int = 5) -> list[set]:
    """Exact shingle sets under the signal's normalization (ground truth, no hashing)."""
    sig = MinHashSignal(DedupKeysConfig(shingle_size=k), SignalContext())
    norm = sig.normalize(pa.array(texts, pa.large_string())).to_pylist()
    out = []
    for t in norm:
        w = t.split(" ") if t else []
        out.append({tuple(w[i : i + k]) for i in range(max(len(w) - k + 1, 1 if w else 0))})
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if (a or b) else 1.0


def drop_similar_bases(bases: list, sets: list[set], limit: float = 0.3) -> list[int]:
    """Indices of bases kept after removing any base with Jaccard >= limit to an earlier kept one.

    Candidate pairs come from shared rare shingles (a seeded 1/8 sample of shingles; one in > 50
    bases is boilerplate and ignored), then exact Jaccard decides.
    """
    index: dict[tuple, list[int]] = {}
    for i, s in enumerate(sets):
        for sh in s:
            if xxhash.xxh64_intdigest(" ".join(sh).encode()) % 8 == 0:
                index.setdefault(sh, []).append(i)
    shared: dict[int, set[int]] = {}
    for docs in index.values():
        if 1 < len(docs) <= 50:
            for j in docs[1:]:
                shared.setdefault(j, set()).update(d for d in docs if d < j)
    dropped: set[int] = set()
    for j in range(len(bases)):
        for i in shared.get(j, ()):
            if i not in dropped and jaccard(sets[i], sets[j]) >= limit:
                dropped.add(j)
                break
    return [i for i in range(len(bases)) if i not in dropped]


def _scatter(words: list[str], frac: float, rng: np.random.Generator, pool: list[str]) -> list[str]:
    out = list(words)
    n = max(1, round(frac * len(words)))
    for p in sorted(rng.choice(len(words), size=min(n, len(words)), replace=False), reverse=True):
        op = rng.integers(3)
        if op == 0:
            out[p] = pool[rng.integers(len(pool))]
        elif op == 1:
            out.insert(p, pool[rng.integers(len(pool))])
        elif len(out) > 1:
            del out[p]
    return out


def _span(words: list[str], frac: float, rng: np.random.Generator, pool: list[str]) -> list[str]:
    out = list(words)
    left = max(1, round(frac * len(words)))
    while left > 0:
        size = int(min(left, rng.integers(3, 16)))
        p = int(rng.integers(0, max(len(out) - size, 1)))
        out[p : p + size] = [pool[rng.integers(len(pool))] for _ in range(size)]
        left -= size
    return out


def _reorder(text: str, rng: np.random.Generator) -> str:
    paras = [p for p in text.split("\n\n") if p.strip()]
    if len(paras) < 3:
        sents = text.replace("\n", " ").split(". ")
        k = max(3, min(6, len(sents) // 3))
        paras = [". ".join(g) for g in np.array_split(np.array(sents, dtype=object), k) if len(g)]
    order = rng.permutation(len(paras))
    if len(paras) > 1 and (order == np.arange(len(paras))).all():
        order = np.roll(order, 1)
    return "\n\n".join(paras[i] for i in order)


def _boiler(text: str, rng: np.random.Generator) -> str:
    pick = lambda: BOILERPLATE[rng.integers(len(BOILERPLATE))]  # noqa: E731
    where = rng.integers(3)
    head = pick() + "\n\n" if where in (0, 2) else ""
    tail = "\n\n" + pick() if where in (1, 2) else ""
    return head + text + tail


def make_variant(text: str, kind: str, rng: np.random.Generator, pool: list[str]) -> tuple[str, float]:
    """A variant of `text` by `kind`; returns (text, fraction of words edited)."""
    frac = 0.0
    if "scatter" in kind or "span" in kind:
        frac = float(rng.uniform(0.05, 0.20))
        fn = _scatter if "scatter" in kind else _span
        text = " ".join(fn(text.split(), frac, rng, pool))
    if "reorder" in kind:
        text = _reorder(text, rng)
    if "boiler" in kind:
        text = _boiler(text, rng)
    return text, frac


def make_corpus(corpora: Path, bases_per_file: int, seed: int, planted_fraction: float = 0.3) -> Planted:
    rng = np.random.default_rng(seed)
    bases = load_bases(corpora, bases_per_file)
    keep = drop_similar_bases(bases, shingle_sets([b[1] for b in bases]))
    bases = [bases[i] for i in keep]
    pool = [w for b in bases[:: max(1, len(bases) // 200)] for w in b[1].split()]
    sources = sorted({(b[2], b[3]) for b in bases})
    rows = list(bases)
    planted = []
    for bi in np.flatnonzero(rng.random(len(bases)) < planted_fraction):
        bid, text, _, _ = bases[bi]
        for v in range(int(rng.integers(1, 4))):
            kind = KINDS[rng.integers(len(KINDS))]
            vtext, frac = make_variant(text, kind, rng, pool)
            src, role = sources[rng.integers(len(sources))]
            vid = f"{bid}-v{v}"
            rows.append((vid, vtext, src, role))
            planted.append({"base": bid, "variant": vid, "kind": kind, "edit": round(frac, 3), "base_text": text, "variant_text": vtext})
    sets = shingle_sets([p["base_text"] for p in planted] + [p["variant_text"] for p in planted])
    n = len(planted)
    for i, p in enumerate(planted):
        p["jaccard"] = jaccard(sets[i], sets[n + i])
        del p["base_text"], p["variant_text"]
    order = rng.permutation(len(rows))  # duplicates are not next to their base
    rows = [rows[i] for i in order]
    docs = pa.table({"id": [r[0] for r in rows], "text": pa.array([r[1] for r in rows], pa.large_string()),
                     "source": [r[2] for r in rows], "role": [r[3] for r in rows]})
    return Planted(docs=docs, truth=planted)
