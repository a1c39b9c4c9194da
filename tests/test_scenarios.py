"""Scenario matrix: `imclab run` end to end on plans and worlds the sample never covers.

Each scenario is a plan x world pair run through the command line exactly as a user would;
each must give a complete report (every notebook of the suite, whatever notebooks exist,
with no error output) whose index shows that plan's own title, dates and budget. The
worlds are simulated once per session and shared; only the autumn scenario, which is also
about size, uses 15,000 customers, the others use small worlds.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imclab.cli import main
from imclab.plan import parse_plan

pytestmark = pytest.mark.slow

OPTIONAL_TABLES = ("survey", "ab_tests", "creatives")
AUTUMN_SHIFT = dt.timedelta(days=182)  # spring_launch moved to 2025-09-01 .. 2025-11-23


def _sample_plan(repo_root: Path) -> dict:
    return yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text("utf-8"))


def _shift_dates(node, delta: dt.timedelta):
    """Every ISO date of a plan mapping moved by ``delta`` (titles and prose untouched)."""
    if isinstance(node, dict):
        return {k: _shift_dates(v, delta) for k, v in node.items()}
    if isinstance(node, list):
        return [_shift_dates(v, delta) for v in node]
    if isinstance(node, dt.date):
        return node + delta
    if isinstance(node, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", node):
        return (dt.date.fromisoformat(node) + delta).isoformat()
    return node


def _scaled_budget(plan: dict, factor: float) -> dict:
    plan = dict(plan)
    plan["phases"] = [
        {**p, "budget": {c: v * factor for c, v in p.get("budget", {}).items()}}
        for p in plan["phases"]
    ]
    plan["budget"] = {
        "total": plan["budget"]["total"] * factor,
        "by_channel": {c: v * factor for c, v in plan["budget"]["by_channel"].items()},
    }
    return plan


FAST = {
    "02_persona_clustering": {"n_bootstrap": 2, "k_max": 6},
    "03_channel_attribution": {"bootstrap_samples": 10},
    "04_marketing_mix": {"draws": 150, "tune": 150, "share_bootstrap": 5},
}
"""Fewer resamples and draws: the matrix checks that every section completes on any plan and
world; accuracy is checked by the model tests and benchmarks (a plan's notebook_params set
them exactly as an analyst would)."""


def _plan(repo_root: Path, scenario: str, world: Path | None = None) -> dict:
    """The plan of a scenario: the sample plan changed the way a new user's plan differs."""
    plan = _sample_plan(repo_root)
    plan.pop("settings", None)  # every other plan takes the settings derived from the plan
    plan["notebook_params"] = FAST
    plan["title"] = f"Scenario {scenario}"
    if "no_holdout" in scenario:
        plan["holdout_regions"] = []
    elif scenario.startswith("autumn"):
        plan = _shift_dates(plan, AUTUMN_SHIFT)
        plan["name"] = "autumn_push"
    if scenario.endswith("tenth_budget"):  # a budget of a tenth of what the data spent on it
        spend = pd.read_csv(world / "spend.csv")
        spent = spend.loc[spend["campaign"] == plan["name"], "spend"].sum()
        plan = _scaled_budget(plan, round(spent / 10) / plan["budget"]["total"])
    parse_plan(plan, f"scenario {scenario}")  # the scenario itself must be a valid plan
    return plan


@pytest.fixture(scope="session")
def bare_world(small_world, tmp_path_factory) -> Path:
    """The small world without its optional tables (no survey, A/B tests or creatives)."""
    out = tmp_path_factory.mktemp("bare_world")
    for path in small_world.iterdir():
        if path.is_dir():
            shutil.copytree(path, out / path.name)
        elif path.stem not in OPTIONAL_TABLES:
            shutil.copy2(path, out / path.name)
    return out


@pytest.fixture(scope="session")
def no_orders_world(small_world, tmp_path_factory) -> Path:
    """The small world with no order kept: every order names an unknown customer, so all of
    conversions.csv is quarantined (an export joined on the wrong customer key); its survey
    asks about our brand only (no row of the plan's competitors)."""
    out = tmp_path_factory.mktemp("no_orders_world") / "data"
    shutil.copytree(small_world, out)
    shutil.rmtree(out / "truth")  # the truth of the orders that are gone
    orders = pd.read_csv(out / "conversions.csv", dtype=str, keep_default_na=False)
    orders.assign(customer_id="X" + orders["customer_id"]).to_csv(
        out / "conversions.csv", index=False
    )
    survey = pd.read_csv(out / "survey.csv", dtype=str, keep_default_na=False)
    survey.loc[survey["brand"] == "Lumina"].to_csv(out / "survey.csv", index=False)
    return out


