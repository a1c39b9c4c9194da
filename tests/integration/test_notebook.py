"""Notebook 06 end to end on an unseen world, with a plan that declares its own funnel."""

from __future__ import annotations

import html
import json
import re

import pytest

from imclab.cli import main

pytestmark = pytest.mark.slow

FUNNEL = """
funnel:
  - {name: saw an ad, kinds: [impression], channels: [social, display, tv]}
  - {name: clicked, kinds: [click]}
  - {name: bought, kinds: [order]}
"""


def test_notebook_06_runs_on_an_unseen_world_with_the_plan_funnel(plain_world, repo_root, tmp_path):
    plan = tmp_path / "spring_launch.yaml"
    text = (repo_root / "campaigns" / "spring_launch.yaml").read_text(encoding="utf-8")
    plan.write_text(text + FUNNEL, encoding="utf-8")
    out = tmp_path / "report"
    args = ["run", str(plan), "--data", str(plain_world), "--only", "06_channel_integration"]
    assert main([*args, "--out", str(out)]) == 0
    nb = json.loads((out / "06_channel_integration.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    page = (out / "06_channel_integration.html").read_text(encoding="utf-8")
    assert page.count("<img") >= 8  # UpSet, reach, frequency, synergy, flow, funnel, 2 cohorts
    words = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for step in ("saw an ad", "clicked", "bought"):
        assert step in words
    # the world's integration truth is found and joined to the estimates
    assert "true_incremental" in words and "true_extra_orders" in words
