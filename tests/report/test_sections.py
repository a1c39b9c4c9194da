"""The one-sentence notes of skipped report sections, and what a world lacks for its plan."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imclab.errors import ParameterError
from imclab.plan import load_plan
from imclab.report.sections import MISSING, NEEDS, PARTIAL, NotebookSkipped, find_gaps, skipped
from imclab.situation import analysis_window
from imclab.warehouse import open_world

FIELDS = {"campaign": "c", "start": "s", "end": "e", "detail": "", "first": "f", "last": "l"}
FIELDS["part"] = "section"  # "notebook" on the page of a notebook the run skips
FIELDS["lookback_days"] = 30


def test_each_reason_is_one_sentence_saying_what_to_add():
    for reason, sentence in MISSING.items():
        text = sentence.format(**FIELDS, channels="tv")
        assert text.count(". ") == 0 and text.endswith("."), reason  # one sentence
        said = "leaves them out" if reason in PARTIAL else "skipped"
        assert said in text and ("add" in text or "list" in text), reason


def test_skipped_fills_the_campaign_and_names_unknown_reasons():
    note = skipped("campaign_spend", campaign="autumn", start="2025-09-01", end="2025-11-23")
    assert note.data.startswith("**Skipped.** The data has no campaign spend of")
    assert "'autumn' between 2025-09-01 and 2025-11-23" in note.data
    with pytest.raises(ParameterError, match="unknown reason 'surveys'; reasons: survey"):
        skipped("surveys")


def _variant(small_world: Path, out: Path, change) -> Path:
    """A copy of the small world with some rows deleted or broken by ``change(out)``."""
    shutil.copytree(small_world, out)
    change(out)
    return out


def _rewrite(folder: Path, table: str, edit) -> None:
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    edit(frame).to_csv(folder / f"{table}.csv", index=False)


def _no_orders(folder: Path) -> None:  # every order names an unknown customer: all quarantined
    _rewrite(folder, "conversions", lambda f: f.assign(customer_id="X" + f["customer_id"]))


def _orders_before_campaign(folder: Path) -> None:
    _rewrite(folder, "conversions", lambda f: f.loc[f["timestamp"] < "2025-03-03"])


def _no_competitors(folder: Path) -> None:
    _rewrite(folder, "survey", lambda f: f.loc[f["brand"] == "Lumina"])


def _no_tv_spend(folder: Path) -> None:
    _rewrite(
        folder,
        "spend",
        lambda f: f.loc[~((f["channel"] == "tv") & (f["campaign"] == "spring_launch"))],
    )


def _campaign_reached_no_buyer(folder: Path) -> None:
    """Drop the orders of every customer a campaign touch reached: its touches and spend stay,
    no order follows them (only customers it never touched order)."""
    touches = pd.read_csv(folder / "touchpoints.csv", dtype=str, keep_default_na=False)
    reached = set(touches.loc[touches["campaign"] == "spring_launch", "customer_id"])
    _rewrite(folder, "conversions", lambda f: f.loc[~f["customer_id"].isin(reached)])


VARIANTS = {
    "complete": lambda folder: None,
    "no_orders": _no_orders,
    "orders_before_campaign": _orders_before_campaign,
    "no_competitors": _no_competitors,
    "no_tv_spend": _no_tv_spend,
    "campaign_reached_no_buyer": _campaign_reached_no_buyer,
}


@pytest.fixture(scope="module")
def variants(small_world, tmp_path_factory) -> Path:
    """A folder holding one copy of the small world per variant (``<folder>/<name>``)."""
    root = tmp_path_factory.mktemp("gaps")
    for name, change in VARIANTS.items():
        _variant(small_world, root / name, change)
    return root


@pytest.fixture(scope="module")
def gaps_of(variants, repo_root):
    """Variant name -> (its world, the gaps `find_gaps` finds for the sample plan)."""
    plan = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    out = {}
    for name in VARIANTS:
        world = open_world(variants / name, "duckdb")
        out[name] = (world, find_gaps(world, plan))
    return out


def test_a_complete_world_lacks_nothing(gaps_of):
    _, gaps = gaps_of["complete"]
    assert not (gaps.orders or gaps.campaign_orders or gaps.competitors)
    assert gaps.unspent_channels == ()
    assert gaps.first("orders", "campaign_orders", "competitors", "channel_spend") is None


def test_no_order_kept_is_said_with_the_rows_quarantined(gaps_of):
    world, gaps = gaps_of["no_orders"]
    assert gaps.orders and gaps.campaign_orders and not gaps.competitors
    quarantined = world.report.tables["conversions"].rows_quarantined
    assert quarantined > 0
    note = gaps.first("competitors", "orders").data
    assert note.startswith("**Skipped.** The data has no orders")
    assert f"all {quarantined:,} rows were quarantined" in note


def test_orders_only_before_the_campaign(gaps_of):
    _, gaps = gaps_of["orders_before_campaign"]
    assert gaps.campaign_orders and not gaps.orders
    note = gaps.note("campaign_orders").data
    assert "no orders between 2025-03-03 and 2025-05-25" in note
    assert "run from 2025-01-" in note and "to 2025-03-02" in note


def test_a_survey_without_competitor_rows(gaps_of):
    _, gaps = gaps_of["no_competitors"]
    assert gaps.competitors and not gaps.orders
    assert gaps.first("orders", "competitors").data.startswith("**Skipped.** The survey has no")


def test_a_planned_channel_without_campaign_spend_is_named(gaps_of):
    _, gaps = gaps_of["no_tv_spend"]
    assert gaps.unspent_channels == ("tv",)
    note = gaps.first("channel_spend").data
    assert note.startswith("**Note.**") and "planned channel(s) tv between" in note
    with pytest.raises(ParameterError, match="'survey' is not tested"):
        gaps.first("survey")


def test_analysis_window_falls_back_to_the_touches_without_orders(gaps_of):
    world, _ = gaps_of["no_orders"]
    touches = world.report.tables["touchpoints"]
    assert analysis_window(world.report) == (
        touches.date_min.normalize(),
        touches.date_max.normalize(),
    )
    complete, _ = gaps_of["complete"]
    orders = complete.report.tables["conversions"]
    assert analysis_window(complete.report, end="2025-04-30") == (
        orders.date_min.normalize(),
        pd.Timestamp("2025-04-30"),
    )


def _other_campaign(repo_root: Path):
    """The sample plan renamed: a campaign the data holds no row of."""
    plan = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    return plan.model_copy(update={"name": "summer_sale"})


SUITE = [
    "00_data_audit",
    "01_situation_analysis",
    "02_persona_clustering",
    "03_channel_attribution",
    "04_marketing_mix",
    "05_post_campaign_review",
    "06_channel_integration",
    "07_plan_next_campaign",
]


def test_needs_names_notebooks_of_the_suite_and_reasons_gaps_tests(repo_root, gaps_of):
    from imclab.report.sections import NEEDS

    stems = sorted(p.stem for p in (repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert stems == SUITE
    names = {stem.partition("_")[2] for stem in stems}
    assert set(NEEDS) <= names
    _, gaps = gaps_of["complete"]
    for reasons in NEEDS.values():
        assert gaps.lacking(*reasons) is None  # every reason is one Gaps tests (else raises)


def test_the_campaign_join_runs_only_when_a_check_asks_for_it(variants, repo_root):
    plan = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    gaps = find_gaps(open_world(variants / "complete", "duckdb"), plan)
    gaps.require("03_channel_attribution")  # needs orders only
    assert "campaign_conversions" not in vars(gaps)  # the join has not run
    gaps.require("04_marketing_mix")
    assert vars(gaps)["campaign_conversions"] is False  # run once, kept


def test_a_complete_world_skips_no_notebook(gaps_of):
    _, gaps = gaps_of["complete"]
    assert not gaps.campaign_spend
    assert gaps.skipped_notebooks(SUITE) == {}


def test_without_orders_the_notebooks_that_analyse_them_are_skipped(gaps_of):
    _, gaps = gaps_of["no_orders"]
    skips = gaps.skipped_notebooks(SUITE)
    assert list(skips) == [
        "03_channel_attribution",
        "04_marketing_mix",
        "06_channel_integration",
        "07_plan_next_campaign",
    ]
    for note in skips.values():
        assert note.startswith("**Skipped.** The data has no orders (no row of conversions.csv")
        assert "so this notebook is skipped: add the brand's orders" in note
    assert gaps.notebook_note("marketing_mix") == skips["04_marketing_mix"]


def test_a_notebook_opened_by_hand_stops_with_its_sentence_not_a_traceback(gaps_of, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    _, complete = gaps_of["complete"]
    for stem in SUITE:
        complete.require(stem)  # a world that feeds every notebook stops none
    _, gaps = gaps_of["no_orders"]
    note = gaps.notebook_note("03_channel_attribution")
    with pytest.raises(NotebookSkipped) as stopped:
        gaps.require("03_channel_attribution")
    assert str(stopped.value) == note
    gaps.require("05_post_campaign_review")  # skips its own sections instead
    shell = InteractiveShell.instance()
    shell.user_ns["gaps"] = gaps
    result = shell.run_cell('gaps.require("03_channel_attribution")\nreached = True')
    shown = capsys.readouterr().out
    assert isinstance(result.error_in_exec, NotebookSkipped)  # Run All stops at this cell
    assert "reached" not in shell.user_ns
    assert "The data has no orders" in shown and "Traceback" not in shown


def test_each_notebook_the_run_can_skip_stops_itself_when_opened_by_hand(repo_root):
    for stem in SUITE:
        source = (repo_root / "notebooks" / f"{stem}.py").read_text(encoding="utf-8")
        calls = source.count(f'.require("{stem}")')
        assert calls == (1 if stem.partition("_")[2] in NEEDS else 0), stem


def test_a_campaign_without_spend_skips_the_model_and_the_plan(gaps_of, repo_root):
    world, _ = gaps_of["complete"]
    gaps = find_gaps(world, _other_campaign(repo_root))
    assert gaps.campaign_spend and not gaps.orders and not gaps.campaign_orders
    skips = gaps.skipped_notebooks(SUITE)
    assert list(skips) == ["04_marketing_mix", "07_plan_next_campaign"]
    assert (
        "no campaign spend of 'summer_sale' between 2025-03-03 and 2025-05-25"
        in (skips["04_marketing_mix"])
    )
    assert "so this notebook is skipped" in skips["04_marketing_mix"]
    # orders only before the campaign: the model and the plan have nothing to measure
    _, before = gaps_of["orders_before_campaign"]
    assert list(before.skipped_notebooks(SUITE)) == [
        "04_marketing_mix",
        "06_channel_integration",  # its funnel and overlap are the campaign period's
        "07_plan_next_campaign",
    ]


def test_a_campaign_no_order_followed_skips_the_model_and_the_plan(
    gaps_of, variants, small_world, repo_root
):
    """Its touches and spend are in the data, but no order of the period followed a touch:
    before, notebook 04 credited the campaign with a lift (e.g. 36 orders, 18-54) that the
    holdout contradicted."""
    world, gaps = gaps_of["campaign_reached_no_buyer"]
    assert not (gaps.orders or gaps.campaign_orders or gaps.campaign_spend)
    assert gaps.campaign_conversions
    skips = gaps.skipped_notebooks(SUITE)
    assert list(skips) == ["04_marketing_mix", "07_plan_next_campaign"]
    assert skips["04_marketing_mix"].startswith(
        "**Skipped.** No order between 2025-03-03 and 2025-05-25 followed a touch of campaign "
        "'spring_launch' within the 30-day lookback, so this notebook is skipped"
    )
    # the same answer where the event tables stay in the engine (Ibis tables, as on Spark)
    plan = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    lazy = open_world(variants / "campaign_reached_no_buyer", "duckdb", lazy=True)
    assert find_gaps(lazy, plan).campaign_conversions
    complete = open_world(small_world, "duckdb", lazy=True)
    assert not find_gaps(complete, plan).campaign_conversions
    _, full = gaps_of["complete"]
    assert not full.campaign_conversions


def _run_skipped(plan: Path, world: Path, only: list[str], out: Path) -> str:
    """`imclab run --only ...` on a world some of them cannot feed: the index's text."""
    from imclab.cli import main

    args = ["run", str(plan), "--data", str(world), "--only", *only, "--out", str(out)]
    assert main(args) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_run_skips_the_notebooks_a_world_without_orders_cannot_feed(
    small_world, repo_root, tmp_path, capsys
):
    """No notebook is executed: each page is its title and the sentence, the index marks it
    skipped (before, 03 raised on empty paths and 04 divided by zero)."""
    world = _variant(small_world, tmp_path / "world", _no_orders)
    plan = repo_root / "campaigns" / "spring_launch.yaml"
    only = ["03", "04", "06", "07"]
    index = _run_skipped(plan, world, only, tmp_path / "report")
    for stem in SUITE[3:5] + SUITE[6:]:
        nb = json.loads((tmp_path / "report" / f"{stem}.ipynb").read_text(encoding="utf-8"))
        assert [c["cell_type"] for c in nb["cells"]] == ["markdown"], stem
        text = "".join(nb["cells"][0]["source"])
        assert text.startswith(f"# {stem[:2]} ") and "so this notebook is skipped" in text
        page = (tmp_path / "report" / f"{stem}.html").read_text(encoding="utf-8")
        assert "The data has no orders" in html.unescape(page), stem
        assert f"{stem} The data has no orders" in index, stem
    assert index.count(" skipped ") >= 4
    assert "Traceback" not in index
    assert not (tmp_path / "report" / "headlines" / "marketing_mix.json").exists()
    said = capsys.readouterr().out
    assert "(0 notebook(s) run; skipped, the data lacks what they analyse: 03_channel" in said


