"""Keyword lexicons: file format, phrases, overlaps, word boundaries, case and Unicode."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from curate.errors import ConfigError
from curate.signals.base import SignalContext
from curate.signals.keywords import (
    DEFAULT_LEXICON,
    KeywordConfig,
    KeywordSignal,
    leftmost_longest,
    load_lexicon,
)

REPO = Path(__file__).resolve().parents[1]


def signal(tmp_path: Path, lexicon: str, **cfg) -> KeywordSignal:
    (tmp_path / "lex.txt").write_text(lexicon, encoding="utf-8")
    return KeywordSignal(KeywordConfig(name="t", lexicon="lex.txt", **cfg), SignalContext(root=tmp_path))


def run(sig: KeywordSignal, texts: list[str | None]) -> dict[str, list]:
    table = pa.table({"text": pa.array(texts, pa.large_string())})
    return {k.removeprefix("kw_t_"): v.to_pylist() for k, v in sig.columns(table).items()}


def hits(sig: KeywordSignal, text: str) -> float:
    return run(sig, [text])["hits"][0]


def test_lexicon_format(tmp_path):
    path = tmp_path / "lex.txt"
    path.write_text(
        "# a comment\n\ninterest rate\t2.5\n  Bond   Yield | 0.5 \nEBITDA\n# another\n", encoding="utf-8"
    )
    lex = load_lexicon(path)
    assert lex.terms == ["interest rate", "bond yield", "ebitda"]
    assert lex.weights.tolist() == [2.5, 0.5, 1.0]
    assert lex.lines == [3, 4, 5]


@pytest.mark.parametrize(
    "content, line, needle",
    [
        ("good\nbad term\tlots\n", 2, "not a finite number"),
        ("a\nb | nan\n", 2, "not a finite number"),
        ("Rate\nrate\n", 2, "repeats line 1"),
        ("interest  rate\ninterest rate\n", 2, "repeats line 1"),
        ("ok\n\t2\n", 2, "empty term"),
    ],
)
def test_lexicon_errors_name_file_and_line(tmp_path, content, line, needle):
    path = tmp_path / "lex.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_lexicon(path)
    assert f"{path}:{line}" in str(err.value) and needle in str(err.value)


def test_lexicon_missing_or_empty(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_lexicon(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("# only a comment\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no terms"):
        load_lexicon(tmp_path / "empty.txt")


def test_columns_weighted_hits_per_1k_and_distinct(tmp_path):
    sig = signal(tmp_path, "bond\t2\nequity\n")
    cols = run(sig, ["The bond and the bond and equity here", "nothing to see", "", None])
    assert cols["hits"] == [5.0, 0.0, 0.0, 0.0]  # 2 + 2 + 1
    assert cols["per_1k"] == [pytest.approx(5 / 8 * 1000), 0.0, 0.0, 0.0]  # 8 words
    assert cols["distinct"] == [2, 0, 0, 0]
    from curate.signals.base import SIGNALS

    assert SIGNALS.get(KeywordSignal.name).load() is KeywordSignal


def test_phrases_match_across_any_whitespace(tmp_path):
    sig = signal(tmp_path, "interest rate\n")
    assert hits(sig, "the interest rate rose") == 1
    assert hits(sig, "the interest\n   rate rose") == 1
    assert hits(sig, "the interest\u00a0rate rose") == 1  # no-break space
    assert hits(sig, "the interest\u3000rate rose") == 1  # ideographic space
    assert hits(sig, "the interestrate rose") == 0


def test_overlaps_leftmost_longest(tmp_path):
    sig = signal(tmp_path, "interest rate\t2\ninterest rate risk\t3\nrate\t1\nrisk\t1\n")
    cols = run(sig, ["interest rate risk and rate", "risk of interest rate"])
    assert cols["hits"] == [4.0, 3.0]  # "interest rate risk" + "rate"; "risk" + "interest rate"
    assert cols["distinct"] == [2, 2]
    chain = signal(tmp_path, "new york\nyork city\n")
    assert hits(chain, "new york city") == 1  # leftmost wins, the overlapping one is dropped
    assert hits(chain, "york city") == 1


def test_boundary_failure_does_not_hide_a_shorter_match(tmp_path):
    sig = signal(tmp_path, "interest\ninterest rate\t5\n")
    assert hits(sig, "interest rates") == 1  # "interest rate" fails at "s"; "interest" counts


def test_word_boundaries(tmp_path):
    sig = signal(tmp_path, "rate\n10-K\nS&P 500\nU.S.\n")
    assert hits(sig, "rates accurate rate_limit berate") == 0
    assert hits(sig, "rate, (rate) 'rate' rate.") == 4
    assert hits(sig, "our 10-K filing; 110-K and 10-Ks") == 1
    assert hits(sig, "the S&P 500 index, not S&P 5000") == 1
    assert hits(sig, "U.S. and U.S.A") == 2  # a term ending in punctuation needs no right boundary


def test_documents_do_not_match_across_each_other(tmp_path):
    sig = signal(tmp_path, "interest rate\nrate\n")
    cols = run(sig, ["the interest", "rate is up", "interest"])
    assert cols["hits"] == [0.0, 1.0, 0.0]


def test_case_folding(tmp_path):
    sig = signal(tmp_path, "EBITDA\nSEC\n")
    assert hits(sig, "Ebitda and ebitda and EBITDA, sec") == 4
    strict = signal(tmp_path, "EBITDA\nSEC\n", case_sensitive=True)
    assert hits(strict, "Ebitda and ebitda and EBITDA, sec, SEC") == 2


def test_unicode_accents_and_combining_marks(tmp_path):
    sig = signal(tmp_path, "café\nrésumé\n")
    assert hits(sig, "Café, CAFÉ and a RÉSUMÉ") == 3
    assert hits(sig, "cafe\u0301 au lait") == 1  # decomposed é is NFC-normalized first
    plain = signal(tmp_path, "cafe\n")
    assert hits(plain, "café") == 0  # é is a letter: no boundary
    assert hits(plain, "cafe\u0301") == 0
    assert hits(signal(tmp_path, "cafe\n", normalize_unicode=False), "cafe\u0301") == 0  # mark joins word
    assert hits(signal(tmp_path, "straße\n"), "Die STRASSE und die Straße") == 1  # lower(), not casefold()


def test_unicode_scripts_without_spaces(tmp_path):
    sig = signal(tmp_path, "利率\n金融市场\nGDP\n")
    cols = run(sig, ["央行宣布利率上升，金融市场平稳。", "中国GDP增长", "利率利率"])
    assert cols["hits"] == [2.0, 1.0, 2.0]
    assert cols["distinct"] == [2, 1, 1]
    assert cols["per_1k"][0] == 2000.0  # the whole sentence is one whitespace-separated word


def test_unicode_outside_the_basic_plane(tmp_path):
    sig = signal(tmp_path, "rate\n😀 party\n")
    cols = run(sig, ["🙂rate 🙂 rate", "𠀀𠀀 rate", "x 😀   party", "😀party"])
    assert cols["hits"] == [2.0, 1.0, 1.0, 0.0]  # emoji are not letters: they are boundaries


def test_empty_and_whitespace_texts(tmp_path):
    sig = signal(tmp_path, "bond\n")
    cols = run(sig, ["", "   \n\t ", None])
    assert cols == {"hits": [0.0] * 3, "per_1k": [0.0] * 3, "distinct": [0] * 3}
    empty = pa.table({"text": pa.array([], pa.large_string())})
    assert all(len(v) == 0 for v in sig.columns(empty).values())


def test_leftmost_longest_selection():
    starts = np.array([0, 0, 3, 5, 9])
    ends = np.array([4, 1, 7, 6, 9])
    assert sorted(leftmost_longest(starts, ends).tolist()) == [0, 3, 4]


def _reference_hits(text: str, terms: dict[str, float]) -> float:
    """Slow, obvious implementation: try every term at every position, longest first."""
    words = text.lower().split()
    pos, total = 0, 0.0
    by_len = sorted(terms, key=lambda t: -len(t.split()))
    while pos < len(words):
        for term in by_len:
            n = len(term.split())
            if words[pos : pos + n] == term.split():
                total += terms[term]
                pos += n
                break
        else:
            pos += 1
    return total


def test_matches_a_reference_on_random_word_texts(tmp_path):
    terms = {"rate": 1.0, "interest rate": 2.0, "interest rate swap": 3.0, "swap": 0.5, "bank": 1.5, "bank rate": 4.0}
    vocab = ["rate", "interest", "swap", "bank", "the", "of", "rates", "banking"]
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(vocab, size=rng.integers(0, 30))) for _ in range(300)]
    sig = signal(tmp_path, "".join(f"{t}\t{w}\n" for t, w in terms.items()))
    got = run(sig, texts)["hits"]
    assert got == [pytest.approx(_reference_hits(t, terms)) for t in texts]
    assert not all(re.fullmatch(r"0(\.0)?", str(h)) for h in got)


def test_shipped_lexicons_load_and_match():
    ctx = SignalContext(root=REPO)
    fin = KeywordSignal(KeywordConfig(name="finance", lexicon="classifiers/lexicons/finance.txt"), ctx)
    assert len(fin.lexicon.terms) >= 300
    block = KeywordSignal(KeywordConfig(name="blocklist", lexicon="classifiers/lexicons/blocklist.txt"), ctx)
    table = pa.table(
        {
            "text": pa.array(
                [
                    "The Federal Reserve raised the federal funds rate by 25 basis points; EBITDA fell.",
                    "Click here to claim your prize! Act now, 100% free.",
                    "The weather was lovely and we walked by the river.",
                ],
                pa.large_string(),
            )
        }
    )
    fin_hits = fin.columns(table)["kw_finance_hits"].to_pylist()
    block_distinct = block.columns(table)["kw_blocklist_distinct"].to_pylist()
    assert fin_hits[0] >= 6 and fin_hits[2] == 0
    assert block_distinct[1] >= 3 and block_distinct[0] == block_distinct[2] == 0
    assert KeywordSignal(KeywordConfig(), ctx).lexicon.terms == fin.lexicon.terms  # default lexicon
    assert DEFAULT_LEXICON.is_file()


def test_config_validation():
    assert KeywordConfig.model_validate({}).name == "finance"
    with pytest.raises(ValidationError):
        KeywordConfig.model_validate({"name": "bad name"})
    with pytest.raises(ValidationError):
        KeywordConfig.model_validate({"lexicon": "x.txt", "regex": True})


# --- batch kernels vs straightforward references (the fast path must give identical results) ---

TRICKY = [
    "", " ", "\n\n\t ", None, "a", " lead and trail ", "double  space\n\nand\r\nbreaks",
    "no\u00a0break\u2009thin\u3000ideographic\u2028line", "\x1cunit\x1fseparators\x0bvt\x0cff",
    "利率上升 利率 银行", "café  cafe\u0301  CAFÉ", "ends with space\u00a0", "\u3000", "x\u0085y", "tab\tonly",
]


def test_fold_whitespace_equals_split_and_join():
    from curate.signals.keyword_scan import fold_whitespace

    rng = np.random.default_rng(1)
    pieces = ["a", "bc", "é", "利", " ", "  ", "\n", "\t", "\u00a0", "\r\n", "\u3000", "\x1d"]
    texts = [t or "" for t in TRICKY] + ["".join(rng.choice(pieces, size=rng.integers(0, 12))) for _ in range(500)]
    for typ in (pa.string(), pa.large_string()):
        arr = pa.array(texts, typ)
        folded, spaces = fold_whitespace(arr)
        expected = [" ".join(t.split()) for t in texts]
        assert folded.to_pylist() == expected
        assert spaces.tolist() == [e.count(" ") for e in expected]
        sliced, _ = fold_whitespace(arr.slice(7, 40))
        assert sliced.to_pylist() == expected[7:47]


def test_leftmost_longest_equals_a_sequential_scan():
    from curate.signals.keyword_scan import leftmost_longest as fast

    def slow(starts, ends):
        kept, last = [], -1
        for i in sorted(range(len(starts)), key=lambda i: (starts[i], -(ends[i] - starts[i]))):
            if starts[i] > last:
                kept.append(i)
                last = ends[i]
        return kept

    rng = np.random.default_rng(2)
    for _ in range(300):
        k = int(rng.integers(0, 40))
        starts = rng.integers(0, 60, size=k)
        ends = starts + rng.integers(0, 8, size=k)
        assert fast(starts, ends).tolist() == slow(starts.tolist(), ends.tolist())


def _reference_columns(texts, lexicon):
    """Per document, in plain Python: fold, find every term at every position, boundaries, overlaps."""
    from curate.signals.keyword_scan import is_spaced_word_char

    out = {"hits": [], "per_1k": [], "distinct": []}
    for raw in texts:
        text = " ".join(pa.compute.utf8_lower(pa.array([raw or ""])).to_pylist()[0].split())
        found = []
        for t, term in enumerate(lexicon.terms):
            i = text.find(term)
            while i >= 0:
                j = i + len(term) - 1
                left = i == 0 or not (is_spaced_word_char(term[0]) and is_spaced_word_char(text[i - 1]))
                right = j == len(text) - 1 or not (is_spaced_word_char(term[-1]) and is_spaced_word_char(text[j + 1]))
                if left and right:
                    found.append((i, -(j - i), j, t))
                i = text.find(term, i + 1)
        last, hits, distinct = -1, 0.0, set()
        for i, _, j, t in sorted(found):
            if i > last:
                hits += lexicon.weights[t]
                distinct.add(t)
                last = j
        words = len(text.split())
        out["hits"].append(hits)
        out["per_1k"].append(hits * 1000.0 / words if words else 0.0)
        out["distinct"].append(len(distinct))
    return out


def test_signal_equals_a_per_document_reference_on_tricky_text():
    ctx = SignalContext(root=REPO)
    fin = KeywordSignal(KeywordConfig(name="finance", normalize_unicode=False), ctx)
    texts = TRICKY + [
        "Interest\u00a0rate  risk\n\nof the BANK; interest rates and credit cards.",
        "利率上升 利率 the federal funds rate, EBITDA; basis points 基点",
        "é interest rate é", "rate\u2028risk interest rate risk rate", "bankruptcy-bank (bank) _bank bank_",
    ]
    table = pa.table({"text": pa.array(texts, pa.large_string())})
    got = {k.removeprefix("kw_finance_"): v.to_pylist() for k, v in fin.columns(table).items()}
    ref = _reference_columns(texts, fin.lexicon)
    assert got["distinct"] == ref["distinct"]
    assert got["hits"] == pytest.approx(ref["hits"]) and got["per_1k"] == pytest.approx(ref["per_1k"])
    assert sum(ref["distinct"]) >= 8


@pytest.mark.parametrize("dfa_max_terms", [0, 10_000])
def test_both_automaton_kinds_equal_the_reference_on_multibyte_neighbours(monkeypatch, tmp_path, dfa_max_terms):
    """Matches are byte offsets into the UTF-8 scan buffer: the characters next to a match are decoded
    from 1-4 bytes. The DFA (small lexicons) and the library's own choice (large ones) agree."""
    import curate.signals.keywords as kw

    monkeypatch.setattr(kw, "_DFA_MAX_TERMS", dfa_max_terms)
    sig = signal(tmp_path, "bank\nrate\nbank rate\né\n利率\n𝔘x\n", normalize_unicode=False)  # the reference has no NFC
    texts = ["ébank bankérate é bank rate", "𝔘bank bank𝔘 𝔘x 𝔘xbank", "利率bank 利率 bank利率", "ß bank ΣBANK bankΣ",
             "bank\u0301 e\u0301 bank", "\u00a0bank\u2009rate\u3000", "", None, "bank"]
    got = run(sig, texts)
    ref = _reference_columns(texts, sig.lexicon)
    assert got["distinct"] == ref["distinct"] and got["hits"] == pytest.approx(ref["hits"])
    assert sum(ref["distinct"]) >= 8


def test_signal_pickles_and_rebuilds_its_automaton(tmp_path):
    import pickle

    sig = signal(tmp_path, "interest rate\nbank\n")
    copy = pickle.loads(pickle.dumps(sig))
    texts = ["Interest rate at the bank; bank-run", "", None]
    assert run(copy, texts) == run(sig, texts) and run(sig, texts)["distinct"][0] == 2
