"""Heuristic signals against values computed by hand (definitions: docs/signals.md)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from curate.signals.base import SignalContext
from curate.signals.heuristics import HeuristicsConfig, HeuristicsSignal
from curate.signals.ngrams import repeated_groups

approx = pytest.approx


def annotate(texts: list[str | None], **cfg) -> dict[str, list]:
    table = pa.table({"id": [str(i) for i in range(len(texts))], "text": pa.array(texts, pa.large_string())})
    cols = HeuristicsSignal(HeuristicsConfig(**cfg), SignalContext()).columns(table)
    assert all(len(v) == len(texts) for v in cols.values())
    return {k: v.to_pylist() for k, v in cols.items()}


def one(text: str, **cfg) -> dict:
    return {k: v[0] for k, v in annotate([text], **cfg).items()}


def test_word_statistics():
    c = one("The cat, the dog... #tag 42 ok")
    # tokens: The | cat, | the | dog... | #tag | 42 | ok
    assert c["word_count"] == 7
    assert c["char_count"] == 30
    # words after trimming punctuation: the cat the dog tag 42 ok = 3+3+3+3+3+2+2 chars
    assert c["mean_word_length"] == approx(19 / 7)
    assert c["hash_to_word_ratio"] == approx(1 / 7)
    assert c["ellipsis_to_word_ratio"] == approx(1 / 7)
    assert c["symbol_to_word_ratio"] == approx(2 / 7)
    assert c["alpha_word_fraction"] == approx(6 / 7)  # "42" has no letter
    assert c["stop_word_count"] == 2  # the, the
    assert c["stop_word_distinct"] == 1
    assert c["line_count"] == 1
    assert c["max_line_length"] == 30
    assert c["punct_end_line_fraction"] == 0.0


def test_stop_words_count_occurrences_and_distinct():
    c = one("To be or not to be, that is the question. And so.")
    # to, be, to, be, that, the, and  -> 7 occurrences of 5 distinct list words
    assert c["stop_word_count"] == 7
    assert c["stop_word_distinct"] == 5


def test_unicode_words_count_code_points():
    c = one("naïve café\u00a0\u00a0中文")
    assert c["word_count"] == 3  # no-break spaces separate words too
    assert c["char_count"] == 14  # 5 + 1 + 4 + 2 no-break spaces + 2
    assert c["mean_word_length"] == approx((5 + 4 + 2) / 3)
    assert c["alpha_word_fraction"] == 1.0


def test_line_shapes():
    text = '• first item\n- second item\nWait for it...\n  A full sentence.  \n\nShe said "yes"\nno end here'
    c = one(text)
    assert c["line_count"] == 6  # the blank line does not count
    assert c["bullet_line_fraction"] == approx(2 / 6)
    assert c["ellipsis_line_fraction"] == approx(1 / 6)
    assert c["punct_end_line_fraction"] == approx(3 / 6)  # "...", ".", closing quote
    assert c["short_line_fraction"] == 1.0
    assert c["max_line_length"] == 16  # "A full sentence." once trimmed
    assert one(text, short_line_chars=12)["short_line_fraction"] == approx(2 / 6)


def test_duplicate_lines_and_paragraphs():
    c = one("alpha beta\nalpha beta\ngamma\n\nalpha beta\ngamma\n\ndelta")
    # lines 10,10,5,10,5,5 chars; repeats: the 2nd, 4th and 5th line
    assert c["duplicate_line_fraction"] == approx(3 / 6)
    assert c["duplicate_line_char_fraction"] == approx(25 / 45)
    assert c["duplicate_paragraph_fraction"] == 0.0

    c = one("Same para.\n\nOther one.\n \t\nSame para.")
    assert c["duplicate_paragraph_fraction"] == approx(1 / 3)
    assert c["duplicate_paragraph_char_fraction"] == approx(10 / 30)
    assert c["duplicate_line_fraction"] == approx(1 / 3)


def test_top_ngrams_normalize_case_and_punctuation():
    c = one("The cat sat. the CAT sat!")
    # words: the cat sat the cat sat (18 chars); "the cat" and "cat sat" occur twice, 12 chars each
    assert c["top_2gram_char_fraction"] == approx(12 / 18)
    assert c["top_3gram_char_fraction"] == 1.0
    assert c["top_4gram_char_fraction"] == 0.0  # no 4-gram repeats


def test_top_ngram_overlapping_occurrences_count_each_word_once():
    c = one("a b a b a b")
    assert c["top_2gram_char_fraction"] == 1.0  # "a b" x3 covers every word
    assert c["top_3gram_char_fraction"] == approx(5 / 6)  # "a b a" at 0 and 2 covers words 0..4
    assert c["top_4gram_char_fraction"] == 1.0
    assert c["duplicate_5gram_char_fraction"] == 0.0


def test_top_ngram_prefers_the_one_covering_more_characters():
    c = one("tiny ox tiny ox elephant giraffe elephant giraffe")
    # both bigrams occur twice; "elephant giraffe" covers 30 of 42 characters
    assert c["top_2gram_char_fraction"] == approx(30 / 42)


def test_duplicate_ngrams():
    c = one("one two three four five six one two three four five seven")
    # the 5-gram "one two three four five" (19 chars) occurs twice; all words = 46 chars
    assert c["duplicate_5gram_char_fraction"] == approx(38 / 46)
    for n in range(6, 11):
        assert c[f"duplicate_{n}gram_char_fraction"] == 0.0


def test_repeated_sentence():
    c = one("The cat sat on the mat. The cat sat on the mat.\n- item one\n- item one\nLorem ipsum {x}...")
    # words: (the cat sat on the mat) x2 = 34 chars, (item one) x2 = 14, lorem ipsum x = 11 -> 59
    assert c["mean_word_length"] == approx(59 / 19)
    assert c["top_2gram_char_fraction"] == approx(14 / 59)  # "item one" beats "the cat" (12)
    assert c["top_3gram_char_fraction"] == approx(18 / 59)
    assert c["duplicate_5gram_char_fraction"] == approx(34 / 59)
    assert c["duplicate_6gram_char_fraction"] == approx(34 / 59)
    assert c["duplicate_7gram_char_fraction"] == 0.0
    assert c["has_lorem_ipsum"] is True
    assert c["has_curly_bracket"] is True


def test_ngram_prefix_cap():
    text = "aa bb cc dd ee ff gg aa bb cc dd ee ff gg"
    full = one(text)
    assert full["duplicate_5gram_char_fraction"] == 1.0
    assert full["top_2gram_char_fraction"] == approx(8 / 28)
    capped = one(text, ngram_max_chars=20)  # only "aa bb cc dd ee ff gg": nothing repeats
    assert capped["duplicate_5gram_char_fraction"] == 0.0
    assert capped["top_2gram_char_fraction"] == 0.0
    assert capped["word_count"] == 14  # the other columns still see the whole text


def test_documents_in_a_batch_do_not_see_each_other():
    texts = [
        "alpha beta gamma delta epsilon",
        "alpha beta gamma delta epsilon",
        "x y z x y z x y z x y z",
        "",
        "Line\nLine\n\nPara\n\nPara",
    ]
    together = annotate(texts)
    assert together["duplicate_5gram_char_fraction"][:2] == [0.0, 0.0]
    assert together["top_2gram_char_fraction"][:2] == [0.0, 0.0]
    for i, text in enumerate(texts):
        alone = one(text)
        assert {k: v[i] for k, v in together.items()} == alone


def test_boilerplate_lines():
    c = one("Please enable JavaScript to view.\nRead our Privacy Policy.\nWe use cookies.\nA normal line")
    assert c["javascript_line_count"] == 1
    assert c["javascript_line_fraction"] == approx(1 / 4)
    assert c["policy_line_count"] == 2  # "privacy policy", "use cookies"
    assert c["policy_line_fraction"] == approx(2 / 4)
    assert c["has_lorem_ipsum"] is False
    assert one("LOREM IPSUM dolor sit amet")["has_lorem_ipsum"] is True


def test_empty_and_null_documents():
    cols = annotate(["", None, "   \n\n  "])
    assert cols.pop("char_count") == [0, 0, 7]
    for name, values in cols.items():
        assert values == [0, 0, 0] or values == [False, False, False], name


def test_column_names_and_types():
    table = pa.table({"text": pa.array(["some words here"], pa.large_string())})
    cols = HeuristicsSignal(HeuristicsConfig(top_ngram_sizes=[2], dup_ngram_sizes=[5, 10]), SignalContext()).columns(
        table
    )
    assert "top_2gram_char_fraction" in cols and "top_3gram_char_fraction" not in cols
    assert "duplicate_10gram_char_fraction" in cols and "duplicate_6gram_char_fraction" not in cols
    assert cols["word_count"].type == pa.int64()
    assert cols["mean_word_length"].type == pa.float64()
    assert cols["has_lorem_ipsum"].type == pa.bool_()
    from curate.signals.base import SIGNALS

    assert SIGNALS.get(HeuristicsSignal.name).load() is HeuristicsSignal


def test_config_defaults_and_validation():
    cfg = HeuristicsConfig.model_validate({})
    assert cfg.top_ngram_sizes == [2, 3, 4] and cfg.dup_ngram_sizes == [5, 6, 7, 8, 9, 10]
    with pytest.raises(ValidationError):
        HeuristicsConfig.model_validate({"unknown": 1})
    with pytest.raises(ValidationError):
        HeuristicsConfig.model_validate({"dup_ngram_sizes": [0]})
    with pytest.raises(ValidationError):
        HeuristicsConfig.model_validate({"stop_words": ["The"]})


def _reference_ngrams(words: list[str], n: int) -> tuple[float, float]:
    """Slow, literal (top, duplicate) n-gram character fractions for one document."""
    total = sum(len(w) for w in words)
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)

    def covered_by(pred) -> int:
        cover = [False] * len(words)
        for i, g in enumerate(grams):
            if pred(g):
                cover[i : i + n] = [True] * n
        return sum(len(w) for w, c in zip(words, cover) if c)

    if not grams or total == 0:
        return 0.0, 0.0
    dup = covered_by(lambda g: counts[g] >= 2) / total
    best = max(counts.values())
    top = 0.0 if best < 2 else max(covered_by(lambda g, t=t: g == t) for t, c in counts.items() if c == best) / total
    return top, dup


def test_ngram_columns_match_a_literal_reference():
    rng = np.random.default_rng(7)
    vocab = ["a", "bb", "ccc", "dddd", "the", "of", "market"]
    docs = [list(rng.choice(vocab[: rng.integers(2, 8)], size=rng.integers(0, 60))) for _ in range(200)]
    cols = annotate([" ".join(d) for d in docs], top_ngram_sizes=[1, 2, 3, 4], dup_ngram_sizes=[5, 7, 10])
    for i, words in enumerate(docs):
        for n in (1, 2, 3, 4):
            assert cols[f"top_{n}gram_char_fraction"][i] == approx(_reference_ngrams(words, n)[0]), (i, n)
        for n in (5, 7, 10):
            assert cols[f"duplicate_{n}gram_char_fraction"][i] == approx(_reference_ngrams(words, n)[1]), (i, n)
    assert any(v > 0 for v in cols["duplicate_10gram_char_fraction"])


def test_repeated_groups_on_both_paths():
    rng = np.random.default_rng(4)
    fast = rng.integers(0, 2**63, size=3000, dtype=np.int64).astype(np.uint64)[rng.integers(0, 3000, size=6000)]
    collide = np.array([5, 3, 5, 7, 7, 7, 2, 9], dtype=np.uint64)  # 5 and 7 share their high bits when packed
    for keys in (fast, collide, fast[:1], fast[:0]):
        members, heads = repeated_groups(keys)
        expected = {}
        for i, k in enumerate(keys.tolist()):
            expected.setdefault(k, []).append(i)
        groups = np.split(members, heads[1:]) if len(members) else []
        assert sorted(g.tolist() for g in groups) == sorted(g for g in expected.values() if len(g) >= 2)
