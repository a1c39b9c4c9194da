"""The fitted model on the planted world: formula, sums, ROAS, diagnostics, calibration, budget.

All tests share one fit (``fitted`` in conftest.py, about a minute on a loaded machine).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from imclab import mmm
from imclab.review import budget

pytestmark = pytest.mark.slow


def test_numpy_formula_equals_the_pymc_marketing_model(fitted):
    post = fitted.mmm_.idata.posterior["channel_contribution"]
    scale = float(fitted.mmm_.get_scales_as_xarray()["target_scale"])
    theirs = post.stack(s=("chain", "draw")).transpose("s", "date", "channel").to_numpy() * scale
    np.testing.assert_allclose(fitted.contributions(), theirs, rtol=1e-9, atol=1e-9)


def test_contributions_sum_and_roas_is_revenue_over_spend(fitted, planted):
    summary = fitted.channel_summary().set_index("channel")
    per_draw = fitted.contributions().sum(axis=1)  # draws x channels
    assert summary["contribution"].to_numpy() == pytest.approx(per_draw.mean(axis=0))
    assert summary["share"].sum() == pytest.approx(1.0)
    spend = fitted.data_.spend.sum()
    assert fitted.data_.revenue_per_order == planted.revenue
    roas = per_draw * planted.revenue / spend.to_numpy()
    assert summary["roas"].to_numpy() == pytest.approx(roas.mean(axis=0))
    assert (summary["roas_low"] <= summary["roas"]).all()
    assert (summary["roas"] <= summary["roas_high"]).all()
    # diminishing returns: the next unit of spend returns less than the average unit
    assert (summary["mroas"] < summary["roas"]).all()


def test_planted_roas_ordering_and_truth_recovered(fitted, planted):
    summary = fitted.channel_summary().set_index("channel").reindex(planted.channels)
    truth = planted.true_roas
    assert spearmanr(summary["roas"], truth).statistic == pytest.approx(1.0)
    inside = (truth >= summary["roas_low"]) & (truth <= summary["roas_high"])
    assert inside.sum() >= 2, (summary[["roas_low", "roas", "roas_high"]], truth)
    # the model's campaign lift is the planted one within its interval's width
    window = slice(planted.start, planted.end)
    true_lift = (
        planted.contribution.loc[window].sum().sum()
        - planted.caused_without_campaign().loc[window].sum().sum()
    )
    lift = fitted.campaign_lift(planted.start, planted.end)
    lo, hi = mmm.hdi(lift)
    assert lo - (hi - lo) <= true_lift <= hi + (hi - lo)


def test_posterior_predictive_covers_most_days(fitted):
    ppc = fitted.posterior_predictive()
    assert 0.8 <= ppc.attrs["coverage"] <= 1.0
    assert ppc.attrs["r2"] > 0.5
    assert (ppc["low"] <= ppc["high"]).all()


def test_diagnostics_sentence_names_what_failed(fitted):
    fine = fitted.diagnostics()
    assert fine.r_hat_max < 1.1 and fine.ess_bulk_min > 50
    strict = fitted.set_params(r_hat_limit=1.0, ess_limit=1e9)
    try:
        bad = strict.diagnostics()
    finally:
        fitted.set_params(r_hat_limit=1.01, ess_limit=200.0)
    assert not bad.ok
    assert bad.message.startswith("Warning: the sampler did not converge well")
    assert "R-hat reaches" in bad.message and "effective sample size" in bad.message
    assert "`tune`, `draws`" in bad.message


def test_calibration_moves_the_lift_and_roas_toward_the_measurement(fitted, planted):
    lift = fitted.campaign_lift(planted.start, planted.end)
    target = float(np.quantile(lift, 0.15))  # a measurement below the model's estimate
    se = float(lift.std() / 3)
    cal = mmm.calibrate(fitted, planted.start, planted.end, (target, target - 2 * se,
                        target + 2 * se), std_error=se)  # fmt: skip
    assert cal.calibrated and 0 < cal.effective_draws < lift.size
    rows = cal.lift.set_index("source")["lift"]
    before, after = rows["model before calibration"], rows["model after calibration"]
    assert abs(after - target) < abs(before - target)
    roas_before = fitted.channel_summary()["roas"].sum()
    roas_after = fitted.channel_summary(draws=cal.draws)["roas"].sum()
    assert roas_after < roas_before  # less lift: less return per unit of spend
    again = mmm.calibrate(fitted, planted.start, planted.end, (target, target - 2 * se,
                          target + 2 * se), std_error=se)  # fmt: skip
    np.testing.assert_array_equal(cal.draws, again.draws)  # seeded


def test_no_holdout_means_uncalibrated_in_one_sentence(fitted, planted):
    cal = mmm.calibrate(fitted, planted.start, planted.end, None)
    assert not cal.calibrated
    np.testing.assert_array_equal(cal.draws, np.arange(fitted.n_draws))
    assert cal.message.startswith("Uncalibrated: the plan keeps no holdout region dark")
    assert list(cal.lift["source"]) == ["model before calibration"]


def test_optimiser_on_the_posterior_respects_bounds_and_total(fitted, planted, tmp_path):
    curves = mmm.PosteriorCurves.from_model(fitted)
    # the hand-over file reads back to the same curves
    back = mmm.PosteriorCurves.read_csv(curves.write(tmp_path))
    s = np.array([0.0, 50.0, 400.0])
    np.testing.assert_allclose(back.response("tv", s), curves.response("tv", s), rtol=1e-8)
    # steady spend s: the curve equals the model's daily contribution at s every day
    flat = fitted.data_.spend * 0 + 200.0
    steady = fitted.contributions(flat)[:, -1, :].mean(axis=0)
    np.testing.assert_allclose([curves.response(c, 200.0)[0] for c in planted.channels], steady)
    actual = planted.spend[planted.spend["campaign"] == "launch"].groupby("channel")["spend"].sum()
    for total in (float(actual.sum()), 3 * float(actual.sum())):
        bounds = budget.budget_bounds(actual, total, (0.5, 2.0))
        plan = budget.optimize_budget(curves, total, 70, actual=actual, bounds=bounds)
        a = plan.allocation.set_index("channel")
        assert a["recommended_spend"].sum() == pytest.approx(total, abs=0.01)
        lo = np.array([bounds[c][0] for c in a.index])
        hi = np.array([bounds[c][1] for c in a.index])
        assert (a["recommended_spend"] >= lo - 0.01).all()
        assert (a["recommended_spend"] <= hi + 0.01).all()
        s = plan.summary
        assert s["gain_lower"] <= s["expected_gain"] <= s["gain_upper"]
        assert s["expected_gain"] >= -1e-6  # the actual split is feasible: never worse
    # money goes toward the planted best channel
    assert a.loc["paid_search", "change"] > 0 > a.loc["tv", "change"]


def test_response_curves_have_bands_and_start_at_zero(fitted, planted):
    frame = mmm.PosteriorCurves.from_model(fitted).curve_frame(n_points=11)
    assert set(frame["channel"]) == set(planted.channels)
    assert (frame.loc[frame["spend"] == 0, "conversions"] == 0).all()
    assert (frame["lower"] <= frame["conversions"] + 1e-12).all()
    assert (frame["conversions"] <= frame["upper"] + 1e-12).all()
    for channel, g in frame.groupby("channel"):
        assert np.all(np.diff(g["conversions"]) >= 0)
        assert g["spend"].max() == pytest.approx(2 * fitted.data_.spend[channel].max())
