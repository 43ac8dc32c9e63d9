"""Write the embedded sample corpus (data/sample/) and its README, deterministically from one seed.

Why: `pipelines/demo.yaml`, the tests and the demo classifiers need a small corpus that exercises every
reader format, every signal (heuristics, language id, keywords, classifiers, dedup) and every
quarantine path, and that the project may ship. All prose comes from `sample_text.py` (written for
this project); this module decides the layout: which documents go to which file and format, the
planted exact and near duplicates, the malformed lines, and the separate classifier training sets.

Usage: ``python scripts/make_sample.py [--out data/sample] [--readme data/README.md] [--seed N]``.
Running it twice gives byte-identical files: gzip headers carry mtime 0, zstd and the Parquet writer
are deterministic for fixed options, and every random choice descends from the seed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sample_text as st  # noqa: E402  (sibling module, found via the line above)

SEED = 20240611
ROOT = Path(__file__).resolve().parent.parent
SHINGLE = 5                 # word n-gram size for the near-duplicate bookkeeping
UNPLANTED_MAX_JACCARD = 0.5  # generated documents stay below this against every other document

FIN_FILES = {"filings": "finance/filings.jsonl.gz", "minutes": "finance/minutes.jsonl.gz",
             "commentary": "finance/commentary.jsonl.zst"}
GEN_PARQUET = "general/general.parquet"
GEN_TXT_DIR = "general/txt"
WEB_FILE = "web/pages.jsonl.gz"
BAD_FILE = "web/bad_lines.jsonl"
CONTACT_FILE = "finance/contacts.jsonl.gz"  # finance pages that carry PII (for the demo's redaction)
EVAL_FILE = "evals/finance_quiz.jsonl"  # a tiny benchmark, partly leaked into the demo (for decontamination)


# --------------------------------------------------------------------------------------------------
# Documents and the near-duplicate guard
# --------------------------------------------------------------------------------------------------

@dataclass
class Doc:
    id: str
    text: str
    meta: dict
    file: str = ""


def shingles(text: str) -> set[tuple[str, ...]]:
    """Lower-cased word 5-grams; a document shorter than that is one shingle of all its words."""
    w = text.lower().split()
    if len(w) < SHINGLE:
        return {tuple(w)}
    return {tuple(w[i:i + SHINGLE]) for i in range(len(w) - SHINGLE + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass
class NearDupIndex:
    """Inverted index of shingles, so a candidate is compared only with documents it shares shingles with."""
    postings: dict = field(default_factory=lambda: defaultdict(list))
    sizes: list[int] = field(default_factory=list)

    def max_jaccard(self, sh: set) -> float:
        hits: Counter = Counter()
        for s in sh:
            hits.update(self.postings.get(s, ()))
        return max((n / (len(sh) + self.sizes[i] - n) for i, n in hits.items()), default=0.0)

    def add(self, sh: set) -> None:
        i = len(self.sizes)
        self.sizes.append(len(sh))
        for s in sh:
            self.postings[s].append(i)


def log_uniform(rng: random.Random, lo: int, hi: int) -> int:
    """Length targets: many short-to-medium documents and a tail of long ones, as in real corpora."""
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def make_docs(rng: random.Random, plan: list[tuple[st.Composer, dict]], lo: int, hi: int, prefix: str,
              index: NearDupIndex, start: int = 1, min_words: int = 0, max_words: int = 10**9,
              add: bool = True) -> list[Doc]:
    """One document per plan entry, redrawn until it is no near duplicate of anything in index.

    add=True indexes each new document too (the demo: no two documents alike unless planted); add=False
    only keeps documents away from what is indexed (training sets: away from the demo, and no exact
    repeats within the set, but templated siblings inside one training set are allowed).
    """
    docs: list[Doc] = []
    seen: set[str] = set()
    for n, (composer, extra) in enumerate(plan, start):
        for _ in range(200):
            text, meta = composer(rng, log_uniform(rng, lo, hi))
            sh = shingles(text)
            if (min_words <= st.words(text) <= max_words and text not in seen
                    and index.max_jaccard(sh) < UNPLANTED_MAX_JACCARD):
                break
        else:
            raise RuntimeError(f"could not draw a distinct {composer.__name__} document; widen its pools")
        seen.add(text)
        if add:
            index.add(sh)
        docs.append(Doc(f"{prefix}-{n:04d}", text, {**meta, **extra}))
    return docs


def cycle_plan(rng: random.Random, composers: dict[str, st.Composer], n: int) -> list[tuple[st.Composer, dict]]:
    """n composers, as evenly spread over the kinds as n allows, in a seeded order."""
    names = sorted(composers)
    plan = [(composers[names[i % len(names)]], {}) for i in range(n)]
    rng.shuffle(plan)
    return plan


# --------------------------------------------------------------------------------------------------
# Near-duplicate edits
# --------------------------------------------------------------------------------------------------

EDIT_WORDS = ["the", "new", "recent", "several", "local", "major", "early", "small", "also", "still", "often",
              "later", "many", "further", "notably", "again", "usually", "largely", "some", "other"]


def edit_words(rng: random.Random, text: str, frac: float) -> str:
    """Edit about frac of the words in 2-4 contiguous runs: substitute, delete or insert a word.

    Runs rather than scattered edits, as in real revisions (a reworded sentence, an updated figure).
    """
    paras = [p.split(" ") for p in text.split("\n\n")]
    slots = [(pi, wi) for pi, p in enumerate(paras) for wi in range(len(p))]
    n_edit = max(1, round(frac * len(slots)))
    runs = rng.randint(2, 4)
    lengths = [n_edit // runs + (1 if r < n_edit % runs else 0) for r in range(runs)]
    ops: dict[tuple[int, int], str] = {}
    for length in lengths:
        if length == 0:
            continue
        for _ in range(50):  # find a free stretch of slots
            start = rng.randrange(0, max(1, len(slots) - length))
            stretch = slots[start:start + length]
            if not any(s in ops for s in stretch):
                break
        for s in stretch:
            ops[s] = rng.choice(["sub", "sub", "sub", "del", "ins"])
    out = []
    for pi, p in enumerate(paras):
        ws: list[str] = []
        for wi, w in enumerate(p):
            op = ops.get((pi, wi))
            if op == "sub":
                ws.append(rng.choice(EDIT_WORDS))
            elif op == "ins":
                ws += [rng.choice(EDIT_WORDS), w]
            elif op != "del":
                ws.append(w)
        out.append(" ".join(ws) if ws else p[0])
    return "\n\n".join(out)


def reorder_paragraphs(rng: random.Random, text: str) -> str:
    """Shuffle the body paragraphs, keeping the first (title or lead) in place."""
    paras = text.split("\n\n")
    if len(paras) < 3:
        return text
    body = paras[1:]
    for _ in range(10):
        rng.shuffle(body)
        if body != paras[1:]:
            break
    return "\n\n".join([paras[0]] + body)


def add_boilerplate(rng: random.Random, text: str) -> str:
    """Wrap a document in page furniture: a nav line and a cookie banner above, a footer below."""
    f = st.Filler(rng, site=rng.choice(st.SITES), cyear=rng.randint(2015, 2024))
    head = [f(rng.choice(st.NAV[:6])), rng.choice(st.COOKIE)]
    tail = [f(rng.choice(st.FOOTER[:3]))]
    return "\n".join(head) + "\n\n" + text + "\n\n" + "\n".join(tail)


# --------------------------------------------------------------------------------------------------
# Demo corpus
# --------------------------------------------------------------------------------------------------

WEB_PLAN: list[tuple[str, int]] = [  # (kind, count)
    ("boilerplate", 20), ("spam", 14), ("seo_spam", 3), ("short", 10), ("chat", 5), ("web_article", 20),
]
FOREIGN_PLAN = {"de": 5, "fr": 5, "es": 5, "it": 4, "ru": 2, "el": 1, "ja": 2, "zh": 2, "ar": 1}
WEB_COMPOSERS: dict[str, st.Composer] = {
    "spam": st.spam, "seo_spam": st.seo_stuffing, "short": st.short_doc,
    "chat": st.chat_fragment, "web_article": st.web_article,
}

# (a's pool, b's destination file, kind, edits); pools: "filings", "minutes", "commentary", "general", "txt", "web"
DUP_PLAN: list[tuple[str, str, str, tuple[str, ...], float]] = [
    ("filings", FIN_FILES["commentary"], "exact", (), 0.0),
    ("filings", WEB_FILE, "exact", (), 0.0),
    ("minutes", FIN_FILES["minutes"], "exact", (), 0.0),
    ("general", GEN_PARQUET, "exact", (), 0.0),
    ("general", WEB_FILE, "exact", (), 0.0),
    ("general", WEB_FILE, "exact", (), 0.0),
    ("web:boilerplate", WEB_FILE, "exact", (), 0.0),
    ("web:spam", WEB_FILE, "exact", (), 0.0),
    ("web:web_article", WEB_FILE, "exact", (), 0.0),
    ("commentary", WEB_FILE, "exact", (), 0.0),
    ("filings", FIN_FILES["filings"], "near", ("words",), 0.08),
    ("filings", FIN_FILES["filings"], "near", ("reorder", "words"), 0.05),
    ("commentary", FIN_FILES["commentary"], "near", ("words",), 0.15),
    ("minutes", FIN_FILES["minutes"], "near", ("boilerplate",), 0.0),
    ("general", GEN_PARQUET, "near", ("words",), 0.10),
    ("general", GEN_TXT_DIR, "near", ("reorder",), 0.0),
    ("txt", GEN_PARQUET, "near", ("words",), 0.05),
    ("general", GEN_PARQUET, "near", ("words",), 0.20),
    ("web:web_article", WEB_FILE, "near", ("boilerplate",), 0.0),
    ("web:spam", WEB_FILE, "near", ("words",), 0.12),
    ("web:non_english", WEB_FILE, "near", ("words",), 0.10),
    ("filings", WEB_FILE, "near", ("boilerplate",), 0.0),
    ("general", WEB_FILE, "near", ("boilerplate",), 0.0),
    ("general", WEB_FILE, "near", ("words", "boilerplate"), 0.10),
    ("commentary", WEB_FILE, "near", ("words",), 0.12),
]


def doc_path(folder_or_file: str, doc_id: str) -> str:
    """Where a document lives: its file, or its own .txt file inside the text folder."""
    return f"{folder_or_file}/{doc_id}.txt" if folder_or_file == GEN_TXT_DIR else folder_or_file


def _scope(a_file: str, b_file: str) -> str:
    if a_file == b_file:
        return "same_file"
    return "same_source" if a_file.split("/")[0] == b_file.split("/")[0] else "cross_source"


def build_demo(seed: int) -> tuple[dict[str, list[Doc]], list[dict], NearDupIndex]:
    """Documents per output file (duplicates planted) and the duplicate list."""
    rng = random.Random(f"{seed}:demo")
    index = NearDupIndex()
    fin = st.FINANCE_COMPOSERS
    fin_len = {"lo": 220, "hi": 640, "index": index, "min_words": 80, "max_words": 600}
    filings = make_docs(rng, cycle_plan(rng, {k: fin[k] for k in ("earnings_release", "risk_factors")}, 52),
                        prefix="fin", start=1, **fin_len)
    minutes = make_docs(rng, [(fin["central_bank_minutes"], {})] * 32, prefix="fin", start=101, **fin_len)
    commentary = make_docs(rng, [(fin["market_commentary"], {})] * 34, prefix="fin", start=201, **fin_len)
    gen_len = {"lo": 150, "hi": 700, "index": index, "min_words": 50, "max_words": 700}
    gen_plan = cycle_plan(rng, st.GENERAL_COMPOSERS, 94) + [(st.everyday_money, {})] * 6
    rng.shuffle(gen_plan)
    general = make_docs(rng, gen_plan, prefix="gen", start=1, **gen_len)
    txt = make_docs(rng, cycle_plan(rng, st.GENERAL_COMPOSERS, 20), prefix="gen", start=201, **gen_len)
    web_plan = [(WEB_COMPOSERS[k], {}) for k, n in WEB_PLAN for _ in range(n) if k != "boilerplate"]
    variants = st.BOILERPLATE_VARIANTS
    web_plan = [(lambda r, t, v=variants[i % len(variants)]: st.boilerplate_page(r, t, v), {})
                for i in range(dict(WEB_PLAN)["boilerplate"])] + web_plan  # every variant appears in the demo
    web = make_docs(rng, web_plan, 20, 400, "web", index, start=1)
    foreign_plan = [(lambda r, t, lang=lang: st.foreign(r, lang), {}) for lang, n in FOREIGN_PLAN.items() for _ in range(n)]
    web += make_docs(rng, foreign_plan, 20, 400, "web", index, start=len(web) + 1)

    files: dict[str, list[Doc]] = {FIN_FILES["filings"]: filings, FIN_FILES["minutes"]: minutes,
                                   FIN_FILES["commentary"]: commentary, GEN_PARQUET: general, GEN_TXT_DIR: txt,
                                   WEB_FILE: web}
    for path, docs in files.items():
        for d in docs:
            d.file = path
    pools = {"filings": filings, "minutes": minutes, "commentary": commentary, "general": general, "txt": txt}
    next_id = {"fin": 301, "gen": 301, "web": 201}
    taken: set[str] = set()
    dups = []
    for pool, dest, kind, edits, frac in DUP_PLAN:
        if pool.startswith("web:"):
            want = pool.split(":")[1]
            candidates = [d for d in web if d.meta.get("kind") == want
                          and d.meta.get("lang", "de") in ("de", "fr", "es", "it")]  # word edits need spaces
        else:
            candidates = [d for d in pools[pool] if st.words(d.text) >= 60]
        # one planted copy per original, and never a copy of a copy
        candidates = [d for d in candidates if d.id not in taken and "duplicate_of" not in d.meta]
        a = rng.choice(candidates)
        taken.add(a.id)
        text = a.text
        if "reorder" in edits:
            text = reorder_paragraphs(rng, text)
        if "words" in edits:
            text = edit_words(rng, text, frac)
        if "boilerplate" in edits:
            text = add_boilerplate(rng, text)
        if (text == a.text) != (kind == "exact"):
            raise RuntimeError(f"planted {kind} copy of {a.id} came out {'unchanged' if kind == 'near' else 'changed'}")
        prefix = dest.split("/")[0][:3]
        b = Doc(f"{prefix}-{next_id[prefix]:04d}", text, {**a.meta, "duplicate_of": a.id}, dest)
        next_id[prefix] += 1
        files[dest].append(b)
        wa, wb = a.text.split(), b.text.split()
        dups.append({
            "a": a.id, "b": b.id, "kind": kind, "a_file": doc_path(a.file, a.id), "b_file": doc_path(dest, b.id),
            "scope": _scope(a.file, dest),
            "edits": list(edits), "word_edit_fraction": frac if "words" in edits else 0.0,
            "words_a": len(wa), "words_b": len(wb),
            "jaccard_5gram": round(jaccard(shingles(a.text), shingles(text)), 3),
        })
    for path, docs in files.items():
        rng.shuffle(docs)  # planted copies must not sit next to their originals
    return files, dups, index


# --------------------------------------------------------------------------------------------------
# PII pages and the evaluation set (drawn after everything else, from their own seed streams, so
# adding them changed no other file)
# --------------------------------------------------------------------------------------------------

def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def iban(rng: random.Random) -> str:
    """A German-format IBAN with valid mod-97 check digits (random bank and account numbers)."""
    bban = "".join(str(rng.randint(0, 9)) for _ in range(18))
    rearranged = bban + "1314" + "00"  # D=13, E=14
    check = 98 - int(rearranged) % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def contact_block(rng: random.Random, co: str, kind: int) -> tuple[str, list[str]]:
    """One of several contact/notice paragraphs with PII; returns (paragraph, PII types in it)."""
    slug = "".join(ch for ch in co.lower() if ch.isalpha())[:12] or "company"
    phone = f"+1 ({rng.randint(201, 989)}) 555-{rng.randint(100, 199):04d}"
    if kind == 0:
        return (f"Investor relations: write to ir@{slug}.example or call {phone}. Media enquiries go to "
                f"press.office@{slug}.example.", ["email", "email", "phone"])
    if kind == 1:
        body = "4" + "".join(str(rng.randint(0, 9)) for _ in range(14))
        card = body + luhn_digit(body)
        return (f"Fraud notice: a customer reported card {card[:4]} {card[4:8]} {card[8:12]} {card[12:]} as stolen on "
                f"{rng.randint(2019, 2024)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}; the charge of $1,{rng.randint(100, 999)}.00 "
                f"was reversed.", ["card"])
    if kind == 2:
        return (f"Wire the subscription amount to IBAN {iban(rng)}, reference {co[:3].upper()}-{rng.randint(1000, 9999)}, "
                f"and confirm to settlements@{slug}.example.", ["iban", "email"])
    return (f"Form W-9 received from a contractor, SSN {rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}, "
            f"filed from host 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}.", ["ssn", "ipv4"])


def build_contacts(seed: int, index: NearDupIndex, n: int = 8) -> list[Doc]:
    rng = random.Random(f"{seed}:pii")
    plan = cycle_plan(rng, {k: st.FINANCE_COMPOSERS[k] for k in ("earnings_release", "market_commentary")}, n)
    docs = make_docs(rng, plan, 150, 400, "fin", index, start=501, min_words=80, max_words=560)
    for i, d in enumerate(docs):
        co = d.text.split("\n", 1)[0].split(" ")[0]
        block, kinds = contact_block(rng, co, i % 4)
        d.text = d.text + "\n\n" + block
        d.meta = {**d.meta, "pii": kinds}
        d.file = CONTACT_FILE
    return docs


QUIZ_FRESH = [  # written for this sample; none of it occurs in the demo documents
    ("If a bond's price falls while its coupon stays the same, what happens to its yield to maturity?", "It rises."),
    ("Which ratio divides a bank's common equity tier one capital by its risk weighted assets?", "The CET1 ratio."),
    ("A company buys back shares with cash on hand; what happens to earnings per share if net income is unchanged?", "It increases."),
    ("What do we call the spread between the ten year and the two year government bond yields when it is negative?", "An inverted yield curve."),
    ("Why might a central bank sell government securities from its balance sheet during a period of high inflation?", "To drain reserves and tighten financial conditions."),
    ("Which statement reports a firm's cash receipts and payments from operating, investing and financing activities?", "The cash flow statement."),
]


def build_quiz(seed: int, files: dict[str, list[Doc]]) -> list[dict]:
    """Six fresh questions and four passages lifted from demo documents (GPT-3-style completion items)."""
    rng = random.Random(f"{seed}:quiz")
    items = [{"qid": f"quiz-{i + 1:02d}", "question": q, "answer": a, "leaked_from": None} for i, (q, a) in enumerate(QUIZ_FRESH)]
    # the templates repeat phrases across documents: lift only passages whose every 13-gram (of words as the
    # decontamination stage normalizes them) occurs in that one document, so exactly it (and a planted copy) leaks
    def grams(text: str) -> list[tuple[str, ...]]:
        w = re.findall(r"[^\W_]+", text.lower())
        return [tuple(w[i : i + 13]) for i in range(len(w) - 12)]

    owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for docs in files.values():
        for d in docs:
            for g in grams(d.text):
                owners[g].add(d.meta.get("duplicate_of", d.id))
    pools = [files[FIN_FILES["minutes"]], files[FIN_FILES["filings"]], files[CONTACT_FILE], files[GEN_PARQUET]]
    for k, pool in enumerate(pools):
        cands = sorted((d for d in pool if "duplicate_of" not in d.meta and st.words(d.text) >= 120), key=lambda d: d.id)
        rng.shuffle(cands)
        for d, a in ((d, a) for d in cands for a in rng.sample(range(40, st.words(d.text) - 40), 20)):
            w = d.text.split()
            passage = " ".join(w[a : a + 30])
            if all(owners[g] == {d.id} for g in grams(passage)):
                break
        else:
            raise RuntimeError("no passage unique to one document; widen the search")
        items.append({"qid": f"quiz-{len(QUIZ_FRESH) + k + 1:02d}", "question": "Complete the passage: " + " ".join(w[a : a + 24]),
                      "answer": " ".join(w[a + 24 : a + 30]), "leaked_from": d.id})
    demo_grams = set()
    for docs in files.values():
        for d in docs:
            w = d.text.lower().split()
            demo_grams.update(tuple(w[i : i + 8]) for i in range(len(w) - 7))
    for it in items[: len(QUIZ_FRESH)]:
        w = (it["question"] + " " + it["answer"]).lower().split()
        if any(tuple(w[i : i + 8]) in demo_grams for i in range(len(w) - 7)):
            raise RuntimeError(f"fresh quiz item {it['qid']} overlaps the demo; reword it")
    return items


def bad_lines() -> bytes:
    """Five lines: two good, then a malformed JSON line, a line without `text`, a line with invalid UTF-8."""
    good1 = {"id": "web-bad-0001", "text": "The ferry timetable changes on the first of the month. Morning sailings "
             "leave an hour earlier, and the last boat back from the island now departs at half past six.",
             "meta": {"kind": "quarantine_fixture", "expect": "ok"}}
    good5 = {"id": "web-bad-0005", "text": "Volunteers repaired the footpath along the river over two weekends, "
             "laying new gravel and clearing the drainage ditches that had overflowed in the spring.",
             "meta": {"kind": "quarantine_fixture", "expect": "ok"}}
    lines = [
        orjson.dumps(good1),
        b'{"id": "web-bad-0002", "text": "This record was cut off halfway through writing, so its string and ',
        orjson.dumps({"id": "web-bad-0003", "body": "The text sits under the wrong key.",
                      "meta": {"kind": "quarantine_fixture", "expect": "missing_text"}}),
        b'{"id": "web-bad-0004", "text": "Caf\xe9 prices rose again \xff\xfe this week.", '
        b'"meta": {"kind": "quarantine_fixture", "expect": "invalid_utf8"}}',
        orjson.dumps(good5),
    ]
    return b"\n".join(lines) + b"\n"


BAD_LINE_EXPECT = [{"line": 2, "id": "web-bad-0002", "reason": "malformed_json"},
                   {"line": 3, "id": "web-bad-0003", "reason": "missing_text"},
                   {"line": 4, "id": "web-bad-0004", "reason": "invalid_utf8"}]


# --------------------------------------------------------------------------------------------------
# Classifier training sets (separate draws, never near duplicates of demo documents)
# --------------------------------------------------------------------------------------------------

def build_train(seed: int, demo_index: NearDupIndex) -> dict[str, list[Doc]]:
    rng = random.Random(f"{seed}:train")
    fin, gen = st.FINANCE_COMPOSERS, st.GENERAL_COMPOSERS

    def plan(entries: list[tuple[st.Composer, int, str]]) -> list[tuple[st.Composer, dict]]:
        p = [(c, {"label": label}) for c, n, label in entries for _ in range(n)]
        rng.shuffle(p)
        return p

    def per_kind(composers: dict[str, st.Composer], total: int, label: str) -> list[tuple[st.Composer, int, str]]:
        names = sorted(composers)
        return [(composers[k], total // len(names) + (i < total % len(names)), label) for i, k in enumerate(names)]

    sets = {
        # Labels follow the section a text came from, as weak labels do in practice: the personal-finance
        # section feeds finance_pos, a general paper's business page feeds general_neg, so a few texts of
        # the same kind sit on both sides and no bag-of-ngrams model can separate the sets perfectly.
        "finance_pos": plan(per_kind(fin, 230, "finance") + [(st.business_news, 25, "finance"),
                            (st.econ_explainer, 25, "finance"), (st.everyday_money, 20, "finance")]),
        "general_neg": plan(per_kind(gen, 196, "general") + [(st.everyday_money, 20, "general"),
                            (st.local_business, 20, "general"), (st.business_news, 12, "general"),
                            (st.econ_explainer, 12, "general"), (st.spam, 28, "general"), (st.seo_stuffing, 12, "general")]),
        "quality_pos": plan(per_kind(fin, 110, "hq") + per_kind(gen, 130, "hq") + [(st.everyday_money, 10, "hq"),
                            (st.business_news, 15, "hq"), (st.local_business, 15, "hq"), (st.web_article, 20, "hq")]),
        "quality_neg": plan([(st.boilerplate_page, 120, "lq"), (st.spam, 55, "lq"), (st.chat_fragment, 55, "lq"),
                             (st.seo_stuffing, 15, "lq"), (st.content_farm, 45, "lq"), (st.web_article, 10, "lq")]),
    }
    prefixes = {"finance_pos": "fpos", "general_neg": "gneg", "quality_pos": "qpos", "quality_neg": "qneg"}
    out = {}
    for name, p in sets.items():
        out[f"train/{name}.jsonl.gz"] = make_docs(rng, p, 40, 500, prefixes[name], demo_index, min_words=40,
                                                  max_words=500, add=False)
    return out


# --------------------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------------------

def jsonl(docs: list[Doc]) -> bytes:
    return b"".join(orjson.dumps({"id": d.id, "text": d.text, "meta": d.meta}) + b"\n" for d in docs)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=19, write_checksum=True).compress(data)


def parquet(docs: list[Doc]) -> bytes:
    table = pa.table({"id": pa.array([d.id for d in docs], pa.string()),
                      "text": pa.array([d.text for d in docs], pa.string())})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=50, compression="zstd", compression_level=9, use_dictionary=False,
                   write_statistics=False, version="2.6")
    return sink.getvalue().to_pybytes()


def encode(path: str, docs: list[Doc]) -> dict[str, bytes]:
    if path.endswith(".jsonl.gz"):
        return {path: gz(jsonl(docs))}
    if path.endswith(".jsonl.zst"):
        return {path: zst(jsonl(docs))}
    if path.endswith(".parquet"):
        return {path: parquet(docs)}
    return {f"{path}/{d.id}.txt": d.text.encode("utf-8") for d in docs}  # a folder of .txt files


def build(seed: int = SEED) -> dict[str, bytes]:
    """Every file of data/sample/ (relative path -> bytes), plus "README.md" for data/README.md."""
    files, dups, index = build_demo(seed)
    train = build_train(seed, index)
    files[CONTACT_FILE] = build_contacts(seed, index)
    quiz = build_quiz(seed, files)
    out: dict[str, bytes] = {EVAL_FILE: b"".join(orjson.dumps(q) + b"\n" for q in quiz)}
    for path, docs in {**files, **train}.items():
        out.update(encode(path, docs))
    out[BAD_FILE] = bad_lines()
    out["duplicates.json"] = (json.dumps(dups, indent=1, ensure_ascii=False) + "\n").encode()
    catalog = [{"id": d.id, "file": doc_path(path, d.id), "words": st.words(d.text),
                **{k: v for k, v in d.meta.items() if k in ("style", "genre", "kind", "lang", "duplicate_of")}}
               for path, docs in files.items() for d in sorted(docs, key=lambda d: d.id)]
    out["catalog.json"] = ("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in catalog) + "\n]\n").encode()
    manifest = summarize(seed, files, train, dups)
    out["manifest.json"] = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode()
    out["README.md"] = readme(manifest).encode()
    return dict(sorted(out.items()))


def summarize(seed: int, files: dict[str, list[Doc]], train: dict[str, list[Doc]], dups: list[dict]) -> dict:
    def kinds(docs: list[Doc]) -> dict[str, int]:
        c = Counter(d.meta.get("style") or d.meta.get("genre") or
                    (f"non_english:{d.meta['lang']}" if d.meta.get("kind") == "non_english" else d.meta.get("kind"))
                    for d in docs)
        return dict(sorted(c.items()))

    demo = {p: {"docs": len(d), "words": sum(st.words(x.text) for x in d),
                "text_bytes": sum(len(x.text.encode()) for x in d), "kinds": kinds(d)} for p, d in files.items()}
    tr = {p: {"docs": len(d), "words": sum(st.words(x.text) for x in d),
              "text_bytes": sum(len(x.text.encode()) for x in d), "kinds": kinds(d)} for p, d in train.items()}
    lens = [st.words(x.text) for d in files.values() for x in d]
    fin_lens = [st.words(x.text) for p in FIN_FILES.values() for x in files[p]]
    return {
        "seed": seed, "generator": "scripts/make_sample.py",
        "demo": demo, "train": tr, "bad_lines": {"file": BAD_FILE, "lines": 5, "bad": BAD_LINE_EXPECT},
        "totals": {"demo_docs": len(lens), "demo_words": sum(lens),
                   "demo_text_bytes": sum(v["text_bytes"] for v in demo.values()),
                   "demo_min_words": min(lens), "demo_max_words": max(lens),
                   "finance_min_words": min(fin_lens), "finance_max_words": max(fin_lens),
                   "exact_duplicate_pairs": sum(d["kind"] == "exact" for d in dups),
                   "near_duplicate_pairs": sum(d["kind"] == "near" for d in dups),
                   "unplanted_max_jaccard_5gram_below": UNPLANTED_MAX_JACCARD},
    }


README = """# data/

