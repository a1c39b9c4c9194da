"""Response curves and budget optimiser: ground truth from the simulator's known curves."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from imclab.errors import DataError, ParameterError
from imclab.review import budget as B
from imclab.review.experiments import ReviewWarning
from imclab.simulate import load_truth, true_response

N = 4000  # customers the campaign spend reaches in the sample world (west is held out)
DAYS = 84  # the spring_launch window


@pytest.fixture(scope="module")
def truth(sample_dir) -> dict:
    return load_truth(sample_dir)


@pytest.fixture(scope="module")
def true_curves(truth) -> pd.DataFrame:
    return B.true_response_curves(truth, N)


@pytest.fixture(scope="module")
def actual() -> pd.Series:
    # the mix the campaign actually spent (spend.csv, spring_launch, rounded)
    return pd.Series(
        {"affiliate": 6000.0, "display": 6800.0, "edm": 1800.0, "paid_search": 12600.0,
         "social": 16800.0, "tv": 18000.0}
    )  # fmt: skip


def synthetic(truth, curves, days=120, seed=1, carryover=0.5) -> pd.DataFrame:
    """Daily spend in three levels with noise; Poisson conversions from the TRUE curves."""
    rng = np.random.default_rng(seed)
    frames = []
    for c in curves.itertuples():
        x = np.repeat(c.K * np.array([0.3, 0.8, 1.6]), days // 3) * rng.lognormal(0, 0.3, days)
        x = x.round(2)
        mean = B.adstock(true_response(truth, c.channel, x, N), carryover)
        frames.append(
            pd.DataFrame(
                {
                    "date": pd.date_range("2025-01-01", periods=days),
                    "channel": c.channel,
                    "spend": x,
                    "conversions": rng.poisson(mean).astype(float),
                }
            )  # fmt: skip
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def fitted(truth, true_curves) -> B.ResponseCurves:
    return B.ResponseCurves(n_bootstrap=8, random_state=3).fit(synthetic(truth, true_curves))


def true_outcome(truth, allocation) -> float:
    return float(
        sum(DAYS * true_response(truth, c, a / DAYS, N)[()] for c, a in allocation.items())
    )


def test_hill_and_adstock():
    assert B.hill(7.0, 7.0, 2.3) == pytest.approx(0.5)
    assert B.hill(0.0, 7.0, 0.7) == 0.0
    x = np.r_[np.ones(5), np.zeros(200)]
    a = B.adstock(x, 0.6)
    assert a.sum() == pytest.approx(5.0)  # normalised: a day's effect is spread, not inflated
    assert a[0] == pytest.approx(0.4) and a[1] == pytest.approx(0.6 * 0.4 + 0.4)
    np.testing.assert_allclose(B.adstock(x, 0.0), x)


def test_true_curves_are_the_simulators(truth, true_curves):
    curves = B.ResponseCurves.from_params(true_curves)
    s = np.array([0.0, 15.0, 120.0, 700.0])
    for ch in truth["response_curves"]:
        np.testing.assert_allclose(curves.response(ch, s), true_response(truth, ch, s, N))


def test_fitted_curves_are_close_to_the_truth_in_the_observed_range(truth, fitted, true_curves):
    assert (fitted.params_["status"] == "fitted").all()
    for c in true_curves.itertuples():
        s = np.array([0.5, 1.0]) * c.K  # inside the spend range of the data
        got = fitted.response(c.channel, s)
        want = true_response(truth, c.channel, s, N)
        np.testing.assert_allclose(got, want, rtol=0.35, err_msg=c.channel)
    band = fitted.curve_frame(n_points=20)
    assert (band["lower"] <= band["conversions"] + 1e-9).all()
    assert (band["upper"] >= band["conversions"] - 1e-9).all()
    assert set(band["channel"]) == set(true_curves["channel"])


def test_optimiser_beats_the_actual_allocation_in_true_outcome(truth, fitted, actual):
    plan = B.optimize_budget(fitted, actual.sum(), DAYS, actual=actual)
    rec = plan.allocation.set_index("channel")["recommended_spend"]
    assert true_outcome(truth, rec) > true_outcome(truth, actual) * 1.02
    assert plan.summary["expected_gain"] > 0
    assert plan.summary["gain_lower"] <= plan.summary["expected_gain"] <= plan.summary["gain_upper"]


def analytic_optimum(curves: pd.DataFrame, total: float, n_days: int) -> dict[str, float]:
    """Equal marginal returns: solve f_c'(s_c) = mu on each concave branch, sum = total."""

    def f_prime(c, s):
        h = B.hill(s, c.K, c.alpha)
        return c.beta * c.alpha * h * (1 - h) / s

    def spend_at(c, mu):
        # past the inflection point f' falls monotonically from its peak to 0
        s_peak = c.K * ((c.alpha - 1) / (c.alpha + 1)) ** (1 / c.alpha) if c.alpha > 1 else 1e-9
        if f_prime(c, max(s_peak, 1e-9)) <= mu:
            return 0.0
        return brentq(lambda s: f_prime(c, s) - mu, max(s_peak, 1e-9), 1e7 * c.K, xtol=1e-12)

    rows = list(curves.itertuples())
    mu = brentq(lambda m: sum(spend_at(c, m) for c in rows) * n_days - total, 1e-9, 1.0, xtol=1e-15)
    return {c.channel: spend_at(c, mu) * n_days for c in rows}


