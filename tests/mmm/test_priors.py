"""Measured channel shares in the marketing-mix model (imclab.mmm.priors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.errors import DataError, ParameterError
from imclab.mmm.priors import SHARE_RELATIVE_ERROR, hazard_shares


class _Hazard:
    """What :func:`hazard_shares` reads of a fitted AdditiveHazard."""

    def __init__(self, boot: bool = True):
        conv = {"paid_search": 300.0, "seo": 200.0, "social": 100.0, "tv": 100.0}
        self.credit_ = pd.DataFrame(
            {"channel": list(conv), "conversions": list(conv.values())}
        ).assign(
            share=lambda d: d["conversions"] / d["conversions"].sum(),
            value=lambda d: d["conversions"] * [110.0, 100.0, 65.0, 80.0],
        )
        rng = np.random.default_rng(0)
        b = np.array(list(conv.values())) * rng.lognormal(0, 0.05, (40, 4))
        self.boot_shares_ = pd.DataFrame(b / b.sum(axis=1, keepdims=True), columns=list(conv))
        if not boot:
            self.boot_shares_ = None


def test_shares_are_renormalised_over_the_paid_channels_with_a_relative_error():
    s = hazard_shares(_Hazard(), ["tv", "paid_search", "social"]).set_index("channel")
    assert list(s.index) == ["tv", "paid_search", "social"]  # the MMM's order
    assert s["share"].to_dict() == pytest.approx({"tv": 0.2, "paid_search": 0.6, "social": 0.2})
    assert s["hazard_share"]["paid_search"] == pytest.approx(300 / 700)  # seo left out
    assert s["value_per_order"].to_dict() == pytest.approx(
        {"tv": 80.0, "paid_search": 110.0, "social": 65.0}
    )
    assert (s["sd"] > SHARE_RELATIVE_ERROR * s["share"]).all()
    bare = hazard_shares(_Hazard(), ["tv", "paid_search", "social"], relative_error=0.0)
    assert (bare["sd"] < s["sd"].to_numpy()).all()
    assert hazard_shares(_Hazard(), ["tv"], relative_error=0.0)["sd"].iloc[0] == pytest.approx(0)


def test_a_channel_the_attribution_never_saw_or_no_bootstrap_is_a_clear_error():
    with pytest.raises(DataError, match="display"):
        hazard_shares(_Hazard(), ["tv", "display"])
    with pytest.raises(DataError, match="n_boot"):
        hazard_shares(_Hazard(boot=False), ["tv"])
    silent = _Hazard()
    silent.credit_.loc[silent.credit_["channel"] == "tv", ["conversions", "value"]] = 0.0
    with pytest.raises(DataError, match=r"credits no order to \['tv'\]"):
        hazard_shares(silent, ["tv", "paid_search"])


@pytest.mark.slow
def test_measured_shares_move_the_planted_channel_toward_them(fitted, fitted_shares,
                                                              planted_shares):  # fmt: skip
    plain = fitted.channel_summary().set_index("channel")
    # the model's own split (the ROAS table's default reads the shares themselves, below)
    informed = fitted_shares.channel_summary(split="model").set_index("channel")
    target = planted_shares.set_index("channel")["share"]
    # TV was credited 1.6x its true share: the model's TV share moves most of the way there
    gap_before = abs(plain.loc["tv", "share"] - target["tv"])
    gap_after = abs(informed.loc["tv", "share"] - target["tv"])
    assert gap_after < 0.5 * gap_before, (plain["share"], informed["share"], target)
    # and TV's ROAS against paid search's moves toward the ratio the planted shares imply
    spend = fitted.data_.spend.sum()
    implied = target["tv"] / target["paid_search"] * spend["paid_search"] / spend["tv"]

    def off(summary):
        return abs(np.log(summary.loc["tv", "roas"] / summary.loc["paid_search", "roas"] / implied))

    assert off(informed) < off(plain)
    # every channel's share ends near its measurement, and the split is sharper
    assert (informed["share"] - target).abs().max() < 0.03
    width = informed["roas_high"] - informed["roas_low"]
    assert width.median() < (plain["roas_high"] - plain["roas_low"]).median()
    # the term is in the PyMC-Marketing model, on its own channel_contribution
    assert "channel_share_measured" in fitted_shares.mmm_.model.named_vars


@pytest.mark.slow
def test_roas_table_and_budget_curves_rest_on_one_split(fitted_shares, planted_shares):
    from imclab.mmm import DeliveryCurves, PosteriorCurves
    from imclab.mmm.curves import MEASURED_CARRYOVER_DAYS

    model, draws = fitted_shares, np.arange(0, fitted_shares.n_draws, 2)
    channels = list(model.data_.channels)
    split = model.window_orders(draws, planted_shares, random_state=4)
    own = model.window_orders(draws)
    # the total is the model's, draw by draw; the split is the measured shares' (with errors)
    np.testing.assert_allclose(split.sum(axis=1), own.sum(axis=1), rtol=1e-9)
    measured = planted_shares.set_index("channel")["share"].reindex(channels).to_numpy()
    share = split / split.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(share.mean(axis=0), measured, atol=0.004)
    sd = planted_shares["sd"].mean()
    assert 0.5 * sd < share.std(axis=0).mean() < 2 * sd
    # the ROAS table reads that split (default), the model's own only when asked
    table = model.channel_summary(draws=draws, random_state=4).set_index("channel")
    np.testing.assert_allclose(table["contribution"].reindex(channels), split.mean(axis=0))
    mine = model.channel_summary(draws=draws, split="model").set_index("channel")
    np.testing.assert_allclose(mine["contribution"].reindex(channels), own.mean(axis=0))
    with pytest.raises(ParameterError, match="split must be"):
        model.channel_summary(split="attribution")
    # the budget's curves: orders per touch x touches in the window = the same split
    frame = model.data_.frame
    daily = pd.concat(
        [
            pd.DataFrame({"date": frame["date"], "channel": c, "spend": frame[c],
                          "touches": np.round(frame[c] / 5.0), "all_touches": frame[c] / 4.0})
            for c in channels
        ],
        ignore_index=True,
    )  # fmt: skip
    daily.attrs["campaign"] = "launch"
    delivery = DeliveryCurves(n_bootstrap=0).fit(daily)
    curves = PosteriorCurves.from_delivery(model, delivery, draws, planted_shares, random_state=4)
    assert curves.campaign_ == "launch"
    for j, c in enumerate(channels):
        d = curves.draws_[curves.draws_["channel"] == c]
        t_max = delivery.params_.set_index("channel").loc[c, "touches_max"]
        per_touch = d["ceiling"].to_numpy() / t_max
        # orders per touch count every stream's touches (all_touches), not only the campaign's
        np.testing.assert_allclose(per_touch * (frame[c] / 4.0).sum(), split[:, j], rtol=1e-9)
    # the carry-over: the model's adstock, or the attribution's when the shares carry one
    own_lags = curves.draws_.groupby("channel")["carryover_days"].max()
    assert (own_lags == model.l_max).all()
    measured = PosteriorCurves.from_delivery(
        model, delivery, draws, planted_shares.assign(carryover=0.8), random_state=4
    )
    assert (measured.draws_["carryover"] == 0.8).all()
    assert (measured.draws_["carryover_days"] == MEASURED_CARRYOVER_DAYS).all()
    np.testing.assert_allclose(measured.draws_["ceiling"], curves.draws_["ceiling"])


def test_carryover_is_the_mean_lag_of_the_hazard_kernels_weighted_by_their_orders():
    from types import SimpleNamespace

    from imclab.mmm.priors import hazard_carryover

    coef = pd.DataFrame(
        {
            "channel": ["tv", "tv", "search", "search"],
            "interaction": ["impression", "impression", "click", "click"],
            "half_life": [7.0, 21.0, 1.0, 3.0],
            "beta": [0.002, 0.0, 0.01, 0.01],
        }
    )
    exposure = np.ones((4, 2, 3))
    exposure[2] *= 3.0  # the 1-day kernel carries three times the exposure of the 3-day one
    out = hazard_carryover(
        SimpleNamespace(coef_=coef), SimpleNamespace(exposure=exposure), ["search", "tv", "edm"]
    )

    def lag(h):  # mean lag after the day of the touch: the effect starts the next day
        lam = 0.5 ** (1 / h)
        return 1 + lam / (1 - lam)

    tv, search = lag(7.0), (3 * lag(1.0) + lag(3.0)) / 4
    np.testing.assert_allclose(out, [search / (1 + search), tv / (1 + tv), 0.0])
    # a geometric adstock from the spend day with that retention has the same mean lag
    r = out[1]
    assert r / (1 - r) == pytest.approx(tv)
