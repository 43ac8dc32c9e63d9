"""Keyword search: weighted lexicons (domain terms or blocklists) matched with one Aho-Corasick
automaton per lexicon.

Matching rules (docs/signals.md has the user-facing version):
- text and terms go through the same normalization: Unicode NFC (optional), lower-casing unless
  `case_sensitive`, and every run of whitespace (including no-break and ideographic spaces and
  newlines) replaced by one space, so a phrase matches across line breaks and doubled spaces;
- word boundaries: where a term begins (ends) with a letter, digit, `_` or combining mark, the text
  character before (after) the match must not be one of those. Scripts written without spaces (Han,
  kana, Hangul, Thai, Lao, Khmer, Myanmar) need no boundary, so "利率" is found inside "利率上升";
- overlaps: among the matches that pass the boundary test, leftmost-longest non-overlapping ones
  count ("interest rate risk" counts once, not also as "interest rate" and "rate"), scanning left to
  right like a tokenizer would.

The batch is joined into one UTF-8 buffer (documents separated by a newline, which normalized text
never holds) and scanned in one native pass (ahocorasick-rs: every overlapping match, as byte
offsets); whitespace folding, boundary tests and counting are numpy over the whole batch
(`curate/signals/keyword_scan.py`), and Python only walks clusters of overlapping matches.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from curate import schema
from curate.errors import ConfigError
from curate.signals.base import Signal, SignalContext, register_signal
from curate.signals.keyword_scan import ScanText, is_spaced_word_char, leftmost_longest, scan_text, word_chars
from curate.signals.text_stats import text_array

# the lexicon used when a keywords entry names none: the finance lexicon shipped in this repository
DEFAULT_LEXICON = Path(__file__).resolve().parents[2] / "classifiers" / "lexicons" / "finance.txt"

# lexicons up to this many terms are scanned by a DFA (471 terms: 5 ms to build; 50,000: ~1.3 s)
_DFA_MAX_TERMS = 10_000


class KeywordConfig(BaseModel):
    """One entry of `annotate.keywords`: a lexicon file and how to match it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="finance", pattern=r"^[A-Za-z0-9_]+$")  # columns are kw_<name>_*
    lexicon: str | None = None  # path (relative to the pipeline YAML); default: the finance lexicon
    case_sensitive: bool = False
    normalize_unicode: bool = True  # NFC on text and terms, so "é" matches whether composed or not


@dataclass(frozen=True)
class Lexicon:
    """Normalized terms with their weights and the source line each came from."""

    terms: list[str]
    weights: np.ndarray  # float64
    lines: list[int]


def _nfc(values: pa.Array) -> pa.Array:
    """NFC-normalize the non-ASCII strings (ASCII is already NFC, and most text is ASCII).

    Python's `unicodedata.normalize` is used rather than Arrow's `utf8_normalize`: its quick check
    returns text that is already NFC (nearly all of it) without rebuilding it, which measured 4x
    faster on the benchmark corpora even counting the conversion to Python strings.
    """
    non_ascii = pc.invert(pc.string_is_ascii(values))
    if not pc.any(non_ascii).as_py():
        return values
    fixed = [unicodedata.normalize("NFC", s) for s in values.filter(non_ascii).to_pylist()]
    return pc.replace_with_mask(values, non_ascii, pa.array(fixed, values.type))


def _normalize(values: pa.Array, *, case_sensitive: bool, nfc: bool) -> pa.Array:
    """The text form terms are matched in: NFC, lower-case, single spaces between words."""
    if nfc:
        values = _nfc(values)
    if not case_sensitive:
        values = pc.utf8_lower(values)
    joined = pc.binary_join(pc.utf8_split_whitespace(values), pa.scalar(" ", values.type))
    return pc.utf8_trim(joined, " ")  # split leaves empty pieces at the ends


def load_lexicon(path: Path, *, case_sensitive: bool = False, nfc: bool = True) -> Lexicon:
    """Read a lexicon file: one term or phrase per line, optional weight after a tab or `|`.

    `#` starts a comment line; blank lines are skipped. A term that normalizes to one already seen
    is an error (it would be counted twice), naming both lines.
    """
    try:
        raw_lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"lexicon {path} does not exist", fix="check the `lexicon:` path") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"lexicon {path} is not UTF-8: {exc}", fix="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read lexicon {path}: {exc}", fix="point `lexicon:` to a readable file") from None
    raw_terms: list[str] = []
    weights: list[float] = []
    lines: list[int] = []
    for lineno, raw in enumerate(raw_lines, start=1):
        line = raw.rstrip()  # keep a leading tab: "\t2" is an empty term, not the term "2"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        term, weight = line, 1.0
        sep = "\t" if "\t" in line else "|" if "|" in line else None
        if sep:
            term, _, weight_text = line.rpartition(sep)
            try:
                weight = float(weight_text)
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight):
                raise ConfigError(
                    f"weight {weight_text.strip()!r} is not a finite number",
                    where=f"{path}:{lineno}",
                    fix="write `term<TAB>weight` or `term | weight`, e.g. `interest rate | 1.5`",
                )
        raw_terms.append(term)
        weights.append(weight)
        lines.append(lineno)
    if not raw_terms:
        raise ConfigError(f"lexicon {path} holds no terms", fix="add one term or phrase per line")
    terms = _normalize(pa.array(raw_terms, pa.string()), case_sensitive=case_sensitive, nfc=nfc).to_pylist()
    seen: dict[str, int] = {}
    for term, lineno in zip(terms, lines):
        if not term:
            raise ConfigError("empty term", where=f"{path}:{lineno}", fix="remove the line or add a term")
        if term in seen:
            raise ConfigError(
                f"term {term!r} repeats line {seen[term]} (after case folding and whitespace normalization)",
                where=f"{path}:{lineno}",
                fix="keep one of the two lines",
            )
        seen[term] = lineno
    return Lexicon(terms, np.asarray(weights, dtype=np.float64), lines)


