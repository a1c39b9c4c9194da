"""Channel synergy: the planted synergy is recovered, none is found where there is none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from imclab.integration.exposure import exposure_cells, exposure_column, frequency_cells
from imclab.integration.synergy import channel_synergy

from .conftest import ANALYSED, PLANTED, exposure_of


def _with_truth(folder):
    exposure, truth = exposure_of(folder)
    cells = exposure_cells(frequency_cells(exposure, ANALYSED, 6), ANALYSED)
    pairs = channel_synergy(cells, ANALYSED)
    true = truth["synergy"][["channel_a", "channel_b", "extra_orders_per_customer", "factor"]]
    return pairs.merge(true, on=["channel_a", "channel_b"], validate="1:1")


@pytest.mark.slow
def test_planted_synergy_is_recovered_within_its_interval(synergy_world):
    pairs = _with_truth(synergy_world).set_index(["channel_a", "channel_b"])
    planted = pairs.loc[PLANTED]
    assert planted["factor"] == 12.0 and planted["extra_orders_per_customer"] > 0.1
    assert planted["ci_low"] <= planted["extra_orders_per_customer"] <= planted["ci_high"]
    assert planted["ci_low"] > 0  # found, not just covered
    # the pairs without synergy keep intervals around their truth, zero
    others = pairs.drop(index=[PLANTED])
    assert (others["extra_orders_per_customer"] == 0).all()
    covers = (others["ci_low"] <= 0) & (others["ci_high"] >= 0)
    assert covers.mean() >= 0.85


@pytest.mark.slow
def test_no_synergy_world_has_intervals_covering_zero(plain_world):
    pairs = _with_truth(plain_world)
    assert (pairs["factor"] == 0).all() and (pairs["extra_orders_per_customer"] == 0).all()
    assert pairs["estimate"].notna().all()
    covers = (pairs["ci_low"] <= 0) & (pairs["ci_high"] >= 0)
    assert covers.mean() >= 0.9


def test_cells_give_the_per_customer_regression_with_hc1_intervals(small_world):
    """The fit from cells equals statsmodels' OLS with HC1 on one row per customer."""
    exposure, _ = exposure_of(small_world, personas=False)
    channels = ["paid_search", "social", "display", "tv"]
    frame = exposure.execute()
    cells = exposure_cells(frequency_cells(exposure, channels, 6), channels)
    pairs = channel_synergy(cells, channels, min_customers=10)
    data = frame.assign(**{c: (frame[exposure_column(c)] > 0).astype(float) for c in channels})
    terms = " + ".join(channels + [f"{a}:{b}" for a, b in _pairs(channels)])
    fit = smf.ols(f"orders ~ C(stratum) + {terms}", data=data).fit(cov_type="HC1")
    ci = fit.conf_int()
    for _, row in pairs.iterrows():
        name = f"{row['channel_a']}:{row['channel_b']}"
        assert row["estimate"] == pytest.approx(fit.params[name], abs=1e-9)
        assert row["ci_low"] == pytest.approx(ci.loc[name, 0], abs=1e-9)
        assert row["ci_high"] == pytest.approx(ci.loc[name, 1], abs=1e-9)


def _pairs(channels):
    return [(a, b) for i, a in enumerate(channels) for b in channels[i + 1 :]]


def test_pairs_too_small_are_listed_with_a_warning_not_estimated():
    cells = pd.DataFrame(
        {
            "a": [0, 1, 0, 1], "b": [0, 0, 1, 1], "stratum": "all",
            "customers": [500, 400, 300, 5], "orders": [50, 60, 40, 2],
            "orders_sq": [60, 80, 50, 2],
        }
    )  # fmt: skip
    out = channel_synergy(cells, ["a", "b"], min_customers=30)
    assert len(out) == 1 and np.isnan(out.loc[0, "estimate"])
    assert "5 customers reached by both" in out.loc[0, "warning"]
