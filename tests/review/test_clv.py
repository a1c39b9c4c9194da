"""CLV: CDNOW published figures, PyMC-Marketing agreement, RFM definitions, segments, holdout."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imclab.errors import DataError, ParameterError
from imclab.review import clv as C

# The CDNOW 1/10th sample summary (2,357 customers, 39 weeks of calibration): frequency,
# recency and T in weeks, monetary_value the mean repeat-purchase value. Published by Fader and
# Hardie (brucehardie.com); this copy is the one lifetimes 0.11.3 shipped (MIT), as
# PyMC-Marketing's CLV examples use it. Committed so the check runs offline.
CDNOW = Path(__file__).with_name("data") / "cdnow_summary.csv"

PUBLISHED = {
    # Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing Science
    "bg_nbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    # Fader and Hardie (2013), "The Gamma-Gamma model of monetary value" (gamma: the scale)
    "gamma_gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
    # Fader, Hardie and Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB"
    "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
}


@pytest.fixture(scope="module")
def world(sample_dir):
    from imclab.data import load_world

    return load_world(sample_dir, tables=["customers", "touchpoints", "conversions"])


@pytest.fixture(scope="module")
def conversions(world) -> pd.DataFrame:
    return world.conversions


# Each fit on the sample compiles and fits PyMC-Marketing models (seconds each): the fits the
# tests read are made once per module.
@pytest.fixture(scope="module")
def result(conversions, world) -> C.CLVResult:
    return C.customer_lifetime_value(
        conversions, observation_end="2025-06-30", customers=world.customers
    )


@pytest.fixture(scope="module")
def default_result(conversions, world):
    """The CLV with the default observation end (the last order's day), and every warning
    raised while it was computed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = C.customer_lifetime_value(conversions, customers=world.customers)
    return out, caught


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW).set_index("customer_id")


@pytest.fixture(scope="module")
def cdnow_model(cdnow):
    return C.CustomerValueModel().fit(cdnow)


def relative_differences(params: pd.DataFrame, model: str) -> pd.Series:
    est = params[params["model"] == model].set_index("parameter")["estimate"]
    published = pd.Series(PUBLISHED[model])
    return (est[published.index] - published) / published


def test_cdnow_parameters_match_fader_hardie_lee_2005_with_the_map_fit(cdnow_model):
    params = cdnow_model.params_
    assert list(params["parameter"]) == ["r", "alpha", "a", "b", "p", "q", "gamma"]
    assert cdnow_model.priors_ == {"bg_nbd": "flat", "gamma_gamma": "flat"}
    # published: r 0.243, alpha 4.414, a 0.793, b 2.426 (tighter than 0.2 %, the rounding)
    bg = relative_differences(params, "bg_nbd")
    assert (bg.abs() < 0.002).all(), bg
    # p 6.25, q 3.74, gamma 15.44
    gg = relative_differences(params, "gamma_gamma")
    assert (gg.abs() < 0.01).all(), gg


def test_cdnow_worked_example_and_discounted_clv(cdnow, cdnow_model):
    # the paper's worked example: a customer with x = 2, t_x = 30.43, T = 38.86 is expected
    # to make 1.226 purchases in the next 39 weeks
    example = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    example.index = pd.Index(["ex"], name="customer_id")
    assert cdnow_model.expected_purchases(example, 39.0).iloc[0] == pytest.approx(1.226, abs=2e-3)
    # CLV = sum over months of the month's expected purchases x order value, discounted
    table = cdnow_model.clv(cdnow, horizon_months=12, monthly_discount_rate=0.01)
    weeks = C.DAYS_PER_MONTH / 7
    cumulative = np.column_stack(
        [np.zeros(len(cdnow))]
        + [cdnow_model.expected_purchases(cdnow, m * weeks).to_numpy() for m in range(1, 13)]
    )
    discount = 1.01 ** -np.arange(1, 13)
    expected = np.diff(cumulative, axis=1) @ discount * table["expected_order_value"].to_numpy()
    np.testing.assert_allclose(table["clv"], expected, rtol=1e-8)
    np.testing.assert_allclose(table["expected_purchases"], cumulative[:, -1], rtol=1e-9)
    assert ((table["p_alive"] > 0) & (table["p_alive"] <= 1)).all()
    # one-time buyers are alive with certainty under BG/NBD (nobody drops out before a repeat)
    assert (table.loc[table["frequency"] == 0, "p_alive"] == 1).all()


