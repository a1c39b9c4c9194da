"""Cohort retention curves against direct counts, and the BG/NBD overlay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.data import load_world
from imclab.integration.retention import MONTH_DAYS, expected_repeat_orders, retention_curves

END = "2025-06-30"


@pytest.fixture(scope="module")
def world(small_world):
    return load_world(small_world)


def test_month_cohorts_match_direct_counts(world):
    curves = retention_curves(world.conversions, world.touchpoints, by="acquisition_month",
                              observation_end=END, months=4, min_customers=1)  # fmt: skip
    orders = world.conversions.assign(ts=pd.to_datetime(world.conversions["timestamp"]))
    orders = orders.sort_values(["customer_id", "ts", "order_id"], kind="mergesort")
    first = orders.groupby("customer_id")["ts"].transform("min")
    age = (orders["ts"] - first).dt.total_seconds() / 86_400 / MONTH_DAYS
    end = pd.Timestamp(END) + pd.Timedelta(days=1)
    obs = ((end - first).dt.total_seconds() / 86_400 / MONTH_DAYS).astype(int)
    orders = orders.assign(first=first, age=np.ceil(age), obs=obs)
    row = curves[(curves["cohort"] == "2025-02") & (curves["month"] == 3)].iloc[0]
    cohort = orders[(orders["first"].dt.strftime("%Y-%m") == "2025-02") & (orders["obs"] >= 3)]
    n = cohort["customer_id"].nunique()
    repeats = cohort[(cohort["ts"] > cohort["first"]) & (cohort["age"] <= 3)]
    assert row["customers"] == n
    assert row["repeat_orders"] == pytest.approx(len(repeats) / n)
    assert row["repeat_share"] == pytest.approx(repeats["customer_id"].nunique() / n)
    for _, part in curves.groupby("cohort"):
        assert part["repeat_orders"].is_monotonic_increasing or len(part) == 1
    assert (curves["repeat_share"] <= curves["repeat_orders"] + 1e-12).all()


def test_first_touch_cohorts_cover_every_buyer(world):
    curves = retention_curves(world.conversions, world.touchpoints, by="first_touch_channel",
                              observation_end=END, months=1, min_customers=1)  # fmt: skip
    buyers = world.conversions["customer_id"].nunique()
    assert curves.loc[curves["month"] == 1, "customers"].sum() <= buyers
    assert set(curves["cohort"]) <= {*world.touchpoints["channel"].astype(str), "(no touch)"}


@pytest.mark.slow
def test_bgnbd_expectation_is_positive_increasing_and_near_the_cohorts(world):
    expected = expected_repeat_orders(world.conversions, observation_end=END, months=4)
    values = expected["expected_repeat_orders"].to_numpy()
    assert (values > 0).all() and (np.diff(values) > 0).all()
    curves = retention_curves(world.conversions, world.touchpoints, by="acquisition_month",
                              observation_end=END, months=4, min_customers=30)  # fmt: skip
    pooled = curves.groupby("month").apply(
        lambda p: np.average(p["repeat_orders"], weights=p["customers"]), include_groups=False
    )
    # the model fitted on the same orders expects the pooled cohorts within a factor of 2
    ratio = pooled.loc[[3, 4]] / expected.set_index("month").loc[[3, 4], "expected_repeat_orders"]
    assert ((ratio > 0.5) & (ratio < 2)).all()
