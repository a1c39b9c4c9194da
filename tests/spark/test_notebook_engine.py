"""`imclab run --engine spark`: the attribution notebook gives the same report on Spark."""

from __future__ import annotations

import json

import pytest

from imclab.cli import main

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _run(repo_root, out, engine):
    plan = str(repo_root / "campaigns" / "spring_launch.yaml")
    args = ["run", plan, "--only", "03_channel_attribution", "--engine", engine, "--out", str(out)]
    assert main(args) == 0
    return json.loads((out / "headlines" / "attribution.json").read_text(encoding="utf-8"))


def test_attribution_notebook_is_engine_independent(repo_root, tmp_path, monkeypatch):
    # a small local session inside the notebook's kernel
    monkeypatch.setenv("IMCLAB_SPARK_MASTER", "local[2]")
    on_duckdb = _run(repo_root, tmp_path / "duckdb", "duckdb")
    on_spark = _run(repo_root, tmp_path / "spark", "spark")
    assert on_spark == on_duckdb
    nb = json.loads((tmp_path / "spark" / "03_channel_attribution.ipynb").read_text("utf-8"))
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert 'engine = "spark"' in "".join(injected[0]["source"])
