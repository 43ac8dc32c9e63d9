"""RunLayout: every path of a run directory, and the one writer of its manifest.json.

    RUN/
      .curate-run, .curate.lock           marks a curate run; who holds it while a run is live (curate.io.runlock)
      config.yaml                         the validated config
      stats.json, timings.json            per-stage stats (curate.stats shape); wall times and task reuse
      manifest.json                       seed, config, config_dir, tokenizer, mixture, shards with sha256
      report.md, *.svg, report.html       the run reports (docs/report.md)
      annotated/<source>/<unit>.parquet   one per annotated unit: <input>[@pKK] (curate.io.input_keys), or
                                          <first input>@u<N> for a pack of N small files (curate.io.packs)
      quarantine/<same key>.jsonl         bad records with file, line and reason
      dedup/drops.parquet, drops_by_file.parquet, clusters.json, work-<fp>-pNNNN/   (work is removed after the stage)
      adapt/<task>/columns/<same key>.parquet  learned columns (same rows as annotated/), models + card in adapt/<task>/
      decontam/index.npz, heldout_index.npz, items.parquet, index_key.json, hits/<same key>.parquet; decontam.json
      selected/<same key>.parquet         kept documents
      decisions/<same key>.parquet        per annotated row: the reason select dropped it (null: kept) and
                                          the values of the columns its rules read (the report's examples)
      tokenizer/tokenizer.json            when the run trains its tokenizer
      tokens/<source>/<role>/train.{bin,idx}, heldout.{bin,idx}, tokens/tokenizer_info.json
      shards/train_NNNNN.{bin,idx}, val_<source>.{bin,idx}, mixture.json, mix_order.parquet
      _markers/<stage>/<task id>.json     completion markers (task results and fingerprints)
      _workers/<tmp>/<pid>                while a run's process pool lives: the task each worker runs

Nothing else in the project spells these names; stages, ablate, report, verify and the train
data loader ask a RunLayout.
"""

from __future__ import annotations

import re
from pathlib import Path

from curate.io.atomic import read_json, write_json

SPLITS = ("train", "heldout")


