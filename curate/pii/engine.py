"""PII detection and redaction over Arrow string arrays: e-mail, phone, IPv4/IPv6, payment card,
IBAN and US SSN, each counted per document and optionally replaced by a typed placeholder.

How it stays vectorized:
* a type without a checksum (e-mail, SSN) is one `count_substring_regex` / `replace_substring_regex`
  over the whole batch (RE2 in Arrow's C++);
* a type that needs a check (card: Luhn; IBAN: mod 97; phone: digit count; IPv4: four parts <= 255;
  IPv6: group count) marks every regex candidate with a separator byte that the batch does not
  contain (`replace_substring_regex`), splits on it (`split_pattern`), so candidates are the odd
  pieces of each document's list, validates all candidates of the batch at once in numpy over the
  flattened string buffer, swaps the valid ones for the placeholder and joins the pieces back
  (`binary_join`). No Python loop runs per document or per candidate.

Types run in a fixed order (`ORDER`), each on the text the previous ones rewrote, so a card number
is never also counted as a phone number and the counts are exactly what redaction replaced.
False positives are kept down on purpose: dates (2024-01-15), version numbers (1.2.3.4.5), prices
($1,234.56) and times (12:30:45) are not PII here; see tests/test_pii.py for the cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.pii.config import ORDER, PiiConfig, PiiSelectConfig

_MARKERS = ("\x00", "\x01", "\ufdd0", "\ufdd1")  # separator candidates (control chars, Unicode noncharacters)

_EMAIL = r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
# SSN: AAA-GG-SSSS with the never-issued areas (000, 666, 900-999), group 00 and serial 0000 excluded
_SSN = (r"\b(?:00[1-9]|0[1-9]\d|[1-578]\d\d|6[0-57-9]\d|66[0-57-9])-(?:0[1-9]|[1-9]\d)-"
        r"(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d\d\d)\b")
# card: 13-19 digits, optionally grouped by single spaces or dashes; first digit 2-6 (Mastercard 2-series,
# Amex/Diners 3, Visa 4, Mastercard 5, Discover 6); Luhn-checked
_CARD = r"\b[2-6](?:[ -]?\d){12,18}\b"
# IBAN: country code, 2 check digits, 11-30 alphanumerics (printed in groups of 4); mod-97 checked
_IBAN = r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"
# IPv4 candidates include longer dotted runs so that 1.2.3.4.5 (a version) is rejected whole
_IPV4 = r"\b\d{1,3}(?:\.\d{1,3}){3}(?:\.\d+)*\b"
_H = r"[0-9A-Fa-f]{1,4}"
# IPv6: the full form or a `::`-compressed one with a group after the `::` (a bare trailing `::`, as in
# "1834::" or "4:: 1" in scanned books, is punctuation far more often than an address)
_IPV6 = rf"\b(?:{_H}:){{7}}{_H}\b|\b(?:{_H}:){{1,6}}(?::{_H}){{1,6}}\b|::(?:{_H}:){{0,6}}{_H}\b"
# phone: optional +country (or the North American trunk `1-`), an area part (bare or in parentheses), then two digit groups; the digit
# count decides (10-15 digits, or 8-15 after a +); 4-4-4 groups (a card that failed Luhn) are not a phone
_PHONE = (r"\b1[ .-][2-9]\d{2}[ .-]\d{3}[ .-]\d{4}\b"
          r"|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?|\b\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}\b")


# ---- validators: flattened candidate strings -> bool mask (numpy, no per-item Python) ----------


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 bytes, int64 offsets) of a large_string array."""
    arr = arr.cast(pa.large_string())
    n = len(arr)
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = arr.buffers()[2]
    return (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)), offs