@pytest.fixture(scope="session")
def autumn_world(repo_root, tmp_path_factory) -> Path:
    """15,000 customers of another seed, simulated for the autumn plan's name and dates
    (`simulate --plan`): the size that once crashed a notebook (over about 9,700 customers)."""
    root = tmp_path_factory.mktemp("autumn_world")
    plan_file = root / "autumn_push.yaml"
    plan_file.write_text(yaml.safe_dump(_plan(repo_root, "autumn")), encoding="utf-8")
    out = root / "data"
    args = ["--seed", "123", "--customers", "15000", "--plan", str(plan_file), "--out", str(out)]
    assert main(["simulate", *args]) == 0
    return out


@pytest.fixture(scope="session")
def next_campaign_run(sample_report, tmp_path_factory) -> tuple[dict, Path]:
    """The plan notebook 07 drafted in the sample run, run as a user would run it next.

    Its world is simulated for the draft (`simulate --plan` for its name and dates,
    `--spend-plan` for its split), and the run writes beside the sample's report, so both
    campaigns share one run history: two consecutive campaigns (issue 18).
    """
    draft = sample_report / "next_campaign.yaml"
    assert draft.is_file(), "notebook 07 wrote no next_campaign.yaml in the sample run"
    root = tmp_path_factory.mktemp("next_campaign")
    data = root / "data"
    args = ["--seed", "11", "--customers", "1200", "--plan", str(draft)]
    assert main(["simulate", *args, "--spend-plan", str(draft), "--out", str(data)]) == 0
    plan = yaml.safe_load(draft.read_text(encoding="utf-8"))
    plan["notebook_params"] = FAST  # as the other scenarios: fewer resamples, same sections
    plan_file = root / f"{plan['name']}.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    out = sample_report.parent / plan["name"]
    code = main(["run", str(plan_file), "--data", str(data), "--out", str(out)])
    assert code == 0, f"the drafted plan failed to run (partial report in {out}.failed)"
    return plan, out


SCENARIOS = {
    "sample": "sample",
    "no_holdout_no_optional_tables": "bare_world",
    "autumn_big_world_tenth_budget": "autumn_world",
    "next_campaign": "next_campaign_run",
    "no_orders": "no_orders_world",
}
"""Scenario -> the world fixture it runs on. A run of the matrix costs minutes, so two ways a
new plan or world differs from the sample's share a run where they touch different sections:
the plan without holdout regions runs on the world without optional tables (the review skips
both with their sentences), and the autumn plan (other dates and name, on a world of 15,000
customers and another seed simulated for them) budgets a tenth of what its world spent. The
next campaign is the plan notebook 07 drafted in the sample run, on a world simulated for it.
Without orders, the notebooks whose whole analysis needs them are skipped, each with one
sentence, and the others skip their sections."""


@pytest.fixture(scope="session", params=sorted(SCENARIOS))
def scenario(request, repo_root, tmp_path_factory) -> tuple[str, dict, Path]:
    """Run `imclab run` for one scenario: its name, plan mapping and report folder."""
    name = request.param
    if name == "sample":
        return name, _sample_plan(repo_root), request.getfixturevalue("sample_report")
    if name == "next_campaign":
        return name, *request.getfixturevalue("next_campaign_run")
    world = request.getfixturevalue(SCENARIOS[name])
    plan = _plan(repo_root, name, world)
    root = tmp_path_factory.mktemp(f"scenario_{name}")
    plan_file = root / f"{plan['name']}.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    out = root / "report"
    code = main(["run", str(plan_file), "--data", str(world), "--out", str(out)])
    assert code == 0, f"scenario {name}: imclab run failed (partial report in {out}.failed)"
    return name, plan, out


def _text(path: Path) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))
    return re.sub(r"\s+", " ", text)


