"""Tests of imclab.review.scorecard on a tiny hand-made world with known KPI values."""

from __future__ import annotations

import math

import ibis
import pandas as pd
import pytest

from imclab.config import KPI_TIERS, KPIS
from imclab.engine import quiet
from imclab.kpis import plain
from imclab.plan import load_plan, parse_plan
from imclab.review.scorecard import (
    _first_day,
    campaign_totals,
    kpi_scope,
    kpi_tiers,
    objective_status,
    scorecard,
)

START, DEADLINE = pd.Timestamp("2025-03-03"), pd.Timestamp("2025-05-25")


def _plan(objectives):
    base = load_plan("spring_launch").model_dump(mode="json")
    base["objectives"] = objectives
    return parse_plan(base, "test plan")


OBJECTIVES = [
    {"id": "aware", "kpi": "awareness", "description": "d", "baseline": 0.2, "target": 0.3,
     "deadline": "2025-06-15"},
    {"id": "rev", "kpi": "revenue", "description": "d", "baseline": 100, "target": 250,
     "deadline": "2025-05-25"},
    {"id": "cac", "kpi": "cac", "description": "d", "baseline": 60, "target": 40,
     "deadline": "2025-05-25"},
]  # fmt: skip


@pytest.fixture()
def tiny():
    """Three customers, four orders, campaign and always-on spend, two survey waves."""
    customers = pd.DataFrame(
        {"customer_id": ["C1", "C2", "C3"], "region": ["north", "west", "south"],
         "signup_date": pd.to_datetime(["2024-01-01"] * 3)}
    )  # fmt: skip
    conversions = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "customer_id": ["C1", "C1", "C2", "C3"],
            "timestamp": pd.to_datetime(
                ["2025-02-01 10:00", "2025-03-10 12:00", "2025-04-01 09:00", "2025-06-20 09:00"]
            ),
            "revenue": [50.0, 80.0, 120.0, 999.0],
        }
    )
    spend = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-02-01", "2025-03-05", "2025-04-02", "2025-04-03"]),
            "channel": ["social", "social", "paid_search", "tv"],
            "campaign": ["always_on", "spring_launch", "spring_launch", "spring_launch"],
            "spend": [10.0, 30.0, 40.0, 30.0],
            "impressions": [100, 100, 100, 100],
            "clicks": [1, 2, 3, 0],
        }
    )
    survey = pd.DataFrame(
        {
            "respondent_id": [f"R{i}" for i in range(8)],
            "wave": ["W1"] * 4 + ["W3"] * 4,
            "fieldwork_date": pd.to_datetime(["2025-01-20"] * 4 + ["2025-06-10"] * 4),
            "period": ["pre"] * 4 + ["post"] * 4,
            "brand": "Lumina",
            "aware": [1, 0, 0, 0, 1, 1, 1, 0],
            "consider": 0, "prefer": 0, "intent": 0,
            "nps": pd.array([8, None, None, None, 9, 10, 3, None], dtype="Int64"),
            "customer_id": None,
        }
    )  # fmt: skip
    return {"customers": customers, "conversions": conversions, "spend": spend, "survey": survey}


def test_objective_status_higher_and_lower_is_better():
    review = pd.Timestamp("2025-06-30")
    assert objective_status("revenue", 260, 100, 250, review, START, DEADLINE)[0] == "met"
    status, progress, pct = objective_status("revenue", 175, 100, 250, review, START, DEADLINE)
    assert status == "missed" and progress == pytest.approx(0.5)
    assert pct == pytest.approx(0.7)
    # CAC: lower is better; 36 beats a target of 40, 50 does not
    status, progress, pct = objective_status("cac", 36, 60, 40, review, START, DEADLINE)
    assert status == "met" and progress == pytest.approx(1.2) and pct == pytest.approx(40 / 36)
    status, progress, pct = objective_status("cac", 50, 60, 40, review, START, DEADLINE)
    assert status == "missed" and progress == pytest.approx(0.5)
    assert pct == pytest.approx(0.8)


