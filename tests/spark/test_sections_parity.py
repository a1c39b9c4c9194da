"""The checks of what a world lacks (`find_gaps`) give the same answers on Spark as on DuckDB."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from imclab.plan import load_plan
from imclab.report.sections import find_gaps
from imclab.warehouse import open_world

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def reached_no_buyer(small_world, tmp_path_factory):
    """The small world without the orders of every customer a campaign touch reached: the
    campaign's touches and spend stay, no order follows them."""
    out = tmp_path_factory.mktemp("reached_no_buyer") / "data"
    shutil.copytree(small_world, out)
    touches = pd.read_csv(out / "touchpoints.csv", dtype=str, keep_default_na=False)
    reached = set(touches.loc[touches["campaign"] == "spring_launch", "customer_id"])
    orders = pd.read_csv(out / "conversions.csv", dtype=str, keep_default_na=False)
    orders.loc[~orders["customer_id"].isin(reached)].to_csv(out / "conversions.csv", index=False)
    return out


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_campaign_that_reached_no_buyer_is_found_on_each_engine(
    engine, engines, small_world, reached_no_buyer, repo_root
):
    """The join of the campaign's touches and the period's orders (the gap that skips 04 and
    07) runs in the engine: on Spark it finds the campaign whose touches no order followed,
    and finds nothing to skip on the complete world."""
    plan = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    gaps = find_gaps(open_world(reached_no_buyer, engines[engine]), plan)
    assert not (gaps.orders or gaps.campaign_orders or gaps.campaign_spend)
    assert gaps.campaign_conversions
    assert list(gaps.skipped_notebooks(["04_marketing_mix", "07_plan_next_campaign"])) == [
        "04_marketing_mix",
        "07_plan_next_campaign",
    ]
    assert not find_gaps(open_world(small_world, engines[engine]), plan).campaign_conversions
