"""The three pre-training objectives as collators over packed windows (B, seq_len + 1).

Each collator is a pure function of (windows, rng): the trainer seeds `rng` from (seed, step,
micro-step, rank), so a resumed run re-creates exactly the same masks without saving any state.

Special ids. A curate tokenizer has `vocab_size` ids [0, V) and an EOS id inside that range; it
declares no mask or sentinel tokens. The objectives therefore reserve ids *past* the tokenizer:
  V      mask token (MLM)
  V + 1  decoder start token (span corruption; T5 uses pad)
  V + 2 + k   sentinel k, k = 0 .. num_sentinels-1 (span corruption; T5's <extra_id_k>)
and the model's embedding table is sized `SpecialIds.model_vocab` (rounded up to a multiple of
64 for matmul efficiency). Ids >= V and the EOS id are "special": never chosen for masking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

IGNORE = -100  # label value skipped by the loss (torch cross_entropy's ignore_index)


@dataclass(frozen=True)
class SpecialIds:
    vocab_size: int  # the tokenizer's V
    eos_id: int | None = None
    num_sentinels: int = 100

    @property
    def mask_id(self) -> int:
        return self.vocab_size

    @property
    def decoder_start_id(self) -> int:
        return self.vocab_size + 1

    def sentinel(self, k: np.ndarray | int):
        return self.vocab_size + 2 + k

    @property
    def model_vocab(self) -> int:
        n = self.vocab_size + 2 + self.num_sentinels
        return (n + 63) // 64 * 64


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


class CausalLM:
    """GPT-style next-token prediction: inputs = w[:, :-1], labels = w[:, 1:]."""

    name = "clm"

    def __init__(self, ids: SpecialIds):
        self.ids = ids

    def __call__(self, windows: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return {"input_ids": _t(windows[:, :-1]), "labels": _t(windows[:, 1:])}


class MaskedLM:
    """BERT-style: each non-special position is chosen with p = 15%; of those 80% -> mask id,
    10% -> a uniform random token in [0, V), 10% unchanged. Labels are the original ids at chosen
    positions and IGNORE elsewhere. Uses the first seq_len tokens of each window."""

    name = "mlm"

    def __init__(self, ids: SpecialIds, mask_prob: float = 0.15, replace_mask: float = 0.8, replace_random: float = 0.1):
        self.ids, self.mask_prob = ids, mask_prob
        self.replace_mask, self.replace_random = replace_mask, replace_random

    def special(self, tokens: np.ndarray) -> np.ndarray:
        sp = tokens >= self.ids.vocab_size
        if self.ids.eos_id is not None:
            sp |= tokens == self.ids.eos_id
        return sp

    def __call__(self, windows: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        tokens = windows[:, :-1]
        chosen = (rng.random(tokens.shape) < self.mask_prob) & ~self.special(tokens)
        labels = np.where(chosen, tokens, IGNORE)
        u = rng.random(tokens.shape)
        to_mask = chosen & (u < self.replace_mask)
        to_rand = chosen & (u >= self.replace_mask) & (u < self.replace_mask + self.replace_random)
        inputs = np.where(to_mask, self.ids.mask_id, tokens)
        inputs = np.where(to_rand, rng.integers(0, self.ids.vocab_size, tokens.shape), inputs)
        return {"input_ids": _t(inputs), "labels": _t(labels)}


def span_lengths(length: int, noise_density: float, mean_span: float) -> tuple[int, int]:
    """(noise tokens, spans) for a sequence of `length`, as T5's random_spans_noise_mask counts them."""
    num_noise = int(min(max(round(length * noise_density), 1), length - 1))
    num_spans = int(min(max(round(num_noise / mean_span), 1), num_noise, length - num_noise))
    return num_noise, num_spans


def _random_partition(rng: np.random.Generator, rows: int, total: int, parts: int) -> np.ndarray:
    """`rows` independent uniform splits of `total` items into `parts` non-empty segments."""
    if parts == 1:
        return np.full((rows, 1), total, dtype=np.int64)
    cuts = np.sort(np.argsort(rng.random((rows, total - 1)), axis=1)[:, : parts - 1] + 1, axis=1)
    edges = np.concatenate([np.zeros((rows, 1), np.int64), cuts, np.full((rows, 1), total, np.int64)], axis=1)
    return np.diff(edges, axis=1)


class SpanCorruption:
    """T5-style: 15% of the first seq_len tokens are noise, in spans of mean length 3. Encoder
    input = the clean tokens with each noise span replaced by its sentinel; decoder target = each
    sentinel followed by the span it hides; decoder input = target shifted right after a start id.
    Every row has the same lengths (seq_len - noise + spans, noise + spans), so no padding."""

    name = "span"

    def __init__(self, ids: SpecialIds, noise_density: float = 0.15, mean_span: float = 3.0):
        self.ids, self.noise_density, self.mean_span = ids, noise_density, mean_span

    def shapes(self, seq_len: int) -> tuple[int, int]:
        noise, spans = span_lengths(seq_len, self.noise_density, self.mean_span)
        return seq_len - noise + spans, noise + spans

    def noise_mask(self, rows: int, length: int, rng: np.random.Generator) -> np.ndarray:
        noise, spans = span_lengths(length, self.noise_density, self.mean_span)
        if spans > self.ids.num_sentinels:
            raise ValueError(f"{spans} spans need more than {self.ids.num_sentinels} sentinels: raise num_sentinels or lower seq_len")
        seg = np.empty((rows, 2 * spans), dtype=np.int64)
        seg[:, 0::2] = _random_partition(rng, rows, length - noise, spans)  # clean first, as T5
        seg[:, 1::2] = _random_partition(rng, rows, noise, spans)
        starts = np.zeros((rows, length + 1), dtype=np.int64)
        np.put_along_axis(starts, np.cumsum(seg, axis=1)[:, :-1], 1, axis=1)
        return (np.cumsum(starts[:, :length], axis=1) % 2) == 1

    def __call__(self, windows: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        tokens = windows[:, :-1]
        rows, length = tokens.shape
        noise = self.noise_mask(rows, length, rng)
        first = noise & ~np.concatenate([np.zeros((rows, 1), bool), noise[:, :-1]], axis=1)
        sentinel = self.ids.sentinel(np.cumsum(first, axis=1) - 1)
        enc = np.where(first, sentinel, tokens)[~(noise & ~first)].reshape(rows, -1)
        pair = np.stack([sentinel, tokens], axis=2)  # [sentinel, token] per position
        keep = np.stack([first, noise], axis=2)
        targets = pair[keep].reshape(rows, -1)
        dec_in = np.concatenate([np.full((rows, 1), self.ids.decoder_start_id, np.int64), targets[:, :-1]], axis=1)
        return {"input_ids": _t(enc), "decoder_input_ids": _t(dec_in), "labels": _t(targets)}


def make_collator(objective: str, ids: SpecialIds):
    table = {"clm": CausalLM, "mlm": MaskedLM, "span": SpanCorruption}
    if objective not in table:
        raise ValueError(f"unknown objective {objective!r}: choose one of {sorted(table)}")
    return table[objective](ids)
