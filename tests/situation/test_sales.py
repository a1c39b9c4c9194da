"""Sales over time (STL), growth, share of voice and share of market."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from imclab.engine import quiet
from imclab.errors import DataError, ParameterError
from imclab.situation.sales import (
    WEEKDAYS,
    daily_sales,
    sales_decomposition,
    sales_growth,
    sales_summary,
    share_of_market,
    share_of_voice,
    weekly_seasonality,
)


def _orders_with_weekly_pattern(weeks: int = 8, growth_per_day: float = 0.0) -> pd.DataFrame:
    """One order per day of 100 (+ trend), and an extra order of 70 every Sunday."""
    rows = []
    days = pd.date_range("2025-01-06", periods=7 * weeks, freq="D")  # starts on a Monday
    for i, day in enumerate(days):
        rows.append((day + pd.Timedelta(hours=12), 100.0 + growth_per_day * i))
        if day.dayofweek == 6:
            rows.append((day + pd.Timedelta(hours=13), 70.0))
    frame = pd.DataFrame(rows, columns=["timestamp", "revenue"])
    frame["order_id"] = [f"O{i}" for i in range(len(frame))]
    frame["customer_id"] = "C1"
    return frame


def test_daily_sales_fills_empty_days_with_zero():
    orders = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-03 11:00", "2025-01-03 12:00"]
            ),
            "revenue": [10.0, 5.0, 7.0],
        }
    )
    daily = daily_sales(orders, "2025-01-01", "2025-01-04")
    assert daily["orders"].tolist() == [1, 0, 2, 0]
    assert daily["revenue"].tolist() == [10.0, 0.0, 12.0, 0.0]


def test_stl_finds_the_sunday_peak_and_a_flat_trend():
    decomposition = sales_decomposition(_orders_with_weekly_pattern(), "2025-01-06", "2025-03-02")
    np.testing.assert_allclose(
        decomposition["observed"],
        decomposition["trend"] + decomposition["seasonal"] + decomposition["resid"],
    )
    season = weekly_seasonality(decomposition)
    assert season["weekday"].tolist() == list(WEEKDAYS)
    assert season.loc[season["relative"].idxmax(), "weekday"] == "Sun"
    # the extra 70 on Sundays is +60 vs a weekly mean of +10 per day
    assert season.set_index("weekday").loc["Sun", "effect"] == pytest.approx(60, abs=3)
    assert decomposition["trend"].std() < 2


def test_summary_reports_the_trend_change():
    orders = _orders_with_weekly_pattern(growth_per_day=1.0)
    decomposition = sales_decomposition(orders, "2025-01-06", "2025-03-02")
    summary = sales_summary(decomposition, sales_growth(orders, "2025-01-06", "2025-03-02"))
    change = summary.set_index("figure").loc["trend_change", "value"]
    # trend of the first week ~ 113, of the last ~ 162 (100 + 1 per day + 10 Sunday average)
    assert change == pytest.approx((100 + 52 + 10) / (100 + 3 + 10) - 1, abs=0.02)


def test_decomposition_rejects_a_too_short_window_and_unknown_metric():
    orders = _orders_with_weekly_pattern()
    with pytest.raises(DataError, match="at least 15 days"):
        sales_decomposition(orders, "2025-01-06", "2025-01-15")
    with pytest.raises(ParameterError, match="metric 'profit'"):
        sales_decomposition(orders, "2025-01-06", "2025-03-02", metric="profit")


def test_growth_skips_partial_weeks():
    orders = _orders_with_weekly_pattern(weeks=3)
    growth = sales_growth(orders, "2025-01-08", "2025-01-26")  # Wednesday .. Sunday
    assert growth["partial"].tolist() == [True, False, False]
    assert np.isnan(growth["revenue_growth"].iloc[1])
    assert growth["revenue_growth"].iloc[2] == pytest.approx(0.0)
    assert growth["orders"].iloc[1] == 8 and growth["revenue"].iloc[1] == pytest.approx(770.0)


def _survey() -> pd.DataFrame:
    rows = []
    for brand, aware, intent in (("Ours", 20, 2), ("Rival", 60, 6)):
        for i in range(100):
            rows.append(("W1", pd.Timestamp("2025-01-20"), brand, int(i < aware), int(i < intent)))
    return pd.DataFrame(rows, columns=["wave", "fieldwork_date", "brand", "aware", "intent"])


def test_share_of_voice_without_competitor_spend_says_so_and_uses_share_of_mind():
    spend = pd.DataFrame({"date": pd.to_datetime(["2025-01-10"]), "channel": ["social"],
                          "campaign": ["always_on"], "spend": [5.0], "impressions": [10],
                          "clicks": [1]})  # fmt: skip
    sov = share_of_voice(spend, _survey(), ["Ours", "Rival", "Absent"], "2025-01-01", "2025-01-31")
    assert sov["note"].str.contains("no competitor media").all()
    shares = sov.set_index("brand")["share"]
    assert shares["Ours"] == pytest.approx(0.25) and shares["Rival"] == pytest.approx(0.75)
    assert np.isnan(shares["Absent"])
    assert "Absent has no respondents" in sov.set_index("brand").loc["Absent", "note"]


def test_share_of_voice_uses_competitor_spend_when_present():
    spend = pd.DataFrame({"date": pd.to_datetime(["2025-01-10"] * 3),
                          "brand": ["Ours", "Rival", "Rival"], "spend": [10.0, 20.0, 10.0],
                          "impressions": [100, 100, 200]})  # fmt: skip
    sov = share_of_voice(spend, None, ["Ours", "Rival"], "2025-01-01", "2025-01-31")
    by = sov.set_index(["measure", "brand"])["share"]
    assert by[("spend", "Ours")] == pytest.approx(0.25)
    assert by[("impressions", "Rival")] == pytest.approx(0.75)
    assert (sov["source"] == "spend.csv (share of voice)").all()


def test_share_of_market_from_purchase_intent():
    som = share_of_market(_survey(), ["Ours", "Rival"], "2025-01-01", "2025-01-31")
    assert som.set_index("brand")["share"].to_dict() == pytest.approx({"Ours": 0.25, "Rival": 0.75})
    assert som["note"].str.contains("proxy").all()
    empty = share_of_market(None, ["Ours"], "2025-01-01", "2025-01-31")
    assert "no survey table" in empty["note"].iloc[0]


@quiet
def _duckdb_table(frame: pd.DataFrame, name: str = "conversions"):
    """The same rows as a table of a DuckDB database (an Ibis table, not pandas)."""
    con = ibis.duckdb.connect()
    con.con.register("frame", frame)  # ibis 12's create_table(pandas) trips on duckdb 2.0
    con.raw_sql(f"CREATE TABLE {name} AS SELECT * FROM frame")
    return con.table(name)


def test_ibis_tables_give_the_same_daily_sales_decomposition_and_growth():
    orders = _orders_with_weekly_pattern(growth_per_day=1.0)
    table = _duckdb_table(orders)
    window = ("2025-01-08", "2025-03-02")
    pd.testing.assert_frame_equal(daily_sales(table, *window), daily_sales(orders, *window))
    for metric in ("orders", "revenue"):
        expected = sales_decomposition(orders, *window, metric)
        pd.testing.assert_frame_equal(sales_decomposition(table, *window, metric), expected)
    pd.testing.assert_frame_equal(sales_growth(table, *window), sales_growth(orders, *window))


def test_daily_sales_of_a_text_table_without_customer_id():
    # a raw CSV read as text by the engine: times and amounts are parsed in the query
    orders = pd.DataFrame(
        {
            "timestamp": ["2025-01-01 23:59:59", "2025-01-02 00:00:00", "2025-01-05 00:00:00"],
            "revenue": ["10.5", "5", "7"],
        }
    )
    daily = daily_sales(_duckdb_table(orders), "2025-01-01", "2025-01-04")
    assert daily["date"].tolist() == list(pd.date_range("2025-01-01", "2025-01-04"))
    assert daily["orders"].tolist() == [1, 1, 0, 0]  # the 5th is after the window
    assert daily["revenue"].tolist() == [10.5, 5.0, 0.0, 0.0]
    assert daily.dtypes.astype(str).tolist() == ["datetime64[ns]", "int64", "float64"]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_daily_sales_names_the_missing_column(engine):
    orders = _orders_with_weekly_pattern().drop(columns="revenue")
    table = orders if engine == "pandas" else _duckdb_table(orders)
    with pytest.raises(DataError, match=r"conversions: missing column\(s\) revenue"):
        daily_sales(table, "2025-01-06", "2025-01-20")
