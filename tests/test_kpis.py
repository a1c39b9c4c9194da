"""KPI computations on hand-made tables with values worked out by hand."""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

import imclab.kpis as kpis_module
from imclab.config import KPIS, UnknownKPIError
from imclab.engine import quiet
from imclab.errors import ParameterError
from imclab.kpis import (
    EVENT_TABLES,
    KPI_FUNCTIONS,
    compute_kpi,
    date_range,
    kpi_computable,
    kpi_series,
    kpi_table,
    plain,
    shared_tables,
    to_window,
    wilson_interval,
)

START, END = "2025-03-01", "2025-03-31"


def _tables() -> dict[str, pd.DataFrame]:
    ts = pd.Timestamp
    touchpoints = pd.DataFrame(
        [
            # customer, time, channel, campaign, interaction, cost
            ("A", ts("2025-03-02 10:00"), "social", "spring_launch", "impression", 1.0),
            ("A", ts("2025-03-02 11:00"), "social", "spring_launch", "click", 1.0),
            ("A", ts("2025-03-03 09:00"), "seo", "organic", "visit", 0.0),
            ("B", ts("2025-03-05 09:00"), "social", "spring_launch", "impression", 1.0),
            ("B", ts("2025-03-06 09:00"), "direct", "organic", "visit", 0.0),
            ("C", ts("2025-03-07 09:00"), "edm", "spring_launch", "impression", 0.1),
            ("C", ts("2025-03-07 10:00"), "edm", "spring_launch", "open", 0.0),
            ("D", ts("2025-03-08 09:00"), "edm", "spring_launch", "impression", 0.1),
            ("E", ts("2025-02-20 09:00"), "seo", "organic", "visit", 0.0),  # outside
        ],
        columns=["customer_id", "timestamp", "channel", "campaign", "interaction", "cost"],
    )
    touchpoints.insert(0, "event_id", [f"E{i}" for i in range(len(touchpoints))])
    conversions = pd.DataFrame(
        [
            ("O1", "A", ts("2025-03-04 12:00"), 100.0),
            ("O2", "A", ts("2025-03-20 12:00"), 50.0),
            ("O3", "B", ts("2025-03-01 08:00"), 30.0),  # before B's first social touch
            ("O4", "C", ts("2025-02-10 12:00"), 20.0),  # C's first order: before the window
            ("O5", "C", ts("2025-03-10 12:00"), 40.0),
            ("O6", "E", ts("2025-04-02 12:00"), 99.0),  # outside
        ],
        columns=["order_id", "customer_id", "timestamp", "revenue"],
    )
    spend = pd.DataFrame(
        [
            (ts("2025-03-02"), "social", "spring_launch", 60.0, 1000, 20),
            (ts("2025-03-05"), "social", "always_on", 20.0, 1000, 10),
            (ts("2025-03-07"), "tv", "spring_launch", 100.0, 5000, 0),
            (ts("2025-02-07"), "social", "always_on", 999.0, 9000, 9),  # outside
        ],
        columns=["date", "channel", "campaign", "spend", "impressions", "clicks"],
    )
    survey = pd.DataFrame(
        {
            "respondent_id": [f"R{i}" for i in range(8)],
            "wave": ["W1"] * 4 + ["W0"] * 4,
            "fieldwork_date": [ts("2025-03-15")] * 4 + [ts("2025-01-15")] * 4,
            "period": ["pre"] * 8,
            "brand": ["Lumina"] * 4 + ["Lumina"] * 4,
            "aware": [1, 1, 1, 0, 1, 1, 1, 1],
            "consider": [1, 1, 0, 0, 1, 1, 1, 1],
            "prefer": [1, 0, 0, 0, 1, 1, 1, 1],
            "intent": [0, 0, 0, 0, 1, 1, 1, 1],
            "nps": pd.array([10, 8, 3, pd.NA, 10, 10, 10, 10], dtype="Int64"),
            "customer_id": ["A", None, None, None, None, None, None, None],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E", "F", "G"],
            # F signed up but never ordered; G signed up after the window
            "signup_date": pd.to_datetime(
                ["2025-01-05", "2025-02-01", "2025-01-20", "2025-03-08", "2025-01-02",
                 "2025-03-31", "2025-04-01"]
            ),
        }
    )  # fmt: skip
    return {
        "touchpoints": touchpoints,
        "conversions": conversions,
        "spend": spend,
        "survey": survey,
        "customers": customers,
    }


