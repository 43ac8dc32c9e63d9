"""The byte-level heuristics kernels against a frozen copy of the Arrow-splitting implementation
(tests/reference_heuristics.py): every column must be identical, on hand-made tricky text and on
random text built from the characters that matter (every kind of whitespace, multi-byte
punctuation, CJK, combining accents, 4-byte characters)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from curate.signals.base import SignalContext
from curate.signals.heuristics import HeuristicsConfig, HeuristicsSignal
from curate.signals.text_bytes import encode_pairs, encode_pairs_exactly, segment
from reference_heuristics import ReferenceHeuristics

WHITESPACE = [chr(c) for c in (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                               0x2028, 0x2029, 0x202F, 0x205F, 0x3000)]

TRICKY = [
    "",
    None,
    " ",
    "\n\n\n",
    "The cat, the dog... #tag 42 ok",
    "word",
    "  leading and trailing  \n",
    "- item one\n* item two\n\u2022 item three\n\u00b7 middot\n\u27a4 arrow\nplain",
    "Read more...\nand more\u2026\n..\n...\n. . .\nend.",
    "Line one.\nLine one.\n  Line one.  \nLine two!\n\n\nLine one.",
    "Para A\n\nPara B\n \t \nPara A\n\u3000\nPara B\n\x0b\nnot a break\n\x1c\nnor this\n\x85\nnor\n\u2028\nyes",
    "Enable JavaScript to view.\njavascript:void(0)\nJAVASCRİPT\njavaſcript",
    "Read our Privacy Policy.\nTERMS OF USE\nthis site uses cookies\ncookie policy here",
    "Lorem ipsum dolor sit amet {x}",
    "caf\u00e9 cafe\u0301 CAF\u00c9 na\u00efve \u00e9\u00e9\u00e9 \u00e9\u00e9\u00e9",
    "\u5229\u7387\u4e0a\u5347\u3002\u5e02\u573a\uff01\u4ec0\u4e48\uff1f \u5229\u7387\u4e0a\u5347\u3002",
    "emoji \U0001F600 \U0001F600 end \U0001F600\n\U0001F600",
    "\u201cQuoted,\u201d she said\u2019 \u00abguillemets\u00bb \u2014 dash \u2013 \u300cCJK\u300d",
    "nbsp\u00a0joined\u00a0words thin\u2009space ideo\u3000space nel\u0085here ls\u2028ps\u2029end",
    "x" * 5000 + " " + "y " * 3000,
    "a b a b a b a b a b a b c d e f g a b a b a b",
    ("the market rose " * 40).strip(),
    "\r\nwindows\r\nlines\r\n\r\nwindows\r\nlines\r\n",
    "tab\tseparated\tvalues\x1fand\x1eunit\x1dseps\x1cok",
    "-- ... !!! ### \u2026\u2026 \u2022",
    "\u0130stanbul \u0130STANBUL istanbul \u0391\u0392\u0393 \u03b1\u03b2\u03b3",
    "end with quote'\nend with \u201d\nend with \u00bb\nend with \uff1f\nend with \u3002",
]


def _reference(texts, **cfg):
    table = pa.table({"text": pa.array(texts, pa.large_string())})
    return ReferenceHeuristics(HeuristicsConfig(**cfg)).columns(table)


def _new(texts, **cfg):
    table = pa.table({"text": pa.array(texts, pa.large_string())})
    return HeuristicsSignal(HeuristicsConfig(**cfg), SignalContext()).columns(table)


def _assert_same(texts, **cfg):
    ref, new = _reference(texts, **cfg), _new(texts, **cfg)
    assert list(new) == list(ref)
    for name in ref:
        r, got = ref[name], new[name]
        assert got.type == r.type, name
        if not got.equals(r):
            bad = [i for i, (a, b) in enumerate(zip(got.to_pylist(), r.to_pylist())) if a != b]
            raise AssertionError(f"{name} differs at docs {bad[:5]}: {[texts[i] for i in bad[:2]]!r} "
                                 f"new {[got[i].as_py() for i in bad[:3]]} ref {[r[i].as_py() for i in bad[:3]]}")


def test_tricky_documents_match_the_reference():
    _assert_same(TRICKY)
    for text in TRICKY:  # each alone too: batch boundaries and buffer edges
        _assert_same([text])


def _random_docs(rng, n_docs):
    alphabet = (
        WHITESPACE * 3
        + ["\n"] * 30
        + ["a", "b", "The", "the", "of", "x", "1", "#", ".", "...", ",", "-", "*", "'", '"', "!", "?"] * 4
        + ["\u2026", "\u2022", "\u00b7", "\u201d", "\u2019", "\u00bb", "\u3002", "\uff01", "\uff1f", "\u300c"]
        + ["\u00e9", "e\u0301", "\u5229", "\u7387", "\U0001F600", "\u0130", "\u017f", "\u212a", "{", "lorem ipsum"]
        + ["javascript", "JavaScript", "privacy policy", "Terms of Use", " word ", "\u00a0\n\u00a0", "\n \n"]
    )
    docs = []
    for _ in range(n_docs):
        k = int(rng.integers(0, 80))
        pieces = rng.choice(len(alphabet), size=k)
        docs.append("".join(alphabet[i] for i in pieces))
    return docs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_documents_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    docs = _random_docs(rng, 400)
    _assert_same(docs)
    _assert_same(docs, top_ngram_sizes=[1, 2], dup_ngram_sizes=[3, 5], short_line_chars=3)


def test_prefix_cap_and_sliced_arrays_match_the_reference():
    rng = np.random.default_rng(9)
    docs = _random_docs(rng, 50) + ["ab cd " * 50 + "\u00e9f " * 40, "\u00e9 " * 40]
    new = _new(docs, ngram_max_chars=60)
    # n-gram columns see the first 60 characters. The reference is given them cut by Python: its own
    # cut (`utf8_slice_codeunits` then `utf8_split_whitespace`) lets Arrow 26 return a token made of
    # bytes past the end of a non-ASCII string that ends in whitespace, so it is not a reference there.
    ref_cut = _reference([d[:60] for d in docs], ngram_max_chars=0)
    ref_whole = _reference(docs)
    for name in ref_whole:
        ref = ref_cut if "gram" in name else ref_whole
        assert new[name].equals(ref[name]), name
    # a sliced (offset) text column
    table = pa.table({"text": pa.array(["skip me"] + docs, pa.string())}).slice(1)
    ref = ReferenceHeuristics(HeuristicsConfig()).columns(table)
    new = HeuristicsSignal(HeuristicsConfig(), SignalContext()).columns(table)
    for name in ref:
        assert new[name].equals(ref[name]), name


def test_byte_whitespace_is_arrow_whitespace_for_every_code_point():
    # every code point (but surrogates) between two letters: split by Arrow <=> split by the byte mask
    cps = [c for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    texts = pa.array(["a" + chr(c) + "b" for c in cps], pa.string())
    arrow_split = np.asarray(pc.list_value_length(pc.utf8_split_whitespace(texts)), dtype=np.int64) > 1
    seg = segment(texts)
    byte_split = np.diff(seg.bounds) > 1
    assert np.array_equal(arrow_split, byte_split)
    assert sorted(chr(c) for c in np.asarray(cps)[byte_split]) == sorted(WHITESPACE)


def test_token_vocabulary_gives_equal_ids_to_equal_tokens_only():
    # tokens around the 8- and 16-byte key widths, sharing their first 8 or 16 bytes, multi-byte
    # characters across the word edge, NUL bytes (taken as strings), and a long token
    rng = np.random.default_rng(5)
    pieces = ["abcdefgh", "abcdefghi", "abcdefghij", "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefgh\u00e9",
              "abcdefg\u00e9", "\u00e9\u00e9\u00e9\u00e9", "\u00e9\u00e9\u00e9\u00e9\u00e9", "a\x00b", "a\x00", "\x00",
              "x" * 40, "x" * 41, "The", "the", "a", "ab", "\U0001F600" * 4, "\U0001F600" * 5]
    docs = [" ".join(rng.choice(pieces, size=int(rng.integers(0, 30)))) for _ in range(60)] + ["", "abcdefgh"]
    texts = pa.array(docs, pa.large_string())
    seg = segment(texts)
    ids, vocab = seg.token_vocabulary()
    tokens = [t for d in docs for t in d.split(" ") if t]
    assert vocab.take(pa.array(ids)).to_pylist() == tokens
    assert len(set(vocab.to_pylist())) == len(vocab)  # one entry per distinct token
    _assert_same(docs)


def test_phrase_clues_find_every_case_folded_phrase():
    # RE2's case folding matches LONG S for s and KELVIN SIGN for k: those spellings must still reach
    # the regex; the columns are compared with the reference, which searches every document
    docs = ["Terms of u\u017fe", "TERM\u017f OF USE here", "privacy Policy.", "xprivacy policy", "(cookies)",
            "we u\u017fe coo\u212aies", "coo\u212aie policy", "COOKIE\u00a0POLICY", "use of Cookies!", "Lorem ip\u017fum",
            "LOREM IPSUM", "xlorem ipsumx", "lorem  ipsum", "JAVA\u017fCRIPT", "java script", "terms\nof use",
            "terms of user", "the term of use", "privacy\u3000policy", "cookies policy", ""]
    _assert_same(docs)
    _assert_same([" ".join(docs)])


def test_pair_encodings_group_equal_pairs_only():
    rng = np.random.default_rng(11)
    w0 = rng.integers(0, 5, 3000).astype(np.uint64) * np.uint64(0x0101010101010101)
    w1 = rng.integers(0, 7, 3000).astype(np.uint64) << np.uint64(8)
    _, expected = np.unique(np.stack((w0, w1), axis=1), axis=0, return_inverse=True)
    for encode in (encode_pairs, encode_pairs_exactly):
        ids, table = encode(w0, w1)
        assert np.array_equal(table[ids, 0], w0) and np.array_equal(table[ids, 1], w1)
        assert len(table) == len(np.unique(expected))  # one id per distinct pair


def test_ngrams_running_over_a_document_end_never_count():
    # the bigram "y z" at the end of the first document and the start of the second would repeat
    # "y z" inside the first; the trigrams "a a | a" and "a a | a a" over the end of "a a" are equal
    _assert_same(["x y z y", "z w", "a a", "a a", "a a a"])
    _assert_same(["x y z y", "z w", "a a", "a a", "a a a"], top_ngram_sizes=[3], dup_ngram_sizes=[4, 5])
    cols = _new(["a a", "a a"], top_ngram_sizes=[3], dup_ngram_sizes=[4])
    assert cols["top_3gram_char_fraction"].to_pylist() == [0.0, 0.0]
