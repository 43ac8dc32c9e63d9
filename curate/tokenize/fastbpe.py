"""A tiktoken engine for byte-level BPE tokenizers trained with HF `tokenizers`.

Why: tokenization dominates pipeline time, and tiktoken's Rust core encodes the same byte-level
BPE about 3x faster than `tokenizers.encode_batch` on our benchmark machine (benchmarks/bench_tokenize.py). The conversion maps
the BPE vocabulary to tiktoken "mergeable ranks" (rank = token id) and the pre-tokenizer to its
regex. tiktoken merges by the rank of the merged token while `tokenizers` merges by merge-list
position, so the two agree when merge order follows id order, which this module checks; anything
it cannot express exactly (normalizers, prefix spaces, dropout, non-special added tokens) raises
`FastPathUnsupported` with the reason, and callers fall back to `tokenizers`. Because agreement is
a property of the vocabulary and the text, callers still compare ids on a sample of every run.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import orjson
import tiktoken
import tokenizers

# The pre-tokenization regex `tokenizers`' ByteLevel(use_regex=True) applies (GPT-2's).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


class FastPathUnsupported(Exception):
    """The tokenizer cannot be run through tiktoken with guaranteed-identical ids; str() says why."""


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode: the printable character standing for each byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def _token_bytes(token: str) -> bytes:
    dec = _byte_decoder()
    try:
        return bytes(dec[ch] for ch in token)
    except KeyError as exc:
        raise FastPathUnsupported(f"vocabulary token {token!r} is not byte-level encoded (char {exc})") from None


@lru_cache(maxsize=1)
def _to_latin1() -> dict[int, str]:
    """str.translate table: each byte-level character -> the character whose code is its byte."""
    return {ord(ch): chr(b) for ch, b in _byte_decoder().items()}


def _all_token_bytes(tokens: list[str]) -> list[bytes]:
    """`_token_bytes` of every token at once (one translate + encode per token, in C), after checking
    that every character used is a byte-level one (a raw character would otherwise pass through)."""
    dec = _byte_decoder()
    stray = set("".join(tokens)) - dec.keys()
    if stray:
        bad = next(t for t in tokens if not set(t) <= dec.keys())
        return [_token_bytes(bad)]  # raises FastPathUnsupported naming the token and the character
    table = _to_latin1()
    return [t.translate(table).encode("latin-1") for t in tokens]


def _pattern(pre: dict | None) -> str:
    """The single regex equivalent to the tokenizer's pre-tokenizer, or FastPathUnsupported."""
    if pre is None:
        raise FastPathUnsupported("no pre-tokenizer (byte-level BPE expected)")
    kind = pre.get("type")
    if kind == "ByteLevel":
        if pre.get("add_prefix_space"):
            raise FastPathUnsupported("ByteLevel add_prefix_space=true")
        if not pre.get("use_regex", True):
            raise FastPathUnsupported("ByteLevel without a splitting regex")
        return GPT2_PATTERN
    if kind == "Sequence":
        steps = pre.get("pretokenizers", [])
        if len(steps) == 1:
            return _pattern(steps[0])
        if len(steps) == 2 and steps[0].get("type") == "Split" and steps[1].get("type") == "ByteLevel":
            split, byte_level = steps
            if byte_level.get("use_regex", True) or byte_level.get("add_prefix_space"):
                raise FastPathUnsupported("Split followed by a ByteLevel that splits again or adds a prefix space")
            regex = split.get("pattern", {}).get("Regex")
            if regex is None or split.get("behavior") != "Isolated" or split.get("invert"):
                raise FastPathUnsupported(f"Split pre-tokenizer {split.get('pattern')} / {split.get('behavior')} / invert={split.get('invert')}")
            return regex
    raise FastPathUnsupported(f"pre-tokenizer {kind} is not supported by the fast path")


def tiktoken_encoding(tok: tokenizers.Tokenizer) -> tiktoken.Encoding:
    """Build a tiktoken Encoding that yields the same ids as `tok` (documents encoded with
    special-token strings treated as plain text), or raise FastPathUnsupported."""
    text = tok.to_str()
    spec = orjson.loads(text)
    model = spec.get("model", {})
    if model.get("type") != "BPE":
        raise FastPathUnsupported(f"model type {model.get('type')} (only BPE has a tiktoken equivalent)")
    if spec.get("normalizer") is not None:
        raise FastPathUnsupported(f"normalizer {spec['normalizer'].get('type')}")
    for key, ok in (("dropout", None), ("continuing_subword_prefix", None), ("end_of_word_suffix", None)):
        if model.get(key) not in (ok, ""):
            raise FastPathUnsupported(f"BPE {key}={model.get(key)!r}")
    if model.get("byte_fallback"):
        raise FastPathUnsupported("BPE byte_fallback (not byte-level)")
    pattern = _pattern(spec.get("pre_tokenizer"))

    added = spec.get("added_tokens") or []
    if any(not a.get("special") for a in added):
        raise FastPathUnsupported("non-special added tokens are split out of text by `tokenizers`")
    special = {a["content"]: a["id"] for a in added}

    vocab: dict[str, int] = model.get("vocab", {})
    plain = [t for t in vocab if t not in special]
    ranks: dict[bytes, int] = dict(zip(_all_token_bytes(plain), (vocab[t] for t in plain)))
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise FastPathUnsupported(f"{len(missing)} of the 256 single bytes are not in the vocabulary")

    # tiktoken's merge priority is the merged token's id; `tokenizers`' is the merge's position.
    merges = model.get("merges", [])
    last = -1
    merged_ids = set()
    for pos, merge in enumerate(merges):
        a, b = merge if isinstance(merge, list) else merge.split(" ", 1)
        idx = vocab.get(a + b)
        if idx is None:
            raise FastPathUnsupported(f"merge #{pos} ({a!r}, {b!r}) produces a token missing from the vocabulary")
        if idx <= last:
            raise FastPathUnsupported(f"merge #{pos} ({a!r}, {b!r}) has id {idx} below an earlier merge's {last}: merge order != id order")
        last = idx
        merged_ids.add(idx)
    single = {ranks[bytes([b])] for b in range(256)}
    orphans = [t for t, i in vocab.items() if t not in special and i not in single and i not in merged_ids]
    if orphans:
        raise FastPathUnsupported(f"{len(orphans)} multi-byte vocabulary tokens (e.g. {orphans[0]!r}) come from no merge")

    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    try:
        return tiktoken.Encoding(f"curate-{digest}", pat_str=pattern, mergeable_ranks=ranks, special_tokens=special)
    except Exception as exc:  # e.g. a regex tiktoken's engine cannot compile
        raise FastPathUnsupported(f"tiktoken rejected the conversion: {exc}") from None
