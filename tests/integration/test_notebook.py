"""Notebook 06 end to end on an unseen world, with a plan that declares its own funnel."""

from __future__ import annotations

import base64
import html
import io
import json
import re

import numpy as np
import pytest

from imclab.cli import main

pytestmark = pytest.mark.slow

FUNNEL = """
funnel:
  - {name: saw an ad, kinds: [impression], channels: [social, display, tv]}
  - {name: clicked, kinds: [click]}
  - {name: bought, kinds: [order]}
"""


@pytest.fixture(scope="module")
def report(plain_world, repo_root, tmp_path_factory):
    """Notebook 06 run by the CLI on the unseen world; the report folder."""
    tmp_path = tmp_path_factory.mktemp("report06")
    plan = tmp_path / "spring_launch.yaml"
    text = (repo_root / "campaigns" / "spring_launch.yaml").read_text(encoding="utf-8")
    plan.write_text(text + FUNNEL, encoding="utf-8")
    out = tmp_path / "report"
    args = ["run", str(plan), "--data", str(plain_world), "--only", "06_channel_integration"]
    assert main([*args, "--out", str(out)]) == 0
    return out


def test_notebook_06_runs_on_an_unseen_world_with_the_plan_funnel(report):
    nb = json.loads((report / "06_channel_integration.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    page = (report / "06_channel_integration.html").read_text(encoding="utf-8")
    assert page.count("<img") >= 8  # UpSet, reach, frequency, synergy, flow, funnel, 2 cohorts
    words = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for step in ("saw an ad", "clicked", "bought"):
        assert step in words
    # the world's integration truth is found and joined to the estimates
    assert "true_incremental" in words and "true_extra_orders" in words


def test_journey_flow_sankey_renders_in_the_static_html(report):
    from PIL import Image

    from imclab.report.browser import BrowserError, check_report

    page = (report / "06_channel_integration.html").read_text(encoding="utf-8")
    # the "Journey flow" section, up to the next heading, holds exactly one embedded chart
    start = re.search(r"<h2[^>]*>[^<]*Journey flow", page)
    assert start, "no Journey flow section in the page"
    section = page[start.end() : page.index("<h2", start.end())]
    sources = re.findall(r'<img[^>]*src="data:image/png;base64,([^"]+)"', section)
    assert len(sources) == 1
    chart = np.asarray(Image.open(io.BytesIO(base64.b64decode(sources[0]))).convert("RGB"))
    height, width, _ = chart.shape
    assert width > 400 and height > 200
    # bands drawn, not an empty axis: a good share of the chart is coloured, in many hues
    coloured = chart.max(axis=2).astype(int) - chart.min(axis=2) > 30
    assert coloured.mean() > 0.05
    assert len(np.unique(chart[coloured] // 32, axis=0)) >= 6
    # and a reader's browser loads every figure of the page, this one included
    try:
        pages = {p.path.name: p for p in check_report(report)}
    except BrowserError as exc:
        pytest.fail(f"headless browser check needs Chromium: {exc}")
    got = pages["06_channel_integration.html"]
    assert got.problems() == []
    assert len(got.images) == page.count("<img")
    assert all(img["width"] > 100 for img in got.images)