def kpi(name: str, **kw):
    return compute_kpi(name, _tables(), START, END, **kw)


def test_every_catalogue_kpi_has_one_computation():
    assert set(KPI_FUNCTIONS) == set(KPIS)


def test_brand_shares_and_nps_use_only_waves_inside_the_window():
    aware = kpi("awareness", brand="Lumina")
    assert (aware.value, aware.numerator, aware.denominator, aware.n) == (0.75, 3, 4, 4)
    assert kpi("purchase_intent", brand="Lumina").value == 0.0
    nps = kpi("nps", brand="Lumina")
    # aware answers: 10 (promoter), 8 (passive), 3 (detractor) -> 100 * (1 - 1) / 3
    assert nps.value == 0.0 and nps.n == 3


def test_brand_kpi_for_a_brand_absent_from_the_survey_explains_why():
    res = kpi("awareness", brand="Norvo")
    assert math.isnan(res.value) and not res.computable
    assert "Norvo" in res.note and "Lumina" in res.note


def test_brand_kpi_without_brand_is_a_parameter_error():
    with pytest.raises(ParameterError, match="brand"):
        kpi("awareness")


def test_engagement_kpis():
    assert kpi("traffic").value == 2  # A's and B's visits; E's is in February
    assert kpi("traffic", channel="seo").value == 1
    ctr = kpi("ctr")  # TV reports no clicks and is left out: 30 / 2000
    assert ctr.value == pytest.approx(30 / 2000) and "tv" in ctr.note
    assert kpi("ctr", channel="social", campaign="spring_launch").value == pytest.approx(0.02)
    assert not kpi("ctr", channel="tv").computable
    opens = kpi("open_rate")
    assert (opens.value, opens.numerator, opens.denominator) == (0.5, 1, 2)
    # A clicked, B visited, C opened; D was only sent an email -> 3 / 4
    assert kpi("engagement_rate").value == 0.75


def test_open_rate_falls_back_to_spend_sends_and_explains_when_there_are_none():
    tables = _tables()
    tp = tables["touchpoints"]
    tables["touchpoints"] = tp.loc[tp["interaction"] != "impression"]
    res = compute_kpi("open_rate", tables, START, END)
    assert not res.computable and "no EDM impressions in spend.csv" in res.note
    edm = pd.DataFrame(
        [(pd.Timestamp("2025-03-07"), "edm", "spring_launch", 1.0, 4, 0)],
        columns=["date", "channel", "campaign", "spend", "impressions", "clicks"],
    )
    tables["spend"] = pd.concat([tables["spend"], edm], ignore_index=True)
    res = compute_kpi("open_rate", tables, START, END)
    assert (res.value, res.numerator, res.denominator) == (0.25, 1, 4)
    assert "spend.csv" in res.note
    del tables["spend"]
    res = compute_kpi("open_rate", tables, START, END)
    assert not res.computable and "spend not in the data" in res.note


def test_conversion_tier():
    # Orders in window: O1, O2 (A), O3 (B), O5 (C). First orders ever in window: A, B.
    assert kpi("conversions").value == 4
    assert kpi("leads").value == 2
    # visitors A and B both ordered
    cr = kpi("conversion_rate")
    assert (cr.value, cr.n) == (1.0, 2)
    spend = 60 + 20 + 100
    assert kpi("cac").value == pytest.approx(spend / 2)
    assert kpi("cpa").value == pytest.approx(spend / 4)
    assert kpi("cpa", campaign="spring_launch").value == pytest.approx(160 / 4)