@pytest.mark.slow  # notebook 05 runs
def test_run_skips_model_and_plan_of_a_campaign_the_data_does_not_hold(
    small_world, repo_root, tmp_path
):
    """Before, notebook 04 reported a model lift from a campaign with no row in the data, and
    notebook 05 raised in its budget inputs ("spend: no rows for campaigns")."""
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text("utf-8"))
    plan["name"] = "summer_sale"
    plan_file = tmp_path / "summer_sale.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "report"
    index = _run_skipped(plan_file, small_world, ["04", "05", "07"], out)
    assert "04_marketing_mix The data has no campaign spend of 'summer_sale'" in index
    assert "07_plan_next_campaign The data has no campaign spend of 'summer_sale'" in index
    # 05 runs: the holdout and the budget split each say why, instead of measuring nothing
    nb = json.loads((out / "05_post_campaign_review.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    page = re.sub(r"<[^>]+>", "", html.unescape((out / "05_post_campaign_review.html").read_text()))
    assert page.count("The data has no campaign spend of 'summer_sale'") == 2
    # no model or plan figure from a campaign with no rows: only the review's headlines
    assert sorted(p.name for p in (out / "headlines").iterdir()) == ["review.json"]


def _survey_after_launch(folder: Path) -> None:  # brand tracking began with the campaign
    _rewrite(folder, "survey", lambda f: f.loc[f["period"] == "post"])


@pytest.mark.slow
def test_notebook_01_without_a_survey_wave_in_the_baseline(small_world, repo_root, tmp_path):
    """Before, the brand funnel of an empty baseline raised IndexError in its plot."""
    from imclab.cli import main

    world = _variant(small_world, tmp_path / "world", _survey_after_launch)
    plan, out = repo_root / "campaigns" / "spring_launch.yaml", tmp_path / "report"
    args = ["run", str(plan), "--data", str(world), "--only", "01", "--out", str(out)]
    assert main(args) == 0
    nb = json.loads((out / "01_situation_analysis.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    page = html.unescape((out / "01_situation_analysis.html").read_text(encoding="utf-8"))
    assert "The survey has no wave between 2025-01-01 and 2025-03-02 (the baseline period)" in (
        re.sub(r"<[^>]+>", "", page)
    )
