"""The post-campaign review's reductions give the same results on DuckDB and on Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.engine import world_tables
from imclab.plan import load_plan
from imclab.review.budget import daily_credit
from imclab.review.clv import rfm_summary
from imclab.review.experiments import holdout_did
from imclab.review.plan_vs_actual import channel_activity

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CAMPAIGN = ("2025-03-03", "2025-05-25")


@pytest.fixture(scope="module")
def results(engines, sample_parquet):
    """Each reduction of the sample (Parquet) per engine: eight Spark queries in all."""
    plan = load_plan("spring_launch")
    spend = pd.read_parquet(sample_parquet / "spend.parquet")  # a small table: pandas
    out = {}
    for name, con in engines.items():
        tabs = world_tables(con, sample_parquet)
        out[name] = {
            "did": holdout_did(tabs["customers"], tabs["conversions"], ["west"], *CAMPAIGN),
            "rfm": rfm_summary(tabs["conversions"], observation_end="2025-06-30"),
            "credit": daily_credit(tabs["touchpoints"], tabs["conversions"], "time_decay"),
            "activity": channel_activity(plan, spend, tabs["touchpoints"]),
        }
    return out


def test_holdout_did_identical(results):
    duck, spark = results["duckdb"]["did"], results["spark"]["did"]
    assert duck.treated_customers == spark.treated_customers == 3939
    assert duck.holdout_customers == spark.holdout_customers == 1061
    assert duck.periods == spark.periods
    for attr in ("estimate", "ci_low", "ci_high", "std_error", "p_value"):
        assert getattr(spark, attr) == pytest.approx(getattr(duck, attr), rel=1e-9), attr
    pd.testing.assert_frame_equal(spark.means, duck.means, rtol=1e-12)
    assert duck.estimate > 0  # the campaign's effect, not two empty panels


def test_rfm_summary_identical(results):
    duck, spark = results["duckdb"]["rfm"], results["spark"]["rfm"]
    assert len(duck) > 2000 and duck["frequency"].max() > 0
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-12)
    assert spark.attrs == duck.attrs


def test_daily_credit_identical(results):
    duck, spark = results["duckdb"]["credit"], results["spark"]["credit"]
    assert len(duck) > 1000
    pd.testing.assert_frame_equal(spark[["date", "channel"]], duck[["date", "channel"]])
    np.testing.assert_allclose(spark["conversions"], duck["conversions"], rtol=0, atol=2e-9)
    assert spark.attrs == duck.attrs


def test_channel_activity_identical(results):
    duck, spark = results["duckdb"]["activity"], results["spark"]["activity"]
    assert duck["touches"].sum() > 0
    pd.testing.assert_frame_equal(spark, duck)
