"""The proxy training loop: AdamW + warmup/cosine, gradient accumulation, clipping, atomic
checkpoints with exact resume, held-out loss per source and role, JSONL logs, throughput.

Exact resume is cheap because every random choice is a function of the step: the loader's windows
depend on (seed, micro-step, rank), the collator's masks on a generator seeded from the same, and
the model has no dropout by default. A checkpoint therefore holds model, optimizer, scheduler,
torch RNG states and the step; training N steps straight equals N/2 + resume + N/2 on CPU.

On CUDA the same code runs with bf16 autocast, fused AdamW, TF32 matmuls and (optionally)
torch.compile, and reports tokens/s, peak memory (torch.cuda.max_memory_allocated) and MFU.
Under torchrun (WORLD_SIZE > 1) it wraps the model in DDP; rank 0 logs, evaluates and checkpoints.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import resource
import sys
import time
import zlib
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import orjson
import torch
from pydantic import BaseModel, ConfigDict, Field

from curate.errors import InputError
from curate.io.atomic import atomic_path, read_json, write_json, write_bytes
from curate.train.inputs import DataSpec, max_token, resolve, train_sets
from curate.train.loader import Blend, PackedLoader, PackedWindows, ShardSet
from curate.train.model import ModelConfig, ProxyModel
from curate.train.objectives import IGNORE, SpanCorruption, SpecialIds, make_collator, span_lengths

log = logging.getLogger("curate.train")

H100_BF16_DENSE_FLOPS = 989e12  # NVIDIA H100 SXM bf16 dense peak, the MFU denominator by default


# settings that only decide what is logged, evaluated or checkpointed when, never the trained weights:
# a resume may change them (the checkpoint then records the new values)
RESUMABLE_CHANGES = ("log_every", "eval_every", "eval_windows", "ckpt_every")


class TrainConfig(BaseModel):
    """Everything that determines the trained weights (saved in the checkpoint and compared on resume)."""

    model_config = ConfigDict(extra="forbid")

    model: str = "tiny"
    objective: Literal["clm", "mlm", "span"] = "clm"
    steps: int = Field(100, ge=1)
    seq_len: int = Field(128, ge=8)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(1e-3, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    warmup_steps: int | None = Field(None, ge=0)  # default: 5% of steps
    weight_decay: float = Field(0.1, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = Field(1.0, ge=0)  # 0 = no clipping
    seed: int = 0
    eval_every: int = Field(0, ge=0)  # 0 = only at the end
    eval_windows: int = Field(32, ge=1)  # held-out windows per source (fixed, first ones)
    ckpt_every: int = Field(100, ge=0)  # 0 = only at the end
    log_every: int = Field(10, ge=1)
    vocab_size: int | None = Field(None, ge=2)  # only when the data has no manifest

    @property
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else max(1, self.steps // 20)

    def lr_factor(self, step: int) -> float:
        """Linear warmup to 1, then cosine down to min_lr_ratio at `steps`."""
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.steps - self.warmup))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Runtime(BaseModel):
    """How to run (does not change results on a given device): device, threads, compile."""

    model_config = ConfigDict(extra="forbid")

    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = None
    compile: bool = False
    peak_flops: float | None = None  # per device, for MFU; default H100 bf16 dense on CUDA
    quiet: bool = False


def usable_cores() -> int:
    """Cores this process may use (affinity/cgroup aware), capped at 16: more rarely helps a proxy."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, min(n, 16))


def _dist() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


def _val_sets(specs: list[tuple[float, DataSpec]], seq_len: int) -> tuple[dict[str, PackedWindows], dict[str, str]]:
    """Held-out windows per source (a source too small for one window is skipped with a warning)."""
    sets, roles = {}, {}
    for _, spec in specs:
        for name, prefixes in sorted(spec.val.items()):
            key = name if name not in sets else f"{name}@{spec.where}"
            shards = ShardSet(prefixes, name=key)
            if shards.num_tokens <= seq_len:
                log.warning("held-out set %s has %d tokens, fewer than one window of %d: not evaluated", key, shards.num_tokens, seq_len + 1)
                continue
            sets[key] = PackedWindows(shards, seq_len)
            if name in spec.roles:
                roles[key] = spec.roles[name]
    return sets, roles