def test_with_the_true_curves_the_optimiser_finds_the_analytic_optimum(truth, true_curves, actual):
    curves = B.ResponseCurves.from_params(true_curves)
    plan = B.optimize_budget(curves, actual.sum(), DAYS, actual=actual)
    rec = plan.allocation.set_index("channel")["recommended_spend"]
    best = pd.Series(analytic_optimum(true_curves, actual.sum(), DAYS))
    np.testing.assert_allclose(rec[best.index], best, rtol=2e-3, atol=1.0)
    # equal marginal returns at the optimum (all channels are interior here)
    m = np.array([curves.marginal(c, rec[c] / DAYS)[0] for c in rec.index])
    assert m.max() / m.min() < 1.01
    assert true_outcome(truth, rec) >= true_outcome(truth, best) - 1e-3


def test_whole_budget_allocated_to_the_cent_and_bounds_respected(fitted, actual):
    total = 61_999.97
    bounds = {"tv": (5000.0, 9000.0), "edm": (None, 2500.0), "social": (12_345.67, None)}
    plan = B.optimize_budget(fitted, total, DAYS, actual=actual, bounds=bounds)
    a = plan.allocation.set_index("channel")
    cents = np.round(a["recommended_spend"] * 100).astype(np.int64)
    assert cents.sum() == round(total * 100)
    np.testing.assert_allclose(a["recommended_spend"] * 100, cents, atol=1e-6)  # whole cents
    assert round(plan.summary["allocated"], 2) == total
    assert 5000.0 <= a.loc["tv", "recommended_spend"] <= 9000.0
    assert a.loc["edm", "recommended_spend"] <= 2500.0
    assert a.loc["social", "recommended_spend"] >= 12_345.67
    assert (a["recommended_spend"] >= 0).all()
    # like-for-like baseline: the actual mix scaled to the total budget
    assert a["actual_at_budget"].sum() == pytest.approx(total)


