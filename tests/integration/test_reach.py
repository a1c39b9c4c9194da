"""Overlap, incremental reach and reach and frequency against direct counts and the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.data import load_world
from imclab.errors import ParameterError
from imclab.integration.exposure import exposure_cells, exposure_column, frequency_cells
from imclab.integration.reach import (
    channel_overlap,
    check_against_truth,
    frequency_summary,
    incremental_reach,
    reach_frequency,
)

from .conftest import ANALYSED, INTERACTIONS, WINDOW, exposure_of

CAP = 6


@pytest.fixture(scope="module")
def small(small_world):
    exposure, _ = exposure_of(small_world, personas=False)
    world = load_world(small_world)
    tp = world.touchpoints
    ts = pd.to_datetime(tp["timestamp"])
    inside = (ts >= WINDOW[0]) & (ts < pd.Timestamp(WINDOW[1]) + pd.Timedelta(days=1))
    tp = tp[inside & tp["interaction"].isin(INTERACTIONS) & tp["channel"].isin(ANALYSED)]
    touches = tp.groupby(["customer_id", "channel"], observed=True).size().unstack(fill_value=0)
    return exposure, touches.reindex(columns=list(ANALYSED), fill_value=0), len(world.customers)


def test_overlap_and_incremental_reach_match_direct_counts(small):
    exposure, touches, n_customers = small
    cells = exposure_cells(frequency_cells(exposure, ANALYSED, CAP), ANALYSED)
    assert cells["customers"].sum() == n_customers
    reach = incremental_reach(cells, ANALYSED).set_index("channel")
    reached = touches > 0
    for c in ANALYSED:
        assert reach.loc[c, "reach"] == reached[c].sum()
        only = (reached[c] & (reached.sum(axis=1) == 1)).sum()
        assert reach.loc[c, "incremental_reach"] == only
    assert reach.loc["(any channel)", "reach"] == (reached.sum(axis=1) > 0).sum()
    overlap = channel_overlap(cells, ANALYSED, top=5)
    assert overlap["customers"].sum() == (reached.sum(axis=1) > 0).sum()  # (other) included
    assert overlap["share"].sum() == pytest.approx(1.0)
    biggest = reached.value_counts().drop(index=tuple([False] * len(ANALYSED)), errors="ignore")
    assert overlap["customers"].iloc[0] == biggest.iloc[0]


def test_exposure_cells_from_frequency_cells_equal_a_direct_grouping(small):
    exposure, _, _ = small
    frame = exposure.execute()
    flags = {c: (frame[exposure_column(c)] > 0).astype("int64") for c in ANALYSED}
    direct = (
        frame.assign(**flags, orders_sq=frame["orders"] ** 2, converters=frame["orders"] > 0)
        .groupby([*ANALYSED, "stratum"], as_index=False)
        .agg(
            customers=("orders", "size"),
            orders=("orders", "sum"),
            orders_sq=("orders_sq", "sum"),
            converters=("converters", "sum"),
        )
    )
    for cap in (1, CAP):  # the cap of the frequency cells does not matter
        cells = exposure_cells(frequency_cells(exposure, ANALYSED, cap), ANALYSED)
        pd.testing.assert_frame_equal(cells, direct, check_dtype=False)
    with pytest.raises(ParameterError, match="frequency_cells"):
        exposure_cells(frame, ANALYSED)


def test_frequency_summary_matches_direct_counts(small):
    exposure, touches, _ = small
    freq = frequency_cells(exposure, ANALYSED, CAP)
    summary = frequency_summary(freq).set_index("channel")
    for c in ANALYSED:
        hit = touches[c][touches[c] > 0]
        assert summary.loc[c, "reach"] == len(hit)
        assert summary.loc[c, "average_frequency"] == pytest.approx(hit.mean())
        assert summary.loc[c, "share_3_plus"] == pytest.approx((hit >= 3).mean())
    counts = freq.groupby(["channel", "touches"])["customers"].sum()
    for k in range(1, CAP):
        assert counts[("tv", k)] == (touches["tv"] == k).sum()
    assert counts[("tv", CAP)] == (touches["tv"] >= CAP).sum()


def test_reach_frequency_intervals_and_conversion(small):
    exposure, _, _ = small
    rf = reach_frequency(frequency_cells(exposure, ANALYSED, CAP), ANALYSED)
    assert rf.groupby("channel")["share"].sum().to_numpy() == pytest.approx(1.0)
    assert (rf["conversion_low"] <= rf["conversion_rate"]).all()
    assert (rf["conversion_rate"] <= rf["conversion_high"]).all()
    hit = rf[rf["touches"] > 0]
    assert (hit["incremental_low"] < hit["incremental_orders"]).all()
    assert (hit["incremental_orders"] < hit["incremental_high"]).all()
    zero = rf[rf["touches"] == 0]
    assert (zero["incremental_orders"] == 0).all()


@pytest.mark.slow
def test_frequency_response_matches_the_simulator_truth(plain_world):
    """The incremental orders by touch count cover the orders each channel truly caused.

    On this unseen 4,000-customer world 42 of the 48 (channel, count >= 1) points cover the
    truth (87.5 %); social, whose reach goes with heavy exposure to the other campaign
    channels, is the one channel biased upwards.
    """
    exposure, truth = exposure_of(plain_world)
    rf = reach_frequency(frequency_cells(exposure, ANALYSED, CAP), ANALYSED)
    checked = check_against_truth(rf, truth["exposure"], CAP)
    hit = checked[checked["touches"] > 0]
    assert hit["true_incremental"].notna().all()
    assert hit["covered"].mean() >= 0.8
    # the estimates follow the truth across channels and counts
    assert np.corrcoef(hit["incremental_orders"], hit["true_incremental"])[0, 1] > 0.7


def test_exposure_column_names():
    assert exposure_column("paid_search") == "n_paid_search"
