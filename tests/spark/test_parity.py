"""DuckDB and Spark give the same aggregates and attribution results on the sample world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import build_journeys, run_models
from imclab.engine import world_tables

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
