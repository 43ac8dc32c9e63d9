"""`curate shards inspect DIR`: what is in a run's shards, for a human deciding whether to train.

Shows the tokenizer, target vs achieved shares, tokens and epochs per source, every shard's size,
and a few decoded documents (seeded picks) so encoding problems are visible at a glance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curate.errors import CurateError
from curate.io.atomic import read_json
from curate.shards.megatron import IndexedDataset
from curate.shards.verify import find_manifest


def _decoder(tok_info: dict, run_dir: Path):
    """A decode function from the manifest's tokenizer, or None when the file is not at hand."""
    path = Path(tok_info.get("path", ""))
    path = path if path.is_absolute() else run_dir / path
    if not path.is_file():
        return None
    import tokenizers

    hf = tokenizers.Tokenizer.from_file(str(path))
    return lambda ids: hf.decode([int(i) for i in ids], skip_special_tokens=False)


def inspect_dir(path: str | Path, samples: int = 2, chars: int = 300, seed: int = 0) -> str:
    """A plain-text report of a run directory's manifest and shards."""
    manifest_path = find_manifest(path)
    if manifest_path is None:
        raise CurateError("no manifest.json here", where=str(path), fix="pass a run directory written by the mix stage")
    run_dir = manifest_path.parent
    m = read_json(manifest_path)
    tok = m.get("tokenizer", {})
    mix = m.get("mixture", {})
    out = [f"run: {run_dir}", f"seed: {m.get('seed')}",
           f"tokenizer: {tok.get('path')} vocab={tok.get('vocab_size')} eos_id={tok.get('eos_id')} sha256={str(tok.get('sha256'))[:16]}…"]
    total = mix.get("total_tokens", 0) or 0
    out.append(f"\nmixture by {mix.get('by')}: {total:,} train tokens")
    out.append(f"  {'key':<24}{'target':>9}{'achieved':>10}{'tokens':>16}")
    for k, t in mix.get("target", {}).items():
        out.append(f"  {k:<24}{t:>9.2%}{mix.get('achieved', {}).get(k, 0):>10.2%}{mix.get('tokens', {}).get(k, 0):>16,}")
    out.append(f"\n  {'source':<24}{'role':<10}{'share':>8}{'tokens':>16}{'available':>16}{'epochs':>8}")
    for name, s in mix.get("sources", {}).items():
        share = s["tokens"] / total if total else 0.0
        out.append(f"  {name:<24}{s['role']:<10}{share:>8.2%}{s['tokens']:>16,}{s['available_tokens']:>16,}{s['epochs']:>8.2f}")
    for w in mix.get("warnings", []):
        out.append(f"  warning: {w}")
    out.append("\nshards:")
    decode = _decoder(tok, run_dir)
    rng = np.random.default_rng(seed)
    shown = 0
    for entry in m.get("shards", []):
        out.append(f"  {entry['path']:<40}{entry['split']:<6}{entry['tokens']:>14,} tokens{entry['documents']:>10,} docs")
    for entry in m.get("shards", []):
        if shown >= samples:
            break
        ds = IndexedDataset(run_dir / entry["path"])
        if not len(ds):
            continue
        picks = np.sort(rng.choice(len(ds), size=min(samples - shown, len(ds)), replace=False))
        for i in picks:
            ids = ds[int(i)]
            head = ids[: max(1, chars)]
            text = decode(head) if decode else " ".join(map(str, head[:64].tolist()))
            text = text[:chars].replace("\n", "⏎ ")
            out.append(f"\nsample {entry['path']} #{int(i)} ({ids.size} tokens, last id {int(ids[-1])}):\n  {text}")
            shown += 1
    if decode is None:
        out.append(f"\n(tokenizer {tok.get('path')} not found: showing ids)")
    return "\n".join(out)
