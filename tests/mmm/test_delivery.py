"""Delivery curves (touches bought per day of spend) and the Hill-form posterior curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.errors import DataError
from imclab.mmm import DeliveryCurves, PosteriorCurves, daily_delivery
from imclab.review.budget import hill

PLANTED = {"search": (300.0, 120.0, 1.2), "tv": (900.0, 400.0, 1.8)}  # touches_max, K, alpha


def _logs(seed: int = 5, days: int = 120):
    """Spend and touchpoint tables whose daily touches are Poisson on a known Hill curve."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-01", periods=days, freq="D")
    spend_rows, touch_rows = [], []
    for c, (tmax, k, a) in PLANTED.items():
        s = k * rng.lognormal(0.0, 0.7, days)
        n = rng.poisson(tmax * hill(s, k, a))
        spend_rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "channel": c,
                                        "campaign": "x", "spend": s.round(2)}))  # fmt: skip
        stamp = np.repeat(dates, n) + pd.Timedelta(hours=10)
        touch_rows.append(pd.DataFrame({"timestamp": stamp, "channel": c}))
    return pd.concat(spend_rows, ignore_index=True), pd.concat(touch_rows, ignore_index=True)


@pytest.fixture(scope="module")
def delivery():
    spend, touches = _logs()
    return DeliveryCurves(n_bootstrap=40, random_state=1).fit(
        daily_delivery(touches, spend, list(PLANTED))
    )


def test_daily_delivery_counts_every_touch_and_day():
    spend, touches = _logs(days=30)
    daily = daily_delivery(touches, spend, ["tv"])
    assert list(daily["channel"].unique()) == ["tv"] and len(daily) == 30
    assert daily["touches"].sum() == (touches["channel"] == "tv").sum()
    assert daily["spend"].sum() == pytest.approx(spend.loc[spend["channel"] == "tv", "spend"].sum())


def test_planted_curves_are_recovered_with_honest_bootstrap_intervals(delivery):
    for c, (tmax, k, a) in PLANTED.items():
        grid = np.array([0.5, 1.0, 2.0]) * k
        truth = tmax * hill(grid, k, a)
        fit = delivery.touches(c, grid)
        np.testing.assert_allclose(fit, truth, rtol=0.08)
        boot = delivery.touches(c, grid, draws=True)
        lo, hi = np.quantile(boot, [0.02, 0.98], axis=0)
        assert (lo <= truth * 1.02).all() and (truth * 0.98 <= hi).all()
        # the marginal delivery (what the optimiser compares) falls with spend
        assert fit[1] - fit[0] > (fit[2] - fit[1]) / 2


def test_a_channel_without_touches_or_days_is_a_clear_error():
    spend, touches = _logs(days=30)
    daily = daily_delivery(touches[touches["channel"] != "tv"], spend, list(PLANTED))
    with pytest.raises(DataError, match="no touch of channel 'tv'"):
        DeliveryCurves(n_bootstrap=0).fit(daily)
    with pytest.raises(DataError, match="fewer than the 40"):
        DeliveryCurves(n_bootstrap=0, min_days=40).fit(daily_delivery(touches, spend, ["tv"]))


def test_hill_posterior_curves_marginal_is_the_derivative_and_survive_the_file(tmp_path):
    rows = [
        {"channel": c, "draw": d, "ceiling": 10.0 + d, "mean_daily_spend": 50.0,
         "max_daily_spend": 90.0, "K": k * (1 + 0.1 * d), "alpha": a,
         "carryover": 0.2 * d, "carryover_days": 14}
        for c, (_, k, a) in PLANTED.items() for d in range(3)
    ]  # fmt: skip
    curves = PosteriorCurves(pd.DataFrame(rows))
    assert curves.shape_ == "hill"
    s, h = np.array([60.0, 250.0]), 1e-3
    for c in PLANTED:
        numeric = (curves.response(c, s + h) - curves.response(c, s - h)) / (2 * h)
        np.testing.assert_allclose(curves.marginal(c, s), numeric, rtol=1e-5)
    back = PosteriorCurves.read_csv(curves.write(tmp_path))
    assert back.shape_ == "hill"
    np.testing.assert_allclose(back.response("tv", s, draws=True), curves.response("tv", s, True))
    np.testing.assert_allclose(back.in_window_share("tv", 20), curves.in_window_share("tv", 20))
    last_day = back.in_window_share("tv", 20)[1, -1]  # draw 1: retention 0.2, lag 0 only
    assert last_day == pytest.approx(1 / sum(0.2**i for i in range(14)))