def test_every_notebook_runs_without_error(scenario, repo_root):
    name, _, report = scenario
    notebooks = sorted(p.stem for p in (repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    for stem in notebooks:
        nb = json.loads((report / f"{stem}.ipynb").read_text(encoding="utf-8"))
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        errors = [o for o in outputs if o["output_type"] == "error"]
        assert not errors, f"{name}: {stem}: {errors[:1]}"
        stderr = "".join("".join(o["text"]) for o in outputs if o.get("name") == "stderr")
        assert "Traceback" not in stderr, f"{name}: {stem}"
        assert (report / f"{stem}.html").is_file(), f"{name}: {stem}.html"
    index = (report / "index.html").read_text(encoding="utf-8")
    assert 'class="banner ok"' in index, name
    assert 'class="status status-failed"' not in index, name
    assert 'class="status status-not-run"' not in index, name


def test_index_shows_the_plans_own_title_dates_and_budget(scenario):
    name, plan, report = scenario
    index = _text(report / "index.html")
    assert plan["title"] in index, name
    for day in (plan["start"], plan["end"]):
        assert str(day) in index, f"{name}: {day}"
    total = float(plan["budget"]["total"])
    assert f"{total:,.0f} {plan['currency']}" in index, f"{name}: budget {total:,.0f}"


def test_missing_inputs_are_skipped_with_one_sentence(scenario):
    name, _, report = scenario
    review = _text(report / "05_post_campaign_review.html")
    headlines = json.loads((report / "headlines" / "review.json").read_text(encoding="utf-8"))
    if "no_optional_tables" in name:
        for table in ("survey.csv", "ab_tests.csv", "creatives.csv"):
            assert table in review, f"{name}: {table}"
        assert review.count("Skipped. No") >= 3, name
        assert "survey.csv" in _text(report / "01_situation_analysis.html")
    if "no_holdout" in name:
        assert "Skipped. The plan lists no holdout_regions" in review
        assert headlines["incremental_lift"] is None
    else:
        assert "holdout_regions, so" not in review, name


def test_every_page_reads_clean(scenario):
    """The reader checks of `make report` on every page: no raw dict, no NaN."""
    from imclab.report.browser import PageReport

    name, _, report = scenario
    for page in sorted(report.glob("*.html")):
        source = page.read_text(encoding="utf-8")
        shown = re.sub(r"<(style|script)\b.*?</\1>", " ", source, flags=re.S | re.I)
        text = html.unescape(re.sub(r"<[^>]+>", " ", shown))
        problems = PageReport(path=page, text=text).reader_problems()
        assert problems == [], f"{name}: {page.name}: {problems}"


def test_the_next_campaign_shows_beside_the_sample_campaign(next_campaign_run, sample_report):
    """Two consecutive runs side by side: the drafted campaign's index compares it with the
    sample campaign, by the same KPI definitions, in campaign start order."""
    from imclab.report.history import read_history

    plan, report = next_campaign_run
    history = read_history(report.parent)
    campaigns = list(history.sort_values("start")["campaign"].drop_duplicates())
    assert campaigns == ["spring_launch", plan["name"]]
    titles = history.drop_duplicates("campaign").set_index("campaign")["title"]
    index = _text(report / "index.html")
    section = index[index.rindex("Earlier campaigns") :]  # the section, not the menu link
    assert "No earlier campaign" not in section
    assert titles["spring_launch"] in section and plan["title"] in section


SKIPPED_WITHOUT_ORDERS = (
    "03_channel_attribution",
    "04_marketing_mix",
    "06_channel_integration",
    "07_plan_next_campaign",
)


def test_without_orders_nothing_is_computed_from_no_data(scenario):
    """The world without orders (nor competitor survey rows): the notebooks that analyse orders
    are skipped with one sentence (the index marks them), the others skip their sections
    (shares and leaks need the competitors); no headline, ROI or lift
    is computed from no order (before: 03 raised on empty paths, 04 divided by zero, 06 raised
    in CLV, 07 showed NaN orders, 05 showed a -100 % ROI for every channel)."""
    name, _, report = scenario
    if name != "no_orders":
        pytest.skip("the world without orders only")
    index = _text(report / "index.html")
    for stem in SKIPPED_WITHOUT_ORDERS:
        assert f"{stem} The data has no orders" in index, stem
        assert "so this notebook is skipped" in _text(report / f"{stem}.html"), stem
    assert f"4 of 8 notebooks ran; {', '.join(SKIPPED_WITHOUT_ORDERS)} skipped" in index
    review = _text(report / "05_post_campaign_review.html")
    assert review.count("The data has no orders") >= 6  # holdout, CLV, curves, split, ROI x2
    assert "returned an ROI" not in review and "returned an ROI" not in index
    situation = _text(report / "01_situation_analysis.html")
    assert situation.count("The data has no orders") >= 3  # sales, journey, channel baseline
    assert situation.count("The survey has no rows for the plan's competitors") == 2
    headlines = report / "headlines"
    assert sorted(p.stem for p in headlines.glob("*.json")) == [
        "data_audit",
        "personas",
        "review",
        "situation",
    ]
    review_numbers = json.loads((headlines / "review.json").read_text(encoding="utf-8"))
    assert review_numbers["incremental_lift"] is None
    situation_numbers = json.loads((headlines / "situation.json").read_text(encoding="utf-8"))
    for key in ("revenue_trend_change", "baseline_median_cpa", "biggest_funnel_leak"):
        assert situation_numbers[key] is None, key
