"""Regeneration: py:percent script -> executed, metadata-clean, deterministic notebook."""

from __future__ import annotations

import json

import nbformat
import pytest

from imclab.errors import ImclabError, ParameterError
from imclab.report.regenerate import build_notebook, check_notebook, main, regenerate

SCRIPT = """\
# %% [markdown]
# # Demo 演示 🎉
#
# What to look at.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan
data_dir: str = "../data/sample"  # brand-world folder
report_dir: str = ""  # report folder

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt

print("hashseed", os.environ.get("PYTHONHASHSEED"), hash("lumina"))
print("cwd", Path.cwd().name)

# %%
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [1, 0])
plt.show()
"""


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Regenerate the same script twice, as ``make notebooks`` would on two machines."""
    folder = tmp_path_factory.mktemp("regen") / "notebooks"
    folder.mkdir()
    script = folder / "00_demo.py"
    script.write_text(SCRIPT, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("MPLBACKEND", "Agg")  # the kernel must still draw inline figures
    mp.setenv("PYTHONHASHSEED", "random")
    try:
        first = regenerate(script, progress_bar=False).read_bytes()
        second = regenerate(script, progress_bar=False)
    finally:
        mp.undo()
    return first, second


def test_build_keeps_tags_kernelspec_and_pairing(tmp_path):
    script = tmp_path / "01_x.py"
    script.write_text(SCRIPT, encoding="utf-8")
    nb = build_notebook(script)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert nb.metadata["kernelspec"] == {
        "name": "imclab",
        "display_name": "imclab",
        "language": "python",
    }
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert "text_representation" not in nb.metadata["jupytext"]
    assert [c.id for c in build_notebook(script).cells] == [c.id for c in nb.cells]
    nbformat.validate(nb)


def test_script_without_a_runner_parameter_is_refused(tmp_path):
    script = tmp_path / "02_y.py"
    script.write_text(SCRIPT.replace('report_dir: str = ""  # report folder\n', ""))
    with pytest.raises(ParameterError, match=r"02_y\.ipynb: .*'report_dir' \(from imclab run\)"):
        check_notebook(build_notebook(script), "02_y.ipynb")
    with pytest.raises(ParameterError):
        regenerate(script)
    assert not script.with_suffix(".ipynb").exists()


def test_outputs_are_produced_in_the_notebooks_folder_with_fixed_hash_seed(regenerated):
    _, path = regenerated
    nb = nbformat.read(path, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "hashseed 0 " in text
    assert "cwd notebooks\n" in text
    figures = [o for o in nb.cells[3].outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 1  # inline backend despite MPLBACKEND=Agg in the caller


def test_regenerated_notebook_is_clean_and_deterministic(regenerated):
    first, path = regenerated
    assert path.read_bytes() == first
    raw = json.loads(first)
    assert "papermill" not in raw["metadata"]
    for cell in raw["cells"]:
        assert set(cell["metadata"]) <= {"tags"}
    assert raw["metadata"]["kernelspec"]["name"] == "imclab"
    assert raw["cells"][1]["metadata"] == {"tags": ["parameters"]}
    nbformat.validate(nbformat.reads(first.decode(), as_version=4))


def test_failing_cell_is_reported_and_the_notebook_kept(tmp_path):
    script = tmp_path / "03_fail.py"
    script.write_text(SCRIPT.split("# %%\nimport os")[0] + "# %%\nx = 1\n1 / 0\n")
    target = script.with_suffix(".ipynb")
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(ImclabError) as info:
        regenerate(script, progress_bar=False)
    message = str(info.value)
    assert message.startswith("notebook 03_fail.ipynb failed in cell 2 (execution count In [2])")
    assert "    x = 1\n    1 / 0\n" in message
    assert "ZeroDivisionError: division by zero" in message
    assert message.endswith("03_fail.ipynb was not rewritten.")
    assert target.read_text(encoding="utf-8") == "previous"


def test_main_reports_unknown_names(tmp_path, capsys):
    (tmp_path / "00_demo.py").write_text(SCRIPT, encoding="utf-8")
    assert main(["--notebooks", str(tmp_path), "attribution"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "regenerate: error: unknown notebook 'attribution'; available notebooks: 00_demo\n"
    )
    assert not (tmp_path / "00_demo.ipynb").exists()


def test_handed_over_files_are_injected_by_relative_path(monkeypatch, tmp_path, repo_root):
    from imclab.report import regenerate as regen
    from imclab.report.runner import MMM_FILE, MMM_PARAMETER

    notebooks = repo_root / "notebooks"
    assert regen.handed_over("07_plan_next_campaign", notebooks) == {
        MMM_PARAMETER: f"../data/sample_derived/{MMM_FILE}"
    }
    assert regen.handed_over("03_channel_attribution", notebooks) == {}
    # every handed-over file is written by a notebook of the suite that declares report_dir
    for filename, name in regen.DERIVED_BY.items():
        assert (notebooks / f"{name}.py").is_file()
        assert filename in {f for files in regen.HANDED_OVER.values() for f in files.values()}
    monkeypatch.setattr(regen, "SAMPLE_DERIVED_DIR", tmp_path)
    with pytest.raises(ParameterError, match=r"mmm_curves.csv, which is missing: run .*--derived"):
        regen.handed_over("07_plan_next_campaign", notebooks)


def test_committed_planning_run_uses_the_sample_s_curves(repo_root):
    """07's committed run (what nbval checks) is given notebook 04's curves of the sample, so
    every section shows a result, and its parameter default names no sample file."""
    from imclab.report.notebook_io import INJECTED_TAG
    from imclab.report.runner import MMM_PARAMETER

    nb = nbformat.read(repo_root / "notebooks" / "07_plan_next_campaign.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert f'{MMM_PARAMETER}: str = ""' in params.source
    injected = [c for c in nb.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "sample_derived/mmm_curves.csv" in injected[0].source
    code = [c for c in nb.cells if c.cell_type == "code" and c not in (params, injected[0])]
    # a missing-input note (find_gaps) shows nothing when nothing is missing, as on the sample
    notes = ("find_gaps(", "gaps.first(")
    silent = [
        i for i, c in enumerate(code) if not c.outputs and not any(n in c.source for n in notes)
    ]
    assert not silent, f"code cells without output: {silent}"
    text = json.dumps([c.outputs for c in code])
    assert "No response curves" not in text


def test_derived_files_are_run_from_the_script_and_copied(monkeypatch, tmp_path):
    """``regenerate --derived`` runs each deriving script with a temporary ``report_dir`` and
    copies the file it wrote; a script that writes none fails naming it. (That the committed
    curves are notebook 04's output today is checked on the sample's run:
    ``tests/test_end_to_end.py``.)"""
    from imclab.report import regenerate as regen

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    writes = 'Path(report_dir, "made.csv").write_text(f"x\\n{6 * 7}\\n")'
    (notebooks / "98_writes.py").write_text(SCRIPT + f"\n# %%\n{writes}\n", encoding="utf-8")
    (notebooks / "99_forgets.py").write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "derived"
    monkeypatch.setattr(regen, "DERIVED_BY", {"made.csv": "98_writes"})
    (made,) = regen.derive_sample_files(notebooks, out, progress_bar=False)
    assert made == out / "made.csv" and made.read_text() == "x\n42\n"
    assert not (notebooks / "98_writes.ipynb").exists()  # the committed notebook is untouched
    monkeypatch.setattr(regen, "DERIVED_BY", {"lost.csv": "99_forgets"})
    with pytest.raises(ImclabError, match="99_forgets did not write lost.csv"):
        regen.derive_sample_files(notebooks, out, progress_bar=False)
