"""The notebooks, unchanged, on Spark: the committed outputs (DuckDB) are shown again.

Each notebook is executed by papermill with one parameter changed, ``engine="spark"``: the
event tables then stay in a local Spark session, every aggregation runs there, and the
outputs are compared cell by cell with the committed ones (the nbval expected results,
computed on DuckDB), after the nbval sanitizers. Only the cell listed in ``ENGINE_CELLS``
may differ, for the documented reason.
"""

from __future__ import annotations

import configparser
import json
import re

import papermill as pm
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: Cells whose output legitimately depends on the engine (source prefix -> why).
ENGINE_CELLS: dict[str, dict[str, str]] = {
    "00_data_audit": {
        "world.quarantine.head(20)": "a warehouse table has no file row numbers",
    },
}
NOTEBOOKS = [
    "00_data_audit",
    "01_situation_analysis",
    "02_persona_clustering",
    "03_channel_attribution",
    "05_post_campaign_review",
]


def _sanitizers(repo_root) -> list[tuple[re.Pattern, str]]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(repo_root / "tests" / "nbval_sanitize.cfg", encoding="utf-8")
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


def _texts(cell: dict, rules) -> list[str]:
    """The text outputs nbval compares (streams, text/plain results), sanitized."""
    out = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream" and o.get("name") == "stdout":
            text = "".join(o["text"])
        elif o["output_type"] in ("execute_result", "display_data"):
            text = "".join(o.get("data", {}).get("text/plain", ""))
        elif o["output_type"] == "error":
            text = f"{o['ename']}: {o['evalue']}"
        else:
            continue
        for pattern, replace in rules:
            text = pattern.sub(replace, text)
        out.append(text)
    return out


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_on_spark_shows_the_committed_outputs(name, repo_root, tmp_path, monkeypatch):
    monkeypatch.setenv("IMCLAB_SPARK_MASTER", "local[2]")  # a small session in the kernel
    folder = repo_root / "notebooks"
    out = tmp_path / f"{name}.ipynb"
    pm.execute_notebook(
        str(folder / f"{name}.ipynb"),
        str(out),
        parameters={"engine": "spark"},
        cwd=str(folder),
        progress_bar=False,
        log_output=False,
    )
    committed = json.loads((folder / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    executed = json.loads(out.read_text(encoding="utf-8"))["cells"]
    executed = [c for c in executed if "injected-parameters" not in c["metadata"].get("tags", [])]
    injected = json.loads(out.read_text(encoding="utf-8"))["cells"]
    assert any('engine = "spark"' in "".join(c["source"]) for c in injected)
    rules = _sanitizers(repo_root)
    allowed = ENGINE_CELLS.get(name, {})
    differ, seen = [], set()
    for want, got in zip(committed, executed, strict=True):
        if want["cell_type"] != "code":
            continue
        source = "".join(want["source"])
        exempt = next((p for p in allowed if source.startswith(p)), None)
        if exempt:
            seen.add(exempt)
            continue
        if _texts(want, rules) != _texts(got, rules):
            differ.append(source.splitlines()[0])
    assert not differ, f"{name} on Spark differs from the committed outputs in: {differ}"
    assert seen == set(allowed), "an engine-specific cell was not found"