def test_objective_status_before_deadline_paces_sums_and_rates():
    # 42 of 84 days gone: revenue 130 projects to 260 >= 250 (on track); 120 -> 240 (at risk)
    mid = START + pd.Timedelta(days=41)
    assert objective_status("revenue", 130, 100, 250, mid, START, DEADLINE)[0] == "on track"
    assert objective_status("revenue", 120, 100, 250, mid, START, DEADLINE)[0] == "at risk"
    # a rate must have covered at least the elapsed half of the way from baseline to target
    assert objective_status("cac", 49, 60, 40, mid, START, DEADLINE)[0] == "on track"
    assert objective_status("cac", 55, 60, 40, mid, START, DEADLINE)[0] == "at risk"
    status, progress, pct = objective_status("cac", math.nan, 60, 40, mid, START, DEADLINE)
    assert status == "no data" and math.isnan(progress) and math.isnan(pct)


def test_kpi_scope_follows_the_catalogue():
    plan = _plan(OBJECTIVES)
    assert kpi_scope("awareness", plan) == {"brand": plan.brand}
    assert kpi_scope("roas", plan) == {"campaign": plan.name}
    assert kpi_scope("revenue", plan) == {}


def test_scorecard_known_values(tiny):
    plan = _plan(OBJECTIVES)
    card = scorecard(plan, tiny, "2025-06-30").set_index("id")
    assert list(card.index) == ["aware", "rev", "cac"]
    # awareness: the post wave only (W3 falls in campaign start..deadline): 3 of 4
    assert card.loc["aware", "actual"] == pytest.approx(0.75)
    assert card.loc["aware", "status"] == "met" and card.loc["aware", "n"] == 4
    # revenue: orders O2 and O3 in 2025-03-03..2025-05-25 (O4 is after the deadline)
    assert card.loc["rev", "actual"] == pytest.approx(200.0)
    assert card.loc["rev", "status"] == "missed"
    assert card.loc["rev", "gap"] == pytest.approx(-50.0)
    # CAC: campaign spend 100 / one new customer (C2; C1 bought before the campaign)
    assert card.loc["cac", "actual"] == pytest.approx(100.0)
    assert card.loc["cac", "status"] == "missed" and card.loc["cac", "gap"] == pytest.approx(-60)
    assert card.loc["cac", "unit"] == "currency" and card.loc["cac", "direction"] == "lower"


def test_scorecard_objective_without_data_yet(tiny):
    plan = _plan(OBJECTIVES)
    card = scorecard(plan, tiny, "2025-05-01").set_index("id")
    row = card.loc["aware"]
    assert row["status"] == "no data"
    assert "no survey respondents for brand 'Lumina'" in row["note"]
    assert "deadline 2025-06-15 not reached yet" in row["note"]
    assert card.loc["rev", "window_end"] == pd.Timestamp("2025-05-01")


def test_scorecard_missing_table_gives_no_data_with_reason(tiny):
    plan = _plan(OBJECTIVES)
    tables = {k: v for k, v in tiny.items() if k != "survey"}
    row = scorecard(plan, tables, "2025-06-30").set_index("id").loc["aware"]
    assert row["status"] == "no data" and "survey" in row["note"]


def test_scorecard_of_a_campaign_after_the_data_is_no_data_not_zero(tiny):
    """Data that ends before the campaign: revenue is not 0 (missed) but unmeasured (before,
    a plan for a period after the data showed "Revenue reached 0.00" on the index)."""
    plan = _plan(OBJECTIVES)
    early = {k: v for k, v in tiny.items() if k != "survey"}
    early["conversions"] = tiny["conversions"].iloc[:1]  # 2025-02-01 only
    early["spend"] = tiny["spend"].iloc[:1]
    row = scorecard(plan, early, "2025-06-30").set_index("id").loc["rev"]
    assert row["status"] == "no data" and math.isnan(row["actual"])
    assert (
        "the data covers 2025-02-01 to 2025-02-01, no day of 2025-03-03..2025-05-25"
        in (row["note"])
    )
    # data inside the window with no order is a measured zero
    quiet = {**early, "spend": tiny["spend"]}
    assert scorecard(plan, quiet, "2025-06-30").set_index("id").loc["rev", "actual"] == 0


