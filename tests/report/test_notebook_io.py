"""Notebook plumbing: discovery, name selection, parameter checks, metadata and path scrubbing."""

from __future__ import annotations

import os

import nbformat
import pytest
from papermill.exceptions import PapermillExecutionError

from imclab.errors import ParameterError
from imclab.report.notebook_io import (
    KERNEL_ENV,
    check_declared,
    declared_parameters,
    describe_failure,
    discover_notebooks,
    display_path,
    kernel_environment,
    scrub_paths,
    select_notebooks,
    stable_cell_ids,
    strip_volatile,
)


def test_discover_keeps_numbered_notebooks_in_name_order(tmp_path):
    for name in ("01_b.ipynb", "00_a.ipynb", "scratch.ipynb", "1_x.ipynb", "00_a.py", "10_z.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in discover_notebooks(tmp_path)] == [
        "00_a.ipynb",
        "01_b.ipynb",
        "10_z.ipynb",
    ]
    assert [p.name for p in discover_notebooks(tmp_path, ".py")] == ["00_a.py"]
    with pytest.raises(ParameterError, match="notebooks folder .*missing does not exist"):
        discover_notebooks(tmp_path / "missing")


def test_select_by_aliases_in_run_order(tmp_path):
    nbs = [tmp_path / f"{n}.ipynb" for n in ("00_data_audit", "02_persona_clustering", "03_x")]
    assert select_notebooks(nbs, None) == nbs
    assert select_notebooks(nbs, ["03", "data_audit"]) == [nbs[0], nbs[2]]
    assert select_notebooks(nbs, ["02_persona_clustering.py"]) == [nbs[1]]
    with pytest.raises(ParameterError) as info:
        select_notebooks(nbs, ["00_data_audit", "persona"])
    assert str(info.value) == (
        "unknown notebook 'persona'; "
        "available notebooks: 00_data_audit, 02_persona_clustering, 03_x"
    )


def test_declared_parameters_and_check(tmp_path, write_notebook):
    path = write_notebook(tmp_path / "00_a.ipynb", ["pass"], "k: int = 4  # clusters\n")
    declared = declared_parameters(path)
    assert sorted(declared) == ["campaign_file", "data_dir", "k", "report_dir"]
    assert declared["k"]["help"] == "clusters"
    check_declared("00_a.ipynb", declared, {"k": "plan", "data_dir": "imclab run"})
    with pytest.raises(ParameterError) as info:
        check_declared("00_a.ipynb", declared, {"k": "plan", "seed": "plan.yaml: x"})
    assert str(info.value) == (
        "00_a.ipynb: parameter(s) not declared in its parameters cell: 'seed' (from plan.yaml: x)."
        " Declared parameters: campaign_file, data_dir, k, report_dir"
    )
    with pytest.raises(ParameterError, match="none: no cell is tagged 'parameters'"):
        check_declared("01_b.ipynb", {}, {"data_dir": "imclab run"})


def _papermill_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": "/home/u/x.ipynb", "start_time": "2025-01-01T00:00"}
    nb.metadata["kernelspec"] = {"name": "imclab", "display_name": "imclab"}
    params = nbformat.v4.new_code_cell("a = 1")
    params.metadata = {"tags": ["parameters"], "papermill": {"duration": 0.1}}
    injected = nbformat.v4.new_code_cell('# Parameters\na = "/home/u/proj/data"\n')
    injected.metadata = {"tags": ["injected-parameters"], "execution": {"iopub.status.busy": "t"}}
    error = nbformat.v4.new_markdown_cell("An Exception was encountered")
    error.metadata = {"tags": ["papermill-error-cell-tag"]}
    plain = nbformat.v4.new_code_cell("print(a)")
    plain.metadata = {"tags": [], "papermill": {"exception": False}, "collapsed": True}
    nb.cells = [error, params, injected, plain]
    return nb


def test_strip_volatile_metadata():
    nb = strip_volatile(_papermill_notebook())
    assert nb.metadata == {"kernelspec": {"name": "imclab", "display_name": "imclab"}}
    assert [c.metadata for c in nb.cells] == [
        {"tags": ["papermill-error-cell-tag"]},
        {"tags": ["parameters"]},
        {"tags": ["injected-parameters"]},
        {"collapsed": True},
    ]
    assert [nb.cells[0].id, nb.cells[2].id] == ["papermill-error-1", "injected-parameters"]
    nbformat.validate(nb)


def test_scrub_paths_in_injected_cell_and_outputs_only():
    nb = _papermill_notebook()
    nb.cells[1].source = 'a = "/home/u/proj/data"'  # the author's own cell is left alone
    nb.cells[3].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=["/home/u/proj/data/x.csv\n"]),
        nbformat.v4.new_output(
            "error", ename="E", evalue="/home/u/proj2 /home/u/proj", traceback=["/home/u/proj/a.py"]
        ),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>/home/u/proj/tmp</p>"}),
    ]
    scrub_paths(nb, {"/home/u/proj": ".", "/home/u/proj/data": "data", "/home/u/proj/tmp": "rep"})
    assert nb.cells[1].source == 'a = "/home/u/proj/data"'
    assert nb.cells[2].source == '# Parameters\na = "data"\n'
    stream, error, html = nb.cells[3].outputs
    assert stream.text == "data/x.csv\n"  # longest path first
    assert error.evalue == "/home/u/proj2 ."  # /home/u/proj2 is another folder
    assert error.traceback == ["./a.py"]
    assert html.data["text/html"] == "<p>rep</p>"


def test_display_path(tmp_path):
    assert display_path(tmp_path / "campaigns" / "a.yaml", tmp_path) == "campaigns/a.yaml"
    assert display_path(tmp_path, tmp_path) == "."
    assert display_path("/elsewhere/world_7", tmp_path) == "world_7"


def test_kernel_environment_sets_and_restores(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    with kernel_environment({"EXTRA_X": "1"}):
        assert os.environ["MPLBACKEND"] == KERNEL_ENV["MPLBACKEND"]
        assert os.environ["PYTHONHASHSEED"] == "0"
        assert os.environ["EXTRA_X"] == "1"
    assert os.environ["MPLBACKEND"] == "Agg"
    assert "PYTHONHASHSEED" not in os.environ and "EXTRA_X" not in os.environ


def test_describe_failure_quotes_the_first_lines():
    source = "\n".join(f"line_{i} = {i}" for i in range(8))
    error = PapermillExecutionError(5, 4, source, "KeyError", "'channel'", [])
    assert describe_failure("03_channel_attribution.ipynb", error, lines=2) == (
        "notebook 03_channel_attribution.ipynb failed in cell 5 (execution count In [4]):\n"
        "    line_0 = 0\n    line_1 = 1\n    ... (6 more lines)\nKeyError: 'channel'"
    )


def test_stable_cell_ids_are_unique_and_content_derived():
    def build():
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_markdown_cell("x = 1"),
            nbformat.v4.new_code_cell("x = 1"),
        ]
        return stable_cell_ids(nb)

    first, second = build(), build()
    ids = [c.id for c in first.cells]
    assert ids == [c.id for c in second.cells]
    assert len(set(ids)) == 3 and ids[2] == ids[0] + "-2"
    nbformat.validate(first)
