"""A small run directory for the tokenize/mix/verify tests: real input files, `selected/` Parquet
as the select stage would write it, then the real tokenize and mix stages."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import make_docs, write_jsonl
from curate.config import PipelineConfig
from curate.context import RunContext
from curate.exec.local import LocalExecutor

TRICKY = [
    "Ünïcödé naïve café — “quotes” 中文字符 日本語のテキスト 한국어 العربية עברית",
    "a  b   c\t\t\n\n\n   d \u00a0 e\u3000f   ",
    "1234567890 3.14159 1,000,000 $12.5bn 2023-01-01 0x1F",
    "😀👍🏽👨‍👩‍👧‍👦 🇺🇸 ❤️ emoji run😀😀😀",
    "a" * 3000,
    "Supercalifragilistic" * 150,
    "don't I'll we've they're it's 'S 'LL 'll",
    "literal <|endoftext|> inside a document<|endoftext|>",
    "\x00\x01\x7f\r\n \u2028\u0085\u180e\u200b\ufeff x",
    "e\u0301 ﬁ Ⅻ ½ ² ١٢٣ ૪",
    "   ",
    "\n",
    "trailing spaces   \n  \n",
]


def make_inputs(root: Path) -> dict:
    """Two domain sources and one general source; returns the pipeline config dict."""
    fin = make_docs(90, 11, "fin")
    fin += [{"id": f"tricky{i}", "text": t} for i, t in enumerate(TRICKY)]
    write_jsonl(root / "in" / "fin" / "a.jsonl", fin[:50])
    write_jsonl(root / "in" / "fin" / "b.jsonl", fin[50:])
    write_jsonl(root / "in" / "news" / "n.jsonl", make_docs(30, 12, "news"))
    write_jsonl(root / "in" / "gen" / "g.jsonl", make_docs(200, 13, "gen"))
    return {
        "name": "t",
        "seed": 5,
        "sources": [
            {"name": "fin", "role": "domain", "paths": ["in/fin/*.jsonl"]},
            {"name": "news", "role": "domain", "paths": ["in/news/*.jsonl"]},
            {"name": "gen", "role": "general", "paths": ["in/gen/*.jsonl"]},
        ],
        "tokenizer": {"vocab_size": 400, "min_frequency": 1, "val_fraction": 0.1, "verify_fraction": 1.0, "batch_docs": 16},
        "mix": {"shard_tokens": 4000},
    }


def make_context(root: Path, run_dir: Path, cfg: dict, workers: int = 1) -> RunContext:
    """A RunContext whose selected/ files hold every input document (as if select kept all)."""
    import orjson

    pcfg = PipelineConfig.model_validate(cfg)
    ctx = RunContext(cfg=pcfg, run_dir=run_dir, root=root, executor=LocalExecutor(run_dir, workers=workers, progress=False), progress=False)
    for f in ctx.inputs():
        docs = [orjson.loads(line) for line in f.path.read_bytes().splitlines() if line.strip()]
        out = ctx.selected_path(f)
        out.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table({"id": [d["id"] for d in docs], "text": pa.array([d["text"] for d in docs], pa.large_string()),
                          "source": [f.source.name] * len(docs), "role": [f.source.role] * len(docs),
                          "file": [str(f.path.relative_to(root))] * len(docs), "line": pa.array(range(1, len(docs) + 1), pa.int64())})
        pq.write_table(table, out)
    return ctx


def build_run(root: Path, run_dir: Path, workers: int = 1, cfg: dict | None = None) -> RunContext:
    """Inputs -> selected -> tokenize -> mix; returns the context."""
    from curate.mix import stage as mix
    from curate.tokenize import stage as tokenize

    cfg = cfg or make_inputs(root)
    ctx = make_context(root, run_dir, cfg, workers)
    ctx.stats = {"tokenize": tokenize.TokenizeStage(ctx).run(), "mix": mix.MixStage(ctx).run()}
    return ctx