def test_cdnow_new_customer_expectation_is_fader_hardie_lee_eq_9(cdnow_model):
    from scipy.special import hyp2f1

    est = cdnow_model.params_.set_index("parameter")["estimate"]
    r, alpha, a, b = est["r"], est["alpha"], est["a"], est["b"]
    t = np.array([1.0, 13.0, 39.0, 78.0])
    # E[X(t)] of a customer who has just made a first purchase (eq. 9), written out here
    closed = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    got = cdnow_model.expected_purchases_new_customer(t)
    np.testing.assert_allclose(got, closed, rtol=1e-6)
    # increasing and slowing down: customers drop out, so later weeks add fewer purchases
    rate = np.diff(got) / np.diff(t)
    assert (rate > 0).all() and (np.diff(rate) < 0).all()
    with pytest.raises(ParameterError, match="t must be lengths"):
        cdnow_model.expected_purchases_new_customer([-1.0])


@pytest.mark.slow
def test_cdnow_pareto_nbd_matches_the_published_fit(cdnow, cdnow_model):
    model = C.CustomerValueModel(transaction_model="pareto_nbd").fit(cdnow)
    assert model.priors_["pareto_nbd"] == "flat"
    diff = relative_differences(model.params_, "pareto_nbd")
    assert (diff.abs() < 0.01).all(), diff
    # Pareto/NBD and BG/NBD foresee about the same repeat purchases on CDNOW (FHL 2005); the
    # BG/NBD of cdnow_model is fitted on the same frequency, recency and T
    bg = cdnow_model
    total = model.expected_purchases(cdnow, 39.0).sum() / bg.expected_purchases(cdnow, 39.0).sum()
    assert total == pytest.approx(1.0, abs=0.03)


def test_model_choices_are_checked(cdnow):
    with pytest.raises(ParameterError, match="transaction_model must be one of.*'bgnbd'"):
        C.CustomerValueModel(transaction_model="bgnbd").fit(cdnow)
    with pytest.raises(ParameterError, match="priors must be 'auto', 'flat' or 'default'"):
        C.CustomerValueModel(priors="wide").fit(cdnow)


def test_no_warnings_escape_from_pymc(default_result):
    out, caught = default_result
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    assert np.isfinite(out.customers["clv"]).all()


def test_rfm_summary_matches_pymc_marketing_in_days_and_weeks(conversions):
    from pymc_marketing.clv import rfm_summary as pymc_rfm

    ref = pymc_rfm(
        conversions.assign(customer_id=conversions["customer_id"].astype(str)),
        "customer_id", "timestamp", monetary_value_col="revenue",
        observation_period_end="2025-06-30", time_unit="D",
    ).set_index("customer_id")  # fmt: skip
    days = C.rfm_summary(conversions, observation_end="2025-06-30", freq="D")
    weeks = C.rfm_summary(conversions, observation_end="2025-06-30", freq="W")
    assert list(days.index) == sorted(ref.index)
    ref = ref.loc[days.index]
    np.testing.assert_array_equal(days["frequency"], ref["frequency"])
    np.testing.assert_allclose(days["recency"], ref["recency"])
    np.testing.assert_allclose(days["T"], ref["T"])
    np.testing.assert_allclose(days["monetary_value"], ref["monetary_value"], rtol=1e-9)
    np.testing.assert_allclose(weeks["T"] * 7, days["T"])
    assert days["orders"].sum() == len(conversions)
    assert days["revenue"].sum() == pytest.approx(conversions["revenue"].sum())