`data/sample/` is the embedded sample corpus that `pipelines/demo.yaml` runs on, plus small training sets for
the demo's finance-domain and quality classifiers. Every file is written by `scripts/make_sample.py` (seed
{seed}) from templates, vocabularies and sentences written for this project (`scripts/sample_text.py`); no text
comes from any other corpus. All names of people, companies, towns, clubs and kingdoms are invented; figures
are random. Regenerate with `python scripts/make_sample.py`; a second run gives byte-identical files, and
`tests/test_sample.py` checks that the committed files equal what the generator produces.

## Demo inputs ({demo_docs} documents, {demo_words:,} words, {demo_mb:.2f} MB of text)

| file | format | docs | words | what |
|---|---|---|---|---|
{rows}
| `web/bad_lines.jsonl` | JSONL | 5 lines | | quarantine fixture, see below |

Fields: JSONL records are `{{"id", "text", "meta"}}` (`meta` says what the document is: `style`, `genre`,
`kind`, `lang`, `duplicate_of`); the Parquet file has columns `id`, `text`; each `.txt` file is one
document, its UTF-8 content exactly the text (no trailing newline added) and its stem the id.
Ids are unique across the whole sample (a planted copy gets its own id). Finance documents run
{fin_lo}–{fin_hi} words; the web set includes one- and two-phrase pages.

