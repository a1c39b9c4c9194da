"""Model input built from a hand-made world: every number can be counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.errors import DataError
from imclab.mmm import build_input


def _world():
    days = pd.date_range("2025-03-01", periods=35, freq="D").strftime("%Y-%m-%d")
    spend = pd.DataFrame(
        [(d, "social", "always_on", 10.0) for d in days]
        + [(d, "tv", "launch", 100.0) for d in days[7:14]]
        + [(days[7], "social", "launch", 5.5), (days[7], "seo", "always_on", 0.0)],
        columns=["date", "channel", "campaign", "spend"],
    )
    conversions = pd.DataFrame(
        {
            "timestamp": [f"{days[0]}T09:00:00", f"{days[0]}T23:59:59", f"{days[3]}T00:00:00"],
            "revenue": [10.0, 30.0, 5.0],
        }
    )
    return spend, conversions


def test_daily_orders_revenue_spend_and_controls():
    spend, conversions = _world()
    data = build_input(spend, conversions, campaign="launch")
    f = data.frame
    assert data.channels == ["social", "tv"]  # paid channels with spend, PAID_CHANNELS order
    assert len(f) == 35 and data.n_days == 35
    assert f["orders"].tolist()[:4] == [2.0, 0.0, 0.0, 1.0] and f["orders"].sum() == 3
    assert f.loc[0, "revenue"] == 40.0 and f.loc[3, "revenue"] == 5.0
    assert data.revenue_per_order == pytest.approx(15.0)
    assert f.loc[7, "social"] == 15.5 and f.loc[6, "social"] == 10.0
    assert f["tv"].sum() == 700.0 and f.loc[6, "tv"] == 0.0 and f.loc[7, "tv"] == 100.0
    camp = data.campaign_spend.set_index("date")
    assert camp["tv"].sum() == 700.0 and camp["social"].sum() == 5.5
    assert f["trend"].iloc[0] == 0.0 and f["trend"].iloc[-1] == 1.0
    # 2025-03-01 is a Saturday: one weekday column is on per day, none on Mondays
    assert f.loc[0, "dow_sat"] == 1.0 and f.loc[2, data.controls[1:]].sum() == 0.0
    assert (f[data.controls[1:]].sum(axis=1) <= 1).all()


def test_bad_inputs_name_the_table_and_the_fix():
    spend, conversions = _world()
    with pytest.raises(DataError, match=r"conversions: missing column\(s\) revenue"):
        build_input(spend, conversions.drop(columns="revenue"))
    with pytest.raises(DataError, match="no row of campaign 'autumn'.*campaigns found"):
        build_input(spend, conversions, campaign="autumn")
    with pytest.raises(DataError, match="channel\\(s\\) display have no spend"):
        build_input(spend, conversions, channels=["social", "display"])
    with pytest.raises(DataError, match="has 10 days; a marketing-mix model needs at least 28"):
        build_input(spend, conversions, start="2025-03-01", end="2025-03-10")


def test_engine_tables_give_the_same_input(duckdb_tables):
    spend, conversions = _world()
    conversions["timestamp"] = pd.to_datetime(conversions["timestamp"])
    tables = duckdb_tables(conversions=conversions)
    a = build_input(spend, conversions, campaign="launch").frame
    b = build_input(spend, tables["conversions"], campaign="launch").frame
    pd.testing.assert_frame_equal(a, b)