def test_rfm_summary_hand_example():
    conv = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "timestamp": pd.to_datetime(
                [
                    "2025-01-01 09:00",
                    "2025-01-01 18:00",
                    "2025-01-15 10:00",
                    "2025-01-08 12:00",
                    "2025-02-01 08:00",
                ]
            ),  # fmt: skip
            "revenue": [10.0, 5.0, 30.0, 20.0, 99.0],
        }
    )
    rfm = C.rfm_summary(conv, observation_end="2025-01-29")
    # same-day orders of a are one transaction; c's order is after the observation end
    assert list(rfm.index) == ["a", "b"]
    assert rfm.loc["a", "frequency"] == 1
    assert rfm.loc["a", "recency"] == pytest.approx(2.0)  # 14 days in weeks
    assert rfm.loc["a", "T"] == pytest.approx(4.0)
    assert rfm.loc["a", "monetary_value"] == pytest.approx(30.0)  # repeat transactions only
    assert rfm.loc["a", "orders"] == 3
    assert rfm.loc["b", "frequency"] == 0 and rfm.loc["b", "monetary_value"] == 0.0
    assert rfm.attrs["orders_after_end"] == 1
    assert rfm.attrs["freq"] == "W"


def test_clv_without_discount_is_purchases_times_order_value(cdnow, cdnow_model):
    rfm, model = cdnow, cdnow_model  # (the sample's fit is checked through result)
    flat = model.clv(rfm, horizon_months=6, monthly_discount_rate=0.0)
    np.testing.assert_allclose(
        flat["clv"], flat["expected_purchases"] * flat["expected_order_value"], rtol=1e-9
    )
    discounted = model.clv(rfm, horizon_months=6, monthly_discount_rate=0.02, margin=0.4)
    assert (discounted["clv"] < 0.4 * flat["clv"]).all()
    assert (discounted["clv"] > 0.4 * flat["clv"] / 1.02**6).all()


def test_one_time_buyers_still_have_a_clv(result):
    table = result.customers
    once = table[table["frequency"] == 0]
    assert len(once) == result.notes["one_time_buyers"] > 1000
    assert np.isfinite(once["clv"]).all() and (once["clv"] > 0).all()
    p, q, gamma = result.params.set_index("parameter").loc[["p", "q", "gamma"], "estimate"]
    np.testing.assert_allclose(once["expected_order_value"], p * gamma / (q - 1))
    # among repeat buyers seen as long, more purchases -> more expected future purchases
    # (one-time buyers are different: BG/NBD lets nobody drop out before a repeat purchase)
    same_t = table[(table["T"] > 20) & (table["frequency"] > 0)]
    by_freq = same_t.groupby("frequency")["expected_purchases"].mean()
    assert len(by_freq) >= 3 and by_freq.is_monotonic_increasing


def test_degenerate_bgnbd_fit_falls_back_to_default_priors_and_reports_it(result, conversions):
    # the simulated world has almost homogeneous purchase rates and little dropout: with flat
    # priors the MAP runs to the boundary (r, alpha -> inf), so the weakly informative priors
    # of PyMC-Marketing are used and reported
    flat = C.CustomerValueModel(priors="flat")
    with pytest.raises(DataError, match="BG/NBD did not reach finite parameters with flat"):
        flat.fit(C.rfm_summary(conversions, observation_end="2025-06-30"))
    assert "BG/NBD: PyMC-Marketing's weakly informative" in result.notes["priors"]
    assert "Gamma-Gamma: flat" in result.notes["priors"]
    est = result.params.set_index("parameter")["estimate"]
    assert 1e-4 < est.min() and est.max() < 1e3
    # Gamma-Gamma assumes order value independent of frequency: the check is reported
    assert abs(result.notes["frequency_value_correlation"]) < 0.1


def test_clv_on_another_world(small_world):
    from imclab.data import load_world

    conv = load_world(small_world, tables=["conversions"]).conversions
    bg = C.customer_lifetime_value(conv)
    assert bg.notes["transaction_model"] == "BG/NBD"
    assert np.isfinite(bg.customers["clv"]).all() and (bg.customers["clv"] > 0).all()
    assert bg.notes["buyers"] == conv["customer_id"].nunique()
    # buyers seen longer without a repeat purchase are less likely to be alive
    repeat = bg.customers[bg.customers["frequency"] == 1]
    assert np.corrcoef(repeat["T"] - repeat["recency"], repeat["p_alive"])[0, 1] < 0


def test_customers_without_orders_are_counted(conversions, world, default_result):
    customers = world.customers
    out, _ = default_result
    assert out.notes["buyers"] + out.notes["customers_without_orders"] == len(customers)
    assert out.notes["buyers"] == conversions["customer_id"].nunique()


