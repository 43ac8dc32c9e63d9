"""The demo's report.html in a real browser (headless Chromium, network cut off): the page shows every
select rule, the text of documents each rule dropped, dedup and quarantine examples and the charts,
and its screenshot is a rendered page, not a blank one.

Skipped, with the reason printed, where Chromium is not installed (Debian: `apt-get install chromium`;
`.ci/run` installs it where apt is available).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from curate.pipeline import run_pipeline
from curate.show import show

REPO = Path(__file__).resolve().parents[1]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium): "
                                                         "report.html was not checked in a browser")


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    """Headless Chromium with every network path closed: a page that needed the network would show it."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           f"--user-data-dir={profile}", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, timeout=180, env={**os.environ, "LANG": "C.UTF-8"})


class Visible(HTMLParser):
    """Text and tags of a rendered DOM."""

    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.ids: set[str] = set()
        self.urls: list[str] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            if k == "id":
                self.ids.add(v)
            if k in ("src", "href", "srcset", "action", "poster", "data") and v and not v.startswith("#"):
                self.urls.append(v)

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    old = os.getcwd()
    os.chdir(REPO)  # the demo's paths are relative to the repository root
    try:
        res = run_pipeline(REPO / "pipelines" / "demo.yaml", out=out, workers=2, progress=False)
    finally:
        os.chdir(old)
    return res


def test_demo_report_renders_rules_and_dropped_documents(demo, tmp_path):
    page = demo.run_dir / "report.html"
    r = chromium(["--dump-dom", page.as_uri()], tmp_path / "profile")
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    dom = Visible()
    dom.feed(r.stdout.decode("utf-8"))
    text = dom.text
    assert text.startswith("curate run report: demo") or "curate run report: demo" in text[:200]
    assert not dom.urls and "script" not in dom.tags and "link" not in dom.tags  # nothing to fetch
    assert dom.tags.get("svg", 0) >= 10 and dom.tags.get("details", 0) >= 30  # charts and expandable full texts
    rules = [r["name"] for r in demo_config(demo)["select"]["rules"]]
    assert len(rules) >= 6
    shown = orjson.loads(CliRunner().invoke(show, [str(demo.run_dir), "--json"]).output)
    by_name = {s["name"]: s for s in shown}
    for name in rules:
        assert f"rule-{name}" in dom.ids and f"Rule {rules.index(name) + 1}: {name}" in text
        s = by_name[name]
        for e in s["dropped"]:  # the text of every dropped example is on the page
            first = " ".join(next(x for x in e["text"].splitlines() if x.strip()).split())[:80]
            assert first in text, (name, e["id"])
            assert e["id"] in text
        for e in s["kept"]:
            assert e["id"] in text
    assert sum(by_name[n]["dropped_total"] for n in rules) > 50
    for section in ("funnel", "dedup", "quarantine", "signals", "scores", "tokens", "mixture", "stages", "timings"):
        assert section in dom.ids, section
    assert "malformed JSON" in text and "duplicate of" in text  # quarantine and dedup examples
    assert not re.search(r"\b\d{3}-\d{2}-\d{4}\b", text)  # select.pii redacts: no SSN-like number on the page
    assert "Shards are in shards/ beside this report" in text


def demo_config(res) -> dict:
    import yaml

    return yaml.safe_load((res.run_dir / "config.yaml").read_text())


def test_demo_report_screenshot_is_a_rendered_page(demo, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    r = chromium([f"--screenshot={shot}", "--window-size=1280,2000", demo.run_dir.joinpath("report.html").as_uri()], tmp_path / "profile")
    assert r.returncode == 0 and shot.exists(), r.stderr.decode(errors="replace")[-2000:]
    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 2000)
    px = np.asarray(img.resize((320, 500))).reshape(-1, 3).astype(np.int64)
    assert len(np.unique(px, axis=0)) > 200  # text, charts and colours, not a blank or single-colour page
    assert (px.sum(axis=1) < 600).mean() > 0.05
    # the page's own style applied: the header band is the report's dark blue
    r_, g, b = img.getpixel((8, 8))
    assert abs(r_ - 0x1F) < 12 and abs(g - 0x3B) < 12 and abs(b - 0x5A) < 12
    # the funnel chart is drawn: its "kept" green fills a visible area of the first screen
    top = np.asarray(img.crop((0, 0, 1280, 1200))).reshape(-1, 3)
    assert (top == np.array([0x4F, 0x9D, 0x69], dtype=np.uint8)).all(axis=1).sum() > 2000


def test_report_has_no_network_urls(demo):
    html = (demo.run_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""\b(src|href|srcset|action)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert "@import" not in html and "url(" not in html