def _vocab(specs: list[tuple[float, DataSpec]], cfg: TrainConfig) -> tuple[int, int | None]:
    sizes = {s.vocab_size for _, s in specs if s.vocab_size}
    if len(sizes) > 1:
        raise InputError(f"blended data use different tokenizers (vocab sizes {sorted(sizes)})", where="DATA", fix="blend runs tokenized with the same tokenizer")
    if cfg.vocab_size:
        vocab = cfg.vocab_size
    elif sizes:
        vocab = sizes.pop()
    else:
        vocab = max(max_token(s.train + [p for v in s.val.values() for p in v]) for _, s in specs) + 1
    return vocab, next((s.eos_id for _, s in specs if s.eos_id is not None), None)


class Trainer:
    def __init__(self, data: Sequence[tuple[float, str | Path]], cfg: TrainConfig, out: str | Path, rt: Runtime | None = None,
                 heldout: DataSpec | None = None):
        """`heldout` replaces the data's own held-out sets (ablation arms share their parent run's)."""
        self.cfg, self.rt, self.out = cfg, rt or Runtime(), Path(out)
        self.specs = [(w, resolve(p)) for w, p in data]
        vocab, eos = _vocab(self.specs, cfg)
        # T5 has 100 sentinels; long span-corruption windows need one per span
        spans = span_lengths(cfg.seq_len, 0.15, 3.0)[1] if cfg.objective == "span" else 0
        self.ids = SpecialIds(vocab, eos, num_sentinels=max(100, spans))
        self.collate = make_collator(cfg.objective, self.ids)
        use_cuda = self.rt.device == "cuda" or (self.rt.device == "auto" and torch.cuda.is_available())
        if use_cuda and not torch.cuda.is_available():
            raise InputError("--device cuda but torch sees no GPU", where="--device", fix="use --device cpu or auto")
        self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(self.device)  # before the process group, so NCCL binds this GPU
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        else:
            torch.set_num_threads(self.rt.threads or usable_cores())
        self.rank, self.world = _dist()
        weights, sets = train_sets(self.specs)
        self.loader = PackedLoader(Blend(weights, sets), cfg.seq_len, cfg.batch_size, cfg.seed, self.rank, self.world)
        self.val, self.val_roles = _val_sets([(1.0, heldout)] if heldout else self.specs, cfg.seq_len)
        max_len = SpanCorruption(self.ids).shapes(cfg.seq_len)[0] if cfg.objective == "span" else cfg.seq_len
        torch.manual_seed(cfg.seed)
        self.model = ProxyModel(ModelConfig.preset(cfg.model, self.ids.model_vocab, max_len, cfg.objective)).to(self.device)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        rest = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}],
            lr=cfg.lr, betas=cfg.betas, fused=use_cuda,
        )
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, cfg.lr_factor)
        self.step = 0
        self._log_acc: tuple[float, int] = (0.0, 0)
        self.forward = self.model
        if self.world > 1:
            ids = [self.device.index] if use_cuda else None
            self.forward = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if self.rt.compile:
            self.forward = torch.compile(self.forward)

    # -- checkpoints -------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.out / "checkpoint.pt"

    @property
    def log_path(self) -> Path:
        return self.out / "log.jsonl"

    def save(self, log_acc: tuple[float, int]) -> None:
        state = {
            "log_acc": log_acc,  # the running train-loss sum since the last log row, so resumed logs match
            "config": self.cfg.model_dump(mode="json"),
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "loader": self.loader.state_dict(self.step * self.cfg.grad_accum),
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None},
        }
        with atomic_path(self.ckpt_path) as tmp:
            torch.save(state, tmp)

    def try_resume(self) -> bool:
        if not self.ckpt_path.exists():
            return False
        state = torch.load(self.ckpt_path, map_location="cpu", weights_only=False)  # RNG states must stay on CPU
        saved = TrainConfig(**state["config"])
        diff = {k: (getattr(saved, k), getattr(self.cfg, k)) for k in TrainConfig.model_fields
                if k not in RESUMABLE_CHANGES and getattr(saved, k) != getattr(self.cfg, k)}
        if diff:
            raise InputError(
                f"a checkpoint from a different configuration is here: (saved, now) = {diff}",
                where=str(self.ckpt_path),
                fix="rerun with the same options to resume, or choose another --out",
            )
        self._log_acc = tuple(state["log_acc"])
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.step = self.loader.check_state(state["loader"]) // self.cfg.grad_accum
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        if self.rank == 0 and self.log_path.exists():  # drop log rows written after the checkpoint
            rows = [ln for ln in self.log_path.read_bytes().splitlines() if ln and self._keep_row(orjson.loads(ln))]
            write_bytes(self.log_path, b"".join(r + b"\n" for r in rows))
        return True

    def _keep_row(self, row: dict) -> bool:
        """Log rows a resume at self.step keeps: those before it, but not the final evaluation
        (written after the last checkpoint, it is redone)."""
        return row["step"] < self.step or (row["step"] == self.step and not (row.get("split") == "val" and self.step >= self.cfg.steps))

    # -- evaluation --------------------------------------------------------------------------
    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    @torch.no_grad()
    def evaluate(self) -> dict:
        """Mean loss per held-out source over its first `eval_windows` windows (same masks each
        time: the collator's rng is seeded from the seed and the source name), then per role."""
        self.model.eval()
        loss, count = {}, {}
        bs = self.cfg.batch_size
        for name, windows in self.val.items():
            rng = np.random.default_rng([self.cfg.seed, 2, zlib.crc32(name.encode())])
            n = min(self.cfg.eval_windows, len(windows))
            total, tokens = 0.0, 0
            for i in range(0, n, bs):
                batch = self._to_device(self.collate(windows.batch(np.arange(i, min(n, i + bs))), rng))
                k = int((batch["labels"] != IGNORE).sum())
                with self._autocast():
                    total += float(self.model(**batch)) * k
                tokens += k
            loss[name], count[name] = total / max(tokens, 1), tokens
        self.model.train()
        roles: dict[str, list[str]] = {}
        for name, role in self.val_roles.items():
            roles.setdefault(role, []).append(name)
        role_loss = {r: sum(loss[n] * count[n] for n in ns) / max(1, sum(count[n] for n in ns)) for r, ns in sorted(roles.items())}
        overall = sum(loss[n] * count[n] for n in loss) / max(1, sum(count.values())) if loss else None
        return {"val_loss": overall, "source": loss, "role": role_loss}

    # -- the loop ----------------------------------------------------------------------------
    def _log(self, row: dict) -> None:
        if self.rank != 0:
            return
        with open(self.log_path, "ab") as fh:
            fh.write(orjson.dumps(row) + b"\n")
        if not self.rt.quiet:
            print(orjson.dumps(row).decode(), file=sys.stderr, flush=True)

    def train(self, stop_at: int | None = None) -> dict:
        """Train to `cfg.steps` (or pause after `stop_at` steps, checkpointed); returns the summary."""
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        if self.rank == 0:
            write_json(self.out / "config.json", {"train": cfg.model_dump(mode="json"), "model": self.model.cfg.to_dict(),
                                                  "data": [[w, s.where] for w, s in self.specs], "special_ids": {
                                                      "vocab_size": self.ids.vocab_size, "eos_id": self.ids.eos_id, "mask_id": self.ids.mask_id,
                                                      "decoder_start_id": self.ids.decoder_start_id, "first_sentinel": self.ids.sentinel(0),
                                                      "model_vocab": self.ids.model_vocab}})
        self.try_resume()
        if self.step >= cfg.steps and (done := load_summary(self.out)) is not None:
            return done  # already finished: nothing to do
        end = cfg.steps if stop_at is None else min(cfg.steps, stop_at)
        tokens_per_step = cfg.batch_size * cfg.seq_len * cfg.grad_accum * self.world
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        timed_tokens, timed_s, last, first = 0, 0.0, None, True
        loss_acc, acc_steps = torch.tensor(self._log_acc[0], device=self.device), self._log_acc[1]
        while self.step < end:
            t0 = time.perf_counter()
            for micro in range(cfg.grad_accum):
                k = self.step * cfg.grad_accum + micro
                rng = np.random.default_rng([cfg.seed, 1, k, self.rank])
                batch = self._to_device(self.collate(self.loader.batch(k), rng))
                ctx = self.forward.no_sync() if self.world > 1 and micro < cfg.grad_accum - 1 else contextlib.nullcontext()
                with ctx:
                    with self._autocast():
                        loss = self.forward(**batch) / cfg.grad_accum
                    loss.backward()
                loss_acc += loss.detach()
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
            self.opt.step()
            self.sched.step()
            self.opt.zero_grad(set_to_none=True)
            self.step += 1
            acc_steps += 1
            log_now = self.step % cfg.log_every == 0 or self.step == cfg.steps  # not at --stop-at: a resumed log matches
            if log_now:
                if self.world > 1:
                    torch.distributed.all_reduce(loss_acc)
                    loss_acc /= self.world
                last = float(loss_acc) / acc_steps
                loss_acc.zero_()
                acc_steps = 0
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            if not first:  # this process's first step pays for warm-up/compile: not timed
                timed_tokens += tokens_per_step
                timed_s += time.perf_counter() - t0
            first = False
            if log_now:
                self._log({"step": self.step, "loss": last, "lr": self.sched.get_last_lr()[0], "grad_norm": float(norm),
                           "tokens": self.step * tokens_per_step, "tokens_per_s": timed_tokens / timed_s if timed_s else None})
            if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.steps and self.rank == 0 and self.val:
                self._log({"step": self.step, "split": "val", **self.evaluate()})
            if self.rank == 0 and (self.step == end or (cfg.ckpt_every and self.step % cfg.ckpt_every == 0)):
                self.save(log_acc=(float(loss_acc), acc_steps))
            if self.world > 1:
                torch.distributed.barrier()
        summary = self._summary(timed_tokens, timed_s, last)
        if self.step >= cfg.steps and self.rank == 0:
            summary.update(self.evaluate() if self.val else {})
            self._log({"step": self.step, "split": "val", **{k: summary.get(k) for k in ("val_loss", "source", "role")}})
            write_json(self.out / "summary.json", summary)
        return summary

    def _summary(self, timed_tokens: int, timed_s: float, last: float | None) -> dict:
        tps = timed_tokens / timed_s if timed_s else None
        flops_tok = self.model.flops_per_token(self.cfg.seq_len)
        if self.device.type == "cuda":
            peak_mem = torch.cuda.max_memory_allocated(self.device)
            peak = self.rt.peak_flops or H100_BF16_DENSE_FLOPS
            mfu = flops_tok * tps / (peak * self.world) if tps else None
        else:
            peak_mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
            mfu = flops_tok * tps / self.rt.peak_flops if (tps and self.rt.peak_flops) else None
        return {
            "step": self.step, "steps": self.cfg.steps, "finished": self.step >= self.cfg.steps, "final_train_loss": last,
            "tokens": self.step * self.cfg.batch_size * self.cfg.seq_len * self.cfg.grad_accum * self.world,
            "tokens_per_s": tps, "peak_memory_bytes": int(peak_mem), "peak_memory_kind": "cuda_max_allocated" if self.device.type == "cuda" else "cpu_max_rss",
            "mfu": mfu, "flops_per_token": flops_tok, "params": self.model.num_params(with_positions=True), "device": str(self.device),
            "threads": torch.get_num_threads(), "world_size": self.world,
        }


def train(data: Sequence[tuple[float, str | Path]], cfg: TrainConfig, out: str | Path, rt: Runtime | None = None,
          stop_at: int | None = None, heldout: DataSpec | None = None) -> dict:
    """Train (or resume) a proxy on `data` = [(weight, run dir / shards dir / shard), ...] into `out`."""
    return Trainer(data, cfg, out, rt, heldout).train(stop_at=stop_at)


def load_summary(out: str | Path) -> dict | None:
    p = Path(out) / "summary.json"
    return read_json(p) if p.exists() else None