def test_holdout_prediction_is_in_the_range_of_actual(conversions):
    check = C.holdout_check(conversions, "2025-04-30", "2025-06-30")
    total = check.set_index("calibration_frequency").loc["total"]
    assert total["actual"] > 500
    assert 0.75 < total["ratio"] < 1.5, check
    assert check.attrs["holdout_length"] == pytest.approx(61 / 7)
    assert "BG/NBD" in check.attrs["priors"]
    assert check.loc[check["calibration_frequency"] != "total", "buyers"].sum() == total["buyers"]


def test_holdout_check_rejects_calibration_after_end(conversions):
    with pytest.raises(ParameterError, match="calibration_end 2025-07-10 must be before"):
        C.holdout_check(conversions, "2025-07-10", "2025-06-30")


def test_clv_by_persona_keeps_every_buyer(result, sample_dir):
    from imclab.simulate import load_truth

    personas = load_truth(sample_dir)["personas"]
    out = C.clv_by_persona(result, personas)
    assert set(out["persona"]) == set(personas["persona"])
    assert out["buyers"].sum() == len(result.customers)
    assert out["share_of_clv"].sum() == pytest.approx(1.0)
    assert out["total_clv"].sum() == pytest.approx(result.customers["clv"].sum())
    # busy professionals have the largest orders (mean order value 150 vs 45-110)
    assert out.iloc[0]["persona"] == "busy_professionals"
    # labels that miss buyers: kept as (unknown), not dropped
    partial = C.clv_by_persona(result, personas.iloc[:100])
    assert partial["buyers"].sum() == len(result.customers)
    assert "(unknown)" in set(partial["persona"])


def test_clv_by_segment_rejects_duplicate_labels(result):
    labels = pd.DataFrame({"customer_id": ["C000003", "C000003"], "persona": ["x", "y"]})
    with pytest.raises(DataError, match="labels: customer_id must be unique.*'C000003'"):
        C.clv_by_segment(result, labels, "persona")


def test_first_touch_channel_uses_earliest_timestamp_then_event_id():
    tp = pd.DataFrame(
        {
            "event_id": ["E3", "E2", "E1", "E4"],
            "customer_id": ["a", "a", "a", "b"],
            "timestamp": pd.to_datetime(["2025-01-02", "2025-01-01", "2025-01-01", "2025-03-01"]),
            "channel": ["seo", "tv", "social", "edm"],
        }
    )
    out = C.first_touch_channel(tp)
    assert list(out["customer_id"]) == ["a", "b"]
    assert list(out["first_touch_channel"]) == ["social", "edm"]


def test_clv_by_first_touch_covers_all_buyers(result, world):
    tp = world.touchpoints
    out = C.clv_by_first_touch(result, tp)
    assert out["buyers"].sum() == len(result.customers)
    assert set(out["first_touch_channel"]) <= set(tp["channel"]) | {C.NO_TOUCH}
    assert (out["mean_clv"] > 0).all()


def test_bad_input_messages(conversions, cdnow, cdnow_model):
    with pytest.raises(DataError, match="conversions: missing column.*revenue"):
        C.rfm_summary(conversions.drop(columns="revenue"))
    broken = conversions.copy()
    broken.loc[broken.index[[4, 9]], "revenue"] = -1.0
    with pytest.raises(DataError, match="conversions: 2 row\\(s\\) with a missing or negative"):
        C.rfm_summary(broken)
    with pytest.raises(DataError, match="conversions: the table is empty"):
        C.rfm_summary(conversions.iloc[:0])
    with pytest.raises(ParameterError, match="freq must be 'W'.*'M'"):
        C.rfm_summary(conversions, freq="M")
    few = C.rfm_summary(conversions.iloc[:3])
    with pytest.raises(DataError, match=f"{len(few)} customers; BG/NBD needs at least 10"):
        C.CustomerValueModel().fit(few)
    rfm, model = cdnow, cdnow_model
    with pytest.raises(ParameterError, match="monthly_discount_rate must be in"):
        model.clv(rfm, monthly_discount_rate=1.5)


# -- the same reductions on Ibis tables (DuckDB): identical results, one row per customer at most
@pytest.fixture(scope="module")
def duck(world, duckdb_tables):
    """The sample's event tables as DuckDB tables, and the sizes of the results handed back."""
    names = ("customers", "touchpoints", "conversions")
    tables = duckdb_tables(**{n: world.table(n) for n in names})
    return tables, tables.returned