Kinds per file:
{kinds}

## Planted duplicates (`duplicates.json`)

{n_exact} exact and {n_near} near-duplicate pairs, each `{{"a", "b", "kind", "a_file", "b_file", "scope",
"edits", "word_edit_fraction", "words_a", "words_b", "jaccard_5gram"}}`. `scope` is `same_file`, `same_source`
(another file of the same folder) or `cross_source`. Near copies are made by editing 5–20% of the words in
2–4 contiguous runs (substitute, delete or insert), reordering the body paragraphs, and/or wrapping the text
in a nav line, a cookie banner and a footer; `jaccard_5gram` is the Jaccard similarity of lower-cased
word 5-gram sets. Every other pair of demo documents (and every training document against every demo
document) has a 5-gram Jaccard below {unplanted}, so a dedup stage should find exactly these pairs
(how many of the heavily edited ones it catches depends on its threshold).

`catalog.json` lists every demo document (id, file, words, kind) as ground truth for reports.

## PII and an evaluation set

`finance/contacts.jsonl.gz` holds finance pages that end in a paragraph with invented personal data: e-mail
addresses, phone numbers, a Luhn-valid card number, a mod-97-valid IBAN, an SSN-shaped number and a private
IPv4 address (`meta.pii` lists the types). `evals/finance_quiz.jsonl` is a tiny benchmark (`qid`, `question`,
`answer`, `leaked_from`): six questions written for the sample, which share no 8-word run with any demo
document, and four "complete the passage" items cut from demo documents (named in `leaked_from`), so a
decontamination stage with 13-grams should flag exactly those four documents (and any planted copy of them).

