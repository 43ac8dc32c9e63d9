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
