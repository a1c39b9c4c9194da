"""SMART check of plan objectives on a hand-made world with a known history."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import ibis
import pandas as pd
import pytest

from imclab.engine import quiet
from imclab.kpis import plain
from imclab.plan import parse_plan
from imclab.situation.smart import objective_baselines, smart_check, smart_matrix, smart_warnings

T = pd.Timestamp
BASELINE = ("2025-01-06", "2025-03-02")  # 8 full weeks, Monday .. Sunday


def _plan(*objectives):
    return parse_plan(
        {
            "name": "test",
            "title": "Test campaign",
            "brand": "Ours",
            "competitors": ["Rival"],
            "start": "2025-03-03",
            "end": "2025-03-30",  # 28 days
            "currency": "EUR",
            "phases": [
                {"name": "launch", "start": "2025-03-03", "end": "2025-03-30",
                 "channels": ["social", "edm"], "budget": {"social": 100}}
            ],
            "budget": {"total": 100, "by_channel": {"social": 100}},
            "target_personas": [{"name": "young", "description": "", "traits": {}}],
            "message_house": {"core_message": "x", "pillars": ["y"]},
            "objectives": list(objectives),
        }
    )  # fmt: skip


def _objective(id_, kpi, baseline, target, deadline="2025-03-30", **extra):
    return {"id": id_, "kpi": kpi, "description": id_, "baseline": baseline, "target": target,
            "deadline": deadline, **extra}  # fmt: skip


def _tables():
    """Weekly revenue alternates 700 / 770 (+10 %, -9.1 %): one 100 or 110 order a day."""
    rows = []
    for i, day in enumerate(pd.date_range(BASELINE[0], BASELINE[1], freq="D")):
        value = 100.0 if (i // 7) % 2 == 0 else 110.0
        rows.append((f"O{i}", f"C{i}", day + pd.Timedelta(hours=12), value))
    conversions = pd.DataFrame(rows, columns=["order_id", "customer_id", "timestamp", "revenue"])
    survey = pd.DataFrame(
        {
            "respondent_id": [f"R{i}" for i in range(20)],
            "wave": ["W1"] * 10 + ["W2"] * 10,
            "fieldwork_date": [T("2025-01-20")] * 10 + [T("2025-02-20")] * 10,
            "period": ["pre"] * 20,
            "brand": ["Ours"] * 20,
            "aware": [1] * 3 + [0] * 7 + [1] * 4 + [0] * 6,
            "consider": [0] * 20,
            "prefer": [0] * 20,
            "intent": [0] * 20,
            "nps": pd.array([pd.NA] * 20, dtype="Int64"),
        }
    )
    touchpoints = pd.DataFrame(  # EDM opens but no sends: the open rate has no denominator
        {"event_id": ["E1"], "customer_id": ["C1"], "timestamp": [T("2025-01-10 09:00")],
         "channel": ["edm"], "campaign": ["always_on"], "interaction": ["open"], "cost": [0.0]}
    )  # fmt: skip
    return {"conversions": conversions, "survey": survey, "touchpoints": touchpoints}


def _status(check, objective, letter):
    row = check.loc[(check["objective"] == objective) & (check["letter"] == letter)]
    return row["status"].item(), row["reason"].item()


def test_baselines_scale_sums_to_the_campaign_length():
    plan = _plan(_objective("rev", "revenue", 2940, 3100), _objective("aw", "awareness", 0.35, 0.5))
    base = objective_baselines(plan, _tables(), *BASELINE).set_index("objective")
    # 56 days: 4 x 700 + 4 x 770 = 5880 -> 105 a day x 28 campaign days
    assert base.loc["rev", "data_baseline"] == pytest.approx(2940.0)
    assert "scaled from 56 baseline days to the 28 campaign days" in base.loc["rev", "note"]
    assert base.loc["aw", "data_baseline"] == pytest.approx(7 / 20)


def test_achievable_passes_when_growth_was_common_and_fails_when_never_seen():
    plan = _plan(
        _objective("easy", "revenue", 2940, 3100),  # needs +5.4 %: seen in 4 of 7 weeks
        _objective("hard", "revenue", 2940, 4000),  # needs +36 %: never seen
        _objective("done", "revenue", 2940, 2950),
    )
    check = smart_check(plan, _tables(), *BASELINE)
    status, reason = _status(check, "easy", "A")
    assert status == "pass" and "seen in 4 of 7" in reason
    status, reason = _status(check, "hard", "A")
    assert status == "fail" and "never seen" in reason and "outside the historical range" in reason
    status, _ = _status(check, "done", "A")
    assert status == "pass"  # +0.3 % is within the weekly swings


def test_target_already_met_is_no_stretch():
    plan = _plan(_objective("met", "revenue", 2000, 2500))
    status, reason = _status(smart_check(plan, _tables(), *BASELINE), "met", "A")
    assert status == "warn" and "already met" in reason


def test_measurable_warns_on_a_wrong_plan_baseline_and_short_history():
    plan = _plan(_objective("aw", "awareness", 0.60, 0.70, persona="young"))
    check = smart_check(plan, _tables(), *BASELINE)
    status, reason = _status(check, "aw", "M")
    assert status == "warn" and "plan says 60.0%" in reason and "re-base" in reason
    assert "without persona labels" in reason
    status, reason = _status(check, "aw", "A")
    assert status == "warn" and "too little history" in reason
    assert _status(check, "aw", "R")[0] == "pass"


def test_objective_whose_kpi_cannot_be_computed_is_a_fail_with_the_reason():
    plan = _plan(
        _objective("open", "open_rate", 0.2, 0.25, channel="edm"),
        _objective("ctr", "ctr", 0.01, 0.02),
    )
    check = smart_check(plan, _tables(), *BASELINE)
    status, reason = _status(check, "open", "M")
    assert status == "fail" and "table(s) spend not in the data" in reason  # EDM sends
    status, reason = _status(check, "ctr", "M")
    assert status == "fail" and "table(s) spend not in the data" in reason
    assert _status(check, "ctr", "A")[0] == "fail"
    assert len(check) == 2 * 5  # every letter of every objective has a row
    worst = smart_warnings(check)
    assert worst["status"].iloc[0] == "fail" and set(worst["status"]) <= {"fail", "warn"}


def test_relevant_and_time_bound():
    plan = _plan(
        _objective("rev", "revenue", 2940, 3100, funnel_stage="awareness"),
        _objective("late", "revenue", 2940, 3100, deadline="2025-05-01", persona="young"),
    )
    check = smart_check(plan, _tables(), *BASELINE)
    status, reason = _status(check, "rev", "R")
    assert status == "warn" and "measures converted, not awareness" in reason
    assert "not tied to a target persona" in reason
    status, reason = _status(check, "late", "T")
    assert status == "pass" and "post-campaign measurement window" in reason
    matrix = smart_matrix(check)
    assert list(matrix.columns) == ["kpi", "S", "M", "A", "R", "T", "passed"]
    # M warns: the persona cannot be measured without persona labels
    assert matrix.loc["late"].tolist() == ["revenue", "pass", "warn", "pass", "pass", "pass", 4]


def test_unvalidated_objectives_fail_specific_relevant_and_time_bound():
    # A plan-like object that skipped validation (e.g. built in code).
    plan = _plan(_objective("rev", "revenue", 2940, 3100))
    bad = SimpleNamespace(
        id="bad", kpi="mindshare", description="", baseline=1.0, target=2.0,
        deadline=dt.date(2025, 12, 31), funnel_stage="awareness", persona="nobody", channel=None,
    )  # fmt: skip
    fake = SimpleNamespace(
        objectives=[bad], brand="Ours", days=plan.days, start=plan.start, end=plan.end,
        measurement_end=plan.measurement_end, target_personas=plan.target_personas,
    )  # fmt: skip
    check = smart_check(fake, _tables(), *BASELINE)
    assert _status(check, "bad", "S") == ("fail", "KPI 'mindshare' is not in the KPI catalogue")
    assert _status(check, "bad", "M")[0] == "fail"
    status, reason = _status(check, "bad", "R")
    assert status == "fail" and "'nobody' is not a target persona" in reason
    status, reason = _status(check, "bad", "T")
    assert status == "fail" and "outside the campaign" in reason


@quiet
def _in_duckdb(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The event tables as tables of a DuckDB database (Ibis tables); the survey stays pandas."""
    con = ibis.duckdb.connect()
    out: dict[str, object] = dict(tables)
    for name in ("touchpoints", "conversions"):
        con.con.register(f"{name}_frame", plain(tables[name]))  # ibis 12 + duckdb 2
        con.raw_sql(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        out[name] = con.table(name)
    return out


def test_smart_check_is_the_same_from_ibis_tables():
    plan = _plan(
        _objective("easy", "revenue", 2940, 3100),
        _objective("hard", "revenue", 2940, 4000, persona="young"),
        _objective("aw", "awareness", 0.35, 0.5),
        _objective("open", "open_rate", 0.2, 0.25, channel="edm"),
    )
    labels = pd.DataFrame({"customer_id": [f"C{i}" for i in range(0, 56, 2)], "persona": "young"})
    tables = _tables()
    duck = _in_duckdb(tables)
    check = smart_check(plan, duck, *BASELINE, persona_labels=labels)
    pd.testing.assert_frame_equal(
        check, smart_check(plan, tables, *BASELINE, persona_labels=labels)
    )
    assert _status(check, "easy", "A") == _status(smart_check(plan, tables, *BASELINE), "easy", "A")
    assert "seen in 4 of 7" in _status(check, "easy", "A")[1]
    base = objective_baselines(plan, duck, *BASELINE, persona_labels=labels).set_index("objective")
    assert base.loc["easy", "data_baseline"] == pytest.approx(2940.0)
    # the persona holds customers C0, C2, ..: 4 orders in even weeks (100 each), 3 in odd
    # weeks (110 each) -> 4 x 400 + 4 x 330 = 2920 in 56 days, x 28 / 56
    assert base.loc["hard", "data_baseline"] == pytest.approx(1460.0)
