"""The catalogue KPIs of the sample world are the same on DuckDB and on Spark (few queries)."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import load_world
from imclab.engine import world_tables
from imclab.kpis import EVENT_TABLES, kpi_series, kpi_table
from imclab.plan import load_plan

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def worlds(engines, sample_parquet, sample_dir):
    """Per engine: the event tables as its Ibis tables, spend and survey as pandas."""
    small = load_world(sample_dir)
    out = {"pandas": small.tables}
    for name, con in engines.items():
        tables = world_tables(con, sample_parquet, names=EVENT_TABLES)
        out[name] = {**tables, "spend": small.tables["spend"], "survey": small.tables["survey"]}
    return out


def test_kpi_table_identical_on_duckdb_and_spark(worlds):
    plan = load_plan("spring_launch")
    tables = {
        name: kpi_table(world, plan.start, plan.end, brand=plan.brand)
        for name, world in worlds.items()
    }
    duck = tables["duckdb"]
    # every behavioural KPI has a value (the survey has no wave inside the campaign)
    assert duck.loc[duck["tier"] != "brand", "value"].notna().all()
    pd.testing.assert_frame_equal(duck, tables["spark"], check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(duck, tables["pandas"], check_exact=False, rtol=1e-9)


def test_weekly_kpi_series_identical_on_duckdb_and_spark(worlds):
    # CLV on one channel: per-week first touches, signups by each week's end, orders after
    # the touch, all in one grouped query per reduction
    series = {
        name: kpi_series("clv", world, "W", channel="social") for name, world in worlds.items()
    }
    duck = series["duckdb"]
    assert len(duck) >= 10 and duck["value"].notna().sum() >= 10
    pd.testing.assert_frame_equal(duck, series["spark"], check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(duck, series["pandas"], check_exact=False, rtol=1e-9)
