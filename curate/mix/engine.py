"""Token-exact mixing: per-source token files -> mixed Megatron train shards + per-source val shards.

Why by tokens: a 51/49 domain/general mixture (BloombergGPT) is a statement about tokens seen in
training, and documents vary in length by orders of magnitude. The plan:

1. targets per key (role or source) = share x total; total is explicit, or "all": the largest total
   that meets every share without any key exceeding `max_epochs` over its available tokens;
2. within a key, sources get tokens in proportion to what they have (equal epochs);
3. per source: whole epochs of every document, plus a seeded fraction of documents chosen in a
   seeded order and topped up with the first documents that still fit, so the achieved count lands
   within a few tokens of the target (shares well inside the +-0.5 pp tolerance);
4. all document instances are shuffled globally with the seed and cut into shards of about
   `shard_tokens` at document boundaries.

Nothing here re-tokenizes: `mix_to_dir` reads `tokens/<source>/<role>/train.{bin,idx}`, so an ablation can
re-mix at another ratio in seconds. Same inputs + config + seed => byte-identical shards.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xxhash

from curate.errors import ConfigError, CurateError
from curate.io.atomic import read_json, tmp_path, write_json
from curate.layout import RunLayout, token_prefix, tokenizer_info_path
from curate.shards.megatron import IndexedDataset, MegatronWriter, dtype_for_vocab, paths_of
from curate.mix.config import MixConfig
from curate.io.atomic import sha256_file as file_sha256

log = logging.getLogger("curate.mix")

@dataclass
class MixPlan:
    """Token targets: per key and per source, plus warnings about what could not be met."""

    total: int
    key_of: dict[str, str]
    key_share: dict[str, float]
    key_tokens: dict[str, int]
    source_tokens: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    cap_total: int = 0  # the largest total the epoch cap allows at these shares
    available: dict[str, int] = field(default_factory=dict)  # tokens per source

    def with_key_tokens(self, key_tokens: dict[str, int]) -> "MixPlan":
        """The same plan with other per-key targets, split among each key's sources as `plan_mixture` does."""
        source_tokens: dict[str, int] = {}
        for k in self.key_share:
            members = {s: float(a) for s, a in self.available.items() if self.key_of[s] == k}
            source_tokens.update(_split(key_tokens[k], members))
        return MixPlan(total=sum(key_tokens.values()), key_of=self.key_of, key_share=self.key_share, key_tokens=dict(key_tokens),
                       source_tokens={s: source_tokens[s] for s in self.available}, warnings=list(self.warnings),
                       cap_total=self.cap_total, available=self.available)


