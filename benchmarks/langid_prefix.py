"""How much of each document the language-id signal needs to read: accuracy and CPU time against the
prefix length.

The langid signal classifies the first `prefix_chars` characters (default 1,000). For each prefix
length this runs `LangIdSignal` over the same documents and reports, against the whole text
classified at once ("full"):

* `same label`   — share of documents whose `lang` equals the full-text `lang`;
* `same keep`    — share whose keep decision (`lang == L and lang_score >= THRESHOLD`) equals the
  full-text one, where L is `en` for JSONL sets and the folder's language for labelled sets;
* `correct`      — (labelled sets only) share whose `lang` is the folder's language;
* `cpu s`        — CPU seconds of `columns()` over the set, and docs/s.

Inputs need no download: `--jsonl` takes folders or files of JSON lines with a `text` field
(`.jsonl`, `.jsonl.gz`); `--man` takes a man-page root whose subfolders are language codes (e.g.
`de/man1/*.1.gz`): each page's troff markup is stripped to its text and labelled with its folder.

    python benchmarks/langid_prefix.py --jsonl POOL --man /usr/share/man [--prefixes 250,500,1000,2000,0]

Prefix 0 means the whole text.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import time
from pathlib import Path

import orjson
import pyarrow as pa

from curate.signals.base import SignalContext
from curate.signals.langid import LangIdConfig, LangIdSignal

# man-page folder names whose lid.176 label differs
FOLDER_LABEL = {"pt_BR": "pt", "zh_CN": "zh", "zh_TW": "zh"}
_ESCAPE = re.compile(r"\\(\(..|\[[^\]]*\]|f[A-Z0-9]|f\(..|s[-+]?\d|[-&e|^ ~0c.'`\"])")


def read_jsonl(paths: list[Path]) -> list[str]:
    texts = []
    for root in paths:
        files = sorted(root.rglob("*.jsonl*")) if root.is_dir() else [root]
        for f in files:
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rb") as fh:
                for line in fh:
                    if line.strip():
                        text = orjson.loads(line).get("text")
                        if isinstance(text, str):
                            texts.append(text)
    return texts


def troff_text(raw: str) -> str:
    """The prose of a troff page: macro lines dropped (their arguments kept for headings), escapes removed."""
    out = []
    for line in raw.splitlines():
        if line.startswith((".\\\"", "'\\\"", ".\\#")):
            continue
        if line.startswith((".", "'")):
            parts = line.split(None, 1)
            if parts[0] in (".SH", ".SS", ".B", ".I", ".BR", ".IR", ".BI", ".IB", ".RB", ".RI") and len(parts) > 1:
                line = parts[1].replace('"', "")
            else:
                continue
        out.append(_ESCAPE.sub(lambda m: "-" if m.group(1) == "-" else " " if m.group(1) == " " else "", line))
    return "\n".join(out)


def read_man(root: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for lang_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("man")):
        label = FOLDER_LABEL.get(lang_dir.name, lang_dir.name.split("_")[0].split(".")[0])
        for f in sorted(lang_dir.rglob("*")):
            if not f.is_file():
                continue
            try:
                raw = (gzip.open(f, "rb").read() if f.suffix == ".gz" else f.read_bytes()).decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            text = troff_text(raw)
            if len(text.strip()) >= 200:
                texts.append(text)
                labels.append(label)
    return texts, labels


def evaluate(name: str, texts: list[str], labels: list[str] | None, prefixes: list[int], threshold: float) -> list[dict]:
    table = pa.table({"text": pa.array(texts, pa.large_string())})
    longest = max(len(t) for t in texts)
    ctx = SignalContext()
    runs = {}
    for p in prefixes:
        sig = LangIdSignal(LangIdConfig(prefix_chars=p or longest), ctx)
        t = time.process_time()
        cols = sig.columns(table)
        runs[p] = (time.process_time() - t, cols["lang"].to_pylist(), cols["lang_score"].to_pylist())
    full_lang, full_score = runs[0][1], runs[0][2]
    want = labels or ["en"] * len(texts)
    full_keep = [lg == w and s >= threshold for lg, s, w in zip(full_lang, full_score, want)]
    rows = []
    lengths = sorted(len(t) for t in texts)
    for p in prefixes:
        cpu, lang, score = runs[p]
        keep = [lg == w and s >= threshold for lg, s, w in zip(lang, score, want)]
        row = {
            "set": name,
            "docs": len(texts),
            "median_chars": lengths[len(lengths) // 2],
            "longer_than_prefix": sum(1 for x in lengths if p and x > p),
            "prefix": p or "full",
            "same_label": round(sum(a == b for a, b in zip(lang, full_lang)) / len(texts), 4),
            "same_keep": round(sum(a == b for a, b in zip(keep, full_keep)) / len(texts), 4),
            "kept": sum(keep),
            "cpu_s": round(cpu, 2),
            "docs_per_cpu_s": round(len(texts) / cpu) if cpu else None,
        }
        if labels:
            row["correct"] = round(sum(a == b for a, b in zip(lang, labels)) / len(texts), 4)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jsonl", type=Path, nargs="*", default=[], help="folders/files of JSONL(.gz) with a text field")
    ap.add_argument("--man", type=Path, help="man-page root with one folder per language")
    ap.add_argument("--prefixes", default="250,500,1000,2000,0")
    ap.add_argument("--threshold", type=float, default=0.65)
    args = ap.parse_args()
    prefixes = [int(x) for x in args.prefixes.split(",")]
    if 0 not in prefixes:
        prefixes.append(0)
    sets = []
    if args.jsonl:
        sets.append(("jsonl", read_jsonl(args.jsonl), None))
    if args.man:
        texts, labels = read_man(args.man)
        sets.append(("man", texts, labels))
    print(f"load {os.getloadavg()}")
    rows = []
    for name, texts, labels in sets:
        if labels:
            print(f"{name}: {len(texts)} docs in {len(set(labels))} languages")
        for row in evaluate(name, texts, labels, prefixes, args.threshold):
            rows.append(row)
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    print(json.dumps({"load_after": os.getloadavg(), "rows": rows}))


if __name__ == "__main__":
    main()