# The last batch seen by this process and its Scans per normalization. Several lexicons with the
# same options share one Scan. The cached column reference keeps its buffers alive, so a buffer
# address in the key cannot be reused by another batch while the entry exists.
_last: tuple[tuple, pa.ChunkedArray, dict[tuple[bool, bool], ScanText]] | None = None


def _buffers_key(col: pa.ChunkedArray) -> tuple:
    return tuple(
        (chunk.offset, len(chunk), tuple((b.address, b.size) if b is not None else None for b in chunk.buffers()))
        for chunk in col.chunks
    )


def prepare(table: pa.Table, *, case_sensitive: bool, nfc: bool) -> ScanText:
    """The batch's scan text for these options, built once per batch whatever the number of lexicons."""
    global _last
    col = table.column(schema.TEXT)
    key = _buffers_key(col)
    if _last is None or _last[0] != key:
        _last = (key, col, {})
    scans = _last[2]
    if (case_sensitive, nfc) not in scans:
        values = text_array(table)
        if nfc:
            values = _nfc(values)
        if not case_sensitive:
            values = pc.utf8_lower(values)
        scans[(case_sensitive, nfc)] = scan_text(values)
    return scans[(case_sensitive, nfc)]


def _automaton(terms: list[str]):
    """The automaton reporting every (overlapping) occurrence of every term in UTF-8 bytes."""
    # imported here: loading a pipeline config lists this signal without building automata
    import ahocorasick_rs

    # a DFA scans fastest; past this size its build time and memory grow, so the library picks
    impl = ahocorasick_rs.Implementation.DFA if len(terms) <= _DFA_MAX_TERMS else None
    return ahocorasick_rs.BytesAhoCorasick(
        [t.encode("utf-8") for t in terms], matchkind=ahocorasick_rs.MATCHKIND_STANDARD, implementation=impl
    )


@register_signal("keywords", config=KeywordConfig, many=True)
class KeywordSignal(Signal):
    """Adds kw_<name>_hits (weighted), kw_<name>_per_1k (per 1,000 words) and kw_<name>_distinct."""

    @classmethod
    def default_files(cls, cfg: KeywordConfig) -> list[Path]:
        return [] if cfg.lexicon else [DEFAULT_LEXICON]

    def __init__(self, cfg: KeywordConfig, ctx: SignalContext):
        self.cfg = cfg
        path = ctx.resolve(cfg.lexicon) if cfg.lexicon else DEFAULT_LEXICON
        if not path.is_file():
            raise ConfigError(
                f"lexicon {path} does not exist",
                where=f"annotate.keywords (name: {cfg.name}).lexicon",
                fix="give a path relative to the pipeline YAML's folder, or an absolute one",
            )
        self.lexicon = load_lexicon(path, case_sensitive=cfg.case_sensitive, nfc=cfg.normalize_unicode)
        terms = self.lexicon.terms
        self._left_edge = np.array([is_spaced_word_char(t[0]) for t in terms], dtype=bool)
        self._right_edge = np.array([is_spaced_word_char(t[-1]) for t in terms], dtype=bool)
        self._automaton = _automaton(terms)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_automaton"}  # the automaton does not pickle

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._automaton = _automaton(self.lexicon.terms)

    def _boundary_ok(self, scan: ScanText, term: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """True where the characters around each match (bytes [start, end)) do not continue a word
        (see module doc)."""
        ok = np.ones(len(term), dtype=bool)
        sides = ((self._left_edge, starts, scan.code_before), (self._right_edge, ends, scan.code_at))
        for edge, neighbour, codes in sides:
            check = np.flatnonzero(edge[term])
            ok[check[word_chars(codes(neighbour[check]))]] = False
        return ok

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        cfg = self.cfg
        scan = prepare(table, case_sensitive=cfg.case_sensitive, nfc=cfg.normalize_unicode)
        n, words = len(scan.words), scan.words
        found = self._automaton.find_matches_as_indexes(scan.haystack(), overlapping=True)
        hits = np.zeros(n)
        distinct = np.zeros(n, dtype=np.int64)
        if found:
            found = np.fromiter(chain.from_iterable(found), np.int64, 3 * len(found)).reshape(-1, 3)
            term, starts, ends = found[:, 0], found[:, 1], found[:, 2]
            ok = self._boundary_ok(scan, term, starts, ends)
            starts, ends, term = starts[ok], ends[ok], term[ok]
            keep = leftmost_longest(starts, ends - 1)
            starts, term = starts[keep], term[keep]
            doc = np.searchsorted(scan.doc_start, starts, side="right") - 1
            hits = np.bincount(doc, weights=self.lexicon.weights[term], minlength=n)
            pairs = np.unique(doc * len(self.lexicon.terms) + term)
            distinct = np.bincount(pairs // len(self.lexicon.terms), minlength=n).astype(np.int64)
        per_1k = np.zeros(n)
        np.divide(hits * 1000.0, words, out=per_1k, where=words > 0)
        prefix = f"kw_{cfg.name}_"
        return {
            prefix + "hits": pa.array(hits, pa.float64()),
            prefix + "per_1k": pa.array(per_1k, pa.float64()),
            prefix + "distinct": pa.array(distinct, pa.int64()),
        }
