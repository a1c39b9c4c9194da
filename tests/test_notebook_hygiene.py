"""Notebooks in git: each NN_name.ipynb is paired with its py:percent script, in sync, and clean.

Clean means nothing from one run on one machine: no execution timestamps, no papermill run
metadata or injected-parameters cell, no saved widget state, the shared ``imclab`` kernelspec,
no absolute paths.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KERNELSPEC = {"name": "imclab", "display_name": "imclab", "language": "python"}

# Absolute paths of a POSIX or Windows machine, home folders, temp folders, this checkout.
_ABSOLUTE = re.compile(
    r"(?<![\w.])(/(home|Users|tmp|var|private|work|root|opt|mnt|srv)/[^\s\"'\\]+"
    r"|[A-Za-z]:\\\\[^\s\"']+|file://[^\s\"']+)"
)
_CELL_VOLATILE = ("execution", "ExecuteTime", "papermill", "collapsed", "scrolled")
_NB_VOLATILE = ("papermill", "widgets")


def hygiene_faults(path: Path) -> list[str]:
    """Return one message per thing in a notebook that a single run or machine left there."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    name = path.name
    faults = []
    meta = nb.get("metadata", {})
    for key in _NB_VOLATILE:
        if key in meta:
            faults.append(f"{name}: notebook metadata '{key}' (run-specific; strip it)")
    spec = meta.get("kernelspec")
    if spec != KERNELSPEC:
        faults.append(f"{name}: kernelspec {spec!r}, expected the shared {KERNELSPEC!r}")
    for key in ("argv", "env", "resource_dir", "path"):
        if isinstance(spec, dict) and key in spec:
            faults.append(f"{name}: kernelspec carries '{key}' (a machine's kernel path)")
    for i, cell in enumerate(nb.get("cells", [])):
        cmeta = cell.get("metadata", {})
        for key in _CELL_VOLATILE:
            if key in cmeta:
                faults.append(f"{name}: cell {i} metadata '{key}' (timestamps or UI state)")
        tags = cmeta.get("tags", [])
        source = "".join(cell.get("source", "")).strip()
        if "injected-parameters" in tags and source != _handed_over_cell(path):
            faults.append(
                f"{name}: cell {i} is papermill's injected-parameters cell (only a notebook "
                "of imclab.report.regenerate.HANDED_OVER may carry one, exactly as "
                "`make notebooks` injects it)"
            )
    for match in sorted(set(m.group(0) for m in _ABSOLUTE.finditer(text)))[:5]:
        faults.append(f"{name}: absolute path {match!r}")
    if str(REPO) in text:
        faults.append(f"{name}: contains this checkout's path {REPO}")
    return faults


def _handed_over_cell(path: Path) -> str | None:
    """The injected-parameters cell `make notebooks` gives this notebook (None: none)."""
    from papermill.translators import translate_parameters

    from imclab.report.regenerate import HANDED_OVER, handed_over

    stem = Path(path).stem
    if stem not in HANDED_OVER:
        return None
    params = handed_over(stem, REPO / "notebooks")
    return translate_parameters("python", "python", params, "Parameters").strip()