def test_rfm_summary_on_duckdb_tables_equals_pandas(conversions, duck):
    tables, returned = duck
    returned.clear()
    for kwargs in (
        {"observation_end": "2025-06-30", "freq": "D"},
        {"observation_end": "2025-05-31", "observation_start": "2025-02-01"},
        {},
    ):
        expected = C.rfm_summary(conversions, **kwargs)
        got = C.rfm_summary(tables["conversions"], **kwargs)
        pd.testing.assert_frame_equal(got, expected, rtol=1e-12)
        assert got.attrs == expected.attrs
    windowed = C.rfm_summary(tables["conversions"], "2025-05-31", observation_start="2025-02-01")
    assert windowed.attrs["orders_after_end"] > 0 and windowed.attrs["orders_before_start"] > 0
    assert max(returned) == len(expected) < len(conversions)  # per buyer, never per order


def test_first_touch_on_duckdb_and_categorical_tables_equals_text_channels(world, result, duck):
    tables, returned = duck
    text = world.touchpoints.astype({"channel": str})
    assert isinstance(world.touchpoints["channel"].dtype, pd.CategoricalDtype)
    expected = C.first_touch_channel(text)
    returned.clear()
    pd.testing.assert_frame_equal(C.first_touch_channel(tables["touchpoints"]), expected)
    assert max(returned) == len(expected) <= len(world.customers)
    pd.testing.assert_frame_equal(C.first_touch_channel(world.touchpoints), expected)
    by_text = C.clv_by_first_touch(result, text)
    for touchpoints in (world.touchpoints, tables["touchpoints"]):
        pd.testing.assert_frame_equal(C.clv_by_first_touch(result, touchpoints), by_text)


def test_first_touch_without_touches_is_no_touch_for_every_input():
    clv = pd.DataFrame(
        {"customer_id": ["a", "b"], "clv": [10.0, 30.0], "expected_purchases": [1.0, 2.0]}
    )
    tp = pd.DataFrame(
        {"event_id": ["E1", "E2"], "customer_id": ["a", "z"],
         "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02"]),
         "channel": pd.Categorical(["tv", "seo"], categories=["seo", "tv", "edm"])}
    )  # fmt: skip
    out = C.clv_by_first_touch(clv, tp).set_index("first_touch_channel")
    assert out.loc["tv", "buyers"] == 1 and out.loc[C.NO_TOUCH, "total_clv"] == 30.0
    assert out["share_of_clv"].sum() == pytest.approx(1.0)


def test_clv_notes_and_holdout_check_on_duckdb_tables_equal_pandas(
    world, conversions, duck, result
):
    tables, _ = duck
    expected = result  # the pandas tables, observation end 2025-06-30, with customers
    got = C.customer_lifetime_value(
        tables["conversions"], observation_end="2025-06-30", customers=tables["customers"]
    )
    assert got.notes == expected.notes
    assert expected.notes["customers_without_orders"] == len(world.customers) - len(
        expected.customers
    )
    pd.testing.assert_frame_equal(got.customers, expected.customers, rtol=1e-9)
    pd.testing.assert_frame_equal(
        C.holdout_check(tables["conversions"], "2025-04-30"),
        C.holdout_check(conversions, "2025-04-30"),
        rtol=1e-9,
    )


def test_bad_rows_are_named_by_index_in_pandas_and_by_customer_in_a_database(conversions):
    import ibis

    from imclab.engine import to_ibis

    broken = conversions.copy()
    broken.loc[broken.index[[4, 9]], "revenue"] = -1.0
    with pytest.raises(DataError, match="2 row\\(s\\) with a missing or negative.*index 4, 9"):
        C.rfm_summary(broken)
    con = ibis.duckdb.connect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        table = con.create_table("conversions", to_ibis(broken, "conversions"))
        who = broken.loc[broken.index[4], "customer_id"]
        with pytest.raises(DataError, match=f"2 row\\(s\\) .*customer_id {who}.*revenue -1.0"):
            C.rfm_summary(table)
        with pytest.raises(DataError, match="conversions: missing column.*revenue"):
            C.rfm_summary(table.drop("revenue"))