## Quarantine fixture (`web/bad_lines.jsonl`)

Line 1 and 5 are good records. Line 2 is malformed JSON (cut off mid-string), line 3 has no `text` field
(the text is under `body`), line 4 holds raw invalid UTF-8 bytes (`\\xe9`, `\\xff\\xfe`) inside the text.
A reader should keep 2 documents and quarantine lines 2, 3 and 4.

## Classifier training sets (`train/`)

Drawn with a separate seed stream and never near duplicates of a demo document, so evaluating on the demo is
not evaluating on training data. Lengths are 40–500 words (log-uniform targets).

| file | docs | words | contents |
|---|---|---|---|
{train_rows}

Hard negatives on purpose: `general_neg` holds spam that uses loan, mortgage, crypto and interest-rate words,
household-money pieces, a small-business feature, and general prose that mentions money (rents, transfer
fees, hotel prices, debased coinage); `quality_neg` holds pages where a few sentences of real prose are
drowned in menus and footers, and grammatical but empty content-farm text; `quality_pos` holds recipes with
bullet lists and business news. Labels follow the section a text came from, as weak labels do: plain-language
business news and economics explainers appear in both `finance_pos` and `general_neg` (a general paper's
business page), household money in both, and short web articles in both quality sets, so a bag-of-ngrams
model cannot reach 100%. Measured with TF-IDF word 1-2-grams + logistic regression, 5-fold CV: domain about
0.92, quality about 0.98 accuracy; trained on all of `train/`, both classify the demo's English documents
correctly. Each record's `meta.label` is `finance`/`general` or `hq`/`lq`.