def _sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """Cell types and sources, without papermill's injected-parameters cell."""
    return [
        (c.cell_type, c.source.strip())
        for c in nb.cells
        if "injected-parameters" not in c.metadata.get("tags", [])
    ]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_name.ipynb found"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_its_py_percent_script(notebook):
    script = notebook.with_suffix(".py")
    assert script.is_file(), f"{notebook.name} has no paired {script.name} (py:percent)"
    header = script.read_text(encoding="utf-8").split("# ---", 2)[1]
    assert "formats: ipynb,py:percent" in header, f"{script.name}: jupytext formats not paired"
    assert "name: imclab" in header, f"{script.name}: kernelspec is not imclab"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_script_cells_are_in_sync(notebook):
    script = notebook.with_suffix(".py")
    if not script.is_file():
        pytest.fail(f"{notebook.name} has no paired {script.name}")
    from_script = _sources(jupytext.read(script, fmt="py:percent"))
    from_notebook = _sources(nbformat.read(notebook, as_version=4))
    for i, (a, b) in enumerate(zip(from_script, from_notebook, strict=False)):
        if a != b:
            diff = difflib.unified_diff(
                b[1].splitlines(), a[1].splitlines(), notebook.name, script.name, lineterm="", n=1
            )
            pytest.fail(
                f"{notebook.name} cell {i} ({b[0]}) differs from {script.name}; run "
                f"`make notebooks` (or `jupytext --sync {script.relative_to(REPO)}`):\n"
                + "\n".join(list(diff)[:12])
            )
    assert len(from_script) == len(from_notebook), (
        f"{script.name} has {len(from_script)} cells, {notebook.name} {len(from_notebook)}"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(notebook):
    assert hygiene_faults(notebook) == []


def _dirty(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {**KERNELSPEC, "argv": ["/home/ana/.venv/bin/python"]}
    nb.metadata["papermill"] = {"start_time": "2025-03-01T10:00:00", "duration": 3.2}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    params = nbformat.v4.new_code_cell("lookback_days: int = 30", metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell(
        'data_dir = "/home/ana/imclab/data/sample"', metadata={"tags": ["injected-parameters"]}
    )
    timed = nbformat.v4.new_code_cell("1 + 1", execution_count=1)
    timed.metadata["execution"] = {"iopub.execute_input": "2025-03-01T10:00:01.5Z"}
    timed.metadata["ExecuteTime"] = {"end_time": "2025-03-01T10:00:02Z"}
    timed.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)
    ]
    nb.cells = [params, injected, timed]
    nbformat.write(nb, path)
    return path


def test_hygiene_check_catches_every_kind_of_leftover(tmp_path):
    faults = hygiene_faults(_dirty(tmp_path / "05_dirty.ipynb"))
    text = "\n".join(faults)
    for fragment in (
        "notebook metadata 'papermill'",
        "notebook metadata 'widgets'",
        "kernelspec carries 'argv'",
        "cell 1 is papermill's injected-parameters cell",
        "cell 2 metadata 'execution'",
        "cell 2 metadata 'ExecuteTime'",
        "absolute path '/home/ana/imclab/data/sample'",
    ):
        assert fragment in text, fragment
    clean = nbformat.v4.new_notebook()
    clean.metadata["kernelspec"] = dict(KERNELSPEC)
    clean.cells = [nbformat.v4.new_code_cell('data_dir = "../data/sample"')]
    nbformat.write(clean, tmp_path / "06_clean.ipynb")
    assert hygiene_faults(tmp_path / "06_clean.ipynb") == []


def _config() -> dict:
    return yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))


def test_pre_commit_config_has_local_notebook_hooks():
    config = _config()
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert {repo["repo"] for repo in config["repos"]} == {"local"}  # nothing fetched
    assert {"jupytext-sync", "strip-notebook-metadata", "notebook-hygiene"} <= set(hooks)
    for hook in hooks.values():
        assert hook["language"] == "system"
        program = shlex.split(hook["entry"])[0]
        assert (REPO / program).exists() or program.startswith(".venv/"), program
    assert hooks["jupytext-sync"]["entry"].split()[1:] == ["--sync"]
    assert re.search(hooks["jupytext-sync"]["files"], "notebooks/03_channel_attribution.py")
    assert re.search(hooks["jupytext-sync"]["files"], "notebooks/03_channel_attribution.ipynb")
    assert not re.search(hooks["jupytext-sync"]["files"], "imclab/plan.py")
    assert "tests/test_notebook_hygiene.py" in hooks["notebook-hygiene"]["entry"]


def test_strip_hook_cleans_a_dirty_notebook_and_keeps_outputs(tmp_path):
    hook = next(
        h for r in _config()["repos"] for h in r["hooks"] if h["id"] == "strip-notebook-metadata"
    )
    argv = shlex.split(hook["entry"])
    assert argv[0] == ".venv/bin/python"
    path = _dirty(tmp_path / "05_dirty.ipynb")
    subprocess.run([sys.executable, *argv[1:], str(path)], check=True, cwd=REPO, timeout=120)
    nb = nbformat.read(path, as_version=4)
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata
    assert nb.cells[0].metadata["tags"] == ["parameters"]  # papermill still finds it
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "2"  # nbval's expected output
    assert "execution" not in nb.cells[2].metadata and "ExecuteTime" not in nb.cells[2].metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_runs_on_either_engine(path):
    """Each notebook declares ``engine`` and opens its data with ``open_world`` (issue 8)."""
    nb = nbformat.read(path, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert re.search(r'^engine: str = "duckdb"', params.source, re.M), path.name
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "open_world(data_dir, engine" in code, f"{path.name}: open the world on the engine"
    assert "load_world(" not in code, f"{path.name}: load_world bypasses the engine setting"
    assert 'engine == "spark"' not in code, f"{path.name}: one code path for every engine"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_campaign_settings_parameters_default_to_the_plan(notebook):
    # a parameter named like a campaign setting defaults to empty ("the plan's"), so no
    # notebook carries a sample date, amount or a second default of a setting
    from imclab.plan import SETTING_NAMES
    from imclab.report.notebook_io import declared_parameters

    for name, spec in declared_parameters(notebook).items():
        if name in SETTING_NAMES:
            assert spec["default"] in ('""', "''", "0", "0.0", "[]", "{}"), (notebook.stem, name)