def test_value_tier():
    assert kpi("revenue").value == pytest.approx(220.0)
    assert kpi("aov").value == pytest.approx(55.0)
    assert kpi("roas").value == pytest.approx(220 / 180)
    assert kpi("roi").value == pytest.approx((220 - 180) / 180)
    ret = kpi("retention_rate")  # A ordered twice; B and C once
    assert ret.value == pytest.approx(1 / 3) and ret.n == 3
    clv = kpi("clv")  # annualised revenue per customer signed up by 03-31 (A..F, not G)
    assert clv.value == pytest.approx(220 * 365 / 31 / 6)
    assert (clv.denominator, clv.n) == (6, 6)
    assert "per customer of the base" in clv.note and "BG/NBD" in clv.note
    # persona: A and B; their revenue 180
    labels = pd.DataFrame({"customer_id": ["A", "B", "C"], "persona": ["x", "x", "y"]})
    assert kpi("clv", persona_labels=labels, persona="x").value == pytest.approx(180 * 365 / 31 / 2)
    # channel: revenue after the first social touch (A: 150) per customer social reached
    assert kpi("clv", channel="social").value == pytest.approx(150 * 365 / 31 / 2)
    tables = _tables()
    del tables["customers"]
    res = compute_kpi("clv", tables, START, END)
    assert not res.computable and "customers" in res.note


def test_clv_does_not_depend_on_the_window_length():
    # a steady business: 4 customers, one order of 100 every 10 days, in turn
    ts = pd.Timestamp
    customers = pd.DataFrame({"customer_id": list("ABCD"), "signup_date": [ts("2024-12-01")] * 4})
    conversions = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(12)],
            "customer_id": list("ABCD") * 3,
            "timestamp": pd.date_range("2025-01-01 12:00", periods=12, freq="10D"),
            "revenue": 100.0,
        }
    )
    tables = {"customers": customers, "conversions": conversions}
    short = compute_kpi("clv", tables, "2025-01-01", "2025-01-10")  # 10 days, 1 buyer
    long = compute_kpi("clv", tables, "2025-01-01", "2025-02-09")  # 40 days, 4 buyers
    assert short.value == pytest.approx(long.value) == pytest.approx(100 / 10 * 365 / 4)
    # the old per-buyer run rate gave 3,650 for the short window and 912.5 for the long one


def test_channel_filter_counts_orders_after_the_first_touch_on_the_channel():
    # social reached A (first 03-02) and B (first 03-05); B's order on 03-01 came before.
    res = kpi("revenue", channel="social")
    assert res.value == pytest.approx(150.0) and res.n == 2
    assert "first touch" in res.note
    assert kpi("roas", channel="social").value == pytest.approx(150 / 80)


def test_persona_filter_and_spend_kpis_without_persona_split():
    labels = pd.DataFrame({"customer_id": ["A", "B", "C"], "persona": ["x", "x", "y"]})
    assert kpi("revenue", persona_labels=labels, persona="x").value == pytest.approx(180.0)
    res = kpi("roas", persona_labels=labels, persona="x")
    assert not res.computable and "not split by persona" in res.note
    with pytest.raises(ParameterError, match="'z' is not in persona_labels"):
        kpi("revenue", persona_labels=labels, persona="z")
    with pytest.raises(ParameterError, match="both"):
        kpi("revenue", persona="x")


def test_computable_names_missing_tables_and_columns():
    tables = _tables()
    del tables["survey"]
    check = kpi_computable("awareness", tables)
    assert not check and "survey" in check.reason
    tables["spend"] = tables["spend"].drop(columns="clicks")
    check = kpi_computable("ctr", tables)
    assert not check and "spend.clicks" in check.reason
    assert kpi_computable("revenue", tables)
    res = compute_kpi("ctr", tables, START, END)
    assert not res.computable and "spend.clicks" in res.note