def test_infeasible_bounds_are_a_parameter_error(fitted, actual):
    lows = {c: (12_000.0, None) for c in actual.index}
    with pytest.raises(
        ParameterError, match="lower bounds add up to 72,000.00, more than .* 62,000"
    ):
        B.optimize_budget(fitted, 62_000.0, DAYS, actual=actual, bounds=lows)
    highs = {c: (None, 1000.0) for c in actual.index}
    with pytest.raises(
        ParameterError, match="upper bounds add up to 6,000.00, less than .* 62,000"
    ):
        B.optimize_budget(fitted, 62_000.0, DAYS, actual=actual, bounds=highs)
    with pytest.raises(ParameterError, match="channel 'tv' has lower 9,000.00 and upper 1,000.00"):
        B.optimize_budget(fitted, 62_000.0, DAYS, bounds={"tv": (9000.0, 1000.0)})
    with pytest.raises(ParameterError, match="unknown channel\\(s\\) radio"):
        B.optimize_budget(fitted, 62_000.0, DAYS, bounds={"radio": (0.0, 1.0)})
    with pytest.raises(ParameterError, match="total_budget must be a positive amount"):
        B.optimize_budget(fitted, 0.0, DAYS)


def test_results_are_deterministic(truth, true_curves, actual):
    data = synthetic(truth, true_curves.iloc[:2], days=90, seed=5)
    one = B.ResponseCurves(n_bootstrap=4, random_state=11).fit(data)
    two = B.ResponseCurves(n_bootstrap=4, random_state=11).fit(data.sample(frac=1, random_state=2))
    pd.testing.assert_frame_equal(one.params_, two.params_)
    pd.testing.assert_frame_equal(one.draws_, two.draws_)
    act = actual[list(one.params_["channel"])]
    p1 = B.optimize_budget(one, act.sum(), DAYS, actual=act)
    p2 = B.optimize_budget(two, act.sum(), DAYS, actual=act)
    pd.testing.assert_frame_equal(p1.allocation, p2.allocation)
    assert p1.summary == p2.summary


def test_marginal_roi_is_the_curves_slope_times_value(fitted, actual):
    plan = B.optimize_budget(fitted, actual.sum(), DAYS, actual=actual, value_per_conversion=80.0)
    a = plan.allocation.set_index("channel")
    for ch in ("edm", "tv"):
        b, eps = actual[ch], 1.0
        slope = (
            DAYS
            * (fitted.response(ch, (b + eps) / DAYS)[0] - fitted.response(ch, (b - eps) / DAYS)[0])
            / (2 * eps)
        )
        assert a.loc[ch, "marginal_roas"] == pytest.approx(80.0 * slope, rel=1e-4)
        assert a.loc[ch, "marginal_roi"] == pytest.approx(80.0 * slope - 1.0, rel=1e-4)
    assert plan.summary["recommended_profit"] == pytest.approx(
        plan.summary["recommended_value"] - actual.sum()
    )
    assert plan.summary["recommended_value"] >= plan.summary["actual_value"]


def test_zero_spend_channel_is_kept_at_its_lower_bound_with_a_warning(truth, true_curves, actual):
    data = synthetic(truth, true_curves.iloc[:3], days=60, seed=2)
    idle = data[data["channel"] == data["channel"].iloc[0]].assign(
        channel="tv", spend=0.0, conversions=0.0
    )
    with pytest.warns(ReviewWarning, match="channel 'tv' has no spend in the 60 days"):
        curves = B.ResponseCurves(n_bootstrap=0).fit(pd.concat([data, idle]))
    assert curves.params_.set_index("channel").loc["tv", "status"] == "no_spend"
    assert (curves.response("tv", [0.0, 100.0]) == 0).all()
    act = actual[list(curves.params_["channel"])]
    with pytest.warns(ReviewWarning, match="'tv' has no fitted response curve.*lower bound 750.00"):
        plan = B.optimize_budget(curves, act.sum(), DAYS, actual=act, bounds={"tv": (750.0, None)})
    a = plan.allocation.set_index("channel")
    assert a.loc["tv", "recommended_spend"] == 750.0
    assert round(a["recommended_spend"].sum(), 2) == round(act.sum(), 2)
    assert any("'tv'" in w for w in plan.warnings)


