"""Tests of imclab.review.experiments against hand computations and the simulator's truth."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from imclab.data.load import load_world
from imclab.errors import DataError, ParameterError
from imclab.review.experiments import (
    ReviewWarning,
    ab_readout,
    holdout_did,
    placebo_did,
    survey_lift,
    two_proportion_test,
    weekly_outcome,
)
from imclab.simulate import load_truth

CAMPAIGN = ("2025-03-03", "2025-05-25")
PRE = ("2025-01-01", "2025-03-02")


def _read(folder, name, dates=()):
    return pd.read_csv(folder / f"{name}.csv", parse_dates=list(dates))


@pytest.fixture(scope="module")
def sample(sample_dir):
    """The sample world's validated tables (the audit's quarantined rows left out) and truth."""
    return {**load_world(sample_dir, as_of="2025-07-01").tables, "truth": load_truth(sample_dir)}


# -- two proportions -------------------------------------------------------------------------
def test_two_proportion_test_matches_hand_computation():
    t = two_proportion_test(50, 100, 60, 100)
    pooled = 0.55
    z = 0.1 / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert t["abs_lift"] == pytest.approx(0.1)
    assert t["rel_lift"] == pytest.approx(0.2)
    assert t["z"] == pytest.approx(z)
    assert t["p_value"] == pytest.approx(2 * norm.sf(z))
    h = 2 * math.asin(math.sqrt(0.6)) - 2 * math.asin(math.sqrt(0.5))
    assert t["cohen_h"] == pytest.approx(h)
    # power of a two-sided z-test with n=100 per arm, and n per arm for 80 % power
    se = math.sqrt(2 / 100)
    expected_power = norm.sf(norm.ppf(0.975) - h / se) + norm.cdf(-norm.ppf(0.975) - h / se)
    assert t["power"] == pytest.approx(expected_power, rel=1e-6)
    n80 = 2 * ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
    assert t["n_needed_per_arm"] == math.ceil(n80)
    assert t["ci_low"] < 0.1 < t["ci_high"]


def test_two_proportion_test_empty_arm_gives_nan_not_error():
    t = two_proportion_test(0, 0, 5, 100)
    assert all(np.isnan(v) for v in t.values())
    both_zero = two_proportion_test(0, 100, 0, 100)
    assert both_zero["abs_lift"] == 0 and np.isnan(both_zero["p_value"])
    assert np.isnan(both_zero["power"]) and np.isnan(both_zero["n_needed_per_arm"])


# -- survey ------------------------------------------------------------------------------------
def test_survey_lift_covers_true_stage_lifts(sample):
    lift = survey_lift(sample["survey"], brand="Lumina")
    truth = sample["truth"]["survey"]
    flags = {"awareness": "aware", "consideration": "consider", "preference": "prefer",
             "purchase_intent": "intent", "nps": "nps"}  # fmt: skip
    assert list(lift["stage"]) == list(flags)
    assert (lift["pre_waves"] == "W1, W2").all() and (lift["post_waves"] == "W3").all()
    for row in lift.itertuples():
        true_lift = (
            truth["post"]["Lumina"][flags[row.stage]] - truth["pre"]["Lumina"][flags[row.stage]]
        )
        assert row.ci_low <= true_lift <= row.ci_high, row.stage
        assert row.lift == pytest.approx(row.post - row.pre)
    # the awareness share is the mean of the 0/1 flag among Lumina's pre respondents
    pre = sample["survey"].query("brand == 'Lumina' and period == 'pre'")
    assert lift.loc[0, "pre"] == pytest.approx(pre["aware"].mean())
    assert lift.loc[0, "n_pre"] == len(pre)
    assert bool(lift.loc[0, "significant"]) and (lift["warning"] == "").all()


def test_survey_lift_competitor_has_no_true_change(sample):
    lift = survey_lift(sample["survey"], brand="Brightly")
    # Brightly's true rates did not change: every interval covers zero
    assert ((lift["ci_low"] <= 0) & (lift["ci_high"] >= 0)).all()


def test_survey_lift_missing_post_wave_warns_with_reason(sample):
    no_post = sample["survey"][sample["survey"]["period"] == "pre"]
    with pytest.warns(ReviewWarning, match="no post-campaign wave"):
        lift = survey_lift(no_post)
    assert lift["lift"].isna().all()
    assert lift["warning"].str.contains("W1 \\(pre\\), W2 \\(pre\\)").all()


def test_survey_lift_unknown_wave_and_absent_table(sample):
    with pytest.warns(ReviewWarning, match="wave\\(s\\) W9 not found"):
        survey_lift(sample["survey"], post_waves=["W9"])
    with pytest.warns(ReviewWarning, match="no survey table"):
        assert survey_lift(None)["lift"].isna().all()
    with pytest.warns(ReviewWarning, match="no respondents for brand 'Lumen'"):
        survey_lift(sample["survey"], brand="Lumen")


# -- A/B tests -------------------------------------------------------------------------------
def test_ab_readout_rates_and_truth(sample):
    out = ab_readout(sample["ab_tests"])
    ab = sample["ab_tests"].set_index("variant")
    assert list(out["metric"]) == ["open_rate", "click_rate", "conversion_rate",
                                   "conversions_per_send"]  # fmt: skip
    opens = out.set_index("metric").loc["open_rate"]
    assert opens["rate_control"] == pytest.approx(ab.loc["A", "opens"] / ab.loc["A", "sends"])
    assert opens["rate_variant"] == pytest.approx(ab.loc["B", "opens"] / ab.loc["B", "sends"])
    clicks = out.set_index("metric").loc["click_rate"]
    assert clicks["n_control"] == ab.loc["A", "opens"]  # click-to-open: opens are the base
    true = sample["truth"]["ab_test"]["true_rates"]
    true_lift = true["B"]["open_rate"] - true["A"]["open_rate"]
    assert opens["ci_low"] <= true_lift <= opens["ci_high"]
    assert opens["rel_lift"] == pytest.approx(opens["abs_lift"] / opens["rate_control"])


def test_ab_readout_flags_underpowered_and_small_tests(sample):
    out = ab_readout(sample["ab_tests"]).set_index("metric")
    conv = out.loc["conversions_per_send"]
    assert conv["power"] < 0.8
    assert "too small" in conv["warning"] and "underpowered" in conv["warning"]
    assert conv["n_needed_per_arm"] > conv["n_control"]
    # a big, clear difference is not flagged
    big = pd.DataFrame(
        {
            "test_id": "t", "channel": "edm", "variant": ["A", "B"], "sends": [5000, 5000],
            "opens": [1000, 1400], "clicks": [200, 280], "conversions": [40, 56],
        }
    )  # fmt: skip
    row = ab_readout(big, metrics=["open_rate"]).iloc[0]
    assert row["power"] > 0.99 and row["warning"] == "" and bool(row["significant"])


def test_ab_readout_zero_count_arm_warns_not_crashes():
    ab = pd.DataFrame(
        {
            "test_id": "t1", "channel": "edm", "variant": ["A", "B"], "sends": [1000, 0],
            "opens": [200, 0], "clicks": [30, 0], "conversions": [3, 0],
        }
    )  # fmt: skip
    with pytest.warns(ReviewWarning) as caught:
        out = ab_readout(ab)
    messages = [str(w.message) for w in caught]
    assert any("open_rate: arm B has 0 sends" in m for m in messages)
    assert any("click_rate: arm B has 0 opens" in m for m in messages)
    row = out.set_index("metric").loc["open_rate"]
    assert np.isnan(row["rate_variant"]) and np.isnan(row["p_value"])
    assert "arm B has 0 sends" in row["warning"]
    assert not bool(row["significant"])


def test_ab_readout_bad_input():
    with pytest.raises(ParameterError, match="unknown A/B metric\\(s\\) ctr"):
        ab_readout(pd.DataFrame(), metrics=["ctr"])
    with pytest.raises(DataError, match="ab_tests: missing column\\(s\\) opens"):
        ab_readout(pd.DataFrame({"test_id": ["t"], "channel": ["edm"], "variant": ["A"],
                                 "sends": [1], "clicks": [0], "conversions": [0]}))  # fmt: skip
    single = pd.DataFrame({"test_id": ["t"], "channel": ["edm"], "variant": ["A"], "sends": [10],
                           "opens": [2], "clicks": [1], "conversions": [0]})  # fmt: skip
    with pytest.warns(ReviewWarning, match="only variant 'A'"):
        assert ab_readout(single).empty


# -- geo holdout -----------------------------------------------------------------------------
def test_did_covers_true_effect_on_small_world(small_world):
    customers = _read(small_world, "customers")
    conversions = _read(small_world, "conversions", ["timestamp"])
    truth = load_truth(small_world)["holdout"]
    did = holdout_did(customers, conversions, truth["regions"], *CAMPAIGN)
    est, low, high = did.per_customer_in_window
    assert low <= truth["att_conversions_per_treated_customer_in_window"] <= high
    assert did.treated_customers == truth["treated_customers"]
    assert did.holdout_customers == truth["holdout_customers"]
    assert did.window_weeks == 12


def test_did_covers_true_effect_on_sample_world(sample):
    truth = sample["truth"]["holdout"]
    target = truth["att_conversions_per_treated_customer_in_window"]
    did = holdout_did(sample["customers"], sample["conversions"], truth["regions"], *CAMPAIGN)
    assert did.treated_customers == truth["treated_customers"]
    est, low, high = did.per_customer_in_window
    assert 0 < low <= target <= high
    assert est == pytest.approx(did.estimate * 12)
    summary = did.summary()
    assert summary.loc["incremental conversions", "estimate"] == pytest.approx(
        est * truth["treated_customers"]
    )
    # the 2x2 table: the estimate is the treated change minus the holdout change
    m = did.means
    assert did.estimate == pytest.approx(m.loc["treated", "change"] - m.loc["holdout", "change"])


def test_did_cluster_options_agree_on_estimate(sample):
    args = (sample["customers"], sample["conversions"], ["west"], *CAMPAIGN)
    with pytest.warns(ReviewWarning, match="4 treated and 1 holdout region"):
        fits = [holdout_did(*args, cluster=c) for c in ("customer", "region", "hc")]
    assert len({round(f.estimate, 12) for f in fits}) == 1
    assert [f.cov_type for f in fits] == ["cluster by customer", "cluster by region", "HC1"]


def test_placebo_covers_zero(sample):
    placebo = placebo_did(sample["customers"], sample["conversions"], ["west"], *PRE)
    assert placebo.ci_low <= 0 <= placebo.ci_high
    pre, post = placebo.periods["pre"], placebo.periods["post"]
    assert pre[0] == pd.Timestamp(PRE[0]) and post[1] == pd.Timestamp(PRE[1])
    assert pre[1] + pd.Timedelta(days=1) == post[0]


def test_did_bad_input(sample):
    cust, conv = sample["customers"], sample["conversions"]
    with pytest.raises(DataError, match="holdout region\\(s\\) mars have no customers"):
        holdout_did(cust, conv, ["mars"], *CAMPAIGN)
    with pytest.raises(DataError, match="every region is a holdout"):
        holdout_did(cust, conv, sorted(cust["region"].unique()), *CAMPAIGN)
    with pytest.raises(ParameterError, match="cluster: 'city'"):
        holdout_did(cust, conv, ["west"], *CAMPAIGN, cluster="city")
    with pytest.raises(ParameterError, match="not before the post window"):
        holdout_did(cust, conv, ["west"], *CAMPAIGN, pre_end="2025-03-10")
    with pytest.raises(ParameterError, match="cannot read 'soon' as a date"):
        holdout_did(cust, conv, ["west"], "soon", CAMPAIGN[1])


def test_weekly_outcome_counts_every_order_once(sample):
    weekly = weekly_outcome(sample["customers"], sample["conversions"], ["west"])
    assert weekly["conversions"].sum() == len(sample["conversions"])
    assert (weekly["week"].dt.weekday == 0).all()
    assert set(weekly["customers"]) == {1061, 3939}


def test_survey_lift_nps_follows_the_catalogue_definition(sample):
    # The KPI catalogue measures NPS among aware respondents; survey_lift must give the same
    # number, also when unaware respondents answered the NPS question (here: detractors).
    from imclab.kpis import compute_kpi

    survey = sample["survey"].copy()
    unaware = survey.index[(survey["brand"] == "Lumina") & (survey["aware"] == 0)][:300]
    survey["nps"] = survey["nps"].astype("Float64")
    survey.loc[unaware, "nps"] = 0.0
    lift = survey_lift(survey, brand="Lumina").set_index("stage")
    tables = {"survey": survey}
    for side, (lo, hi) in (("pre", PRE), ("post", ("2025-03-03", "2025-12-31"))):
        kpi = compute_kpi("nps", tables, lo, hi, brand="Lumina")
        assert lift.loc["nps", side] == pytest.approx(kpi.value)
        assert lift.loc["nps", f"n_{side}"] == kpi.n


def test_did_region_clusters_warn_with_one_holdout_region(sample):
    # 5 regions, 1 held out: region-clustered errors come out about half the customer-clustered
    # ones (p ~ 1e-76), a false precision the analyst must be warned about.
    args = (sample["customers"], sample["conversions"], ["west"], *CAMPAIGN)
    with pytest.warns(ReviewWarning, match="not reliable"):
        by_region = holdout_did(*args, cluster="region")

    with warnings.catch_warnings():
        warnings.simplefilter("error", ReviewWarning)
        by_customer = holdout_did(*args, cluster="customer")
    assert by_region.std_error < by_customer.std_error


# -- the same reductions on Ibis tables (DuckDB): identical results, small results only -------
@pytest.fixture(scope="module")
def duck(sample, duckdb_tables):
    """The sample's customers and conversions as DuckDB tables, and the sizes of the results
    the database hands back (a whole event table must never come back)."""
    tables = duckdb_tables(**{n: sample[n] for n in ("customers", "conversions")})
    return tables, tables.returned


def test_did_and_placebo_on_duckdb_tables_equal_the_pandas_results(sample, duck):
    tables, returned = duck
    returned.clear()
    for run in (
        lambda cust, conv: holdout_did(cust, conv, ["west"], *CAMPAIGN),
        lambda cust, conv: holdout_did(cust, conv, ["west"], *CAMPAIGN, cluster="hc"),
        lambda cust, conv: placebo_did(cust, conv, ["west"], *PRE),
    ):
        pd_fit = run(sample["customers"], sample["conversions"])
        db_fit = run(tables["customers"], tables["conversions"])
        for attr in ("estimate", "ci_low", "ci_high", "std_error", "p_value"):
            assert getattr(db_fit, attr) == pytest.approx(getattr(pd_fit, attr), rel=1e-12)
        assert (db_fit.treated_customers, db_fit.holdout_customers) == (3939, 1061)
        pd.testing.assert_frame_equal(db_fit.means, pd_fit.means, rtol=1e-12)
        assert db_fit.periods == pd_fit.periods
    # regions, the first order's time, then one row per customer (the model's input)
    assert sorted(set(returned)) == [1, 5, len(sample["customers"])]


def test_did_default_pre_period_and_errors_on_duckdb_tables(sample, duck):
    tables, _ = duck
    did = holdout_did(tables["customers"], tables["conversions"], ["west"], *CAMPAIGN)
    first = sample["conversions"]["timestamp"].min().normalize()
    assert did.periods["pre"] == (first, pd.Timestamp(CAMPAIGN[0]) - pd.Timedelta(days=1))
    with pytest.raises(DataError, match="holdout region\\(s\\) mars have no customers"):
        holdout_did(tables["customers"], tables["conversions"], ["mars"], *CAMPAIGN)
    with pytest.raises(DataError, match="customers: missing column\\(s\\) region"):
        holdout_did(tables["customers"].drop("region"), tables["conversions"], ["west"],
                    *CAMPAIGN)  # fmt: skip


def test_weekly_outcome_on_duckdb_tables_equals_pandas(sample, duck):
    tables, returned = duck
    returned.clear()
    expected = weekly_outcome(sample["customers"], sample["conversions"], ["west"])
    got = weekly_outcome(tables["customers"], tables["conversions"], ["west"])
    pd.testing.assert_frame_equal(got, expected)
    assert max(returned) < 400  # per day and group, not per order


def test_weekly_outcome_orders_of_unknown_buyers_date_the_data_but_are_not_counted():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "region": ["west", "east"]})
    conversions = pd.DataFrame(
        {"customer_id": ["a", "b", "b", "zz"],
         "timestamp": pd.to_datetime(["2025-01-07 10:00", "2025-01-08 00:00", "2025-01-14 00:00",
                                      "2025-01-20 23:00"])}
    )  # fmt: skip
    weekly = weekly_outcome(customers, conversions, ["west"]).set_index(["week", "group"])
    monday = pd.Timestamp("2025-01-06")
    assert weekly.loc[(monday, "holdout"), "conversions"] == 1
    assert weekly.loc[(monday, "treated"), "conversions"] == 1
    assert weekly.loc[(monday + pd.Timedelta(days=7), "treated"), "conversions"] == 1
    # zz's order is on no group's row but ends the data: the third week has 1 day inside
    third = weekly.loc[(monday + pd.Timedelta(days=14), "treated")]
    assert third["conversions"] == 0 and third["days"] == 1
    assert weekly.loc[(monday, "treated"), "days"] == 6  # the data start on Tuesday
    assert weekly["conversions"].sum() == 3
