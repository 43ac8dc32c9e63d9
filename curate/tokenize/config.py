"""The pipeline's `tokenizer:` section (light: importing it loads no tokenizer library)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TokenizerConfig(BaseModel):
    """The pipeline's `tokenizer:` section (also the tokenize stage's settings)."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None  # a local tokenizer.json to use; unset: train one on the selected data
    kind: Literal["bpe", "unigram"] = "bpe"  # what to train (byte-level either way)
    vocab_size: int = Field(default=32_000, ge=300, le=1 << 20)
    min_frequency: int = Field(default=2, ge=1)  # BPE: pairs seen fewer times are not merged
    pre_tokenizer: Literal["gpt2", "bloomberg"] = "gpt2"  # GPT-2 regex, or BloombergGPT's digit-splitting one
    eos: str = "<|endoftext|>"  # appended to every document; must be a token of the tokenizer
    sample_bytes: int = Field(default=100_000_000, gt=0)  # training sample size, drawn across sources
    out: str | None = None  # where a trained tokenizer goes (default RUN/tokenizer/tokenizer.json)
    engine: Literal["auto", "tiktoken", "tokenizers"] = "auto"  # auto: tiktoken when ids are identical
    verify_fraction: float = Field(default=0.01, ge=0, le=1)  # docs per batch re-encoded by `tokenizers` to compare
    val_fraction: float = Field(default=0.01, ge=0, lt=1)  # held-out documents per source (seeded by id)
    batch_docs: int = Field(default=1024, gt=0)

    def tokenizer_file(self, root: Path, default: Path) -> Path:
        """Where the run's tokenizer.json is: `path` (given), else `out`, else `default` (the
        run's own, RunLayout.tokenizer); relative paths resolve against `root`."""
        for p in (self.path, self.out):
            if p:
                return Path(p) if Path(p).is_absolute() else root / p
        return default
