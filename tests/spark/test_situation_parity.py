"""Daily sales, journey funnel and channel baseline: Spark and DuckDB equal the pandas path."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import load_world
from imclab.engine import world_tables
from imclab.situation import channel_baseline, daily_sales, journey_funnel

pytestmark = [pytest.mark.spark, pytest.mark.slow]

START, END = "2025-01-01", "2025-03-02"  # the sample's pre-campaign baseline period


@pytest.fixture(scope="module")
def results(engines, sample_parquet, sample_dir):
    """Each function once per source: the loader's pandas tables, DuckDB and Spark Parquet."""
    world = load_world(sample_dir)
    spend = world.table("spend")  # a small table: pandas on every engine
    labels = world.table("customers")[["customer_id", "city_tier"]].iloc[::2]  # half unlabelled
    labels = labels.rename(columns={"city_tier": "persona"}).astype(str)
    sources = {"pandas": world.tables}
    sources.update({name: world_tables(con, sample_parquet) for name, con in engines.items()})
    out = {}
    for name, tabs in sources.items():
        tp, cv = tabs["touchpoints"], tabs["conversions"]
        out[name] = {
            "daily": daily_sales(cv, START, "2025-06-30"),
            "journey": journey_funnel(
                tp, cv, START, END, by=("channel", "persona"), persona_labels=labels
            ),
            "baseline": channel_baseline(spend, tp, cv, START, END, lookback_days=14),
        }
    return out


COUNTS = {"daily": "orders", "journey": "customers", "baseline": "touched_customers"}


@pytest.mark.parametrize("name, count", COUNTS.items())
def test_spark_and_duckdb_equal_the_pandas_tables(results, name, count):
    expected = results["pandas"][name]
    assert expected[count].sum() > 1000  # a real table, not empty ones
    for engine in ("duckdb", "spark"):
        got = results[engine][name]
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
