"""DuckDB and Spark give the same aggregates and attribution results on the sample world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import build_journeys, run_models
from imclab.engine import world_tables
from imclab.scale import kpi_aggregates, persona_features, sales_aggregates, validation_counts

pytestmark = [pytest.mark.spark, pytest.mark.slow]

JOURNEY_SETTINGS = {
    "default": {},
    "collapsed_grouped_period": {
        "collapse_repeats": True,
        "lookback_days": 14,
        "interactions": ("click", "open", "visit"),
        "channel_groups": {"seo": "search", "paid_search": "search"},
        "start": "2025-03-01",
        "end": "2025-05-31",
    },
}


def _assert_paths_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    exact = [c for c in a.columns if c not in ("value", "decay", "decay_value")]
    pd.testing.assert_frame_equal(a[exact], b[exact])
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-9)
    for col in ("decay", "decay_value"):
        assert a[col].map(len).tolist() == b[col].map(len).tolist()
        flat_a = np.array([x for row in a[col] for x in row], dtype=float)
        flat_b = np.array([x for row in b[col] for x in row], dtype=float)
        np.testing.assert_allclose(flat_a, flat_b, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def journeys(engines, sample_parquet):
    """Journeys of the sample (Parquet) per engine and setting."""
    out = {}
    for name, con in engines.items():
        tabs = world_tables(con, sample_parquet)
        for label, kw in JOURNEY_SETTINGS.items():
            out[name, label] = build_journeys(con, tabs["touchpoints"], tabs["conversions"], **kw)
    return out


@pytest.mark.parametrize("label", list(JOURNEY_SETTINGS))
def test_unique_paths_and_report_identical(journeys, label):
    duck, spark = journeys["duckdb", label], journeys["spark", label]
    assert len(duck.paths) > 100  # a real table, not two empty ones
    pd.testing.assert_frame_equal(duck.report, spark.report)
    _assert_paths_equal(duck.paths, spark.paths)


@pytest.mark.parametrize("label", list(JOURNEY_SETTINGS))
def test_every_attribution_model_identical(journeys, label):
    duck = run_models(journeys["duckdb", label].paths, markov_order=(1, 2))
    spark = run_models(journeys["spark", label].paths, markov_order=(1, 2))
    assert {"first_touch", "time_decay", "markov_1", "markov_2", "shapley"} <= set(duck["model"])
    pd.testing.assert_frame_equal(duck[["channel", "model"]], spark[["channel", "model"]])
    for col in ("conversions", "value", "share"):
        np.testing.assert_allclose(duck[col], spark[col], rtol=1e-7, atol=1e-9)


def test_segmented_paths_identical_from_pandas_and_a_spark_session(
    engines, spark_session, sample_parquet
):
    seg = pd.read_csv(_personas(sample_parquet))
    tabs = world_tables(engines["duckdb"], sample_parquet)
    duck = build_journeys(engines["duckdb"], tabs["touchpoints"], tabs["conversions"],
                          segments=seg)  # fmt: skip
    # pandas tables and a bare SparkSession: registered as Spark in-memory tables
    tp = pd.read_parquet(sample_parquet / "touchpoints.parquet")
    cv = pd.read_parquet(sample_parquet / "conversions.parquet")
    spark = build_journeys(spark_session, tp, cv, segments=seg)
    assert duck.paths["segment"].nunique() == 4  # three city tiers and (unknown)
    pd.testing.assert_frame_equal(duck.report, spark.report)
    _assert_paths_equal(duck.paths, spark.paths)


def _personas(folder):
    path = folder / "segments.csv"
    if not path.exists():
        cust = pd.read_parquet(folder / "customers.parquet", columns=["customer_id", "city_tier"])
        cust = cust.rename(columns={"city_tier": "segment"}).iloc[::2]  # half: rest (unknown)
        cust.to_csv(path, index=False)
    return path


def test_validation_counts_identical_on_the_raw_sample(engines, sample_dir):
    # The raw CSVs with their ten planted faults (data/sample/truth/faults.csv).
    got = {
        name: validation_counts(world_tables(con, sample_dir), as_of="2025-12-31")
        for name, con in engines.items()
    }
    pd.testing.assert_frame_equal(got["duckdb"], got["spark"])
    v = got["spark"].set_index(["table", "column", "rule"])["rows"]
    assert v["touchpoints", "timestamp", "unparseable"] == 2
    assert v["touchpoints", "channel", "unknown value"] == 1
    assert v["touchpoints", "event_id", "duplicate key"] == 1
    assert v["touchpoints", "customer_id", "not in customers.customer_id"] == 1
    assert v["conversions", "timestamp", "in the future"] == 1
    assert v["conversions", "revenue", "below minimum"] == 1
    assert v["touchpoints", "(rows)", "rows"] == 108_738


@pytest.mark.parametrize("freq", ["day", "week"])
def test_kpi_aggregates_identical(engines, sample_parquet, freq):
    got = {}
    for name, con in engines.items():
        tabs = world_tables(con, sample_parquet)
        got[name] = (
            kpi_aggregates(tabs["touchpoints"], tabs["spend"], freq),
            sales_aggregates(tabs["conversions"], freq),
        )
    for d, s in zip(got["duckdb"], got["spark"], strict=True):
        pd.testing.assert_frame_equal(d, s, check_exact=False, rtol=1e-9)
    channels, sales = got["spark"]
    tp = pd.read_parquet(sample_parquet / "touchpoints.parquet")
    assert channels["touches"].sum() == len(tp)
    assert sales["orders"].sum() == len(pd.read_parquet(sample_parquet / "conversions.parquet"))


def test_persona_features_identical(engines, sample_parquet):
    got = {}
    for name, con in engines.items():
        tabs = world_tables(con, sample_parquet)
        expr = persona_features(
            con, tabs["customers"], tabs["touchpoints"], tabs["conversions"], as_of="2025-07-01"
        )
        got[name] = expr.execute().sort_values("customer_id").reset_index(drop=True)
    duck, spark = got["duckdb"], got["spark"]
    assert len(duck) == 5000 - 0  # one row per customer
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, check_exact=False, rtol=1e-9)
