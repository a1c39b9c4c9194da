"""The situation analysis on the bundled sample world, checked against its ground truth."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from imclab.data.load import load_world
from imclab.plan import load_plan
from imclab.situation import brand_funnel, channel_baseline, funnel_leaks, smart_check

FLAGS = {"awareness": "aware", "consideration": "consider", "preference": "prefer",
         "purchase_intent": "intent"}  # fmt: skip


@pytest.fixture(scope="module")
def world(sample_dir):
    return load_world(sample_dir).tables


@pytest.fixture(scope="module")
def plan(repo_root):
    return load_plan(repo_root / "campaigns" / "spring_launch.yaml")


def test_pre_campaign_funnel_intervals_cover_the_true_survey_rates(world, plan, sample_dir):
    truth = json.loads((sample_dir / "truth" / "truth.json").read_text())["survey"]["pre"]
    funnel = brand_funnel(world["survey"], plan.brands, end=plan.start, pooled=True)
    covered, total = 0, 0
    for rec in funnel.loc[funnel["stage"].isin(list(FLAGS))].itertuples():
        true = truth[rec.brand][FLAGS[rec.stage]]
        covered += rec.share_low <= true <= rec.share_high
        total += 1
    assert total == 16
    assert covered >= 13  # 95 % intervals: ~15 of 16 expected
    leaks = funnel_leaks(funnel, plan.brand)
    # The generating rates put our awareness at under half of the leader's: the biggest leak
    leak = leaks.loc[leaks["biggest_leak"]].iloc[0]
    assert leak["stage"] == "awareness"


def test_channel_baseline_on_the_sample_covers_every_channel_and_order(world, plan):
    start = pd.Timestamp("2025-01-01")
    end = pd.Timestamp(plan.start) - pd.Timedelta(days=1)
    base = channel_baseline(world["spend"], world["touchpoints"], world["conversions"], start, end)
    orders = world["conversions"]
    in_period = (
        (orders["timestamp"] >= start) & (orders["timestamp"] < end + pd.Timedelta(days=1))
    ).sum()
    assert 0 < base["last_touch_orders"].sum() <= in_period
    paid = base.loc[base["paid"] & base["spend"].notna()]
    assert (paid["cpm"] > 0).all()
    assert (
        (base["conversion_rate_low"] <= base["conversion_rate"]) | base["conversion_rate"].isna()
    ).all()


def test_smart_check_on_the_bundled_plan_has_every_letter(world, plan):
    check = smart_check(plan, world, "2025-01-01", pd.Timestamp(plan.start) - pd.Timedelta(days=1))
    assert len(check) == 5 * len(plan.objectives)
    assert set(check["status"]) <= {"pass", "warn", "fail"}
    assert (check["reason"].str.len() > 0).all()
