"""Token-exact mixing: plan arithmetic (hand-computed), document selection, and mixed shards
checked independently by attributing every document back to its source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from curate.errors import CurateError
from curate.io.atomic import read_json
from curate.layout import token_prefix
from curate.mix.engine import MixConfig, _split, choose_repeats, mix_to_dir, plan_mixture
from curate.shards.megatron import IndexedDataset, MegatronWriter

EOS = 0
TOK_INFO = {"path": "tokenizer/tokenizer.json", "sha256": "0" * 64, "vocab_size": 1000, "eos_id": EOS}
# token ids encode the source so shards can be audited: source k uses ids in [100k + 1, 100k + 99]
SOURCES = {"fin": {"role": "domain"}, "news": {"role": "domain"}, "web": {"role": "general"}, "wiki": {"role": "general"}}


def _docs(seed: int, n: int, base: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.append(rng.integers(base + 1, base + 100, size=rng.integers(5, 120)), EOS) for _ in range(n)]


@pytest.fixture
def tokens_dir(tmp_path: Path) -> Path:
    d = tmp_path / "tokens"
    for k, (name, n) in enumerate((("fin", 60), ("news", 30), ("web", 300), ("wiki", 150))):
        for split, count, seed in (("train", n, k), ("heldout", 3, 100 + k)):
            w = MegatronWriter(token_prefix(d, name, SOURCES[name]["role"], split), np.uint16)
            w.add_many(_docs(seed, count, 100 * (k + 1)))
            w.finalize()
    return d


# ---------------------------------------------------------------- plan arithmetic (no files)


def test_plan_all_is_largest_total_within_epoch_cap():
    cfg = MixConfig()  # domain 0.51 / general 0.49, total "all", max 4 epochs
    plan = plan_mixture({"fin": 1000, "web": 10_000}, {"fin": "domain", "web": "general"}, cfg)
    # cap: domain may give 4 x 1000 = 4000 tokens = 51% of 7843.13 -> total 7843
    assert plan.key_tokens == {"domain": 3999, "general": 3843}  # floor(0.51*7843), floor(0.49*7843)
    assert plan.total == 7842
    assert plan.source_tokens == {"fin": 3999, "web": 3843}


def test_plan_explicit_total_and_proportional_split_within_role():
    cfg = MixConfig(total_tokens=5000)
    plan = plan_mixture({"fin": 3000, "news": 1000, "web": 10_000}, {"fin": "domain", "news": "domain", "web": "general"}, cfg)
    assert plan.key_tokens == {"domain": 2550, "general": 2450}
    # domain's 2550 split 3:1 is 1912.5 / 637.5: floors sum to 2549, the tied remainder goes to the first
    assert plan.source_tokens == {"fin": 1913, "news": 637, "web": 2450}


def test_plan_source_too_small_errors_or_warns():
    roles = {"fin": "domain", "web": "general"}
    with pytest.raises(CurateError) as err:
        plan_mixture({"fin": 1000, "web": 10_000}, roles, MixConfig(total_tokens=10_000))
    msg = str(err.value)
    assert "domain" in msg and "5,100" in msg and "<= 7,843" in msg and "5.10" in msg  # 5100 / 1000 epochs
    plan = plan_mixture({"fin": 1000, "web": 10_000}, roles, MixConfig(total_tokens=10_000, on_shortfall="warn"))
    assert plan.total == 7842 and any("reduced to 7,843" in w for w in plan.warnings)


def test_plan_zero_weight_and_missing_keys():
    avail = {"a": 500, "b": 500, "c": 500, "d": 500}
    roles = dict.fromkeys(avail, "general")
    plan = plan_mixture(avail, roles, MixConfig(by="source", target={"a": 0.5, "b": 0.5, "c": 0.0}, max_epochs=1))
    assert plan.source_tokens == {"a": 500, "b": 500, "c": 0, "d": 0}
    assert any("`d` is not in mix.target" in w for w in plan.warnings)


def test_plan_one_source():
    plan = plan_mixture({"only": 1234}, {"only": "general"}, MixConfig(target={"general": 1.0}, max_epochs=1))
    assert plan.source_tokens == {"only": 1234}
    plan = plan_mixture({"only": 1234}, {"only": "general"}, MixConfig(target={"general": 1.0}))
    assert plan.source_tokens == {"only": 4936}  # "all" upsamples to the 4-epoch cap


def test_config_errors():
    with pytest.raises(ValidationError, match="sum to 1"):
        MixConfig(target={"domain": 0.5, "general": 0.4})
    with pytest.raises(ValidationError, match=">= 0"):
        MixConfig(target={"domain": 1.5, "general": -0.5})
    assert MixConfig(total_tokens="1.5B").total_tokens == 1_500_000_000
    assert MixConfig(total_tokens="250k").total_tokens == 250_000
    with pytest.raises(CurateError, match="no tokenized source"):
        plan_mixture({"a": 10}, {"a": "general"}, MixConfig())  # target names `domain`, nobody has it


def test_split_largest_remainder():
    assert _split(10, {"x": 1, "y": 1, "z": 1}) == {"x": 4, "y": 3, "z": 3}
    assert _split(7, {"x": 3, "y": 1}) == {"x": 5, "y": 2}  # 5.25, 1.75 -> remainder goes to y
    assert _split(0, {"x": 1}) == {"x": 0}


def test_choose_repeats_whole_epochs_plus_seeded_fraction():
    sizes = np.full(100, 10)
    rep = choose_repeats(sizes, 2500, np.random.default_rng(1))
    assert set(rep.tolist()) == {2, 3} and int((rep == 3).sum()) == 50 and int((rep * sizes).sum()) == 2500
    rep2 = choose_repeats(sizes, 2500, np.random.default_rng(2))
    assert not np.array_equal(rep, rep2)  # the fraction is a seeded choice
    assert np.array_equal(rep, choose_repeats(sizes, 2500, np.random.default_rng(1)))


def test_choose_repeats_fills_the_gap():
    rng = np.random.default_rng(0)
    sizes = rng.integers(20, 400, size=500)
    for target in (1, 777, 12_345, int(sizes.sum()) + 999):
        rep = choose_repeats(sizes, target, np.random.default_rng(target))
        got = int((rep * sizes).sum())
        assert got <= target
        unused = sizes[rep == rep.min()] if rep.min() < rep.max() else sizes
        assert target - got < max(unused.min(), 1) or got == target  # no unused document still fits the gap


# ---------------------------------------------------------------- mixing files


def _audit(out: Path) -> dict[str, int]:
    """Tokens per source in the train shards, attributed by id range (independent of the manifest)."""
    per = {n: 0 for n in SOURCES}
    names = list(SOURCES)
    m = read_json(out / "manifest.json")
    for s in m["shards"]:
        if s["split"] != "train":
            continue
        ds = IndexedDataset(out / s["path"])
        for i in range(len(ds)):
            doc = ds[i]
            assert doc[-1] == EOS
            per[names[int(doc[0]) // 100 - 1]] += doc.size
    return per


def test_mix_exact_51_49(tokens_dir: Path, tmp_path: Path):
    out = tmp_path / "run"
    res = mix_to_dir(tokens_dir, SOURCES, MixConfig(shard_tokens=2000), out, seed=7, tokenizer_info=TOK_INFO)
    mix = res["mixture"]
    per = _audit(out)
    total = sum(per.values())
    domain = per["fin"] + per["news"]
    assert total == mix["total_tokens"]
    assert abs(domain / total - 0.51) <= 0.005 and abs(mix["achieved"]["domain"] - 0.51) <= 0.005
    assert mix["achieved"]["domain"] == domain / total
    for name in SOURCES:
        s = mix["sources"][name]
        assert s["tokens"] == per[name]
        assert s["available_tokens"] == IndexedDataset(token_prefix(tokens_dir, name, SOURCES[name]["role"])).num_tokens
        assert s["epochs"] <= 4.0 + 1e-9
    # the domain role is the binding one under "all": it is upsampled to (almost) 4 epochs
    assert mix["epochs"]["fin"] > 3.9 and mix["epochs"]["web"] < 4.0
    train = [s for s in res["shards"] if s["split"] == "train"]
    # shard i starts with the first document starting at or after token i * 2000 (documents <= 120 tokens)
    before = np.cumsum([0] + [s["tokens"] for s in train])[:-1]
    assert len(train) >= 2 and all(i * 2000 <= b < i * 2000 + 120 for i, b in enumerate(before))
    assert before[-1] <= total - 1 < (len(train)) * 2000
    val = {s["source"]: s for s in res["shards"] if s["split"] == "val"}
    assert set(val) == set(SOURCES)
    assert (out / val["fin"]["path"]).read_bytes() == token_prefix(tokens_dir, "fin", "domain", "heldout").with_suffix(".bin").read_bytes()
    m = read_json(out / "manifest.json")
    assert m["seed"] == 7 and m["tokenizer"] == TOK_INFO and m["config"]["mix"]["target"] == {"domain": 0.51, "general": 0.49}


def test_mix_is_byte_identical_and_seeded(tokens_dir: Path, tmp_path: Path):
    cfg = MixConfig(total_tokens=6000, shard_tokens=1500)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    mix_to_dir(tokens_dir, SOURCES, cfg, a, seed=3, tokenizer_info=TOK_INFO)
    mix_to_dir(tokens_dir, SOURCES, cfg, b, seed=3, tokenizer_info=TOK_INFO)
    mix_to_dir(tokens_dir, SOURCES, cfg, c, seed=4, tokenizer_info=TOK_INFO)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "shards/train_00000.bin").read_bytes() != (c / "shards/train_00000.bin").read_bytes()


def test_remix_by_source_with_zero_weight_removes_stale_shards(tokens_dir: Path, tmp_path: Path):
    out = tmp_path / "run"
    mix_to_dir(tokens_dir, SOURCES, MixConfig(shard_tokens=500), out, seed=1, tokenizer_info=TOK_INFO)
    many = len(list((out / "shards").glob("train_*.bin")))
    cfg = MixConfig(by="source", target={"fin": 0.3, "web": 0.7, "news": 0.0, "wiki": 0.0}, max_epochs=1, shard_tokens=10**9)
    res = mix_to_dir(tokens_dir, SOURCES, cfg, out, seed=1, tokenizer_info=TOK_INFO)
    assert many > 1 and sorted(p.name for p in (out / "shards").glob("train_*")) == ["train_00000.bin", "train_00000.idx"]
    per = _audit(out)
    assert per["news"] == 0 and per["wiki"] == 0
    assert abs(per["fin"] / (per["fin"] + per["web"]) - 0.3) <= 0.005
    assert res["mixture"]["epochs"]["fin"] <= 1.0 and res["mixture"]["sources"]["news"]["documents"] == 0


def test_mix_checks_dtype_against_tokenizer(tokens_dir: Path, tmp_path: Path):
    info = dict(TOK_INFO, vocab_size=131_072)
    with pytest.raises(CurateError, match="needs int32"):
        mix_to_dir(tokens_dir, SOURCES, MixConfig(), tmp_path / "x", seed=1, tokenizer_info=info)


def test_total_tokens_from_the_planner():
    """`plan_params` sizes the mixture like `curate plan --params N --rule R` (20 tokens/param by default)."""
    from curate.mix.engine import MixConfig
    from curate.plan import EPOCH

    assert MixConfig(plan_params="125M").total_tokens == 2_500_000_000
    assert MixConfig(plan_params=1e6, plan_rule="epoch").total_tokens == round(EPOCH.tokens_for_params(1e6))
    cfg = MixConfig(plan_params="1M")
    assert MixConfig.model_validate(cfg.model_dump()).total_tokens == 20_000_000  # survives the round trip to workers
    with pytest.raises(ValueError, match="either total_tokens or plan_params"):
        MixConfig(plan_params="1M", total_tokens=5)


# ---------------------------------------------------------------- total_tokens: all fitted to whole documents


def _few_long_domain_docs(d: Path, seed: int) -> None:
    """14 long domain documents (a licence corpus) against 2000 short general ones."""
    rng = np.random.default_rng(seed)
    for k, (name, role, n, lo, hi) in enumerate((("lic", "domain", 14, 200, 3000), ("gen", "general", 2000, 20, 400))):
        for split, count in (("train", n), ("heldout", 2)):
            w = MegatronWriter(token_prefix(d, name, role, split), np.uint16)
            w.add_many([np.append(rng.integers(100 * (k + 1) + 1, 100 * (k + 1) + 99, size=rng.integers(lo, hi)), EOS)
                        for _ in range(count)])
            w.finalize()


def test_total_all_is_fitted_to_documents_and_counts_repeats(tmp_path: Path):
    """Seed 6 used to fail ("achieved shares miss their targets ... raise mix.total_tokens"): 14 documents
    cannot land 4 x their tokens minus one, so the domain share fell 0.7 pp short. Now the total is
    fitted to what whole documents give, within tolerance and the epoch cap."""
    d = tmp_path / "tokens"
    _few_long_domain_docs(d, 6)
    sources = {"lic": {"role": "domain"}, "gen": {"role": "general"}}
    res = mix_to_dir(d, sources, MixConfig(), tmp_path / "run", seed=1, tokenizer_info=TOK_INFO)
    mix = res["mixture"]
    assert abs(mix["achieved"]["domain"] - 0.51) <= 0.005
    assert all(s["epochs"] <= 4.0 for s in mix["sources"].values())
    assert mix["total_tokens"] <= mix["planned_total_tokens"]
    # repeats, checked against the shards: a document's tokens beyond its first appearance are repeated
    seen, unique, total = set(), 0, 0
    for s in res["shards"]:
        if s["split"] == "train":
            ds = IndexedDataset(tmp_path / "run" / s["path"])
            for i in range(len(ds)):
                doc = ds[i]
                total += doc.size
                if doc.tobytes() not in seen:
                    seen.add(doc.tobytes())
                    unique += doc.size
    assert total == mix["total_tokens"] and mix["unique_tokens"] == unique
    assert mix["repeated_tokens"] == total - unique == sum(s["repeated_tokens"] for s in mix["sources"].values())
    assert mix["sources"]["lic"]["repeated_tokens"] > 2 * IndexedDataset(token_prefix(d, "lic", "domain")).num_tokens  # ~3.9 epochs
    # same inputs, same bytes
    again = mix_to_dir(d, sources, MixConfig(), tmp_path / "again", seed=1, tokenizer_info=TOK_INFO)
    assert [s["sha256"] for s in again["shards"]] == [s["sha256"] for s in res["shards"]]


def test_shortfall_hints_agree(tmp_path: Path):
    d = tmp_path / "tokens"
    _few_long_domain_docs(d, 6)
    sources = {"lic": {"role": "domain"}, "gen": {"role": "general"}}
    cap = plan_mixture({"lic": IndexedDataset(token_prefix(d, "lic", "domain")).num_tokens,
                        "gen": IndexedDataset(token_prefix(d, "gen", "general")).num_tokens},
                       {"lic": "domain", "gen": "general"}, MixConfig()).cap_total
    # an explicit total that documents cannot meet: the hint offers `all`, which then succeeds
    with pytest.raises(CurateError) as err:
        mix_to_dir(d, sources, MixConfig(total_tokens=cap), tmp_path / "x", seed=1, tokenizer_info=TOK_INFO)
    assert "use total_tokens: all" in err.value.fix and "raise mix.total_tokens" not in err.value.fix  # already at the cap
    # above the cap: the hint also offers `all` (and a total at most the cap), never the other way round
    with pytest.raises(CurateError) as err:
        mix_to_dir(d, sources, MixConfig(total_tokens=2 * cap), tmp_path / "y", seed=1, tokenizer_info=TOK_INFO)
    assert "use total_tokens: all" in err.value.fix and f"<= {cap:,}" in err.value.fix
    # too coarse even for `all`: one 1000-token domain document against one 10-token general one
    for name, role, size in (("one", "domain", 1000), ("tiny", "general", 10)):
        w = MegatronWriter(token_prefix(d, name, role), np.uint16)
        w.add_many([np.full(size, 5)])
        w.finalize()
    with pytest.raises(CurateError) as err:
        mix_to_dir(d, {"one": {"role": "domain"}, "tiny": {"role": "general"}}, MixConfig(), tmp_path / "z", seed=1,
                   tokenizer_info=TOK_INFO)
    assert "whole documents cannot meet" in err.value.fix and "total_tokens" not in err.value.fix
