"""Extension points: a toy reader, signal and stage added through the registries alone (no edit to
curate/) run in a real pipeline, in worker processes, and show up in config validation, stats,
the report and the summary."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel, ConfigDict

from curate import stats
from curate.schema import BASE_SCHEMA
from curate.config import load_config
from curate.errors import ConfigError
from curate.exec.base import Task
from curate.io.formats import READERS, Reader, register_reader
from curate.pipeline import run_pipeline
from curate.signals.base import SIGNALS, Signal, register_signal
from curate.stages.base import STAGES, Stage, register_stage


# ---- a reader: tab-separated `id<TAB>text` lines ----
class TsvReader(Reader):
    suffixes = (".tsv",)

    def read(self, path, spec, q):
        ids, texts, lines = [], [], []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            doc_id, sep, text = line.partition("\t")
            if not sep:
                q.add(n, "no tab in line")
                continue
            ids.append(doc_id)
            texts.append(text)
            lines.append(n)
        k = len(ids)
        yield pa.table({"id": ids, "text": texts, "source": [spec.source] * k, "role": [spec.role] * k, "file": [spec.display] * k,
                        "line": lines}, schema=BASE_SCHEMA)


# ---- a signal: how many times a character occurs ----
class CountConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    char: str = "!"


class CountSignal(Signal):
    def columns(self, table):
        return {"char_hits": pc.count_substring(table.column("text"), self.cfg.char)}


# ---- a stage: documents and words per source, after select, in its own folder of the run ----
class WordsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_hits: int = 0


def count_words(*, files: list[str], source: str, min_hits: int) -> dict:
    docs = words = 0
    for f in files:
        t = pq.read_table(f, columns=["text", "char_hits"])
        t = t.filter(pc.greater_equal(t.column("char_hits"), min_hits))
        docs += t.num_rows
        words += int(pc.sum(pc.list_value_length(pc.utf8_split_whitespace(t.column("text")))).as_py() or 0)
    return stats.row(source, docs_in=docs, docs_out=docs, words=words)


class WordsStage(Stage):
    def run(self) -> dict:
        cfg = self.section()
        tasks = [Task(id=s.name, fn=count_words, kwargs=dict(files=[str(p) for p in self.ctx.selected_files(s.name)], source=s.name,
                                                            min_hits=cfg.min_hits)) for s in self.ctx.cfg.sources]
        out = stats.stage_stats(self.ctx.executor.map(self.name, tasks))
        (self.layout.stage_dir(self.name) / "words.json").write_text(json.dumps(out["sources"], sort_keys=True))
        return out


@pytest.fixture
def toys():
    register_reader("tsv", TsvReader())
    register_signal("char_count", config=CountConfig)(CountSignal)
    register_stage("words", WordsStage, config=WordsConfig, optional=True, requires=("words",), after="select")
    yield
    READERS.unregister("tsv")
    SIGNALS.unregister("char_count")
    STAGES.unregister("words")


PIPELINE = """
name: toy
sources:
  - {name: notes, role: domain, paths: ["in/*.tsv"]}
annotate:
  heuristics: null
  langid: null
  char_count: {char: "!"}
select:
  rules:
    - {name: has_bang, keep: "char_hits >= 1"}
words: {min_hits: 2}
"""


def test_toy_reader_signal_and_stage_run_in_a_pipeline(tmp_path, monkeypatch, toys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.tsv").write_text("a1\tHello world!\na2\tno bang here\nbroken line\na3\tWow! Two! bangs\n")
    (tmp_path / "in" / "b.tsv").write_text("b1\tjust words\nb2\tone more!\n")
    (tmp_path / "p.yaml").write_text(PIPELINE)
    r = run_pipeline(tmp_path / "p.yaml", out=tmp_path / "run", workers=2, progress=False)
    s = r.stats
    assert list(s) == ["annotate", "select", "words"]  # the stage runs by default because its section is present
    assert s["annotate"]["total"]["docs_in"] == 6 and s["annotate"]["total"]["drops"] == {"no tab in line": 1}
    assert s["select"]["total"]["docs_out"] == 3 and s["select"]["total"]["drops"] == {"has_bang": 2}
    annotated = pq.read_table(r.run_dir / "annotated" / "notes" / "a.tsv.parquet")
    assert annotated.column("char_hits").to_pylist() == [1, 0, 2]
    # only a3 has >= 2 bangs: 3 words
    assert s["words"]["sources"]["notes"]["docs_out"] == 1 and s["words"]["total"]["words"] == 3
    assert json.loads((r.run_dir / "words" / "words.json").read_text())["notes"]["words"] == 3
    assert "words" in (r.run_dir / "report.md").read_text()
    assert any(line.startswith("words:") for line in stats.summary_lines(s))


def test_toy_sections_are_validated_with_suggestions(tmp_path, monkeypatch, toys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.tsv").write_text("a1\thi!\n")
    (tmp_path / "p.yaml").write_text(PIPELINE.replace("words: {min_hits: 2}", "words: {min_hit: 2}"))
    with pytest.raises(ConfigError, match=r"p.yaml:12: unknown key `words.min_hit` — did you mean `min_hits`"):
        load_config(tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text(PIPELINE.replace("stages: ", "").replace("name: toy", "name: toy\nstages: [annotate, wrds]"))
    with pytest.raises(ConfigError, match="unknown stage `wrds`: did you mean `words`"):
        load_config(tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text(PIPELINE.replace('paths: ["in/*.tsv"]', 'paths: ["in/*.tsv"], format: tvs'))
    with pytest.raises(ConfigError, match="unknown format `tvs`: did you mean `tsv`"):
        load_config(tmp_path / "p.yaml")
