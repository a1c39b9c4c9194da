"""Tests of imclab.review.plan_vs_actual: budget variance, activity spans, channel ROI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.data.load import load_world
from imclab.errors import ParameterError
from imclab.plan import load_plan
from imclab.review.experiments import ReviewWarning
from imclab.review.plan_vs_actual import (
    OUTSIDE_PHASES,
    activity_spans,
    attributed_credit,
    budget_vs_actual,
    channel_activity,
    channel_cost_trend,
    channel_roi,
    phase_of_dates,
    planned_spans,
)


@pytest.fixture(scope="module")
def plan():
    return load_plan("spring_launch")


@pytest.fixture(scope="module")
def sample(sample_dir):
    """The sample world's validated tables (the audit's quarantined rows left out)."""
    return load_world(sample_dir, as_of="2025-07-01").tables


def _spend(rows):
    frame = pd.DataFrame(rows, columns=["date", "channel", "campaign", "spend"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_budget_vs_actual_totals_match_plan_and_spend(plan, sample):
    table = budget_vs_actual(plan, sample["spend"])
    body, total = table.iloc[:-1], table.iloc[-1]
    assert total["planned"] == pytest.approx(plan.budget.total)
    campaign = sample["spend"].loc[sample["spend"]["campaign"] == plan.name, "spend"].sum()
    assert total["actual"] == pytest.approx(campaign)
    assert body["variance"].to_numpy() == pytest.approx(
        (body["actual"] - body["planned"]).to_numpy()
    )
    by_channel = budget_vs_actual(plan, sample["spend"], by="channel").set_index("channel")
    for channel, budget in plan.budget.by_channel.items():
        assert by_channel.loc[channel, "planned"] == pytest.approx(budget)
    phases = budget_vs_actual(plan, sample["spend"], by="phase_total")
    assert list(phases["phase"])[:3] == [p.name for p in plan.phases]


def test_budget_zero_spend_channel_and_unplanned_spend_warn(plan):
    spend = _spend(
        [("2025-03-05", "social", "spring_launch", 100.0),
         ("2025-03-05", "affiliate", "spring_launch", 50.0),  # no budget in the teaser
         ("2025-07-01", "social", "spring_launch", 5.0),  # after the last phase
         ("2025-03-05", "tv", "always_on", 999.0)]  # other campaign: ignored
    )  # fmt: skip
    with pytest.warns(ReviewWarning) as caught:
        table = budget_vs_actual(plan, spend)
    messages = " | ".join(str(w.message) for w in caught)
    assert "no spend recorded: tv in teaser had a budget of 8,000" in messages
    assert "unplanned spend: affiliate in teaser spent 50 with no budget" in messages
    rows = table.set_index(["phase", "channel"])
    assert rows.loc[("teaser", "tv"), "variance_pct"] == pytest.approx(-1.0)
    assert np.isnan(rows.loc[("teaser", "affiliate"), "variance_pct"])
    assert rows.loc[(OUTSIDE_PHASES, "social"), "actual"] == pytest.approx(5.0)
    assert table.iloc[-1]["actual"] == pytest.approx(155.0)


def test_phase_of_dates(plan):
    dates = pd.Series(pd.to_datetime(["2025-03-03", "2025-03-24", "2025-05-25", "2025-05-26"]))
    assert list(phase_of_dates(plan, dates)) == ["teaser", "launch", "sustain", OUTSIDE_PHASES]


def test_activity_spans_merge_consecutive_weeks(plan):
    spend = _spend(
        [("2025-03-03", "social", "spring_launch", 1.0),
         ("2025-03-12", "social", "spring_launch", 1.0),
         ("2025-03-31", "social", "spring_launch", 1.0),
         ("2025-03-31", "tv", "spring_launch", 0.0)]
    )  # fmt: skip
    activity = channel_activity(plan, spend)
    assert list(activity["week"].dt.weekday.unique()) == [0]
    assert list(activity["channel"]) == ["social"] * 3  # tv spent 0: it did not run
    spans = activity_spans(activity)
    assert spans[["start", "end", "weeks"]].values.tolist() == [
        [pd.Timestamp("2025-03-03"), pd.Timestamp("2025-03-16"), 2],
        [pd.Timestamp("2025-03-31"), pd.Timestamp("2025-04-06"), 1],
    ]


def test_planned_spans_list_each_phase_channel(plan):
    spans = planned_spans(plan)
    assert len(spans) == sum(len(p.channels) for p in plan.phases)
    assert spans["budget"].sum() == pytest.approx(plan.budget.total)


def test_channel_roi_known_values_and_zero_spend(plan):
    spend = _spend(
        [("2025-03-05", "social", "spring_launch", 100.0),
         ("2025-04-01", "tv", "spring_launch", 200.0)]
    )  # fmt: skip
    credit = pd.DataFrame(
        {"channel": ["social", "tv", "seo"], "conversions": [4.0, 2.0, 9.0],
         "value": [300.0, 100.0, 500.0]}
    )  # fmt: skip
    with pytest.warns(ReviewWarning) as caught:
        roi = channel_roi(plan, spend, credit)
    warned = {str(w.message) for w in caught}
    assert "channel ROI: no campaign spend on paid_search: ROI undefined" in warned
    assert len(warned) == len(plan.budget.by_channel) - 2  # all but social and tv
    roi = roi.set_index("channel")
    assert "seo" not in roi.index  # unpaid channel without budget
    assert roi.loc["social", "roi"] == pytest.approx((300 - 100) / 100)
    assert roi.loc["social", "roas"] == pytest.approx(3.0)
    assert roi.loc["tv", "roi"] == pytest.approx(-0.5)
    assert roi.loc["tv", "cost_per_conversion"] == pytest.approx(100.0)
    assert np.isnan(roi.loc["paid_search", "roi"]) and roi.loc["paid_search", "cost"] == 0
    with pytest.warns(ReviewWarning):
        no_model = channel_roi(plan, spend.iloc[:0], None)
    assert no_model["revenue"].isna().all()


def test_attribution_credit_and_cost_trend_on_sample(plan, sample):
    with pytest.raises(ParameterError, match="attribution model 'magic'"):
        attributed_credit(sample["touchpoints"], sample["conversions"], "magic")
    credit = attributed_credit(
        sample["touchpoints"], sample["conversions"], "last_touch", plan.start, plan.end
    )
    in_window = sample["conversions"]["timestamp"].between(
        pd.Timestamp(plan.start), pd.Timestamp(plan.end) + pd.Timedelta(days=1)
    )
    assert credit["conversions"].sum() == pytest.approx(in_window.sum())
    trend = channel_cost_trend(
        plan, sample["spend"], sample["touchpoints"], sample["conversions"], model="last_touch"
    )
    by_channel = budget_vs_actual(plan, sample["spend"], by="channel").set_index("channel")
    for channel, cost in trend.groupby("channel")["cost"].sum().items():
        assert cost == pytest.approx(by_channel.loc[channel, "actual"])
    for _, part in trend.groupby("channel"):
        cpc = part["cost_per_conversion"].to_numpy()
        assert part["rising"].iloc[0] == bool(len(cpc) >= 2 and cpc[-1] > 1.1 * cpc[0])


# -- event tables in a database (DuckDB through Ibis): identical results, built where they live --
@pytest.fixture(scope="module")
def duck(sample, duckdb_tables):
    """The sample's touchpoints and conversions as DuckDB tables, and the sizes of the results
    the database hands back."""
    tables = duckdb_tables(**{n: sample[n] for n in ("touchpoints", "conversions")})
    return tables, tables.returned


def test_channel_activity_on_duckdb_touchpoints_equals_pandas(plan, sample, duck):
    tables, returned = duck
    expected = channel_activity(plan, sample["spend"], sample["touchpoints"])
    returned.clear()
    got = channel_activity(plan, sample["spend"], tables["touchpoints"])
    pd.testing.assert_frame_equal(got, expected)
    campaign = sample["touchpoints"]["campaign"] == plan.name
    assert got["touches"].sum() == campaign.sum() > 0
    assert len(returned) == 1 and returned[0] < campaign.sum() / 10  # one query, per day


def test_attribution_runs_on_the_engine_of_the_event_tables(plan, sample, duck):
    tables, returned = duck
    expected = attributed_credit(
        sample["touchpoints"], sample["conversions"], "markov", plan.start, plan.end
    )
    returned.clear()
    got = attributed_credit(
        tables["touchpoints"], tables["conversions"], "markov", plan.start, plan.end
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
    assert returned  # the journeys were built by the tables' own DuckDB
    assert max(returned) < len(sample["touchpoints"]) / 10  # unique paths and counts
    trend = channel_cost_trend(
        plan, sample["spend"], tables["touchpoints"], tables["conversions"], model="last_touch"
    )
    pd.testing.assert_frame_equal(
        trend,
        channel_cost_trend(plan, sample["spend"], sample["touchpoints"], sample["conversions"],
                           model="last_touch"),
        check_exact=False, rtol=1e-9,
    )  # fmt: skip