def _digits_only(arr: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(arr, r"[^0-9]", "")


def luhn_valid(digits: pa.Array) -> np.ndarray:
    """Luhn check of each digit string (ASCII digits only), vectorized over the whole array."""
    data, offs = _buffers(digits)
    n = len(offs) - 1
    if n == 0:
        return np.zeros(0, bool)
    lens = np.diff(offs)
    owner = np.repeat(np.arange(n), lens)
    d = data[offs[0] : offs[-1]].astype(np.int64) - 48
    from_right = np.repeat(offs[1:], lens) - 1 - np.arange(offs[0], offs[-1])  # 0 = check digit
    dbl = d * 2
    dbl -= 9 * (dbl > 9)
    v = np.where(from_right % 2 == 1, dbl, d)
    total = np.bincount(owner, weights=v, minlength=n)
    return (total.astype(np.int64) % 10 == 0) & (lens > 0)


def _card_ok(cands: pa.Array) -> np.ndarray:
    digits = _digits_only(cands)
    n_digits = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    return (n_digits >= 13) & (n_digits <= 19) & luhn_valid(digits)


def iban_valid(ibans: pa.Array) -> np.ndarray:
    """ISO 13616 check: move the first 4 characters to the end, letters -> 10..35, value mod 97 == 1."""
    s = pc.utf8_upper(pc.replace_substring(ibans, " ", ""))
    data, offs = _buffers(s)
    n = len(offs) - 1
    lens = np.diff(offs)
    ok = (lens >= 15) & (lens <= 34)
    if n == 0:
        return ok
    rem = np.zeros(n, dtype=np.int64)
    maxlen = int(lens.max())
    safe_len = np.maximum(lens, 1)
    for j in range(maxlen):
        live = j < lens
        pos = offs[:-1] + (j + 4) % safe_len  # rearranged position j reads original (j + 4) mod len
        c = data[np.minimum(pos, max(data.size - 1, 0))].astype(np.int64)
        letter = (c >= 65) & (c <= 90)
        digit = (c >= 48) & (c <= 57)
        ok &= ~live | letter | digit
        val = np.where(letter, c - 55, c - 48)
        nxt = np.where(letter, rem * 100 + val, rem * 10 + val) % 97
        rem = np.where(live, nxt, rem)
    return ok & (rem == 1)


def _ipv4_ok(cands: pa.Array) -> np.ndarray:
    parts = pc.split_pattern(cands, ".")
    four = pc.list_value_length(parts).to_numpy(zero_copy_only=False) == 4
    flat = pc.list_flatten(parts)
    too_big = pc.greater(pc.cast(flat, pa.int64()), 255).to_numpy(zero_copy_only=False)
    owner = pc.list_parent_indices(parts).to_numpy()
    bad = np.bincount(owner[too_big], minlength=len(cands)) > 0
    return four & ~bad


def _ipv6_ok(cands: pa.Array) -> np.ndarray:
    colons = pc.count_substring(cands, ":").to_numpy(zero_copy_only=False)
    compressed = pc.count_substring(cands, "::").to_numpy(zero_copy_only=False)
    has_digit = pc.match_substring_regex(cands, r"[0-9]").to_numpy(zero_copy_only=False)
    full = (colons == 7) & (compressed == 0)
    short = (compressed == 1) & (colons <= 7) & (colons >= 2)
    return (full | short) & has_digit


def _phone_ok(cands: pa.Array) -> np.ndarray:
    n = pc.utf8_length(_digits_only(cands)).to_numpy(zero_copy_only=False)
    plus = pc.starts_with(cands, "+").to_numpy(zero_copy_only=False)
    # 4-4-4 digit groups are the start of a card-like number (one that failed its Luhn check), not a phone
    card_like = pc.match_substring_regex(cands, r"^\d{4}[ -]\d{4}[ -]\d{4}").to_numpy(zero_copy_only=False)
    return np.where(plus, (n >= 8) & (n <= 15), (n >= 10) & (n <= 15)) & ~card_like


@dataclass(frozen=True)
class _Kind:
    pattern: str
    check: Callable[[pa.Array], np.ndarray] | None = None


KINDS: dict[str, _Kind] = {
    "email": _Kind(_EMAIL),
    "ssn": _Kind(_SSN),
    "card": _Kind(_CARD, _card_ok),
    "iban": _Kind(_IBAN, iban_valid),
    "ipv4": _Kind(_IPV4, _ipv4_ok),
    "ipv6": _Kind(_IPV6, _ipv6_ok),
    "phone": _Kind(_PHONE, _phone_ok),
}


def _as_text(texts) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), type=pa.large_string())
    return pc.fill_null(texts.cast(pa.large_string()), "")


