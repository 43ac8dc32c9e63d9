"""The committed sample corpus is exactly what scripts/make_sample.py produces, and has the advertised shape.

Compressed files are compared by content (decompressed lines, Parquet rows), because zlib builds may
encode the same bytes differently; byte identity is checked between two runs in this environment.
The duplicate and near-duplicate checks below use their own shingling, not the generator's.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
import zstandard

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
README = ROOT / "data" / "README.md"
DEMO_JSONL = ["finance/filings.jsonl.gz", "finance/minutes.jsonl.gz", "finance/commentary.jsonl.zst",
              "finance/contacts.jsonl.gz", "web/pages.jsonl.gz"]
TRAIN = ["train/finance_pos.jsonl.gz", "train/general_neg.jsonl.gz", "train/quality_pos.jsonl.gz",
         "train/quality_neg.jsonl.gz"]


def _load_generator():
    path = ROOT / "scripts" / "make_sample.py"
    spec = importlib.util.spec_from_file_location("make_sample", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return _load_generator()


@pytest.fixture(scope="module")
def built(gen) -> dict[str, bytes]:
    return gen.build()


def decode(rel: str, data: bytes):
    """Content of one sample file in a form that does not depend on the compressor build."""
    if rel.endswith(".gz"):
        return gzip.decompress(data)
    if rel.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if rel.endswith(".parquet"):
        return pq.read_table(io.BytesIO(data)).to_pylist()
    return data


def records(rel: str) -> list[dict]:
    return [orjson.loads(line) for line in decode(rel, (SAMPLE / rel).read_bytes()).splitlines()]


def demo_texts() -> dict[str, tuple[str, str]]:
    """id -> (file, text) for every demo document, read with plain libraries."""
    out: dict[str, tuple[str, str]] = {}

    def put(doc_id: str, rel: str, text: str) -> None:
        assert doc_id not in out, f"duplicate id {doc_id} in {rel} and {out[doc_id][0]}"
        out[doc_id] = (rel, text)

    for rel in DEMO_JSONL:
        for r in records(rel):
            put(r["id"], rel, r["text"])
    for row in pq.read_table(SAMPLE / "general" / "general.parquet").to_pylist():
        put(row["id"], "general/general.parquet", row["text"])
    for p in sorted((SAMPLE / "general" / "txt").glob("*.txt")):
        put(p.stem, f"general/txt/{p.name}", p.read_text(encoding="utf-8"))
    return out


def shingles(text: str, n: int = 5) -> frozenset:
    w = text.lower().split()
    return frozenset([tuple(w)] if len(w) < n else (tuple(w[i:i + n]) for i in range(len(w) - n + 1)))


def similar_pairs(docs: dict[str, str], threshold: float) -> set[tuple[str, str]]:
    """All id pairs with 5-gram Jaccard >= threshold (inverted index, exact Jaccard)."""
    sh = {k: shingles(v) for k, v in docs.items()}
    post = defaultdict(list)
    for k, s in sh.items():
        for g in s:
            post[g].append(k)
    inter: dict[tuple[str, str], int] = defaultdict(int)
    for ids in post.values():
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                inter[(min(a, b), max(a, b))] += 1
    return {p for p, n in inter.items() if n / (len(sh[p[0]]) + len(sh[p[1]]) - n) >= threshold}


# --- the committed files are the generator's output ----------------------------------------------

def test_committed_files_equal_generator_output(built):
    on_disk = sorted(str(p.relative_to(SAMPLE)) for p in SAMPLE.rglob("*") if p.is_file())
    expected = sorted(k for k in built if k != "README.md")
    assert on_disk == expected, "data/sample differs in file list: run `python scripts/make_sample.py`"
    for rel in expected:
        assert decode(rel, (SAMPLE / rel).read_bytes()) == decode(rel, built[rel]), (
            f"data/sample/{rel} is stale: run `python scripts/make_sample.py`")
    assert README.read_text(encoding="utf-8") == built["README.md"].decode()


def test_two_runs_are_byte_identical(gen, built):
    again = gen.build()
    assert {k: hashlib.sha256(v).hexdigest() for k, v in again.items()} == \
        {k: hashlib.sha256(v).hexdigest() for k, v in built.items()}


def test_other_seed_gives_other_corpus(gen, built):
    other = gen.build(seed=gen.SEED + 1)
    assert decode("web/pages.jsonl.gz", other["web/pages.jsonl.gz"]) != decode("web/pages.jsonl.gz",
                                                                                built["web/pages.jsonl.gz"])


def test_gzip_headers_carry_no_mtime():
    for p in SAMPLE.rglob("*.gz"):
        head = p.read_bytes()[:10]
        assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0", p


# --- the advertised shape ---------------------------------------------------------------------------

def test_formats_fields_and_sizes():
    for rel in DEMO_JSONL + TRAIN:
        for r in records(rel):
            assert set(r) == {"id", "text", "meta"} and isinstance(r["text"], str) and r["text"].strip(), rel
    assert pq.read_schema(SAMPLE / "general" / "general.parquet").names == ["id", "text"]
    txt = list((SAMPLE / "general" / "txt").glob("*.txt"))
    assert 15 <= len(txt) <= 30
    total = sum(p.stat().st_size for p in (ROOT / "data").rglob("*") if p.is_file())
    assert total < 3_000_000


def test_demo_counts_lengths_and_kinds():
    docs = demo_texts()
    by_folder = defaultdict(list)
    for rel, text in docs.values():
        by_folder[rel.split("/")[0]].append(text)
    assert 110 <= len(by_folder["finance"]) <= 140
    assert 110 <= len(by_folder["general"]) <= 140
    assert 90 <= len(by_folder["web"]) <= 130
    fin_words = [len(t.split()) for t in by_folder["finance"]]
    assert min(fin_words) >= 80 and max(fin_words) <= 600
    total = sum(len(text.encode()) for _, text in docs.values())
    assert 500_000 <= total <= 1_500_000
    web = records("web/pages.jsonl.gz")
    kinds = {r["meta"].get("kind") for r in web}
    assert {"boilerplate", "spam", "non_english", "short", "web_article"} <= kinds
    langs = {r["meta"]["lang"] for r in web if r["meta"].get("kind") == "non_english"}
    assert {"de", "fr", "es", "it", "ru", "ja", "zh", "ar", "el"} <= langs
    assert any(len(r["text"].split()) <= 3 for r in web)
    web_text = "\n".join(r["text"] for r in web).lower()
    for marker in ("lorem ipsum", "cookies", "javascript", "click here", "mortgage", "bitcoin"):
        assert marker in web_text, marker
    catalog = json.loads((SAMPLE / "catalog.json").read_text())
    assert sorted(c["id"] for c in catalog) == sorted(docs)


def test_planted_duplicates_are_exactly_the_similar_pairs():
    docs = {k: text for k, (_, text) in demo_texts().items()}
    dups = json.loads((SAMPLE / "duplicates.json").read_text())
    exact = [d for d in dups if d["kind"] == "exact"]
    near = [d for d in dups if d["kind"] == "near"]
    assert 8 <= len(exact) <= 12 and 12 <= len(near) <= 18
    scopes = {d["scope"] for d in dups}
    assert {"same_file", "cross_source"} <= scopes
    for d in exact:
        assert d["a"] != d["b"] and docs[d["a"]] == docs[d["b"]]
    for d in near:
        assert docs[d["a"]] != docs[d["b"]]
        assert d["word_edit_fraction"] == 0 or 0.05 <= d["word_edit_fraction"] <= 0.20
    # the only pairs at or above 0.5 Jaccard are the planted ones (and pairs sharing a planted original)
    planted = {(min(d["a"], d["b"]), max(d["a"], d["b"])) for d in dups}
    found = similar_pairs(docs, 0.5)
    assert found <= planted, f"unplanted near duplicates: {sorted(found - planted)[:5]}"
    assert {(min(d["a"], d["b"]), max(d["a"], d["b"])) for d in exact} <= found
    assert len(found & planted) >= len(exact) + len(near) - 2  # at most two heavy edits drop below 0.5


def test_training_sets_are_separate_from_demo():
    demo = {text for _, text in demo_texts().values()}
    train: dict[str, str] = {}
    for rel in TRAIN:
        recs = records(rel)
        assert 270 <= len(recs) <= 330, rel
        labels = {r["meta"]["label"] for r in recs}
        assert len(labels) == 1, rel
        lens = [len(r["text"].split()) for r in recs]
        assert min(lens) >= 40 and max(lens) <= 500, rel
        assert len({r["text"] for r in recs}) == len(recs), f"exact repeats inside {rel}"
        for r in recs:
            assert r["text"] not in demo
            train[r["id"]] = r["text"]
    demo_ids = {f"demo:{i}": t for i, t in enumerate(sorted(demo))}
    cross = {p for p in similar_pairs({**demo_ids, **train}, 0.5)
             if p[0].startswith("demo:") != p[1].startswith("demo:")}
    assert not cross, f"training documents too close to demo documents: {sorted(cross)[:5]}"
    # hard negatives: the non-finance set uses finance words too
    neg = " ".join(r["text"].lower() for r in records("train/general_neg.jsonl.gz"))
    for word in ("loan", "mortgage", "interest", "crypto"):
        assert word in neg, word


def test_bad_lines_fixture():
    lines = (SAMPLE / "web" / "bad_lines.jsonl").read_bytes().splitlines()
    assert len(lines) == 5
    for i in (0, 4):
        assert orjson.loads(lines[i])["text"]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(lines[1])
    assert "text" not in orjson.loads(lines[2])
    with pytest.raises(UnicodeDecodeError):
        lines[3].decode("utf-8")
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    assert [b["line"] for b in manifest["bad_lines"]["bad"]] == [2, 3, 4]


def test_pii_pages_and_eval_set():
    from curate.pii.config import PiiConfig
    from curate.pii.engine import scan

    recs = records("finance/contacts.jsonl.gz")
    assert len(recs) == 8
    _, counts = scan([r["text"] for r in recs], PiiConfig())
    for i, r in enumerate(recs):  # the engine finds exactly the planted items, nothing else
        found = sorted(k for k, c in counts.items() for _ in range(int(c[i])))
        assert found == sorted(r["meta"]["pii"]), r["id"]
    quiz = [orjson.loads(line) for line in (SAMPLE / "evals" / "finance_quiz.jsonl").read_bytes().splitlines()]
    assert len(quiz) == 10 and sum(q["leaked_from"] is not None for q in quiz) == 4
    texts = {k: text for k, (_, text) in demo_texts().items()}
    for q in quiz:
        if q["leaked_from"]:
            assert q["question"].removeprefix("Complete the passage: ") in " ".join(texts[q["leaked_from"]].split())