`sample/manifest.json` holds these counts in machine-readable form.
"""

DESCR = {
    FIN_FILES["filings"]: "earnings releases and annual-report risk factors",
    FIN_FILES["minutes"]: "central-bank meeting minutes",
    FIN_FILES["commentary"]: "daily market commentary",
    GEN_PARQUET: "encyclopedic, fiction, travel, science, cooking, sport, history, everyday money",
    GEN_TXT_DIR: "the same genres, one `.txt` file per document",
    WEB_FILE: "boilerplate pages, spam, SEO spam, chat, very short, non-English, legitimate articles",
    CONTACT_FILE: "earnings releases and commentary ending in a contact or notice paragraph with PII (`meta.pii`)",
    "train/finance_pos.jsonl.gz": "the four finance styles, business news, economics explainers, household money",
    "train/general_neg.jsonl.gz": "seven general genres, household money, small business, some business news, spam, SEO spam",
    "train/quality_pos.jsonl.gz": "clean prose: finance and general styles, business news, web articles",
    "train/quality_neg.jsonl.gz": "boilerplate pages, spam, chat, SEO spam, content-farm text, some web articles",
}
FORMAT = {".jsonl.gz": "JSONL, gzip", ".jsonl.zst": "JSONL, zstd", ".parquet": "Parquet", "txt": "folder of .txt"}


def readme(m: dict) -> str:
    def fmt(p: str) -> str:
        return next((v for k, v in FORMAT.items() if p.endswith(k)), "")

    rows = "\n".join(f"| `{p}` | {fmt(p)} | {v['docs']} | {v['words']:,} | {DESCR[p]} |" for p, v in m["demo"].items())
    kinds = "\n".join(f"- `{p}`: " + ", ".join(f"{k} {n}" for k, n in v["kinds"].items()) for p, v in m["demo"].items())
    train_rows = "\n".join(f"| `{p}` | {v['docs']} | {v['words']:,} | {DESCR[p]} |" for p, v in m["train"].items())
    t = m["totals"]
    return README.format(
        seed=m["seed"], demo_docs=t["demo_docs"], demo_words=t["demo_words"], demo_mb=t["demo_text_bytes"] / 1e6,
        rows=rows, kinds=kinds, train_rows=train_rows, n_exact=t["exact_duplicate_pairs"],
        n_near=t["near_duplicate_pairs"], unplanted=UNPLANTED_MAX_JACCARD, fin_lo=t["finance_min_words"],
        fin_hi=t["finance_max_words"],
    )


def write(out: Path, readme_path: Path, files: dict[str, bytes]) -> None:
    """Write each file atomically (temp + rename), so an interrupted run never leaves a half file."""
    for rel, data in files.items():
        path = readme_path if rel == "README.md" else out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "sample", help="sample folder (default data/sample)")
    ap.add_argument("--readme", type=Path, default=ROOT / "data" / "README.md", help="where README.md goes")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    files = build(args.seed)
    write(args.out, args.readme, files)
    stale = sorted(str(p.relative_to(args.out)) for p in args.out.rglob("*")
                   if p.is_file() and str(p.relative_to(args.out)) not in files)
    total = sum(len(v) for v in files.values())
    print(f"wrote {len(files)} files, {total / 1e6:.2f} MB, to {args.out}")
    if stale:
        print("files the generator no longer writes (delete them):\n  " + "\n  ".join(stale))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