def test_scorecard_persona_without_labels_is_noted(tiny):
    objectives = [{**OBJECTIVES[1], "persona": "busy professionals"}]
    card = scorecard(_plan(objectives), tiny, "2025-06-30")
    assert "no persona labels given for 'busy professionals'" in card.loc[0, "note"]
    labels = pd.DataFrame({"customer_id": ["C2"], "persona": ["busy professionals"]})
    card = scorecard(_plan(objectives), tiny, "2025-06-30", persona_labels=labels)
    assert card.loc[0, "actual"] == pytest.approx(120.0)  # C2's order only


def test_scorecard_persona_of_the_plan_is_measured_on_its_matched_persona(tiny):
    objectives = [{**OBJECTIVES[1], "persona": "busy professionals"}]
    # the persona notebook found "desktop regulars" and matched the plan persona to it
    labels = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "persona": ["bargain hunters", "desktop regulars"],
         "target": [None, "busy professionals"]}
    )  # fmt: skip
    card = scorecard(_plan(objectives), tiny, "2025-06-30", persona_labels=labels)
    assert card.loc[0, "actual"] == pytest.approx(120.0)  # C2's order only
    assert "measured on the found persona desktop regulars" in card.loc[0, "note"]
    unmatched = labels.assign(target=None)
    card = scorecard(_plan(objectives), tiny, "2025-06-30", persona_labels=unmatched)
    note = card.loc[0, "note"]
    assert "matches none of the found personas (bargain hunters, desktop regulars)" in note


def test_kpi_tiers_cover_the_catalogue(tiny):
    tiers = kpi_tiers(_plan(OBJECTIVES), tiny, "2025-06-30")
    assert list(tiers["kpi"]) == list(KPIS)
    assert list(dict.fromkeys(tiers["tier"])) == list(KPI_TIERS)
    aware = tiers.set_index("kpi").loc["awareness"]
    assert aware["before"] == pytest.approx(0.25) and aware["during"] == pytest.approx(0.75)
    assert bool(aware["improved"])
    # 30 days of data before the campaign (from 02-01): both windows are 30 days long
    revenue = tiers.set_index("kpi").loc["revenue"]
    assert revenue["before"] == pytest.approx(50.0)  # O1
    assert revenue["during"] == pytest.approx(200.0)  # O2 (03-10), O3 (04-01), not O4 (06-20)
    assert (
        "30 days each: before 2025-02-01..2025-03-02, during 2025-03-03..2025-04-01 "
        "(first 30 of the campaign's 84 days)"
    ) in revenue["note"]
    assert tiers.attrs["windows"]["during"] == (START, pd.Timestamp("2025-04-01"))


def test_campaign_totals_roi_definition(tiny):
    totals = campaign_totals(_plan(OBJECTIVES), tiny)
    assert totals["spend"] == pytest.approx(100.0)
    assert totals["revenue"] == pytest.approx(200.0)
    assert totals["roi"] == pytest.approx((200 - 100) / 100)
    assert totals["roas"] == pytest.approx(2.0)


def test_kpi_tiers_spend_kpis_compare_like_with_like(tiny):
    # Always-on media also runs during the campaign: before and during both count all media,
    # so the change is not an artefact of switching from all spend to campaign spend.
    tables = dict(tiny)
    extra = tiny["spend"].iloc[[0]].assign(date=pd.Timestamp("2025-03-20"), spend=50.0)
    tables["spend"] = pd.concat([tiny["spend"], extra], ignore_index=True)
    tiers = kpi_tiers(_plan(OBJECTIVES), tables, "2025-06-30").set_index("kpi")
    # during (the campaign's first 30 days, as long as the data before it): revenue 200
    # (O2, O3) / all media 30 (campaign, 03-05) + 50 (always-on, 03-20) = 80
    assert tiers.loc["roas", "during"] == pytest.approx(200 / 80)
    # before: revenue 50 (O1) / always-on 10
    assert tiers.loc["roas", "before"] == pytest.approx(5.0)
    assert tiers.loc["cpa", "during"] == pytest.approx(80 / 2)
    assert "all media spend before and during" in tiers.loc["roas", "note"]
    # the scorecard's campaign totals keep the campaign's own spend
    assert campaign_totals(_plan(OBJECTIVES), tables)["spend"] == pytest.approx(100.0)