class RunLayout:
    def __init__(self, run_dir: str | Path):
        self.root = Path(run_dir)

    def __repr__(self) -> str:
        return f"RunLayout({str(self.root)!r})"

    # ---- run-level files ----
    @property
    def config_yaml(self) -> Path:
        return self.root / "config.yaml"

    @property
    def fingerprint(self) -> Path:
        return self.root / "config.fingerprint"

    @property
    def stats(self) -> Path:
        return self.root / "stats.json"

    @property
    def timings(self) -> Path:
        return self.root / "timings.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    def chart(self, name: str) -> Path:
        return self.root / f"{name}.svg"

    def stage_dir(self, stage: str) -> Path:
        """A folder of the run for an extension stage's own outputs (`RUN/<stage>/`), created."""
        d = self.root / stage
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ---- completion markers ----
    @property
    def workers_dir(self) -> Path:
        """Where the local executor's pool workers record their running task (removed when it closes;
        a killed run's leftovers go when the next run takes the lock)."""
        return self.root / "_workers"

    @property
    def markers_dir(self) -> Path:
        return self.root / "_markers"

    @property
    def column_check(self) -> Path:
        """The columns the configured signals make, kept by the pre-run check with the fingerprint of
        the signals (config, seed, content of their files), so a rerun need not load every model to
        learn them again."""
        return self.markers_dir / "columns.json"

    @property
    def repeated_ids(self) -> Path:
        """Per source, ids given to more than one document, with the annotated files they were counted in."""
        return self.markers_dir / "repeated_ids.json"

    def marker(self, stage: str, task_id: str) -> Path:
        """`_markers/<stage>/<task id>.json`; a `/` in the id (`<source>/<input>`) is a folder, so two
        ids never share a marker (ids are made of safe names: curate.io.input_keys)."""
        parts = [re.sub(r"[^A-Za-z0-9_.@%~-]", "_", p) for p in task_id.split("/")]
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"unsafe task id {task_id!r}")
        return self.markers_dir.joinpath(stage, *parts[:-1], parts[-1] + ".json")

    # ---- per-unit outputs (key = `<source>/<input>[@pKK]`, curate.io.input_keys, or a pack's `...@u<N>`) ----
    @property
    def annotated_dir(self) -> Path:
        return self.root / "annotated"

    def annotated(self, key: str) -> Path:
        return self.annotated_dir / f"{key}.parquet"

    def quarantine(self, key: str) -> Path:
        return self.quarantine_dir / f"{key}.jsonl"

    @property
    def selected_dir(self) -> Path:
        return self.root / "selected"

    def selected(self, key: str) -> Path:
        return self.selected_dir / f"{key}.parquet"

    # ---- adapt (learned columns) ----
    @property
    def adapt_dir(self) -> Path:
        return self.root / "adapt"

    def adapt_task_dir(self, task: str) -> Path:
        """Models and cards of one adapt task."""
        return self.adapt_dir / task

    def adapt_sidecar(self, task: str, key: str) -> Path:
        """One annotated file's learned columns (same rows, same order) from one adapt task."""
        return self.adapt_dir / task / "columns" / f"{key}.parquet"

    @property
    def decisions_dir(self) -> Path:
        return self.root / "decisions"

    def decisions(self, key: str) -> Path:
        """Per annotated row: why select dropped it (null: kept) and the values its rules read."""
        return self.decisions_dir / f"{key}.parquet"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    # ---- dedup ----
    @property
    def dedup_dir(self) -> Path:
        return self.root / "dedup"

    @property
    def drops(self) -> Path:
        return self.dedup_dir / "drops.parquet"

    @property
    def drops_by_file(self) -> Path:
        """The drops sorted by (file, row) in small row groups: one annotated file's drops are read alone."""
        return self.dedup_dir / "drops_by_file.parquet"

    @property
    def clusters(self) -> Path:
        return self.dedup_dir / "clusters.json"

    def dedup_work(self, partitions: int, fingerprint: str = "") -> Path:
        """Intermediate files of one dedup configuration (its fingerprint's head names it)."""
        return self.dedup_dir / (f"work-{fingerprint[:12]}-p{partitions:04d}" if fingerprint else f"work-p{partitions:04d}")

    # ---- decontam ----
    @property
    def decontam_dir(self) -> Path:
        return self.root / "decontam"

    @property
    def decontam_index(self) -> Path:
        return self.decontam_dir / "index.npz"

    @property
    def decontam_heldout_index(self) -> Path:
        """n-gram index of the run's held-out documents (`decontam.heldout: true`)."""
        return self.decontam_dir / "heldout_index.npz"

    @property
    def decontam_items(self) -> Path:
        return self.decontam_dir / "items.parquet"

    @property
    def decontam_index_key(self) -> Path:
        """What the indexes and items.parquet were built from (a rerun with the same key reuses them)."""
        return self.decontam_dir / "index_key.json"

    def decontam_hits(self, key: str) -> Path:
        """Contaminated rows of one annotated file (same key)."""
        return self.decontam_dir / "hits" / f"{key}.parquet"

    @property
    def decontam_report(self) -> Path:
        return self.root / "decontam.json"

    # ---- tokens ----
    @property
    def tokenizer(self) -> Path:
        """Where a tokenizer trained by the run is written."""
        return self.root / "tokenizer" / "tokenizer.json"

    @property
    def tokens_dir(self) -> Path:
        return self.root / "tokens"

    def tokens(self, source: str, role: str, split: str = "train") -> Path:
        """Prefix of one (source, role)'s token files (`.bin`/`.idx` are added by the writer)."""
        return token_prefix(self.tokens_dir, source, role, split)

    @property
    def token_parts(self) -> Path:
        return self.tokens_dir / "_parts"

    @property
    def tokenizer_info(self) -> Path:
        return tokenizer_info_path(self.tokens_dir)

    # ---- shards ----
    @property
    def shards_dir(self) -> Path:
        return self.root / "shards"

    @property
    def mixture(self) -> Path:
        return self.shards_dir / "mixture.json"

    @property
    def mix_order(self) -> Path:
        """The training order of the mixed train shards (one row per document use)."""
        return self.shards_dir / "mix_order.parquet"

    def train_shard(self, i: int) -> Path:
        return self.shards_dir / f"train_{i:05d}"

    def val_shard(self, source: str) -> Path:
        return self.shards_dir / f"val_{source}"

    def rel(self, path: Path) -> str:
        """A path inside the run as the manifest records it (relative, `/`-separated)."""
        return Path(path).relative_to(self.root).as_posix()

    # ---- the manifest ----
    def write_manifest(self, seed: int, config: dict, config_dir: str | None = None) -> Path:
        """manifest.json = seed + config (+ the folder its relative paths resolve against) + the mix
        stage's part (tokenizer, mixture, shards) when there is one. The only writer of manifest.json."""
        manifest: dict = {"seed": seed, "config": config}
        if config_dir is not None:
            manifest["config_dir"] = config_dir
        from curate import __version__

        manifest = {"curate_version": __version__, **manifest}
        if self.mixture.exists():
            part = read_json(self.mixture)
            part.pop("seed", None)
            manifest.update(part)
        write_json(self.manifest, manifest)
        return self.manifest

    def read_manifest(self) -> dict:
        return read_json(self.manifest)


def tokenizer_info_path(tokens_dir: str | Path) -> Path:
    """The tokenizer record beside a tokens folder (a re-mix checks it has the right tokenizer)."""
    return Path(tokens_dir) / "tokenizer_info.json"


def token_prefix(tokens_dir: str | Path, source: str, role: str, split: str = "train") -> Path:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    return Path(tokens_dir) / source / role / split
