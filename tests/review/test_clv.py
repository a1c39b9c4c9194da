"""CLV: CDNOW published figures, lifetimes agreement, RFM definitions, segments, holdout."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
from lifetimes.utils import summary_data_from_transaction_data

from imclab.errors import DataError, ParameterError
from imclab.review import clv as C


@pytest.fixture(scope="module")
def world(sample_dir):
    from imclab.data import load_world

    return load_world(sample_dir, tables=["customers", "touchpoints", "conversions"])


@pytest.fixture(scope="module")
def conversions(world) -> pd.DataFrame:
    return world.conversions


@pytest.fixture(scope="module")
def result(conversions) -> C.CLVResult:
    return C.customer_lifetime_value(conversions, observation_end="2025-06-30")


@pytest.fixture(scope="module")
def cdnow_model():
    data = load_cdnow_summary_data_with_monetary_value()
    return data, C.CustomerValueModel().fit(data)


def test_cdnow_parameters_match_fader_hardie_lee_2005_within_1_percent():
    check = C.cdnow_check()
    assert list(check["parameter"]) == ["r", "alpha", "a", "b", "p", "q", "gamma"]
    # published: r 0.243, alpha 4.414, a 0.793, b 2.426; p 6.25, q 3.74, gamma 15.44
    assert (check["relative_difference"].abs() < 0.01).all(), check
    # and tighter than the published rounding for the BG/NBD parameters
    bg = check[check["model"] == "bg_nbd"]
    assert (bg["relative_difference"].abs() < 0.002).all(), bg


def test_expected_purchases_and_clv_agree_with_lifetimes_on_cdnow(cdnow_model):
    data, model = cdnow_model
    ours = model.expected_purchases(data, 39.0)
    theirs = model.bgnbd_.conditional_expected_number_of_purchases_up_to_time(
        39.0, data["frequency"], data["recency"], data["T"]
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    # the paper's worked example: a customer with x = 2, t_x = 30.43, T = 38.86 is expected
    # to make 1.226 purchases in the next 39 weeks
    example = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert model.expected_purchases(example, 39.0).iloc[0] == pytest.approx(1.226, abs=2e-3)
    clv = model.clv(data, horizon_months=12, monthly_discount_rate=0.01)
    ref = model.gamma_gamma_.customer_lifetime_value(
        model.bgnbd_, data["frequency"], data["recency"], data["T"], data["monetary_value"],
        time=12, discount_rate=0.01, freq="W",
    )  # fmt: skip
    np.testing.assert_allclose(clv["clv"], ref, rtol=1e-8)


def test_no_warnings_escape_from_lifetimes(conversions):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = C.customer_lifetime_value(conversions)
    assert np.isfinite(out.customers["clv"]).all()


def test_rfm_summary_matches_lifetimes_utils_in_days_and_weeks(conversions):
    ref = summary_data_from_transaction_data(
        conversions, "customer_id", "timestamp", monetary_value_col="revenue",
        observation_period_end="2025-06-30", freq="D",
    )  # fmt: skip
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


def test_clv_without_discount_is_purchases_times_order_value(conversions):
    rfm = C.rfm_summary(conversions)
    model = C.CustomerValueModel().fit(rfm)
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


def test_degenerate_bgnbd_fit_falls_back_to_penalizer_and_reports_it(result):
    # the simulated world has almost homogeneous purchase rates and no dropout: plain ML runs
    # to the boundary, so the smallest penalizer that fits is used and reported
    assert result.notes["bgnbd_penalizer"] in C.PENALIZER_LADDER
    est = result.params.set_index("parameter")["estimate"]
    assert 1e-4 < est.min() and est.max() < 1e3
    # Gamma-Gamma assumes order value independent of frequency: the check is reported
    assert abs(result.notes["frequency_value_correlation"]) < 0.1


def test_customers_without_orders_are_counted(conversions, world):
    customers = world.customers
    out = C.customer_lifetime_value(conversions, customers=customers)
    assert out.notes["buyers"] + out.notes["customers_without_orders"] == len(customers)
    assert out.notes["buyers"] == conversions["customer_id"].nunique()


def test_holdout_prediction_is_in_the_range_of_actual(conversions):
    check = C.holdout_check(conversions, "2025-04-30", "2025-06-30")
    total = check.set_index("calibration_frequency").loc["total"]
    assert total["actual"] > 500
    assert 0.75 < total["ratio"] < 1.25, check
    assert check.attrs["holdout_length"] == pytest.approx(61 / 7)
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


def test_bad_input_messages(conversions):
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
    rfm = C.rfm_summary(conversions)
    model = C.CustomerValueModel().fit(rfm)
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


def test_clv_notes_and_holdout_check_on_duckdb_tables_equal_pandas(world, conversions, duck):
    tables, _ = duck
    expected = C.customer_lifetime_value(
        conversions, observation_end="2025-06-30", customers=world.customers
    )
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