def _marker(texts: pa.Array) -> str:
    for m in _MARKERS:
        if not pc.any(pc.match_substring(texts, m)).as_py():
            return m
    raise ValueError("every PII separator character occurs in this batch")  # pragma: no cover - needs all four


def _checked(texts: pa.Array, kind: _Kind, replacement: str) -> tuple[pa.Array, np.ndarray]:
    """Count (and replace) the regex candidates of `kind` that pass its check."""
    n = len(texts)
    hit = pc.match_substring_regex(texts, kind.pattern)
    if not pc.any(hit).as_py():
        return texts, np.zeros(n, np.int64)
    rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    sub = texts.take(pa.array(rows))  # only the documents with a candidate are split and rebuilt
    m = _marker(sub)
    marked = pc.replace_substring_regex(sub, f"({kind.pattern})", f"{m}\\1{m}")
    pieces = pc.split_pattern(marked, m)
    flat = pc.list_flatten(pieces)
    owner = pc.list_parent_indices(pieces).to_numpy()
    list_offs = pieces.offsets.to_numpy()
    pos = np.arange(len(flat)) - list_offs[:-1][owner]
    odd = np.flatnonzero(pos % 2 == 1)
    valid_odd = kind.check(flat.take(pa.array(odd)))
    valid = odd[valid_odd]
    counts = np.zeros(n, np.int64)
    counts[rows] = np.bincount(owner[valid], minlength=len(rows))
    if valid.size == 0:
        return texts, counts
    mask = np.zeros(len(flat), bool)
    mask[valid] = True
    new_flat = pc.if_else(pa.array(mask), pa.scalar(replacement, flat.type), flat)
    rebuilt = pa.LargeListArray.from_arrays(pa.array(list_offs.astype(np.int64)), new_flat.cast(pa.large_string()))
    joined = pc.binary_join(rebuilt, pa.scalar("", pa.large_string()))
    changed = np.zeros(n, bool)
    changed[rows] = True
    idx = np.full(n, -1, np.int64)
    idx[rows] = np.arange(len(rows))
    # scatter the rebuilt texts back: take from [texts ++ joined]
    both = pa.concat_arrays([texts, joined.cast(pa.large_string())])
    take = np.where(changed, n + idx, np.arange(n))
    return both.take(pa.array(take)), counts


def scan(texts, cfg: PiiConfig) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """The text with every found item replaced by its placeholder, and counts per configured type
    (int64 arrays, one per document).

    Types run in `ORDER`, each over the output of the previous one, so overlapping matches are
    counted once, by the more specific type.
    """
    text = _as_text(texts)
    counts: dict[str, np.ndarray] = {}
    for kind_name in ORDER:
        if kind_name not in cfg.types:
            continue
        kind = KINDS[kind_name]
        # counting alone still replaces what it found, or a later type would find it again
        repl = cfg.placeholder(kind_name)
        if kind.check is None:
            c = pc.count_substring_regex(text, kind.pattern).to_numpy(zero_copy_only=False).astype(np.int64)
            if c.any():
                text = pc.replace_substring_regex(text, kind.pattern, repl)
        else:
            text, c = _checked(text, kind, repl)
        counts[kind_name] = c
    return text, counts


def apply_to_table(table: pa.Table, cfg: PiiSelectConfig, text_column: str = "text") -> tuple[pa.Table, np.ndarray, dict[str, int]]:
    """Apply `select.pii` to kept documents: (table with redacted text, keep mask, found items per type).

    With `redact` every document is kept and its text rewritten; with `drop` documents holding any
    configured type are dropped and the others keep their text unchanged.
    """
    col = table.column(text_column)
    new_text, counts = scan(col, cfg)
    any_pii = np.zeros(table.num_rows, bool)
    for c in counts.values():
        any_pii |= c > 0
    totals = {k: int(v.sum()) for k, v in counts.items()}
    if cfg.action == "drop":
        return table, ~any_pii, totals
    idx = table.column_names.index(text_column)
    out = table.set_column(idx, table.schema.field(text_column), new_text.cast(table.schema.field(text_column).type))
    return out, np.ones(table.num_rows, bool), totals
