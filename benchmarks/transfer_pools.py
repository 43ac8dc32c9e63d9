"""Leave-one-genre-out pools for the transfer benchmark (benchmarks/transfer.py).

A split names the seed data (what a model may train on) and a test pool (~10% positives) whose
positive genre and negative genres appear in none of the split's training data. Extra negative
genres come from local text files (software documentation, licences, manual pages): they are
cut into 50-400-word chunks at paragraph boundaries, like the corpora files.
"""

from __future__ import annotations

import glob
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.io.texts import read_texts

FIN_10K = "gh_fin_sec10k_risk_factors"
FIN_FOMC = "gh_fin_fomc_minutes"
GUTENBERG = "gh_gen_gutenberg_nltk"
SPEECHES = "gh_gen_us_speeches"
WEB = ["gh_hq_web_article_body", "gh_lq_web_fullpage_text"]
SPAM = "gh_lq_spamassassin_spam"
WEBTEXT = "gh_lq_nltk_webtext"

# split -> (seed positives, seed negatives, pool positives, pool negative genres from the corpora)
SPLITS = {
    "A": ([FIN_10K], [GUTENBERG], FIN_FOMC, [SPEECHES, *WEB, SPAM, WEBTEXT]),
    "B": ([FIN_FOMC], [SPEECHES], FIN_10K, [GUTENBERG, *WEB, SPAM, WEBTEXT]),
}


@dataclass
class Pool:
    name: str
    seed_pos: pa.Array
    seed_neg: pa.Array
    texts: pa.Array
    labels: np.ndarray  # True = domain (finance)
    genres: np.ndarray  # genre name per pool document


def load(corpora: Path, name: str) -> pa.Array:
    return pa.concat_arrays([a.cast(pa.large_string()) for a in read_texts(corpora / f"{name}.jsonl.gz")])


def sample(texts: pa.Array, cap: int, rng: np.random.Generator) -> pa.Array:
    if len(texts) <= cap:
        return texts
    return texts.take(pa.array(np.sort(rng.choice(len(texts), cap, replace=False))))


_TROFF_ESC = re.compile(r"\\f[BIRP]|\\\(..|\\[-&e|^]|\\s[-+]?\d")


def _read_file(path: str) -> str:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read(400_000)
    text = raw.decode("utf-8", errors="replace")
    if "/man/" in path:  # troff: drop requests and comments, keep the text lines, strip font escapes
        lines = [_TROFF_ESC.sub("", ln) for ln in text.splitlines() if not ln.startswith((".", "'"))]
        text = "\n".join(ln if ln.strip() else "" for ln in lines)
        text = re.sub(r"\n(?=\S)", "\n", text)
    return text


def chunk(text: str, lo: int = 50, hi: int = 400) -> list[str]:
    """Paragraph-boundary chunks of lo..hi words (a longer paragraph is cut at hi words)."""
    out, cur, n = [], [], 0
    for para in re.split(r"\n\s*\n", text):
        words = para.split()
        if not words:
            continue
        while len(words) > hi:
            out.append(" ".join(words[:hi]))
            words = words[hi:]
        if n + len(words) > hi and n >= lo:
            out.append("\n\n".join(cur))
            cur, n = [], 0
        cur.append(para.strip())
        n += len(words)
    if n >= lo:
        out.append("\n\n".join(cur))
    return out


def local_docs(patterns: list[str], cap: int, rng: np.random.Generator, per_file: int = 20) -> pa.Array:
    files = sorted({p for pat in patterns for p in glob.glob(pat, recursive=True) if Path(p).is_file()})
    docs: list[str] = []
    for f in files:
        try:
            pieces = chunk(_read_file(f))
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
        docs.extend(pieces[:per_file])  # a few chunks per file keeps one long manual from dominating
    arr = pa.array(docs, pa.large_string())
    return sample(arr, cap, rng)


def pydoc_docs(modules: list[str], cap: int, rng: np.random.Generator) -> pa.Array:
    """Plain-text pydoc pages of standard-library modules (software documentation)."""
    import importlib
    import pydoc

    docs: list[str] = []
    for m in modules:
        try:
            text = pydoc.render_doc(importlib.import_module(m), renderer=pydoc.plaintext)
        except Exception:  # noqa: BLE001 - a module that fails to import or render is skipped
            continue
        docs.extend(chunk(text)[:30])
    return sample(pa.array(docs, pa.large_string()), cap, rng)


PYDOC_MODULES = [
    "argparse", "asyncio", "collections", "concurrent.futures", "contextlib", "csv", "dataclasses", "datetime",
    "email", "functools", "glob", "gzip", "hashlib", "heapq", "http.client", "inspect", "io", "itertools", "json",
    "logging", "math", "multiprocessing", "os", "pathlib", "pickle", "queue", "random", "re", "shutil", "socket",
    "sqlite3", "statistics", "string", "struct", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
    "time", "typing", "unittest", "urllib.request", "uuid", "xml.etree.ElementTree", "zipfile", "zlib",
]


def build_pool(corpora: Path, split: str, extra: dict[str, pa.Array], seed: int, seed_cap: int, neg_cap: int, pos_share: float = 0.1) -> Pool:
    rng = np.random.default_rng(seed)
    seed_pos_names, seed_neg_names, pool_pos_name, pool_neg_names = SPLITS[split]
    seed_pos = pa.concat_arrays([sample(load(corpora, n), seed_cap, rng) for n in seed_pos_names])
    seed_neg = pa.concat_arrays([sample(load(corpora, n), seed_cap, rng) for n in seed_neg_names])
    parts, genres = [], []
    for n in pool_neg_names:
        a = sample(load(corpora, n), neg_cap, rng)
        parts.append(a)
        genres += [n] * len(a)
    for name, a in extra.items():
        a = sample(a, neg_cap, rng)
        parts.append(a)
        genres += [name] * len(a)
    n_neg = len(genres)
    n_pos = int(round(n_neg * pos_share / (1 - pos_share)))
    pos = sample(load(corpora, pool_pos_name), n_pos, rng)
    parts.append(pos)
    genres += [pool_pos_name] * len(pos)
    texts = pa.concat_arrays(parts)
    labels = np.r_[np.zeros(n_neg, bool), np.ones(len(pos), bool)]
    order = rng.permutation(len(texts))  # a pool arrives in no particular order
    return Pool(split, seed_pos, seed_neg, texts.take(pa.array(order)), labels[order], np.asarray(genres)[order])