def test_kpi_tiers_compare_windows_of_equal_length():
    # A steady business, nothing changes at the launch: one order a day, each of 60 customers
    # ordering every 60 days. With 40 days of data before the 84-day campaign, a 40-day
    # "before" (no one orders twice) against the whole campaign (some order twice) showed a
    # rise of the repeat-purchase rate that was only the longer window; equal 40-day windows
    # show no change.
    plan = _plan(OBJECTIVES)
    ids = [f"C{i:02d}" for i in range(60)]
    first = pd.Timestamp("2025-01-22")  # 40 days before the 2025-03-03 launch
    orders = [
        (cid, first + pd.Timedelta(days=i + 60 * k, hours=12))
        for i, cid in enumerate(ids)
        for k in range(4)
    ]
    tables = {
        "customers": pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2025-01-01")}),
        "conversions": pd.DataFrame(
            {
                "order_id": [f"O{i}" for i in range(len(orders))],
                "customer_id": [c for c, _ in orders],
                "timestamp": [t for _, t in orders],
                "revenue": 50.0,
            }
        ),
    }
    names = ["retention_rate", "clv", "revenue", "conversions"]
    tiers = kpi_tiers(plan, tables, "2025-06-30", names=names)
    t = tiers.set_index("kpi")
    assert t.loc["retention_rate", "before"] == 0.0
    assert t.loc["retention_rate", "during"] == 0.0
    for kpi in names:
        assert t.loc[kpi, "change"] == pytest.approx(0.0), kpi
        assert not t.loc[kpi, "improved"]
    assert t.loc["conversions", "before"] == 40
    assert t.loc["clv", "before"] == pytest.approx(40 * 50.0 * 365 / 40 / 60)
    assert tiers.attrs["windows"] == {
        "before": (first, START - pd.Timedelta(days=1)),
        "during": (START, START + pd.Timedelta(days=39)),
    }


@quiet
def _in_duckdb(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The event tables as tables of a DuckDB database (Ibis tables); spend, survey stay pandas."""
    con = ibis.duckdb.connect()
    out: dict[str, object] = dict(tables)
    for name in ("customers", "touchpoints", "conversions"):
        if name in tables:
            con.con.register(f"{name}_frame", plain(tables[name]))  # ibis 12 + duckdb 2
            con.raw_sql(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
            out[name] = con.table(name)
    return out


def test_scorecard_tiers_and_totals_are_the_same_from_ibis_tables(tiny):
    plan = _plan([*OBJECTIVES, {**OBJECTIVES[1], "id": "rev_p", "persona": "busy professionals"}])
    labels = pd.DataFrame({"customer_id": ["C2"], "persona": ["busy professionals"]})
    duck = _in_duckdb(tiny)
    assert isinstance(duck["conversions"], ibis.expr.types.Table)
    card = scorecard(plan, duck, "2025-06-30", persona_labels=labels)
    pd.testing.assert_frame_equal(
        card, scorecard(plan, tiny, "2025-06-30", persona_labels=labels), rtol=1e-12
    )
    assert card.set_index("id").loc["rev_p", "actual"] == pytest.approx(120.0)
    tiers = kpi_tiers(plan, duck, "2025-06-30")
    pd.testing.assert_frame_equal(tiers, kpi_tiers(plan, tiny, "2025-06-30"), rtol=1e-12)
    # the first day of data (an engine min over the Ibis tables) sets the 30-day windows
    assert tiers.attrs["windows"]["before"] == (
        pd.Timestamp("2025-02-01"),
        START - pd.Timedelta(days=1),
    )
    totals = campaign_totals(plan, duck)
    assert totals == pytest.approx(campaign_totals(plan, tiny))
    assert totals["revenue"] == pytest.approx(200.0)


def test_first_day_reads_ibis_tables_and_skips_empty_ones(tiny):
    duck = _in_duckdb(tiny)
    assert _first_day(duck) == pd.Timestamp("2025-02-01")
    later = dict(tiny)
    later["spend"] = tiny["spend"].iloc[1:]
    later["conversions"] = tiny["conversions"].iloc[1:]  # from 2025-03-10
    assert _first_day(_in_duckdb(later)) == pd.Timestamp("2025-03-05")  # spend's first day
    empty = {**_in_duckdb(later), "conversions": duck["conversions"].limit(0)}
    assert _first_day(empty) == pd.Timestamp("2025-03-05")
    assert _first_day({}) is None
