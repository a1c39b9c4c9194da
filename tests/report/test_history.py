"""Run history: complete runs leave their numbers; the index compares campaigns; objectives
take baselines from earlier runs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from imclab.errors import PlanError
from imclab.plan import PlanValidationError, load_plan
from imclab.report.history import (
    append_run,
    compare_campaigns,
    data_fingerprint,
    lookup,
    read_history,
)
from imclab.report.runner import run_campaign


def _plan(name, start, title=None, total=1000.0):
    return SimpleNamespace(name=name, title=title or name.title(), start=start, end=start,
                           currency="EUR", budget=SimpleNamespace(total=total))  # fmt: skip


def _headlines(roas, met):
    return {
        "review": {
            "roi": roas - 1,
            "roas": roas,
            "cac": 12.5,
            "conversions": 40.0 * roas,
            "lessons": ["[high] text is not stored"],
            "objectives": [
                {
                    "id": "rev",
                    "kpi": "revenue",
                    "actual": 200.0,
                    "target": 250.0,
                    "status": "met" if met else "missed",
                },
                {"id": "r", "kpi": "roas", "actual": roas, "target": 3.0, "status": "missed"},
            ],  # fmt: skip
        },
        "data_audit": {"rows_read": 100, "missing_optional_tables": []},
    }


def test_runs_are_stored_replaced_and_compared_in_start_order(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    reports = tmp_path / "reports"
    append_run(reports, _plan("autumn", "2025-09-01"), _headlines(2.0, True), data)
    append_run(reports, _plan("spring", "2025-03-01"), _headlines(3.5, False), data)
    again = append_run(reports, _plan("autumn", "2025-09-01"), _headlines(2.5, True), data)
    assert again.equals(read_history(reports))
    table = compare_campaigns(again)
    assert list(table["campaign"]) == ["spring", "autumn"]  # start order, one row each
    assert table.set_index("campaign").loc["autumn", "roas"] == pytest.approx(2.5)
    assert list(table["objectives met"]) == ["0 of 2", "1 of 2"]
    kinds = again.groupby("kind")["name"].apply(set).to_dict()
    assert kinds["kpi"] == {"roi", "roas", "cac", "conversions"}
    assert table.set_index("campaign").loc["autumn", "conversions"] == pytest.approx(100.0)
    assert "data_audit.rows_read" in kinds["headline"]
    assert len(set(again["fingerprint"])) == 1
    (data / "a.csv").write_text("x\n2\n")
    assert data_fingerprint(data) != again["fingerprint"].iloc[0]


def test_lookup_reads_an_objective_then_a_kpi_and_names_what_is_missing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    append_run(tmp_path, _plan("spring", "2025-03-01"), _headlines(3.5, False), data)
    assert lookup(tmp_path, "spring", "revenue") == pytest.approx(200.0)
    assert lookup(tmp_path, "spring", "cac") == pytest.approx(12.5)
    with pytest.raises(PlanError, match="no run of campaign 'autumn'.*campaigns there: spring"):
        lookup(tmp_path, "autumn", "roas")
    with pytest.raises(PlanError, match="measured .awareness.; it has: cac, conversions, revenue"):
        lookup(tmp_path, "spring", "awareness")


def test_plan_baseline_from_history(tmp_path, write_plan, repo_root):
    data = tmp_path / "data"
    data.mkdir()
    append_run(tmp_path / "reports", _plan("spring_launch", "2025-03-01"), _headlines(2.8, 1), data)
    base = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    objectives = [o.model_dump(mode="json", exclude_none=True) for o in base.objectives]
    roas = next(o for o in objectives if o["kpi"] == "roas")
    roas["baseline"] = "history:spring_launch.roas"
    path = write_plan(tmp_path / "campaigns" / "autumn.yaml", name="autumn", objectives=objectives)
    plan = load_plan(path)
    loaded = next(o for o in plan.objectives if o.kpi == "roas")
    assert loaded.baseline == pytest.approx(2.8)
    assert loaded.baseline_from == "history:spring_launch.roas"
    roas["baseline"] = "history:winter.roas"
    path = write_plan(tmp_path / "campaigns" / "autumn.yaml", name="autumn", objectives=objectives)
    with pytest.raises(PlanValidationError) as err:
        load_plan(path)
    index = objectives.index(roas)
    assert f"objectives[{index}].baseline: no run of campaign 'winter'" in str(err.value)


def test_two_consecutive_campaigns_show_side_by_side_on_the_index(
    tmp_path, write_notebook, write_plan, put_world
):
    nbs = tmp_path / "notebooks"
    write_notebook(
        nbs / "00_review.ipynb",
        [
            "import yaml\nfrom imclab.report.headlines import record_headlines\n"
            "plan = yaml.safe_load(open(campaign_file))\n"
            "roas = 3.1 if plan['name'] == 'spring' else 2.4\n"
            'record_headlines(report_dir, "review", {"roas": roas, "roi": roas - 1})'
        ],
    )
    put_world(tmp_path / "data")
    spring = write_plan(tmp_path / "campaigns" / "spring.yaml", name="spring",
                        title="Spring 2025", start="2025-03-03")  # fmt: skip
    autumn = write_plan(tmp_path / "campaigns" / "autumn.yaml", name="autumn",
                        title="Autumn 2025")  # fmt: skip
    for plan in (spring, autumn):
        run_campaign(plan, notebooks_dir=nbs, data_dir=tmp_path / "data", root=tmp_path,
                     progress_bar=False)  # fmt: skip
    page = (tmp_path / "reports" / "autumn" / "index.html").read_text(encoding="utf-8")
    section = page[
        page.index('<section id="history">') : page.index(
            "</section>", page.index('<section id="history">')
        )
    ]
    assert "Spring 2025" in section and "Autumn 2025" in section
    assert "3.10×" in section and "2.40×" in section
    assert '<tr class="this"><td>Autumn 2025</td>' in section
    first = (tmp_path / "reports" / "spring" / "index.html").read_text(encoding="utf-8")
    assert "No earlier campaign in the run history yet" in first
    history = read_history(tmp_path / "reports")
    assert sorted(set(history["campaign"])) == ["autumn", "spring"]
    assert not math.isnan(history.loc[history["name"] == "roas", "value"].iloc[0])
    assert isinstance(history, pd.DataFrame)
