"""The notebooks, unchanged, on Spark: the committed outputs (DuckDB) are shown again.

Each notebook is executed with one parameter changed, ``engine="spark"`` (injected by
papermill's ``parameterize_notebook``, as ``imclab run`` does): the event tables then stay in
a local Spark session, every aggregation runs there, and the outputs are compared cell by
cell with the committed ones (the nbval expected results, computed on DuckDB), after the nbval
sanitizers. Only the cell listed in ``ENGINE_CELLS`` may differ, for the documented reason.

All the notebooks run in one kernel, one after the other, so they share one Spark session
(its JVM start-up is most of a notebook's time on Spark). Before each notebook the kernel's
namespace is reset, its figures closed and pandas' display options set back to their defaults,
so no notebook sees another's variables or settings.
"""

from __future__ import annotations

import configparser
import json
import os
import re

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

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
#: Run first in the shared kernel before each notebook: a clean namespace, no open figures,
#: pandas' display options back to their defaults (notebooks widen them for their tables).
RESET = (
    "%reset -f\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"
    "plt.close('all')\npd.reset_option('display')\ndel plt, pd"
)


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


def _injected(cell) -> bool:
    return "injected-parameters" in cell.get("metadata", {}).get("tags", [])


@pytest.fixture(scope="module")
def spark_kernel(repo_root):
    """One kernel (the notebooks' kernelspec, started in notebooks/) for every notebook here.

    The first notebook starts its Spark session (``local[2]``); the others find it active.
    """
    folder = repo_root / "notebooks"
    first = nbformat.read(folder / f"{NOTEBOOKS[0]}.ipynb", as_version=4)
    km = AsyncKernelManager(kernel_name=first.metadata["kernelspec"]["name"])
    env = {**os.environ, "IMCLAB_SPARK_MASTER": "local[2]"}  # a small session in the kernel
    run_sync(km.start_kernel)(
        cwd=str(folder), env=env, extra_arguments=["--HistoryManager.hist_file=:memory:"]
    )
    yield km
    run_sync(km.shutdown_kernel)(now=True)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_on_spark_shows_the_committed_outputs(name, repo_root, spark_kernel, tmp_path):
    folder = repo_root / "notebooks"
    nb = parameterize_notebook(
        load_notebook_node(str(folder / f"{name}.ipynb")), {"engine": "spark"}
    )
    assert any('engine = "spark"' in c.source for c in nb.cells if _injected(c))
    nb.cells.insert(0, nbformat.v4.new_code_cell(RESET))
    client = NotebookClient(nb, km=spark_kernel, resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        nbformat.write(nb, tmp_path / f"{name}.ipynb")  # the executed notebook, to inspect
    committed = json.loads((folder / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    executed = [c for c in nb.cells[1:] if not _injected(c)]
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