def test_too_few_days_is_explained(truth, true_curves):
    data = synthetic(truth, true_curves.iloc[:2], days=60, seed=4)
    short = data["channel"] == data["channel"].iloc[0]
    first = data["channel"].iloc[0]
    keep = data[~short | (data["date"] < "2025-01-11")]
    # the short channel's spend is zero after its 10 days: only 10 days with spend
    padded = pd.concat(
        [keep, data[short & (data["date"] >= "2025-01-11")].assign(spend=0.0, conversions=0.0)]
    )
    with pytest.warns(ReviewWarning, match=f"'{first}' has spend on 10 days, fewer than the 28"):
        curves = B.ResponseCurves(n_bootstrap=0).fit(padded)
    assert curves.params_.set_index("channel").loc[first, "status"] == "too_few_days"
    tiny = data[data["date"] < "2025-01-15"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReviewWarning)
        with pytest.raises(DataError, match="no channel has the 28 days with spend needed"):
            B.ResponseCurves(n_bootstrap=0).fit(tiny)


@pytest.fixture(scope="module")
def sample_world(sample_dir):
    from imclab.data import load_world

    return load_world(sample_dir, tables=["touchpoints", "conversions", "spend"])


def test_daily_credit_hand_example():
    tp = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3", "E4"],
            "customer_id": ["a", "a", "a", "a"],
            "timestamp": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-03 10:00", "2025-01-06 09:00", "2025-01-20 08:00"]
            ),
            "channel": ["social", "edm", "tv", "social"],
            "interaction": ["impression", "open", "impression", "click"],
        }
    )
    conv = pd.DataFrame(
        {"order_id": ["O1", "O2"], "customer_id": ["a", "a"],
         "timestamp": pd.to_datetime(["2025-01-04 12:00", "2025-01-07 12:00"])}
    )  # fmt: skip
    lin = B.daily_credit(tp, conv, "linear").set_index(["date", "channel"])["conversions"]
    assert lin[(pd.Timestamp("2025-01-04"), "social")] == pytest.approx(0.5)
    assert lin[(pd.Timestamp("2025-01-04"), "edm")] == pytest.approx(0.5)
    # O2's window starts after O1: only the TV touch counts
    assert lin[(pd.Timestamp("2025-01-07"), "tv")] == pytest.approx(1.0)
    last = B.daily_credit(tp, conv, "last_touch")
    assert set(last.loc[last["date"] == "2025-01-04", "channel"]) == {"edm"}
    first = B.daily_credit(tp, conv, "first_touch")
    assert set(first.loc[first["date"] == "2025-01-04", "channel"]) == {"social"}
    decay = B.daily_credit(tp, conv, "time_decay", half_life_days=2.0)
    d = decay[decay["date"] == "2025-01-04"].set_index("channel")["conversions"]
    assert d["edm"] / d["social"] == pytest.approx(2.0)  # two days closer = one half-life
    with pytest.raises(ParameterError, match="model must be one of"):
        B.daily_credit(tp, conv, "shapley")


def test_daily_credit_on_the_sample_conserves_orders(sample_world):
    tp, conv = sample_world.touchpoints, sample_world.conversions
    credit = B.daily_credit(tp, conv, "linear")
    total = credit["conversions"].sum()
    assert total + credit.attrs["orders_without_touch"] == pytest.approx(len(conv))
    assert (credit["conversions"] > 0).all()
    last = B.daily_credit(tp, conv, "last_touch")
    np.testing.assert_allclose(last["conversions"], np.round(last["conversions"]))
    assert last["conversions"].sum() == pytest.approx(total)


def test_sample_world_pipeline_beats_the_actual_mix_in_true_outcome(sample_world, truth):
    # attributed credit is not causal, so bound the move to 0.5x-2x the actual spend (the
    # range the curves have seen); then the recommendation still beats the actual mix
    spend = sample_world.spend
    act = B.actual_allocation(spend, "2025-03-03", "2025-05-25", campaigns=["spring_launch"])
    assert set(act.index) == set(truth["response_curves"])
    bounds = {c: (0.5 * v, 2.0 * v) for c, v in act.items()}
    for model in ("time_decay", "linear"):
        credit = B.daily_credit(sample_world.touchpoints, sample_world.conversions, model)
        curves = B.ResponseCurves(n_bootstrap=0).fit(B.response_data(spend, credit))
        plan = B.optimize_budget(curves, act.sum(), DAYS, actual=act, bounds=bounds)
        rec = plan.allocation.set_index("channel")["recommended_spend"]
        assert true_outcome(truth, rec) > true_outcome(truth, act), model


