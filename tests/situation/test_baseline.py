"""Channel baseline: delivery rates, conversion rate, last-touch CPA and ROAS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.config import CHANNELS
from imclab.errors import DataError
from imclab.situation.baseline import BASELINE_COLUMNS, baseline_cpa_median, channel_baseline

T = pd.Timestamp


def _world():
    spend = pd.DataFrame(
        [
            (T("2025-01-05"), "social", "always_on", 100.0, 10000, 100),
            (T("2025-01-05"), "paid_search", "always_on", 60.0, 1000, 60),
            (T("2025-01-05"), "tv", "always_on", 500.0, 50000, 0),
            (T("2025-03-05"), "social", "spring_launch", 999.0, 99, 9),  # outside
        ],
        columns=["date", "channel", "campaign", "spend", "impressions", "clicks"],
    )
    touches = pd.DataFrame(
        [
            ("A", T("2025-01-05 10:00"), "social", "always_on"),
            ("A", T("2025-01-06 10:00"), "paid_search", "always_on"),
            ("B", T("2025-01-05 10:00"), "social", "always_on"),
            ("C", T("2025-01-05 10:00"), "paid_search", "always_on"),
            ("D", T("2025-01-05 10:00"), "seo", "organic"),
        ],
        columns=["customer_id", "timestamp", "channel", "campaign"],
    )
    touches.insert(0, "event_id", [f"E{i}" for i in range(len(touches))])
    orders = pd.DataFrame(
        [
            ("O1", "A", T("2025-01-07 10:00"), 50.0),  # last touch paid_search
            ("O2", "B", T("2025-01-10 10:00"), 30.0),  # last touch social
            ("O3", "C", T("2025-03-01 10:00"), 80.0),  # 55 days after: outside lookback
        ],
        columns=["order_id", "customer_id", "timestamp", "revenue"],
    )
    return spend, touches, orders


def test_delivery_conversion_and_last_touch_figures():
    base = channel_baseline(*_world(), "2025-01-01", "2025-03-02", lookback_days=30)
    assert list(base.columns) == list(BASELINE_COLUMNS)
    assert base["channel"].tolist() == list(CHANNELS)
    rows = base.set_index("channel")
    social, search = rows.loc["social"], rows.loc["paid_search"]
    assert social["ctr"] == pytest.approx(0.01) and social["cpc"] == pytest.approx(1.0)
    assert social["cpm"] == pytest.approx(10.0)
    assert social["ctr_low"] < 0.01 < social["ctr_high"]
    # social touched A and B, both ordered within 30 days of the touch
    assert social["conversion_rate"] == pytest.approx(1.0)
    # paid_search touched A (ordered) and C (ordered 55 days later: not counted)
    assert search["conversion_rate"] == pytest.approx(0.5)
    assert search["last_touch_orders"] == 1 and social["last_touch_orders"] == 1
    assert search["cpa"] == pytest.approx(60.0) and social["cpa"] == pytest.approx(100.0)
    assert search["roas"] == pytest.approx(50 / 60)
    assert base["last_touch_orders"].sum() == 2  # O3 had no touch within the lookback


def test_channels_without_clicks_spend_or_activity_are_explained():
    rows = channel_baseline(*_world(), "2025-01-01", "2025-03-02").set_index("channel")
    assert np.isnan(rows.loc["tv", "ctr"]) and np.isnan(rows.loc["tv", "cpc"])
    assert rows.loc["tv", "cpm"] == pytest.approx(10.0)
    assert "no clicks reported" in rows.loc["tv", "note"]
    assert "unpaid channel" in rows.loc["seo", "note"]
    assert rows.loc["affiliate", "note"] == "no spend and no touches in the period"
    assert "only 2 touched customers" in rows.loc["social", "note"]


def test_campaign_filter_and_median_cpa():
    base = channel_baseline(*_world(), "2025-01-01", "2025-03-31", campaign="spring_launch")
    rows = base.set_index("channel")
    assert rows.loc["social", "spend"] == pytest.approx(999.0)
    assert rows["touched_customers"].sum() == 0
    full = channel_baseline(*_world(), "2025-01-01", "2025-03-02")
    assert baseline_cpa_median(full) == pytest.approx(80.0)


@pytest.mark.parametrize(
    "kw", [{}, {"lookback_days": 2}, {"campaign": "always_on"}, {"campaign": "spring_launch"}]
)
def test_ibis_tables_give_the_same_baseline(kw, duckdb_tables):
    spend, touches, orders = _world()
    tables = duckdb_tables(touchpoints=touches, conversions=orders)
    expected = channel_baseline(spend, touches, orders, "2025-01-01", "2025-03-02", **kw)
    got = channel_baseline(spend, tables["touchpoints"], tables["conversions"], "2025-01-01",
                           "2025-03-02", **kw)  # fmt: skip
    pd.testing.assert_frame_equal(got, expected)


def _edges():
    touches = pd.DataFrame(
        [
            ("A", T("2025-01-05 10:00"), "social"),
            ("B", T("2025-01-05 10:00"), "social"),
            ("C", T("2025-01-05 10:00"), "social"),
            ("D", T("2025-01-05 10:00"), "social"),
            ("D", T("2025-01-05 10:00"), "paid_search"),  # same moment as D's social touch
        ],
        columns=["customer_id", "timestamp", "channel"],
    ).assign(campaign="always_on")
    touches.insert(0, "event_id", [f"E{i}" for i in range(len(touches))])
    orders = pd.DataFrame(
        [
            ("O1", "A", T("2025-01-05 10:00"), 10.0),  # at the very moment of the touch
            ("O2", "A", T("2025-01-08 10:00"), 20.0),  # no touch since O1: credits nothing
            ("O3", "B", T("2025-01-12 10:00"), 40.0),  # exactly 7 days later: inside
            ("O4", "C", T("2025-01-12 09:59"), 80.0),  # just inside 7 days
            ("O5", "D", T("2025-01-06 10:00"), 160.0),  # tie: paid_search before social
        ],
        columns=["order_id", "customer_id", "timestamp", "revenue"],
    )
    return _world()[0].iloc[:0], touches, orders  # no spend rows


def test_lookback_edges_repeat_orders_and_simultaneous_touches(duckdb_tables):
    spend, touches, orders = _edges()
    tables = duckdb_tables(touchpoints=touches, conversions=orders)
    for tp, cv in ((touches, orders), (tables["touchpoints"], tables["conversions"])):
        rows = channel_baseline(spend, tp, cv, "2025-01-01", "2025-01-31", lookback_days=7)
        rows = rows.set_index("channel")
        assert rows.loc["social", "touched_customers"] == 4
        assert rows.loc["social", "converting_customers"] == 4  # A, B, C, D
        assert rows.loc["paid_search", "converting_customers"] == 1
        # the journeys' rule: a touch credits one order (A's first), the lookback's end is
        # included (B); D's order goes to the alphabetically first of two simultaneous touches
        assert rows.loc["social", "last_touch_orders"] == 3
        assert rows.loc["social", "last_touch_revenue"] == pytest.approx(130.0)
        assert rows.loc["paid_search", "last_touch_orders"] == 1
        assert rows.loc["paid_search", "last_touch_revenue"] == pytest.approx(160.0)


@pytest.mark.parametrize(
    "table, column, kw",
    [("conversions", "order_id", {}), ("touchpoints", "campaign", {"campaign": "always_on"})],
)
def test_missing_event_columns_are_named(table, column, kw, duckdb_tables):
    spend, touches, orders = _world()
    frames = {"touchpoints": touches, "conversions": orders}
    frames[table] = frames[table].drop(columns=column)
    for source in (frames, duckdb_tables(**frames)):
        with pytest.raises(DataError, match=rf"{table}: missing column\(s\) {column}"):
            channel_baseline(spend, source["touchpoints"], source["conversions"], "2025-01-01",
                             "2025-03-02", **kw)  # fmt: skip


def test_baseline_credits_the_orders_daily_credit_credits(small_world):
    # one crediting rule: the baseline's last-touch orders are the orders the budget curves'
    # daily_credit finds a counted touch for, in a world other than the sample
    from imclab.data import load_world
    from imclab.review.budget import daily_credit

    world = load_world(small_world, tables=["touchpoints", "conversions", "spend"])
    tp, cv = world.touchpoints, world.conversions
    lo, hi = T("2025-01-01"), T("2025-03-02 23:59:59")
    tp = tp[(tp["timestamp"] >= lo) & (tp["timestamp"] <= hi)]
    cv = cv[(cv["timestamp"] >= lo) & (cv["timestamp"] <= hi)]
    for lookback in (3, 30):
        base = channel_baseline(world.spend, tp, cv, "2025-01-01", "2025-03-02",
                                lookback_days=lookback)  # fmt: skip
        credit = daily_credit(tp, cv, "last_touch", lookback_days=lookback)
        credited = len(cv) - credit.attrs["orders_without_touch"]
        assert base["last_touch_orders"].sum() == credited > 0
        by_channel = credit.groupby("channel")["conversions"].sum()
        rows = base.set_index("channel")["last_touch_orders"]
        # ties (two touches at one moment) may pick another channel; nothing else differs
        assert (rows.reindex(by_channel.index) - by_channel).abs().sum() <= 0.01 * credited