def test_unknown_kpi_and_bad_window():
    with pytest.raises(UnknownKPIError, match="did you mean 'roas'"):
        kpi("roass")
    with pytest.raises(ParameterError, match="after its end"):
        to_window("2025-03-02", "2025-03-01")
    with pytest.raises(ParameterError, match="unknown channel"):
        kpi("traffic", channel="radio")


def test_zero_denominator_gives_nan_with_reason():
    res = compute_kpi("aov", _tables(), "2025-05-01", "2025-05-31")
    assert not res.computable and "number of orders is 0" in res.note


def test_kpi_series_weekly_sums_match_the_window_total_and_marks_partial_weeks():
    tables = _tables()
    series = kpi_series("revenue", tables, "W", start=START, end=END)
    assert series["value"].sum() == pytest.approx(kpi("revenue").value)
    # 2025-03-01 is a Saturday: the first and last weeks are cut by the window
    assert series["partial"].tolist() == [True] + [False] * 4 + [True]
    assert series["start"].iloc[0] == pd.Timestamp("2025-03-01")
    assert series["days"].tolist() == [2, 7, 7, 7, 7, 1]
    assert series["growth"].isna().iloc[[0, 1, 5]].all()


def test_kpi_series_growth_between_full_weeks():
    ts = pd.Timestamp
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "customer_id": ["a", "b", "c", "d"],
            "timestamp": [ts("2025-03-03"), ts("2025-03-10"), ts("2025-03-11"), ts("2025-03-23")],
            "revenue": [10.0, 10.0, 20.0, 15.0],
        }
    )
    series = kpi_series("revenue", {"conversions": orders}, "W")
    assert series["value"].tolist() == [10.0, 30.0, 15.0]
    assert not series["partial"].any()
    np.testing.assert_allclose(series["growth"], [np.nan, 2.0, -0.5])


def test_kpi_series_for_brand_kpis_is_per_wave():
    series = kpi_series("awareness", _tables(), brand="Lumina")
    assert series["period"].tolist() == ["W0", "W1"]
    np.testing.assert_allclose(series["value"], [1.0, 0.75])
    assert series["growth"].iloc[1] == pytest.approx(-0.25)


def test_kpi_table_has_one_row_per_kpi():
    table = kpi_table(_tables(), START, END, brand="Lumina")
    assert table["kpi"].tolist() == list(KPIS)
    assert table.loc[table["kpi"] == "revenue", "value"].item() == pytest.approx(220.0)


def test_wilson_interval_matches_the_textbook_value_and_handles_zero_trials():
    lo, hi = wilson_interval([8, 0], [10, 0])
    # Wilson 95 % for 8/10: 0.4902 .. 0.9433
    assert lo[0] == pytest.approx(0.4902, abs=1e-4) and hi[0] == pytest.approx(0.9433, abs=1e-4)
    assert np.isnan(lo[1]) and np.isnan(hi[1])


# --------------------------------------------------------------------------------------
# The engine path: the same numbers from pandas tables and from Ibis (DuckDB) tables
# --------------------------------------------------------------------------------------
LABELS = pd.DataFrame({"customer_id": ["A", "B", "C"], "persona": ["x", "x", "y"]})
SCOPES = [
    {},
    {"channel": "social"},
    {"channel": "edm", "campaign": "spring_launch"},
    {"campaign": "spring_launch"},
    {"persona_labels": LABELS, "persona": "x"},
    {"persona_labels": LABELS, "persona": "x", "channel": "social"},
]


