"""How `make test` shares the suite between two pytest-xdist workers (tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def conftest(request):
    """The suite's conftest module, as pytest loaded it."""
    return request.config.pluginmanager.get_plugin(str(REPO / "tests" / "conftest.py"))


def test_tests_sharing_a_session_fixture_or_a_notebook_share_a_group(conftest):
    group, run = conftest.worker_group, conftest.SAMPLE_RUN
    assert group("tests/test_end_to_end.py::test_every_notebook_has_a_page") == run
    for scenario in ("sample", "next_campaign"):  # both use the sample's run
        assert group(f"tests/test_scenarios.py::test_x[{scenario}]") == run
    assert group("tests/test_scenarios.py::test_the_next_campaign_shows_beside") == run
    assert group("tests/test_scenarios.py::test_x[no_orders]") == "scenario no_orders"
    assert group("tests/test_scenarios.py::test_y[no_orders]") == "scenario no_orders"
    assert group("tests/spark/test_parity.py::test_a[default]") == "tests/spark"
    assert group("tests/spark/test_warehouse.py::test_b") == "tests/spark"
    assert group("tests/test_cli.py::test_run") == "tests/test_cli.py"
    nb = "notebooks/04_marketing_mix.ipynb"
    assert group(f"{nb}::Cell 3") == group(f"{nb}::Cell 12") == nb
    assert group("notebooks/05_post_campaign_review.ipynb::Cell 3") != nb


def test_only_the_grouped_files_use_the_sample_run():
    # another file asking for `sample_report` would rebuild the sample's run on its worker
    skip = ("conftest.py", Path(__file__).name)
    users = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "tests").rglob("*.py")
        if p.name not in skip and re.search(r"\bsample_report\b", p.read_text("utf-8"))
    )
    assert users == ["tests/test_end_to_end.py", "tests/test_scenarios.py"]


def test_every_heavy_group_is_a_group_of_this_suite(conftest):
    # a renamed folder or scenario would silently lose its place at the front
    spec = importlib.util.spec_from_file_location("scenarios", REPO / "tests/test_scenarios.py")
    scenarios = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scenarios)
    ids = [f"tests/test_scenarios.py::test_x[{name}]" for name in scenarios.SCENARIOS]
    ids += [f"{p.relative_to(REPO).as_posix()}::test_x" for p in REPO.glob("tests/**/test_*.py")]
    groups = {conftest.worker_group(i) for i in ids}
    assert set(conftest.HEAVY_FIRST) <= groups, set(conftest.HEAVY_FIRST) - groups


def test_heavy_groups_go_first_and_each_group_keeps_its_order(conftest):
    class Item:
        def __init__(self, nodeid):
            self.nodeid = nodeid

    ids = ["tests/attribution/test_a.py::t1", "tests/test_cli.py::t", "tests/spark/test_b.py::t",
           "tests/attribution/test_a.py::t2", "tests/test_end_to_end.py::t",
           "notebooks/01_x.ipynb::Cell 0", "tests/spark/test_a.py::t",
           "tests/test_scenarios.py::t[sample]", "notebooks/01_x.ipynb::Cell 1"]  # fmt: skip
    items = [Item(i) for i in ids]
    conftest.pytest_collection_modifyitems(None, items)
    assert [i.nodeid for i in items] == [
        "tests/test_end_to_end.py::t", "tests/test_scenarios.py::t[sample]",  # the sample run
        "tests/spark/test_b.py::t", "tests/spark/test_a.py::t",  # Spark, in its own order
        "tests/attribution/test_a.py::t1", "tests/test_cli.py::t",  # the rest as collected
        "tests/attribution/test_a.py::t2", "notebooks/01_x.ipynb::Cell 0",
        "notebooks/01_x.ipynb::Cell 1",
    ]  # fmt: skip


@pytest.mark.parametrize("workers", ["2", "0"])
def test_make_test_runs_on_the_workers_asked_for(workers):
    recipe = subprocess.run(
        ["make", "-n", "test", f"WORKERS={workers}"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (pytest_line,) = [line for line in recipe.splitlines() if " -m pytest" in line]
    if workers == "0":
        assert " -n " not in pytest_line and "OMP_NUM_THREADS" not in pytest_line
    else:
        assert "-n 2 --dist loadgroup --no-loadscope-reorder" in pytest_line
        assert "OMP_NUM_THREADS=1" in pytest_line
