"""Forecast of the next campaign from posterior curves: known answers on hand-made curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.errors import ParameterError
from imclab.mmm import PosteriorCurves
from imclab.planning import (
    CampaignBaseline,
    media_orders_per_day,
    outcome_draws,
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


def test_media_orders_are_the_curves_rise_above_always_on():
    curves = curves_of({"tv": [(10.0, 0.01), (20.0, 0.02)], "social": [(5.0, 0.005), (8.0, 0.001)]})
    got = media_orders_per_day(curves, {"tv": 100.0, "social": 50.0}, {"tv": 30.0})
    want = [
        f(10, 0.01, 130) - f(10, 0.01, 30) + f(5, 0.005, 50),
        f(20, 0.02, 130) - f(20, 0.02, 30) + f(8, 0.001, 50),
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_draws_must_be_joint():
    rows = curves_of({"tv": [(10.0, 0.01), (20.0, 0.02)], "social": [(5.0, 0.005)]})
    with pytest.raises(ParameterError, match="joint posterior draws"):
        media_orders_per_day(rows, {"tv": 1.0})


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
