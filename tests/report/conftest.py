"""Builders of throwaway notebooks, py:percent scripts and plans for the report tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BASE_PARAMETERS = (
    'campaign_file: str = "../campaigns/demo.yaml"  # campaign plan\n'
    'data_dir: str = "../data"  # brand-world folder\n'
    'report_dir: str = ""  # report folder ("" writes no headlines)\n'
)
KERNELSPEC = {"name": "imclab", "display_name": "imclab", "language": "python"}


def _write_notebook(
    path: Path,
    code: Sequence[str],
    extra_parameters: str = "",
    markdown: str | None = None,
    base_parameters: str = BASE_PARAMETERS,
) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    params = nbformat.v4.new_code_cell(base_parameters + extra_parameters)
    params.metadata["tags"] = ["parameters"]
    cells = [nbformat.v4.new_markdown_cell(markdown or f"# {path.stem}"), params]
    cells += [nbformat.v4.new_code_cell(source) for source in code]
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _write_plan(path: Path, **changes: Any) -> Path:
    plan = yaml.safe_load((REPO / "campaigns" / "spring_launch.yaml").read_text(encoding="utf-8"))
    plan.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def write_notebook() -> Callable[..., Path]:
    """Write a notebook: markdown title, a ``parameters`` cell, then the given code cells."""
    return _write_notebook


@pytest.fixture(scope="session")
def write_plan() -> Callable[..., Path]:
    """Write the spring_launch plan with top-level keys replaced (a valid plan)."""
    return _write_plan


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """A 200-customer simulated world (seed 3): ``imclab run`` validates the data first."""
    from imclab.simulate import simulate_world

    return simulate_world(tmp_path_factory.mktemp("tiny_world"), seed=3, n_customers=200)


@pytest.fixture(scope="session")
def put_world(tiny_world) -> Callable[[Path], Path]:
    """Copy the tiny world to a folder (a run's data folder) and return the folder."""

    def put(folder: Path) -> Path:
        shutil.copytree(tiny_world, folder)
        return folder

    return put