def test_response_data_fills_the_calendar(sample_world):
    credit = pd.DataFrame(
        {"date": pd.to_datetime(["2025-01-02"]), "channel": ["edm"], "conversions": [2.0]}
    )
    data = B.response_data(sample_world.spend, credit)
    n_days = data["date"].nunique()
    assert (data.groupby("channel").size() == n_days).all()
    assert data["conversions"].sum() == 2.0
    assert data["spend"].sum() == pytest.approx(sample_world.spend["spend"].sum())
    with pytest.raises(DataError, match="daily credit: missing column.*conversions"):
        B.response_data(sample_world.spend, credit.drop(columns="conversions"))


# --------------------------------------------------------------------------------------
# Always-on spend: the campaign budget is added on top of it
# --------------------------------------------------------------------------------------
# always-on spend per day during the spring_launch window (spend.csv, rounded); no always-on TV
ALWAYS_ON = pd.Series(
    {"affiliate": 19.1, "display": 30.4, "edm": 5.1, "paid_search": 76.0, "social": 39.0,
     "tv": 0.0}
)  # fmt: skip


def true_incremental(truth, allocation, base) -> float:
    """True conversions the allocation adds on top of the always-on base, over DAYS."""
    return float(
        sum(
            DAYS
            * (
                true_response(truth, c, base[c] + a / DAYS, N)[()]
                - true_response(truth, c, base[c], N)[()]
            )
            for c, a in allocation.items()
        )
    )


def test_base_daily_spend_is_the_other_streams_mean_daily_spend(sample_world):
    base = B.base_daily_spend(sample_world.spend, "2025-03-03", "2025-05-25", "spring_launch")
    np.testing.assert_allclose(base[ALWAYS_ON.index], ALWAYS_ON, atol=0.07)
    assert base["tv"] == 0.0  # TV runs only in the campaign
    spend = pd.DataFrame(
        {"date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-02", "2025-01-05"]),
         "channel": ["tv", "tv", "edm", "tv"],
         "campaign": ["always_on", "launch", "always_on", "always_on"],
         "spend": [30.0, 500.0, 8.0, 99.0]}
    )  # fmt: skip
    hand = B.base_daily_spend(spend, "2025-01-01", "2025-01-04", ["launch"])
    assert hand.to_dict() == {"edm": 2.0, "tv": 7.5}  # 4 days; the 5th is outside
    with pytest.raises(ParameterError, match="start 2025-01-04 is after end 2025-01-01"):
        B.base_daily_spend(spend, "2025-01-04", "2025-01-01", "launch")


