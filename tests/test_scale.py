"""In-database aggregates (DuckDB here; tests/spark compares them with Spark)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.engine import connect, world_tables
from imclab.errors import DataError, ParameterError
from imclab.scale import (
    clean_tables,
    journeys_from_source,
    kpi_aggregates,
    persona_features,
    sales_aggregates,
    validation_counts,
)


def test_validation_counts_find_the_sample_faults(sample_dir):
    counts = validation_counts(world_tables(connect(), sample_dir), as_of="2025-12-31")
    v = counts.set_index(["table", "column", "rule"])["rows"]
    faults = pd.read_csv(sample_dir / "truth" / "faults.csv")
    # every planted fault is counted where the fault list puts it
    assert v["touchpoints", "timestamp", "unparseable"] == 2
    assert v["touchpoints", "channel", "unknown value"] == 1
    assert v["touchpoints", "event_id", "duplicate key"] == 1
    assert v["touchpoints", "customer_id", "not in customers.customer_id"] == 1
    assert v["touchpoints", "cost", "below minimum"] == 1
    assert v["conversions", "order_id", "duplicate key"] == 1
    assert v["conversions", "revenue", "below minimum"] == 1
    assert v["conversions", "timestamp", "in the future"] == 1
    assert v["spend", "spend", "below minimum"] == 1
    assert v["customers", "(rows)", "rows"] == 5000
    # and nothing else in the fault-bearing tables (spend's negative row is also a duplicate)
    per_table = counts[counts["rule"] != "rows"].groupby("table")["rows"].sum()
    assert per_table["touchpoints"] == (faults["table"] == "touchpoints").sum()
    assert per_table["conversions"] == (faults["table"] == "conversions").sum()
    assert per_table[["customers", "survey", "ab_tests", "creatives"]].sum() == 0


def test_validation_counts_rules_on_a_tiny_table():
    tp = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E2", " "],
            "customer_id": ["C1", "C1", "C2", "C1"],
            "timestamp": ["2025-01-01T00:00:00", "2025-13-01", "2030-01-01T00:00:00", None],
            "channel": ["seo", "tiktok", "seo", "tv"],
            "campaign": ["organic"] * 4,
            "interaction": ["click", "click", "swipe", "visit"],
            "cost": ["0", "-1", "x", "2.5"],
        }
    )
    import ibis

    counts = validation_counts({"touchpoints": ibis.memtable(tp)}, as_of="2025-06-30")
    v = counts.set_index(["column", "rule"])["rows"]
    assert v["event_id", "missing required value"] == 1
    assert v["event_id", "duplicate key"] == 1
    assert v["timestamp", "missing required value"] == 1
    assert v["timestamp", "unparseable"] == 1
    assert v["timestamp", "in the future"] == 1
    assert v["channel", "unknown value"] == 1
    assert v["interaction", "unknown value"] == 1
    assert v["cost", "unparseable"] == 1 and v["cost", "below minimum"] == 1


def test_validation_counts_missing_column_is_named():
    import ibis

    t = ibis.memtable(pd.DataFrame({"order_id": ["O1"]}))
    with pytest.raises(DataError, match="conversions: missing required column"):
        validation_counts({"conversions": t})


def test_kpi_aggregates_match_pandas(small_world):
    con = connect()
    tabs = world_tables(con, small_world)
    got = kpi_aggregates(tabs["touchpoints"], tabs["spend"], "week")
    tp = pd.read_csv(small_world / "touchpoints.csv", parse_dates=["timestamp"])
    tp["period"] = tp["timestamp"].dt.to_period("W-SUN").dt.start_time
    want = tp.groupby(["period", "channel"]).agg(touches=("event_id", "size"), cost=("cost", "sum"))
    mine = got.set_index(["period", "channel"]).loc[want.index]
    assert (mine["touches"].to_numpy() == want["touches"].to_numpy()).all()
    np.testing.assert_allclose(mine["cost"], want["cost"], rtol=1e-9)
    spend = pd.read_csv(small_world / "spend.csv", parse_dates=["date"])
    assert got["spend"].sum() == pytest.approx(spend["spend"].sum())
    assert (got["period"].dt.dayofweek == 0).all()  # weeks start on Monday
    sales = sales_aggregates(tabs["conversions"], "day")
    cv = pd.read_csv(small_world / "conversions.csv", parse_dates=["timestamp"])
    assert sales["orders"].sum() == len(cv)
    assert sales["revenue"].sum() == pytest.approx(cv["revenue"].sum())
    with pytest.raises(ParameterError, match="freq"):
        sales_aggregates(tabs["conversions"], "month")


def test_persona_features_match_the_persona_module(small_world):
    from imclab.personas.features import customer_features

    con = connect()
    tabs = world_tables(con, small_world)
    got = persona_features(
        con, tabs["customers"], tabs["touchpoints"], tabs["conversions"], as_of="2025-07-01"
    ).execute()
    read = {
        n: pd.read_csv(small_world / f"{n}.csv", parse_dates=[c])
        for n, c in (("customers", "signup_date"), ("touchpoints", "timestamp"),
                     ("conversions", "timestamp"))
    }  # fmt: skip
    want = customer_features(read["customers"], read["touchpoints"], read["conversions"],
                             as_of="2025-07-01")  # fmt: skip
    got = got.sort_values("customer_id").reset_index(drop=True)
    want = want.sort_values("customer_id").reset_index(drop=True)
    assert len(got) == 1200
    for col in ("share_social", "click_rate", "touches_per_week", "recency_days", "tenure_days",
                "monetary", "loyalty_member"):  # fmt: skip
        np.testing.assert_allclose(
            got[col].astype(float), want[col].astype(float), rtol=1e-9, err_msg=col
        )


def _fault_counts(sample_dir, tables):
    faults = pd.read_csv(sample_dir / "truth" / "faults.csv")
    return faults[faults["table"].isin(tables)].groupby("table").size().to_dict()


def test_clean_tables_quarantine_the_sample_faults_once_each(sample_dir):
    raw = world_tables(connect(), sample_dir, names=("customers", "touchpoints", "conversions"))
    clean, excluded = clean_tables(raw, as_of="2025-12-31")
    v = excluded.set_index(["table", "column", "reason"])["rows"]
    assert v["touchpoints", "timestamp", "unparseable"] == 2
    assert v["touchpoints", "channel", "unknown value"] == 1
    assert v["touchpoints", "event_id", "duplicate key"] == 1
    assert v["touchpoints", "customer_id", "not in customers.customer_id"] == 1
    assert v["touchpoints", "cost", "below minimum"] == 1
    assert v["conversions", "order_id", "duplicate key"] == 1
    assert v["conversions", "revenue", "below minimum"] == 1
    assert v["conversions", "timestamp", "in the future"] == 1
    per_table = excluded.groupby("table")["rows"].sum().to_dict()
    assert per_table == _fault_counts(sample_dir, ("touchpoints", "conversions", "customers"))
    # nothing silently dropped: rows in = clean rows + excluded rows, per table
    for name, table in raw.items():
        assert table.count().execute() == clean[name].count().execute() + per_table.get(name, 0)
    assert clean["touchpoints"].schema()["timestamp"].is_timestamp()
    assert clean["conversions"].schema()["revenue"].is_floating()


def test_clean_tables_count_each_row_once_for_its_first_fault():
    import ibis

    tp = pd.DataFrame(
        {
            "event_id": ["E1", "E1", "E2", "E3", "E4"],
            "customer_id": ["C1", "C1", "C9", "C1", "C1"],
            "timestamp": [
                "2025-01-02T00:00:00",
                "2025-01-01T00:00:00",
                "2025-01-01T00:00:00",
                "2025-13-01",
                "2025-01-01T00:00:00",
            ],  # fmt: skip
            "channel": ["seo", "seo", "seo", "tiktok", "seo"],
            "campaign": ["organic"] * 5,
            "interaction": ["click"] * 5,
            "cost": ["0", "0", "0", "-1", "1.5"],
        }
    )
    from imclab.data.schemas import SCHEMAS

    cu = pd.DataFrame({c: [""] for c in SCHEMAS["customers"].columns})  # profile left blank
    cu[["customer_id", "signup_date"]] = [["C1", "2024-01-01"]]
    tables = {"touchpoints": ibis.memtable(tp), "customers": ibis.memtable(cu)}
    clean, excluded = clean_tables(tables, as_of="2025-06-30")
    rows = {tuple(r[:3]): r[3] for r in excluded.itertuples(index=False)}
    # E3 breaks three rules but is counted once, for its first column in contract order
    assert rows == {
        ("touchpoints", "timestamp", "unparseable"): 1,
        ("touchpoints", "customer_id", "not in customers.customer_id"): 1,
        ("touchpoints", "event_id", "duplicate key"): 1,
    }
    kept = clean["touchpoints"].execute().sort_values("event_id")
    assert kept["event_id"].tolist() == ["E1", "E4"]
    # of the two E1 rows, the first in the order of all columns (the earlier timestamp) is kept
    assert kept["timestamp"].tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-01")]
    assert kept["cost"].tolist() == [0.0, 1.5]


def test_journeys_from_source_equal_journeys_from_the_loader(sample_dir):
    from imclab.attribution import build_journeys
    from imclab.data import load_world

    journeys, excluded = journeys_from_source("duckdb", sample_dir, as_of="2025-12-31")
    world = load_world(sample_dir, as_of="2025-12-31")
    expected = build_journeys(None, world.tables["touchpoints"], world.tables["conversions"])
    pd.testing.assert_frame_equal(journeys.paths, expected.paths)
    pd.testing.assert_frame_equal(journeys.report, expected.report)
    assert excluded.groupby("table")["rows"].sum().to_dict() == _fault_counts(
        sample_dir, ("touchpoints", "conversions", "customers")
    )
