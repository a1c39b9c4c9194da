"""Forecast of the next campaign from posterior curves: known answers on hand-made curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.errors import DataError, ParameterError
from imclab.mmm import PosteriorCurves
from imclab.planning import (
    CampaignBaseline,
    media_orders,
    outcome_draws,
    phase_schedule,
    probability_of_reaching,
    target_at_probability,
)


def curves_of(params: dict[str, list[tuple[float, float]]]) -> PosteriorCurves:
    """``{channel: [(ceiling, lam_per_unit) per draw]}`` -> curves."""
    rows = [
        {"channel": ch, "draw": d, "ceiling": c, "lam_per_unit": lam,
         "mean_daily_spend": 100.0, "max_daily_spend": 300.0}
        for ch, draws in params.items()
        for d, (c, lam) in enumerate(draws)
    ]  # fmt: skip
    return PosteriorCurves(pd.DataFrame(rows))


def f(ceiling: float, lam: float, s: float) -> float:
    return ceiling * np.tanh(lam * s / 2)


def daily(n_days: int, **channels: list[float]) -> pd.DataFrame:
    """A schedule: ``channel=[spend per day]`` (repeated to ``n_days``)."""
    return pd.DataFrame({c: np.resize(np.asarray(v, float), n_days) for c, v in channels.items()})


def test_media_orders_are_the_curves_rise_above_always_on():
    curves = curves_of({"tv": [(10.0, 0.01), (20.0, 0.02)], "social": [(5.0, 0.005), (8.0, 0.001)]})
    got = media_orders(curves, daily(3, tv=[100.0], social=[50.0]), {"tv": 30.0})
    want = [
        3 * (f(10, 0.01, 130) - f(10, 0.01, 30) + f(5, 0.005, 50)),
        3 * (f(20, 0.02, 130) - f(20, 0.02, 30) + f(8, 0.001, 50)),
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_phased_spend_counts_each_day_on_the_curve():
    # the same 300 spent 200 / 100 / 0 over three days: concave curves give less than even
    curves = curves_of({"tv": [(10.0, 0.01)]})
    got = media_orders(curves, daily(3, tv=[200.0, 100.0, 0.0]))
    np.testing.assert_allclose(got, [f(10, 0.01, 200) + f(10, 0.01, 100)], rtol=1e-12)
    assert got[0] < media_orders(curves, daily(3, tv=[100.0]))[0]


def test_carry_over_after_the_window_is_not_the_window_s():
    # adstock retention r over 3 lags: weights 1, r, r^2; a day's effect spread over lags
    r, n = 0.5, 4
    rows = curves_of({"tv": [(10.0, 0.01)], "social": [(5.0, 0.02)]}).draws_
    rows["carryover"], rows["carryover_days"] = r, 3
    curves = PosteriorCurves(rows)
    w = np.array([1, r, r * r]) / (1 + r + r * r)
    share = np.array([1, 1, w[:2].sum(), w[0]])  # days 0..3 of a 4-day window
    np.testing.assert_allclose(curves.in_window_share("tv", n), [share], rtol=1e-12)
    got = media_orders(curves, daily(n, tv=[100.0], social=[0.0, 0.0, 0.0, 40.0]))
    want = f(10, 0.01, 100) * share.sum() + f(5, 0.02, 40) * w[0]
    np.testing.assert_allclose(got, [want], rtol=1e-12)
    # without the columns: all of it counts
    plain = curves_of({"tv": [(10.0, 0.01)]})
    np.testing.assert_allclose(plain.in_window_share("tv", n), np.ones((1, n)))


def test_carry_over_columns_are_checked():
    rows = curves_of({"tv": [(10.0, 0.01)]}).draws_
    with pytest.raises(DataError, match="both carryover and carryover_days"):
        PosteriorCurves(rows.assign(carryover=0.5))
    with pytest.raises(DataError, match=r"carryover in \[0, 1\)"):
        PosteriorCurves(rows.assign(carryover=1.5, carryover_days=3))


def test_phase_schedule_spreads_each_phase_over_its_days():
    phases = [
        {"start": "2025-01-01", "end": "2025-01-02", "budget": {"tv": 10.0, "edm": 4.0}},
        {"start": "2025-01-03", "end": "2025-01-06", "budget": {"tv": 8.0}},
    ]
    got = phase_schedule(phases, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-06"))
    assert list(got.columns) == ["edm", "tv"]  # catalogue order
    np.testing.assert_allclose(got["tv"], [5, 5, 2, 2, 2, 2])
    np.testing.assert_allclose(got["edm"], [2, 2, 0, 0, 0, 0])


def test_draws_must_be_joint():
    rows = curves_of({"tv": [(10.0, 0.01), (20.0, 0.02)], "social": [(5.0, 0.005)]})
    with pytest.raises(ParameterError, match="joint posterior draws"):
        media_orders(rows, daily(1, tv=[1.0]))


@pytest.fixture
def anchor() -> CampaignBaseline:
    return CampaignBaseline(
        days=10,
        orders=500.0,
        revenue=25_000.0,
        campaign_spend=pd.Series({"tv": 1000.0, "social": 500.0}),
        always_on=pd.Series({"tv": 20.0, "social": 0.0}),
    )


CURVES = {"tv": [(10.0, 0.01), (20.0, 0.02), (15.0, 0.015)],
          "social": [(5.0, 0.005), (8.0, 0.001), (6.0, 0.01)]}  # fmt: skip


def test_same_plan_same_length_gives_the_measured_outcome(anchor):
    d = outcome_draws(curves_of(CURVES), anchor, {"tv": 1000.0, "social": 500.0}, 10)
    np.testing.assert_allclose(d["conversions"], 500.0)
    np.testing.assert_allclose(d["revenue"], 25_000.0)
    np.testing.assert_allclose(d["roas"], 25_000.0 / (1500.0 + 20.0 * 10))
    np.testing.assert_allclose(d["cpa"], 1700.0 / 500.0)


def test_twice_the_days_at_the_same_daily_spend_doubles_everything(anchor):
    d = outcome_draws(curves_of(CURVES), anchor, {"tv": 2000.0, "social": 1000.0}, 20)
    np.testing.assert_allclose(d["conversions"], 1000.0)
    np.testing.assert_allclose(d["revenue"], 50_000.0)


def test_more_budget_adds_what_the_curves_say(anchor):
    curves = curves_of(CURVES)
    d = outcome_draws(curves, anchor, {"tv": 1500.0, "social": 500.0}, 10)
    extra = np.array([10 * (f(c, lam, 20 + 150) - f(c, lam, 20 + 100)) for c, lam in CURVES["tv"]])
    np.testing.assert_allclose(d["conversions"], 500.0 + extra, rtol=1e-10)
    np.testing.assert_allclose(d["revenue"], 25_000.0 + 50.0 * extra, rtol=1e-10)
    assert (d["conversions"] > 500).all()


def test_the_campaign_s_own_phasing_is_the_anchor(anchor):
    # this campaign spent tv 400 / 0 / 600 ... (1000 in 10 days, phased); the next one the
    # same phasing: no change; the same money evenly: what the curves say evenness adds
    curves = curves_of(CURVES)
    own = daily(10, tv=[400.0, 0, 0, 0, 0, 0, 0, 0, 0, 600.0], social=[50.0])
    phased = CampaignBaseline(**{**anchor.__dict__, "schedule": own})
    np.testing.assert_allclose(outcome_draws(curves, phased, own, 10)["conversions"], 500.0)
    even = outcome_draws(curves, phased, {"tv": 1000.0, "social": 500.0}, 10)
    # even: 10 days at f(20 + 100) - f(20); phased: f(20 + 400) - f(20) + f(20 + 600) - f(20)
    gain = [10 * f(c, lam, 120) - f(c, lam, 420) - f(c, lam, 620) - 8 * f(c, lam, 20)
            for c, lam in CURVES["tv"]]  # fmt: skip
    np.testing.assert_allclose(even["conversions"], 500.0 + np.array(gain), rtol=1e-10)
    assert (even["conversions"] > 500.0).all()  # concave curves: even spend brings more
    with pytest.raises(ParameterError, match="11 days, the campaign has 10"):
        outcome_draws(curves, phased, daily(11, tv=[1.0]), 10)


def test_probability_and_target_on_known_draws():
    v = np.arange(1, 101, dtype=float)
    assert probability_of_reaching(v, 71, "conversions") == pytest.approx(0.30)
    assert probability_of_reaching(v, 30, "cpa") == pytest.approx(0.30)  # lower is better
    assert target_at_probability(v, 0.7, "conversions") == 31
    assert target_at_probability(v, 0.7, "cpa") == 70
    assert probability_of_reaching(v, 31, "conversions") == pytest.approx(0.70)


@pytest.mark.parametrize("p", [0.5, 0.7, 0.9, 0.33])
@pytest.mark.parametrize("kpi", ["revenue", "cpa"])
def test_target_is_reached_with_at_least_the_probability(p, kpi):
    v = np.random.default_rng(3).gamma(2.0, 10.0, size=257)
    t = target_at_probability(v, p, kpi)
    assert p <= probability_of_reaching(v, t, kpi) < p + 2 / v.size


def test_probability_from_two_draw_curves_is_a_half(anchor):
    # two draws: the posterior puts the extra orders at 10 x (f1 or f2); the midpoint is
    # reached in exactly one of them
    curves = curves_of({"tv": [(10.0, 0.01), (20.0, 0.01)], "social": [(1.0, 0.01)] * 2})
    d = outcome_draws(curves, anchor, {"tv": 2000.0, "social": 500.0}, 10)
    mid = d["conversions"].mean()
    assert d["conversions"].iloc[1] > mid > d["conversions"].iloc[0]
    assert probability_of_reaching(d["conversions"], mid, "conversions") == 0.5
    assert target_at_probability(d["conversions"], 0.5, "conversions") == d["conversions"].max()