def test_optimum_on_top_of_always_on_equalises_the_marginal_return_at_base_plus_budget(
    truth, true_curves, actual
):
    curves = B.ResponseCurves.from_params(true_curves)
    plan = B.optimize_budget(
        curves, actual.sum(), DAYS, actual=actual, base_daily_spend=ALWAYS_ON,
        value_per_conversion=80.0,
    )  # fmt: skip
    a = plan.allocation.set_index("channel")
    rec = a["recommended_spend"]
    assert round(rec.sum(), 2) == round(actual.sum(), 2)
    np.testing.assert_allclose(a.loc[ALWAYS_ON.index, "base_daily_spend"], ALWAYS_ON)

    # finite differences of the TRUE curve at base + allocation per day
    def slope(c, daily, eps=0.01):
        f = true_response(truth, c, np.array([daily - eps, daily + eps]), N)
        return (f[1] - f[0]) / (2 * eps)

    m = pd.Series({c: slope(c, ALWAYS_ON[c] + rec[c] / DAYS) for c in rec.index})
    assert (rec > 0).all()  # every channel interior here
    assert m.max() / m.min() < 1.01
    # without the base the slopes at base + allocation are not equal: the base matters
    plain = B.optimize_budget(curves, actual.sum(), DAYS, actual=actual)
    rec0 = plain.allocation.set_index("channel")["recommended_spend"]
    m0 = pd.Series({c: slope(c, ALWAYS_ON[c] + rec0[c] / DAYS) for c in rec0.index})
    assert m0.max() / m0.min() > 1.05
    # marginal ROI is read at base + actual spend per day
    for c in ("paid_search", "tv"):
        want = 80.0 * slope(c, ALWAYS_ON[c] + actual[c] / DAYS)
        assert a.loc[c, "marginal_roas"] == pytest.approx(want, rel=1e-4)
    # expected conversions are incremental to the always-on base
    assert plan.summary["recommended_conversions"] == pytest.approx(
        true_incremental(truth, rec, ALWAYS_ON), rel=1e-9
    )
    # it beats the actual campaign split and the base-blind optimum in true incremental outcome
    assert true_incremental(truth, rec, ALWAYS_ON) > true_incremental(truth, actual, ALWAYS_ON)
    assert true_incremental(truth, rec, ALWAYS_ON) > true_incremental(truth, rec0, ALWAYS_ON)


def test_base_spend_keeps_budget_bounds_determinism_and_the_default(fitted, actual):
    total = 61_999.97
    bounds = {"tv": (5000.0, 9000.0), "social": (12_345.67, None)}
    one = B.optimize_budget(
        fitted, total, DAYS, actual=actual, bounds=bounds, base_daily_spend=ALWAYS_ON
    )
    two = B.optimize_budget(
        fitted, total, DAYS, actual=actual, bounds=bounds, base_daily_spend=ALWAYS_ON
    )
    pd.testing.assert_frame_equal(one.allocation, two.allocation)
    assert one.summary == two.summary
    a = one.allocation.set_index("channel")
    cents = np.round(a["recommended_spend"] * 100).astype(np.int64)
    assert cents.sum() == round(total * 100)
    assert 5000.0 <= a.loc["tv", "recommended_spend"] <= 9000.0
    assert a.loc["social", "recommended_spend"] >= 12_345.67
    assert one.summary["gain_lower"] <= one.summary["expected_gain"] <= one.summary["gain_upper"]
    # a zero base is the old behaviour
    zero = B.optimize_budget(fitted, total, DAYS, actual=actual, base_daily_spend=ALWAYS_ON * 0)
    old = B.optimize_budget(fitted, total, DAYS, actual=actual)
    pd.testing.assert_frame_equal(zero.allocation, old.allocation)
    with pytest.raises(ParameterError, match="base_daily_spend: channel\\(s\\) radio"):
        B.optimize_budget(fitted, total, DAYS, base_daily_spend={"radio": 1.0})
    with pytest.raises(ParameterError, match="finite and >= 0"):
        B.optimize_budget(fitted, total, DAYS, base_daily_spend={"tv": -1.0})


def test_budget_bounds_scale_the_actual_mix_to_the_next_budget():
    from imclab.review.budget import budget_bounds

    actual = pd.Series({"social": 1000.0, "tv": 3000.0, "edm": 0.0})
    # the actual mix (1:3) scaled to 8,000, then 0.5x .. 2x
    assert budget_bounds(actual, 8000.0, (0.5, 2.0)) == {
        "social": (1000.0, 4000.0),
        "tv": (3000.0, 12000.0),
        "edm": (0.0, 0.0),
    }
    # no actual spend at all: every channel may take 0 .. the budget
    assert budget_bounds(actual * 0, 500.0) == {c: (0.0, 500.0) for c in actual.index}
    with pytest.raises(ParameterError, match=r"0 <= low <= 1 <= high, got \[1.5, 2\]"):
        budget_bounds(actual, 8000.0, (1.5, 2.0))
    with pytest.raises(ParameterError, match="more than 0"):
        budget_bounds(actual, 0.0)


