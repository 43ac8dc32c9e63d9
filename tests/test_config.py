"""Config errors name the file, the key (with its line) and a fix."""

from __future__ import annotations

import pytest

from curate.config import load_config
from curate.errors import ConfigError


def write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "x"}\n')
    return p


def test_valid_minimal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path, "sources:\n  - name: a\n    paths: [in/*.jsonl]\n"))
    assert cfg.sources[0].role == "general" and cfg.stage_list() == ["annotate", "select"]


def test_unknown_key_suggests_and_names_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path, "sources:\n  - name: a\n    paths: [in/*.jsonl]\n    text_feild: body\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert f"{p}:4" in msg and "sources[0].text_feild" in msg and "did you mean `text_field`" in msg


def test_wrong_type_names_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path, "seed: lots\nsources:\n  - name: a\n    paths: [in/*.jsonl]\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"{p}:1" in str(e.value) and "`seed`" in str(e.value)


def test_missing_required(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path, "name: x\n")
    with pytest.raises(ConfigError, match="missing required key `sources`"):
        load_config(p)


def test_glob_matching_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path, "sources:\n  - name: a\n    paths: [nowhere/*.jsonl]\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "matches no file" in str(e.value) and f"{p}:3" in str(e.value)


def test_bad_yaml_and_missing_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("sources: [\n  - x: 1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="pipeline file not found"):
        load_config(tmp_path / "nope.yaml")


def test_rule_validation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path, "sources:\n  - name: a\n    paths: [in/*.jsonl]\nselect:\n  rules:\n    - name: r\n      mode: top_fraction\n      column: x\n")
    with pytest.raises(ConfigError, match="fraction"):
        load_config(p)


def test_duplicate_source_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path, "sources:\n  - {name: a, paths: [in/*.jsonl]}\n  - {name: a, paths: [in/*.jsonl]}\n")
    with pytest.raises(ConfigError, match="unique"):
        load_config(p)


def test_set_overrides_before_validation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b.jsonl").write_text('{"text": "y"}\n')
    p = write(tmp_path, "sources:\n  - name: a\n    paths: [nowhere/*.jsonl]\nselect:\n  rules:\n    - {name: short, keep: 'word_count >= 5'}\n")
    cfg = load_config(p, sets=['sources.a.paths=["other/*.jsonl"]', "seed=7", "select.rules.short.keep=word_count >= 9",
                               "mix.total_tokens=2M", "tokenizer={vocab_size: 500}"])
    assert cfg.sources[0].paths == ["other/*.jsonl"] and cfg.seed == 7 and cfg.select.rules[0].keep == "word_count >= 9"
    assert cfg.mix.total_tokens == 2_000_000 and cfg.tokenizer.vocab_size == 500
    assert cfg.stage_list() == ["annotate", "select", "tokenize", "mix"]
    # the overrides change what the run is, so they change the fingerprint
    from curate.pipeline import config_fingerprint

    base = load_config(p, sets=['sources.a.paths=["other/*.jsonl"]'])
    assert config_fingerprint(base) != config_fingerprint(load_config(p, sets=['sources.a.paths=["other/*.jsonl"]', "seed=8"]))
    with pytest.raises(ConfigError, match=r"--set sources.b.paths: `sources.b` names no item of the list(?s:.*)items: a"):
        load_config(p, sets=["sources.b.paths=[x]"])
    with pytest.raises(ConfigError, match=r"unknown key `sedd` — did you mean `seed`"):
        load_config(p, sets=['sources.a.paths=["other/*.jsonl"]', "sedd=3"])
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        load_config(p, sets=["seed"])


@pytest.mark.parametrize("name", ["a.b", "..", "a/b", "x y", ""])
def test_source_and_role_names_are_folder_safe(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"sources\[0\]\.name"):
        load_config(write(tmp_path, f"sources:\n  - name: '{name}'\n    paths: [in/*.jsonl]\n"))
    with pytest.raises(ConfigError, match=r"sources\[0\]\.role"):
        load_config(write(tmp_path, f"sources:\n  - name: ok\n    role: '{name}'\n    paths: [in/*.jsonl]\n"))
