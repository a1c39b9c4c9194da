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


def test_a_campaign_stream_keeps_its_own_spend_and_touches_and_counts_all_touches():
    spend, touches = _logs(days=30)
    rng = np.random.default_rng(2)
    # half of each day's spend and touches belong to an always-on stream
    spend = pd.concat([spend, spend.assign(campaign="always_on", spend=spend["spend"] / 2)])
    touches = touches.assign(campaign=np.where(rng.random(len(touches)) < 0.3, "always_on", "x"))
    # the campaign runs on the last 20 days; the always-on stream on all 30
    late = pd.to_datetime(spend["date"]) >= pd.Timestamp("2025-01-11")
    spend = spend[late | (spend["campaign"] == "always_on")]
    touches = touches.assign(
        campaign=np.where(touches["timestamp"] < pd.Timestamp("2025-01-11"), "always_on",
                          touches["campaign"])
    )  # fmt: skip
    own = daily_delivery(touches, spend, ["tv"], campaign="x")
    # every day of any stream is kept: the orders per touch count all of them
    assert own.attrs["campaign"] == "x" and len(own) == 30
    assert (own["spend"] > 0).sum() == 20
    tv = touches[touches["channel"] == "tv"]
    assert own["touches"].sum() == (tv["campaign"] == "x").sum()
    assert own["all_touches"].sum() == len(tv)
    x_spend = spend[(spend["channel"] == "tv") & (spend["campaign"] == "x")]["spend"].sum()
    assert own["spend"].sum() == pytest.approx(x_spend)
    assert DeliveryCurves(n_bootstrap=0).fit(own).campaign_ == "x"
    assert (
        DeliveryCurves(n_bootstrap=0).fit(daily_delivery(touches, spend, ["tv"])).campaign_ is None
    )
    with pytest.raises(DataError, match="touchpoints: missing column.*campaign"):
        daily_delivery(touches.drop(columns="campaign"), spend, ["tv"], campaign="x")
    with pytest.raises(DataError, match="no spend of campaign 'y'"):
        daily_delivery(touches, spend, ["tv"], campaign="y")


def test_curves_of_a_campaigns_own_spend_have_no_base_under_them(tmp_path):
    from imclab.review import budget

    rows = [
        {"channel": c, "draw": d, "ceiling": 10.0 + d, "mean_daily_spend": 50.0,
         "max_daily_spend": 90.0, "K": k, "alpha": a, "campaign": "x"}
        for c, (_, k, a) in PLANTED.items() for d in range(3)
    ]  # fmt: skip
    own = PosteriorCurves(pd.DataFrame(rows))
    total = PosteriorCurves(pd.DataFrame(rows).drop(columns="campaign"))
    back = PosteriorCurves.read_csv(own.write(tmp_path))
    assert own.campaign_ == back.campaign_ == "x" and total.campaign_ is None
    base = pd.Series({"search": 40.0, "tv": 100.0})
    assert (budget.curve_base(own, base, list(PLANTED)) == 0).all()
    assert budget.curve_base(total, base, list(PLANTED)).to_dict() == base.to_dict()
    # the optimiser: on the campaign's own curves the base changes nothing (it is still shown)
    actual = pd.Series({"search": 6_000.0, "tv": 9_000.0})
    with_base = budget.optimize_budget(back, 15_000.0, 30, actual=actual, base_daily_spend=base)
    without = budget.optimize_budget(back, 15_000.0, 30, actual=actual)
    cols = ["recommended_spend", "recommended_conversions", "actual_conversions"]
    pd.testing.assert_frame_equal(with_base.allocation[cols], without.allocation[cols])
    assert with_base.allocation["base_daily_spend"].tolist() == [40.0, 100.0]
    # on curves of total spend the same base lowers what the budget adds
    on_top = budget.optimize_budget(total, 15_000.0, 30, actual=actual, base_daily_spend=base)
    assert on_top.summary["recommended_conversions"] < without.summary["recommended_conversions"]
    with pytest.raises(DataError, match="more than one campaign"):
        PosteriorCurves(pd.DataFrame(rows).assign(campaign=["x", "y"] * 3))


def test_a_campaign_too_short_to_fit_falls_back_to_all_streams_and_says_why():
    from imclab.mmm import fit_delivery

    spend, touches = _logs(days=30)
    touches = touches.assign(campaign="x")
    spend = pd.concat([spend, spend.assign(campaign="always_on", spend=spend["spend"] / 2)])
    delivery, note = fit_delivery(touches, spend, ["tv"], "x")
    assert note is None and delivery.campaign_ == "x"
    short = spend[(spend["campaign"] != "x") | (pd.to_datetime(spend["date"]) < "2025-01-06")]
    delivery, note = fit_delivery(touches, short, ["tv"], "x")
    assert delivery.campaign_ is None and "fewer than the 14" in note
    assert note.startswith("Delivery curves of all streams")