@pytest.mark.parametrize("ratio", [10.0, 2.0, 1.0, 0.1, 0.003])
@pytest.mark.parametrize("multiples", [(0.5, 2.0), (1.0, 1.0), (0.0, 1.0)])
def test_budget_bounds_are_feasible_whatever_the_spend_against_the_budget(
    fitted, actual, ratio, multiples
):
    # a world whose spend is 10x (or 0.003x) the next budget: the optimiser never gets
    # infeasible bounds from the default policy, and keeps the whole budget to the cent
    total = round(float(actual.sum()) / ratio, 2)
    bounds = B.budget_bounds(actual * 1.000_003, total, multiples)
    lows, highs = zip(*bounds.values(), strict=True)
    assert sum(lows) <= total + 1e-9 <= sum(highs) + 2e-9
    plan = B.optimize_budget(fitted, total, DAYS, actual=actual, bounds=bounds)
    assert plan.allocation["recommended_spend"].sum() == pytest.approx(total, abs=0.005)


# --------------------------------------------------------------------------------------
# daily_credit where the data lives: the journeys' rule, Ibis tables (DuckDB) as input
# --------------------------------------------------------------------------------------
def test_daily_credit_on_duckdb_tables_equals_pandas(sample_world, duckdb_tables):
    tp, conv = sample_world.touchpoints, sample_world.conversions
    tables = duckdb_tables(touchpoints=tp, conversions=conv)
    returned = tables.returned
    runs = [(m, {}) for m in B.CREDIT_MODELS]
    runs.append(("time_decay", {"lookback_days": 7, "interactions": ["click", "visit"]}))
    for model, kwargs in runs:
        expected = B.daily_credit(tp, conv, model, **kwargs)
        got = B.daily_credit(tables["touchpoints"], tables["conversions"], model, **kwargs)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=1e-9)
        assert got.attrs == expected.attrs
    # per order day and channel (and a count): never the touches or the orders
    days = conv["timestamp"].dt.normalize().nunique()
    assert max(returned) <= days * tp["channel"].nunique() < len(tp)


def test_daily_credit_follows_the_journeys_of_the_attribution_models(sample_world):
    import imclab.attribution as attribution

    tp, conv = sample_world.touchpoints, sample_world.conversions
    journeys = attribution.build_journeys(None, tp, conv, lookback_days=30)
    no_touch = journeys.count("conversions with no touch in the window")
    for model in ("linear", "first_touch", "last_touch"):
        credit = B.daily_credit(tp, conv, model, lookback_days=30)
        assert credit.attrs["orders_without_touch"] == no_touch
        by_channel = credit.groupby("channel")["conversions"].sum()
        ref = getattr(attribution, model)(journeys.paths).set_index("channel")["conversions"]
        ref = ref.drop(attribution.NO_TOUCH)
        np.testing.assert_allclose(by_channel[ref.index], ref, atol=1e-6, err_msg=model)


def test_daily_credit_ties_and_window_edges(duckdb_tables):
    tp = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3", "E4"],
            "customer_id": ["a", "a", "a", "b"],
            "timestamp": pd.to_datetime(
                ["2025-01-01 12:00", "2025-01-31 12:00", "2025-02-10 08:00", "2025-01-01 00:00"]
            ),
            "channel": ["tv", "seo", "edm", "social"],
        }
    )
    conv = pd.DataFrame(
        {
            # O2 and O1 at E2's very time: E1 (exactly 30 days before) and E2 credit O1, the
            # lower order id; O2 has no touch after O1; E4 is 30 days and 1 second before O3
            "order_id": ["O2", "O1", "O3", "O4"],
            "customer_id": ["a", "a", "b", "a"],
            "timestamp": pd.to_datetime(
                [
                    "2025-01-31 12:00:00",
                    "2025-01-31 12:00:00",
                    "2025-01-31 00:00:01",
                    "2025-02-10 08:00:00",
                ]
            ),  # fmt: skip
        }
    )
    for inputs in ((tp, conv), tuple(duckdb_tables(tp=tp, cv=conv).values())):
        credit = B.daily_credit(*inputs, "linear", lookback_days=30)
        got = credit.set_index(["date", "channel"])["conversions"].to_dict()
        assert got == {
            (pd.Timestamp("2025-01-31"), "seo"): 0.5,
            (pd.Timestamp("2025-01-31"), "tv"): 0.5,
            (pd.Timestamp("2025-02-10"), "edm"): 1.0,
        }
        assert credit.attrs["orders_without_touch"] == 2  # O2 and O3