def _split(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Integers proportional to `weights` summing to `total` (largest remainder, ties by order)."""
    wsum = sum(weights.values())
    if total <= 0 or wsum <= 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    out = {k: int(math.floor(x)) for k, x in exact.items()}
    left = total - sum(out.values())
    for k in sorted(weights, key=lambda k: -(exact[k] - out[k]))[:left]:
        out[k] += 1
    return out


def plan_mixture(available: dict[str, int], roles: dict[str, str], cfg: MixConfig) -> MixPlan:
    """Token targets per source from available tokens, roles and the config (no I/O)."""
    key_of = {s: (roles[s] if cfg.by == "role" else s) for s in available}
    keys_present = set(key_of.values())
    warnings: list[str] = []
    unknown = [k for k, share in cfg.target.items() if k not in keys_present and share > 0]
    if unknown:
        valid = sorted(keys_present)
        raise ConfigError(f"mix.target names {cfg.by}(s) {unknown} that no tokenized source has", where="mix.target",
                          fix=f"use {cfg.by} names among {valid}, or set `by: {'source' if cfg.by == 'role' else 'role'}`")
    shares = {k: float(cfg.target.get(k, 0.0)) for k in sorted(keys_present)}
    for k in sorted(keys_present - set(cfg.target)):
        warnings.append(f"{cfg.by} `{k}` is not in mix.target: it gets 0 tokens (give it a share to include it)")
    avail_key = {k: sum(a for s, a in available.items() if key_of[s] == k) for k in shares}
    for k, share in shares.items():
        if share > 0 and avail_key[k] == 0:
            raise CurateError(f"{cfg.by} `{k}` has a target share of {share:g} but no tokens", where="mix.target",
                              fix="check that its sources kept documents, or set its share to 0")
    # the largest total the epoch cap allows at these shares
    cap_total = min(math.floor(cfg.max_epochs * avail_key[k] / share) for k, share in shares.items() if share > 0)
    if cfg.total_tokens == "all":
        total = cap_total
    else:
        total = int(cfg.total_tokens)
        if total > cap_total:
            short = [k for k, s in shares.items() if s > 0 and s * total > cfg.max_epochs * avail_key[k]]
            details = "; ".join(f"{cfg.by} `{k}` needs {shares[k] * total:,.0f} tokens ({shares[k]:.2%}) but has {avail_key[k]:,} "
                                f"(= {shares[k] * total / avail_key[k]:.2f} epochs)" for k in short)
            msg = f"mix.total_tokens {total:,} cannot be met within max_epochs {cfg.max_epochs:g}: {details}"
            fix = (f"lower total_tokens to <= {cap_total:,}, raise max_epochs to >= "
                   f"{max(shares[k] * total / avail_key[k] for k in short):.2f}, use total_tokens: all, or on_shortfall: warn")
            if cfg.on_shortfall == "error":
                raise CurateError(msg, where="mix.total_tokens", fix=fix)
            warnings.append(f"{msg}; total reduced to {cap_total:,}")
            total = cap_total
    key_tokens = {k: int(math.floor(share * total)) for k, share in shares.items()}
    base = MixPlan(total=0, key_of=key_of, key_share=shares, key_tokens={}, source_tokens={}, warnings=warnings,
                   cap_total=cap_total, available=dict(available))
    return base.with_key_tokens(key_tokens)


def _rng(seed: int, *salt: str) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, *(xxhash.xxh32_intdigest(s.encode()) for s in salt)])


def choose_repeats(sizes: np.ndarray, target: int, rng: np.random.Generator, max_fill_rounds: int = 64) -> np.ndarray:
    """How many times each document is used so that sum(repeats * sizes) is as close to `target` as
    document granularity allows: whole epochs, then documents in a seeded order while they fit, then
    the first later documents that still fit the gap."""
    sizes = np.asarray(sizes, dtype=np.int64)
    avail = int(sizes.sum())
    repeats = np.zeros(sizes.size, dtype=np.int64)
    if target <= 0 or avail == 0:
        return repeats
    full, rem = divmod(int(target), avail)
    repeats[:] = full
    if rem == 0:
        return repeats
    order = rng.permutation(sizes.size)
    cum = np.cumsum(sizes[order])
    k = int(np.searchsorted(cum, rem, side="right"))
    repeats[order[:k]] += 1
    gap = rem - (int(cum[k - 1]) if k else 0)
    rest = order[k:]
    for _ in range(max_fill_rounds):
        if gap == 0 or rest.size == 0:
            break
        rest = rest[sizes[rest] <= gap]
        if rest.size == 0:
            break
        c = np.cumsum(sizes[rest])
        j = max(1, int(np.searchsorted(c, gap, side="right")))
        repeats[rest[:j]] += 1
        gap -= int(c[j - 1])
        rest = rest[j:]
    return repeats


def _shares_off(plan: MixPlan, key_got: dict[str, int], tolerance: float) -> dict[str, float]:
    total = sum(key_got.values())
    achieved = {k: (key_got[k] / total if total else 0.0) for k in plan.key_share}
    return {k: achieved[k] - plan.key_share[k] for k in plan.key_share if abs(achieved[k] - plan.key_share[k]) > tolerance}


def fit_repeats(plan: MixPlan, sizes: dict[str, np.ndarray], cfg: MixConfig, seed: int,
                max_rounds: int = 16) -> tuple[MixPlan, dict[str, np.ndarray]]:
    """Document repeats per source for `plan`, and the plan they were chosen for.

    A source's documents can only be taken whole, so a key with few long documents may get noticeably
    fewer tokens than its target (at most its target), which moves every share. Under
    `total_tokens: all` the total is ours to choose: while a share misses the tolerance, the total is
    lowered to what the scarcest key actually got (achieved / share) and every key is re-targeted at
    that total, so a target that whole documents can meet never fails. An explicit total is kept."""
    def choose(p: MixPlan) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        reps = {n: choose_repeats(sizes[n], p.source_tokens[n], _rng(seed, "mix-select", n)) for n in sizes}
        key_got = {k: 0 for k in p.key_share}
        for n, rep in reps.items():
            key_got[p.key_of[n]] += int((rep * sizes[n]).sum())
        return reps, key_got

    reps, key_got = choose(plan)
    if cfg.total_tokens != "all" or not _shares_off(plan, key_got, cfg.tolerance):
        return plan, reps
    fit = plan
    for _ in range(max_rounds):
        fitted = min(key_got[k] / share for k, share in fit.key_share.items() if share > 0)
        key_tokens = {k: min(fit.key_tokens[k], int(math.floor(share * fitted + 1e-9))) for k, share in fit.key_share.items()}
        if key_tokens == fit.key_tokens or sum(key_tokens.values()) == 0:
            break
        fit = fit.with_key_tokens(key_tokens)
        fit_reps, key_got = choose(fit)
        if sum(key_got.values()) and not _shares_off(fit, key_got, cfg.tolerance):
            return fit, fit_reps
    return plan, reps  # whole documents cannot meet the shares: the caller reports the first plan's miss


def _gather(datasets: list[IndexedDataset], src: np.ndarray, doc: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Tokens of documents (src[i], doc[i]) concatenated in order, and their lengths."""
    lengths = np.zeros(doc.size, dtype=np.int64)
    for s, ds in enumerate(datasets):
        m = src == s
        lengths[m] = ds.sizes[doc[m]]
    out_start = np.cumsum(lengths) - lengths
    flat = np.empty(int(lengths.sum()), dtype=dtype)
    for s, ds in enumerate(datasets):
        idx = np.flatnonzero(src == s)
        if idx.size == 0:
            continue
        L = lengths[idx]
        ramp = np.arange(int(L.sum()), dtype=np.int64) - np.repeat(np.cumsum(L) - L, L)
        in_start = ds.pointers[doc[idx]] // ds.dtype.itemsize
        flat[np.repeat(out_start[idx], L) + ramp] = ds.tokens[np.repeat(in_start, L) + ramp]
    return flat, lengths


def _copy_pair(src_prefix: Path, dst_prefix: Path) -> None:
    for s, d in zip(paths_of(src_prefix), paths_of(dst_prefix)):
        tmp = tmp_path(d)
        shutil.copyfile(s, tmp)
        tmp.replace(d)


def write_order(path: Path, names: list[str], src: np.ndarray, doc: np.ndarray, shard: np.ndarray) -> None:
    """The training order: one row per document instance in the mixed train shards, in order —
    its source and its index among that source's train documents (`tokens/<source>/<role>/train.idx`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.io.atomic import atomic_path

    table = pa.table({"source": pa.DictionaryArray.from_arrays(pa.array(src, pa.int32()), pa.array(names, pa.string())),
                      "doc": pa.array(doc, pa.int64()), "shard": pa.array(shard.astype(np.int32), pa.int32())})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def mix_to_dir(tokens_dir: Path, sources: dict[str, dict], cfg: MixConfig, out_dir: Path, seed: int,
               tokenizer_info: dict, config: dict | None = None, chunk_tokens: int = 1 << 23) -> dict:
    """Mix per-source token files into `out_dir/shards/` and write `out_dir/manifest.json`.

    `sources`: stream name -> {"role": ..., "source": ...} ("source" defaults to the stream name); token
    files are `tokens_dir/<source>/<role>/train.{bin,idx}` and
    held-out `.../heldout.{bin,idx}` (curate.layout). Returns {"mixture": ..., "shards": [...]} (the manifest's parts).
    `config` is recorded in the manifest (default: just this mix section).
    """
    tokens_dir, out_dir = Path(tokens_dir), Path(out_dir)
    out = RunLayout(out_dir)
    names = list(sources)
    if not names:
        raise ConfigError("no sources to mix", where="sources")
    dtype = dtype_for_vocab(int(tokenizer_info["vocab_size"]))
    datasets = []
    for name in names:
        ds = IndexedDataset(token_prefix(tokens_dir, sources[name].get("source", name), sources[name]["role"], "train"))
        if ds.dtype != dtype:
            raise CurateError(f"token file is {ds.dtype} but the tokenizer (vocab {tokenizer_info['vocab_size']}) needs {dtype}",
                              where=str(ds.path_idx), fix="the tokens come from another tokenizer: rerun the tokenize stage")
        datasets.append(ds)
    info_path = tokenizer_info_path(tokens_dir)
    if info_path.exists() and read_json(info_path).get("sha256") != tokenizer_info.get("sha256"):
        raise CurateError("the token files were made with a different tokenizer than the one given", where=str(info_path),
                          fix="pass the tokenizer the tokenize stage used, or re-tokenize")

    available = {n: ds.num_tokens for n, ds in zip(names, datasets)}
    plan = plan_mixture(available, {n: sources[n]["role"] for n in names}, cfg)
    planned_total = plan.total
    plan, repeats = fit_repeats(plan, {n: ds.sizes for n, ds in zip(names, datasets)}, cfg, seed)

    # document repeats per source (chosen above), then shuffle all instances globally
    src_parts, doc_parts, got, repeated = [], [], {}, {}
    for s, (name, ds) in enumerate(zip(names, datasets)):
        rep = repeats[name]
        docs = np.repeat(np.arange(len(ds), dtype=np.int64), rep)
        got[name] = (int((rep * ds.sizes).sum()), int(docs.size))
        repeated[name] = int((np.maximum(rep - 1, 0) * ds.sizes).sum())  # tokens beyond each document's first use
        src_parts.append(np.full(docs.size, s, dtype=np.int32))
        doc_parts.append(docs)
    src = np.concatenate(src_parts)
    doc = np.concatenate(doc_parts)
    order = _rng(seed, "mix-shuffle").permutation(src.size)
    src, doc = src[order], doc[order]
    total = sum(t for t, _ in got.values())
    if total == 0:
        raise CurateError("the mixture plan selects no tokens", where="mix", fix="check mix.target and that sources have tokens")

    # achieved shares against targets
    key_got: dict[str, int] = {k: 0 for k in plan.key_share}
    for name in names:
        key_got[plan.key_of[name]] += got[name][0]
    achieved = {k: key_got[k] / total for k in plan.key_share}
    warnings = list(plan.warnings)
    off = {k: achieved[k] - plan.key_share[k] for k in plan.key_share if abs(achieved[k] - plan.key_share[k]) > cfg.tolerance}
    if off:
        msg = "achieved shares miss their targets by more than the tolerance (documents too long for this total): " + \
              ", ".join(f"{k} {achieved[k]:.4f} vs {plan.key_share[k]:.4f}" for k in off)
        coarse = ", ".join(f"{cfg.by} `{k}` has {sum(len(ds) for n, ds in zip(names, datasets) if plan.key_of[n] == k):,} documents"
                           for k in off)
        if cfg.total_tokens == "all":  # the total was already fitted to whole documents: only these remain
            fix = (f"whole documents cannot meet these shares within max_epochs ({coarse}): raise mix.tolerance, "
                   "raise mix.max_epochs, add documents to the short key, or set on_shortfall: warn")
        else:
            more = (f"raise mix.total_tokens toward {plan.cap_total:,} (the most max_epochs allows; long documents average "
                    "out over more tokens), " if plan.cap_total > int(cfg.total_tokens) else "")
            fix = f"use total_tokens: all (it fits the total to whole documents), {more}raise mix.tolerance, or set on_shortfall: warn"
        if cfg.on_shortfall == "error":
            raise CurateError(msg, where="mix", fix=fix)
        warnings.append(msg)
    for w in warnings:
        log.warning("mix: %s", w)

    # write mixed train shards, cut at document ends every ~shard_tokens
    shards_dir = out.shards_dir
    shards_dir.mkdir(parents=True, exist_ok=True)
    lengths = np.zeros(src.size, dtype=np.int64)
    for s, ds in enumerate(datasets):
        m = src == s
        lengths[m] = ds.sizes[doc[m]]
    starts = np.cumsum(lengths) - lengths
    shard_of = starts // cfg.shard_tokens
    bounds = np.flatnonzero(np.diff(shard_of)) + 1
    edges = np.concatenate([[0], bounds, [src.size]])
    shard_index = np.concatenate([[0], np.cumsum(np.diff(shard_of) != 0)]) if src.size else np.zeros(0, np.int64)
    write_order(out.mix_order, names, src, doc, shard_index)
    shards: list[dict] = []
    written: set[str] = set()
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        prefix = out.train_shard(i)
        w = MegatronWriter(prefix, dtype)
        with w:
            cum = np.cumsum(lengths[a:b])
            cuts = np.concatenate([[0], np.flatnonzero(np.diff(cum // chunk_tokens)) + 1, [b - a]]) + a
            for c0, c1 in zip(cuts[:-1], cuts[1:]):
                flat, lens = _gather(datasets, src[c0:c1], doc[c0:c1], dtype)
                w.add_many(flat, lens)
            res = w.finalize()
        shards.append({"path": out.rel(paths_of(prefix)[0]), "sha256": res["sha256"], "tokens": res["tokens"],
                       "documents": res["documents"], "split": "train", "source": None})
        written.add(prefix.name)
    for name in names:
        val = token_prefix(tokens_dir, sources[name].get("source", name), sources[name]["role"], "heldout")
        if not paths_of(val)[1].exists():
            warnings.append(f"source `{name}` has no held-out file {val}.idx")
            continue
        vds = IndexedDataset(val)
        if len(vds) == 0:
            warnings.append(f"source `{name}` has no held-out documents (raise tokenizer.val_fraction)")
            continue
        prefix = out.val_shard(name)
        _copy_pair(val, prefix)
        shards.append({"path": out.rel(paths_of(prefix)[0]), "sha256": file_sha256(paths_of(prefix)[0]), "tokens": vds.num_tokens,
                       "documents": len(vds), "split": "val", "source": name})
        written.add(prefix.name)
    for p in sorted(shards_dir.glob("*.idx")) + sorted(shards_dir.glob("*.bin")):
        if re.fullmatch(r"(train_\d+|val_.+)", p.stem) and p.stem not in written:
            p.unlink()  # left over from an earlier mix of this directory

    mixture = {
        "by": cfg.by,
        "target": plan.key_share,
        "achieved": achieved,
        "tokens": key_got,
        "epochs": {n: (got[n][0] / available[n] if available[n] else 0.0) for n in names},
        "total_tokens": total,
        "planned_total_tokens": planned_total,  # before fitting to whole documents (total_tokens: all)
        "unique_tokens": total - sum(repeated.values()),
        "repeated_tokens": sum(repeated.values()),
        "max_epochs": cfg.max_epochs,
        "sources": {n: {"role": sources[n]["role"], "available_tokens": available[n], "available_documents": len(ds),
                        "tokens": got[n][0], "documents": got[n][1], "epochs": (got[n][0] / available[n] if available[n] else 0.0),
                        "repeated_tokens": repeated[n]}
                    for n, ds in zip(names, datasets)},
        "warnings": warnings,
    }
    result = {"mixture": mixture, "shards": shards}
    # the manifest merges this part; writing the manifest here too makes a standalone re-mix complete
    write_json(out.mixture, {"seed": seed, "tokenizer": tokenizer_info, **result})
    out.write_manifest(seed, config if config is not None else {"mix": cfg.model_dump(mode="json")})
    return result