@quiet
def _create(con, name: str, frame: pd.DataFrame) -> ir.Table:
    """Store a frame as a table of a DuckDB database (an Ibis table, not pandas)."""
    con.con.register(f"{name}_frame", plain(frame))  # ibis 12's create_table trips on duckdb 2
    con.raw_sql(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
    return con.table(name)


def _in_duckdb(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The same world with its event tables as DuckDB tables (spend and survey stay pandas)."""
    con = ibis.duckdb.connect()
    out: dict[str, object] = dict(tables)
    for name in EVENT_TABLES:
        if name in tables:
            out[name] = _create(con, name, tables[name])
    return out


def _same(a, b) -> None:
    """Two KPIValues agree: the same numbers (float tolerance), n, window and note."""
    assert (a.name, a.n, a.start, a.end, a.note) == (b.name, b.n, b.start, b.end, b.note)
    np.testing.assert_allclose(
        [a.value, a.numerator, a.denominator], [b.value, b.numerator, b.denominator], rtol=1e-12
    )


@pytest.fixture(scope="module")
def duck():
    return _in_duckdb(_tables())


def test_ibis_tables_give_the_hand_worked_values(duck):
    assert isinstance(duck["touchpoints"], ir.Table)
    assert compute_kpi("revenue", duck, START, END).value == pytest.approx(220.0)
    assert compute_kpi("leads", duck, START, END).value == 2
    assert compute_kpi("revenue", duck, START, END, channel="social").value == pytest.approx(150)
    assert compute_kpi("engagement_rate", duck, START, END).value == 0.75
    clv = compute_kpi("clv", duck, START, END, persona_labels=LABELS, persona="x")
    assert clv.value == pytest.approx(180 * 365 / 31 / 2)
    ret = compute_kpi("retention_rate", duck, START, END)
    assert (ret.value, ret.n) == (pytest.approx(1 / 3), 3)


@pytest.mark.parametrize(
    "scope", SCOPES, ids=["all", "social", "edm-campaign", "campaign", "persona", "persona-social"]
)
def test_every_kpi_is_the_same_from_pandas_and_from_duckdb_tables(duck, scope):
    tables = _tables()
    a = kpi_table(tables, START, END, brand="Lumina", **scope)
    b = kpi_table(duck, START, END, brand="Lumina", **scope)
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    assert a["value"].notna().sum() >= 6  # not only "not computable" everywhere
    for name in ("revenue", "clv", "leads"):  # one KPI alone (its own queries) agrees too
        _same(
            compute_kpi(name, tables, START, END, **scope),
            compute_kpi(name, duck, START, END, **scope),
        )


@pytest.mark.parametrize(
    ("name", "freq", "scope"),
    [
        ("revenue", "W", {}),
        ("clv", "W", {"channel": "social"}),
        ("clv", "D", {}),
        ("leads", "W", {"persona_labels": LABELS, "persona": "x"}),
        ("conversion_rate", "W", {"channel": "social"}),
        ("retention_rate", "M", {}),
        ("engagement_rate", "W", {"campaign": "spring_launch"}),
        ("open_rate", "D", {}),
        ("traffic", "W", {"channel": "seo"}),
        ("roas", "W", {"channel": "social"}),
    ],
)
def test_kpi_series_periods_equal_the_kpi_on_each_period(duck, name, freq, scope):
    # one grouped query per reduction must give what the KPI gives on each period's window
    tables = _tables()
    window = {"start": "2025-02-27", "end": "2025-03-12" if freq == "D" else "2025-03-24"}
    series = kpi_series(name, tables, freq, **window, **scope)
    pd.testing.assert_frame_equal(series, kpi_series(name, duck, freq, **window, **scope))
    assert len(series) >= 2 and series["value"].notna().any()
    with shared_tables():
        for _, row in series.iterrows():
            one = compute_kpi(name, tables, row["start"], row["end"], **scope)
            assert row["note"] == one.note and row["n"] == one.n
            np.testing.assert_allclose(
                [row["value"], row["numerator"], row["denominator"]],
                [one.value, one.numerator, one.denominator],
                rtol=1e-12,
            )
    # the whole history, its span read from the tables
    pd.testing.assert_frame_equal(
        kpi_series(name, tables, freq, **scope), kpi_series(name, duck, freq, **scope)
    )


def _count_queries(monkeypatch) -> list[str]:
    calls: list[str] = []
    execute = ir.Expr.execute

    def counting(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(ir.Expr, "execute", counting)
    return calls


def test_kpi_series_runs_one_query_per_reduction_not_one_per_period(duck, monkeypatch):
    calls = _count_queries(monkeypatch)
    series = kpi_series("revenue", duck, "D", start="2025-03-01", end="2025-03-31")
    assert len(series) == 31
    assert series["value"].sum() == pytest.approx(220.0)
    # the orders and revenue of the 31 days: one grouped query (+ row count and date span)
    assert len(calls) == 3, calls
    for end in ("2025-03-03", "2025-03-31"):
        calls.clear()
        kpi_series("clv", duck, "D", channel="social", start="2025-03-01", end=end)
        # row counts and spans of 2 tables, orders, customer base: not one per day
        assert len(calls) == 6, calls


def test_kpi_table_shares_queries_between_kpis(duck, monkeypatch):
    calls = _count_queries(monkeypatch)
    names = ["conversions", "revenue", "aov", "roas", "roi", "cpa"]
    table = kpi_table(duck, START, END, names=names)
    assert table["value"].tolist() == pytest.approx([4, 220, 55, 220 / 180, 40 / 180, 45])
    assert len(calls) <= 2  # one orders/revenue query (+ the conversions row count)


def test_computable_reads_ibis_columns_and_counts_ibis_rows(duck):
    assert kpi_computable("clv", duck)
    no_revenue = {**duck, "conversions": duck["conversions"].drop("revenue")}
    check = kpi_computable("revenue", no_revenue)
    assert not check and "conversions.revenue" in check.reason
    empty = {**duck, "touchpoints": duck["touchpoints"].limit(0)}
    check = kpi_computable("traffic", empty)
    assert not check and "touchpoints have no rows" in check.reason
    res = compute_kpi("traffic", empty, START, END)
    assert not res.computable and "have no rows" in res.note
    assert kpi_series("traffic", empty).empty


def test_ibis_tables_with_date_and_text_columns():
    # a warehouse may type signup_date as DATE and hand timestamps as text
    tables = _tables()
    con = ibis.duckdb.connect()
    customers = _create(con, "customers", tables["customers"])
    orders = _create(con, "conversions", tables["conversions"])
    world = {
        **tables,
        "customers": customers.mutate(signup_date=customers.signup_date.date()),
        "conversions": orders.mutate(timestamp=orders.timestamp.cast("string")),
    }
    _same(compute_kpi("clv", tables, START, END), compute_kpi("clv", world, START, END))
    _same(compute_kpi("leads", tables, START, END), compute_kpi("leads", world, START, END))
    assert date_range(world["customers"], "signup_date", "customers") == (
        pd.Timestamp("2025-01-02"),
        pd.Timestamp("2025-04-01"),
    )


def test_shared_tables_hands_each_pandas_table_to_the_engine_once(monkeypatch):
    calls: list[str] = []
    to_ibis = kpis_module.to_ibis

    def counting(table, name="table", columns=None):
        calls.append(name)
        return to_ibis(table, name, columns)

    monkeypatch.setattr(kpis_module, "to_ibis", counting)
    tables = _tables()
    for _ in range(2):
        compute_kpi("revenue", tables, START, END)
    assert calls.count("conversions") == 2  # without the block: once per call
    calls.clear()
    with shared_tables():
        first = compute_kpi("revenue", tables, START, END)
        again = compute_kpi("revenue", tables, "2025-03-01", "2025-03-10")
        assert kpi_computable("clv", tables)
    assert calls.count("conversions") == 1
    assert first.value == pytest.approx(220.0) and again.value == pytest.approx(170.0)


def test_kpi_series_of_a_window_without_data_has_no_value_and_no_growth():
    """A window after the data (a plan for next year): every period is None, not an error
    (before: numpy's isfinite raised on the all-None column, failing notebook 01)."""
    series = kpi_series("aov", _tables(), "W", start="2026-03-02", end="2026-03-29")
    assert len(series) == 4
    assert series["value"].isna().all() and series["growth"].isna().all()
    waves = kpi_series("awareness", _tables(), start="2026-03-02", end="2026-03-29", brand="Lumina")
    assert waves["value"].isna().all() and waves["growth"].isna().all()