def test_daily_credit_interactions_need_the_interaction_column():
    tp = pd.DataFrame(
        {"event_id": ["E1"], "customer_id": ["a"], "timestamp": pd.to_datetime(["2025-01-01"]),
         "channel": ["tv"]}
    )  # fmt: skip
    conv = pd.DataFrame(
        {"order_id": ["O1"], "customer_id": ["a"], "timestamp": pd.to_datetime(["2025-01-02"])}
    )
    assert B.daily_credit(tp, conv)["conversions"].tolist() == [1.0]
    with pytest.raises(DataError, match="touchpoints: missing column.*interaction"):
        B.daily_credit(tp, conv, interactions=["click"])


@pytest.mark.parametrize("world", ["sample_dir", "small_world"])
def test_budget_inputs_are_the_campaigns_split_total_bounds_days_and_always_on(world, request):
    from imclab.plan import load_plan

    folder = request.getfixturevalue(world)
    plan = load_plan(request.getfixturevalue("repo_root") / "campaigns" / "spring_launch.yaml")
    spend = pd.read_csv(folder / "spend.csv", parse_dates=["date"])
    in_window = spend[spend["date"].between(pd.Timestamp(plan.start), pd.Timestamp(plan.end))]
    own = in_window["campaign"] == plan.name
    spent = in_window[own].groupby("channel")["spend"].sum()
    always_on = in_window[~own].groupby("channel")["spend"].sum() / 84
    assert spent.sum() > 0

    inputs = B.budget_inputs(spend, plan)  # the plan's settings: its budget, (0.5, 2.0)
    assert inputs.n_days == 84
    assert inputs.total == 60_000.0
    pd.testing.assert_series_equal(inputs.actual, spent, check_names=False, atol=1e-9)
    pd.testing.assert_series_equal(
        inputs.base_daily_spend,
        always_on.reindex(sorted(spend["channel"].unique()), fill_value=0.0),
        check_names=False,
        atol=1e-9,
    )
    for channel, (low, high) in inputs.bounds.items():
        scaled = spent[channel] / spent.sum() * 60_000
        assert low == pytest.approx(0.5 * scaled, abs=0.01) and low <= 0.5 * scaled
        assert high == pytest.approx(2.0 * scaled, abs=0.01) and high >= 2.0 * scaled

    # the run's settings, re-splitting what was spent, and the curves' channels
    settings = plan.resolved_settings(next_budget=30_000, bound_multiples=[0.8, 1.25])
    assert B.budget_inputs(spend, plan, settings).total == 30_000.0
    channels = [*spent.index, "radio"]
    again = B.budget_inputs(spend, plan, settings, channels=channels, total="spent")
    assert again.total == pytest.approx(spent.sum())
    assert list(again.actual.index) == list(again.base_daily_spend.index) == channels
    assert again.actual["radio"] == again.base_daily_spend["radio"] == 0.0
    assert again.bounds["radio"] == (0.0, 0.0)
    for channel in spent.index:
        low, high = again.bounds[channel]
        assert low == pytest.approx(0.8 * spent[channel], abs=0.01)
        assert high == pytest.approx(1.25 * spent[channel], abs=0.01)
    with pytest.raises(ParameterError, match="'spent', got 'all'"):
        B.budget_inputs(spend, plan, total="all")
