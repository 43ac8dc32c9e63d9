"""Small transformers in plain torch, one block type for all three objectives (no downloads).

- clm: decoder-only, causal self-attention (GPT).
- mlm: the same blocks with bidirectional attention (BERT-style encoder).
- span: an encoder (bidirectional) + decoder (causal self-attention + cross-attention) (T5-style).
Pre-LayerNorm, GELU MLP (4x), learned positions, tied input/output embeddings, attention through
`F.scaled_dot_product_attention` (flash/memory-efficient kernels on CUDA). Models are proxies for
comparing data mixtures, so the recipe is standard rather than clever.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from curate.train.objectives import IGNORE

PRESETS: dict[str, dict] = {
    "tiny": {"n_layers": 2, "d_model": 128, "n_heads": 4},
    "small": {"n_layers": 6, "d_model": 384, "n_heads": 6},
    "base": {"n_layers": 12, "d_model": 768, "n_heads": 12},
}


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int  # the model's table (tokenizer vocab + reserved ids, see objectives.SpecialIds)
    max_len: int
    n_layers: int
    d_model: int
    n_heads: int
    objective: str = "clm"  # clm | mlm | span
    dropout: float = 0.0

    @classmethod
    def preset(cls, name: str, vocab_size: int, max_len: int, objective: str) -> "ModelConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}: choose one of {sorted(PRESETS)}")
        return cls(vocab_size=vocab_size, max_len=max_len, objective=objective, **PRESETS[name])

    def to_dict(self) -> dict:
        return asdict(self)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, cross: bool = False):
        super().__init__()
        self.n_heads, self.dropout = cfg.n_heads, cfg.dropout
        self.cross = cross
        if cross:
            self.q = nn.Linear(cfg.d_model, cfg.d_model)
            self.kv = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        else:
            self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, causal: bool, memory: torch.Tensor | None = None) -> torch.Tensor:
        if self.cross:
            q = self.q(x)
            k, v = self.kv(memory).chunk(2, dim=-1)
        else:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(
            self._heads(q), self._heads(k), self._heads(v), is_causal=causal, dropout_p=self.dropout if self.training else 0.0
        )
        b, h, t, dh = y.shape
        return self.proj(y.transpose(1, 2).reshape(b, t, h * dh))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, cross: bool = False):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.ln_x = nn.LayerNorm(cfg.d_model) if cross else None
        self.xattn = Attention(cfg, cross=True) if cross else None
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(), nn.Linear(4 * cfg.d_model, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, causal: bool, memory: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), causal))
        if self.xattn is not None:
            x = x + self.drop(self.xattn(self.ln_x(x), False, memory))
        return x + self.drop(self.mlp(self.ln2(x)))


class Stack(nn.Module):
    """Position embedding + blocks + final norm, over a shared token embedding."""

    def __init__(self, cfg: ModelConfig, cross: bool = False):
        super().__init__()
        self.pos = nn.Embedding(cfg.max_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg, cross) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)

    def forward(self, h: torch.Tensor, causal: bool, memory: torch.Tensor | None = None) -> torch.Tensor:
        h = h + self.pos(torch.arange(h.shape[1], device=h.device))
        for block in self.blocks:
            h = block(h, causal, memory)
        return self.ln_f(h)


class ProxyModel(nn.Module):
    """forward(batch) -> mean cross-entropy over labels != IGNORE (the collator's dict as kwargs)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.d_model % cfg.n_heads:
            raise ValueError(f"d_model {cfg.d_model} is not divisible by n_heads {cfg.n_heads}")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.encoder = Stack(cfg)
        self.decoder = Stack(cfg, cross=True) if cfg.objective == "span" else None
        self._init_weights()

    def _init_weights(self) -> None:
        depth = 2 * self.cfg.n_layers * (2 if self.decoder is not None else 1)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(depth) if name.endswith("proj.weight") or name.endswith("mlp.2.weight") else 0.02
                nn.init.normal_(p, mean=0.0, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def logits(self, input_ids: torch.Tensor, decoder_input_ids: torch.Tensor | None = None) -> torch.Tensor:
        h = self.encoder(self.embed(input_ids), causal=self.cfg.objective == "clm")
        if self.decoder is not None:
            h = self.decoder(self.embed(decoder_input_ids), causal=True, memory=h)
        return h @ self.embed.weight.T  # tied output projection

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor, decoder_input_ids: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.logits(input_ids, decoder_input_ids)
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE)

    def num_params(self, with_positions: bool = False) -> int:
        """Parameters that cost matmul FLOPs (position tables are lookups and are left out)."""
        n = sum(p.numel() for p in self.parameters())
        if not with_positions:
            n -= sum(s.pos.weight.numel() for s in (self.encoder, self.decoder) if s is not None)
        return n

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token: 6N (forward + backward matmuls, tied head included) plus
        attention scores 12 * layers * d_model * seq_len (PaLM appendix B)."""
        stacks = 2 if self.decoder is not None else 1
        return 6.0 * self.num_params() + 12.0 * stacks * self.cfg.n_layers * self.cfg.d_model * seq_len
