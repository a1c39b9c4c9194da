"""Audit tables on hand-made worlds with known volumes, gaps, duplicates and silos."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import audit
from imclab.data.load import load_world

AS_OF = "2025-07-01"


def with_rows(text: str, *rows: str) -> str:
    return text + "".join(r + "\n" for r in rows)


@pytest.fixture
def dirty_world(make_world, valid_csv):
    touchpoints = with_rows(
        valid_csv["touchpoints"],
        "E6,C1,2025-03-01T10:00:00,social,spring_launch,impression,0.01",  # double tracking
        "E7,C99,2025-03-12T10:00:00,seo,organic,visit,0",  # unknown customer
        "E1,C1,2025-03-12T10:00:00,seo,organic,visit,0",  # duplicate event id
        "E8,C2,2025-03-12T10:00:00,seo,,visit,0",  # missing campaign
        "E9,C2,2025-03-20T10:00:00,seo,organic,visit,-1",  # negative cost
    )
    customers = with_rows(
        valid_csv["customers"],
        "C4,2025-02-02,,female,north,tier1,mobile,,true,false,3.5,4.0,0.2",  # 2 missing attrs
    )
    return load_world(make_world(touchpoints=touchpoints, customers=customers), as_of=AS_OF)


def test_rows_per_table(dirty_world):
    rows = audit.rows_per_table(dirty_world).set_index("table")
    assert rows.loc["touchpoints", ["rows_read", "rows_loaded", "rows_quarantined"]].tolist() == [
        10,
        6,
        4,
    ]
    assert rows.loc["touchpoints", "share_quarantined"] == pytest.approx(0.4)
    assert rows.loc["customers", "rows_loaded"] == 4
    assert (rows["rows_loaded"] + rows["rows_quarantined"] == rows["rows_read"]).all()


def test_rows_per_table_lists_absent_tables(make_world):
    world = load_world(make_world(survey=None), as_of=AS_OF)
    rows = audit.rows_per_table(world).set_index("table")
    assert not rows.loc["survey", "present"]
    assert rows.loc["survey", ["rows_read", "share_quarantined"]].tolist() == [0, 0.0]


def test_date_coverage_counts_days_without_rows(dirty_world):
    cov = audit.date_coverage(dirty_world).set_index("table")
    tp = cov.loc["touchpoints"]
    # kept touches on 03-01, 03-02, 03-03, 03-10 (the 03-12 and 03-20 rows were refused)
    assert (tp["first"], tp["last"]) == (pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-10"))
    assert (tp["days"], tp["days_with_rows"], tp["days_without_rows"]) == (10, 4, 6)
    assert cov.loc["ab_tests", "column"] == "start_date"
    assert "creatives" not in cov.index
    assert list(cov.index) == ["customers", "touchpoints", "conversions", "spend", "survey",
                               "ab_tests"]  # fmt: skip


def test_missing_values_loaded_and_quarantined(dirty_world):
    miss = audit.missing_values(dirty_world).set_index(["table", "column"])
    assert miss.loc[("customers", "age"), "missing_loaded"] == 1
    assert miss.loc[("customers", "income_band"), "missing_loaded"] == 1
    assert miss.loc[("customers", "age"), "share_missing"] == pytest.approx(0.25)
    campaign = miss.loc[("touchpoints", "campaign")]
    assert (campaign["missing_loaded"], campaign["missing_quarantined"]) == (0, 1)
    assert campaign["share_missing"] == pytest.approx(0.1)
    assert not campaign["nullable"]
    assert miss.loc[("survey", "nps"), "missing_loaded"] == 1
    assert miss.loc[("survey", "customer_id"), "missing_loaded"] == 1


def test_duplicates_keys_and_double_records(dirty_world):
    dup = audit.duplicates(dirty_world).set_index("table")
    assert dup.loc["touchpoints", "key"] == "event_id"
    assert dup.loc["touchpoints", "duplicate_keys"] == 1
    assert dup.loc["touchpoints", "exact_duplicates"] == 1  # E6 repeats E1 but for its id
    assert dup.loc["conversions", ["duplicate_keys", "exact_duplicates"]].tolist() == [0, 0]
    assert dup.loc["spend", "key"] == "date, channel, campaign"


def test_quarantine_reasons_summary(dirty_world):
    reasons = audit.quarantine_reasons(dirty_world)
    assert list(reasons.columns) == ["table", "file", "column", "reason", "rows"]
    assert len(reasons) == 4 and (reasons["table"] == "touchpoints").all()
    by_column = reasons.set_index("column")
    assert by_column.loc["customer_id", "reason"].startswith("unknown customer")
    assert by_column.loc["event_id", "reason"].startswith("duplicate event_id")
    assert by_column["rows"].sum() == 4
    assert audit.quarantine_reasons(dirty_world.quarantine).equals(reasons)
    empty = audit.quarantine_reasons(dirty_world.quarantine.iloc[0:0])
    assert empty.empty and list(empty.columns) == list(reasons.columns)


def test_identity_match_rate(dirty_world):
    ident = audit.identity_match(dirty_world).set_index("table")
    assert list(ident.index) == ["touchpoints", "conversions", "survey"]
    # touchpoints: 8 rows passed the cell checks (E8, E9 did not), E7's C99 is unknown
    assert ident.loc["touchpoints", ["rows", "matched", "unmatched"]].tolist() == [8, 7, 1]
    assert ident.loc["touchpoints", "match_rate"] == pytest.approx(7 / 8)
    assert ident.loc["conversions", "match_rate"] == 1.0
    # survey: C1 twice, one empty id and one unknown C99
    assert ident.loc["survey", ["rows", "matched"]].tolist() == [4, 2]


def test_weekly_events_zero_fills_gaps(make_world, valid_csv):
    touchpoints = with_rows(
        valid_csv["touchpoints"], "E6,C1,2025-03-26T10:00:00,social,spring_launch,click,0.5"
    )
    world = load_world(make_world(touchpoints=touchpoints), as_of=AS_OF)
    weekly = audit.weekly_events(world)
    weeks = pd.to_datetime(["2025-02-24", "2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24"])
    assert list(weekly["channel"].cat.categories) == ["paid_search", "seo", "social", "edm"]
    assert len(weekly) == 4 * 5
    social = weekly[weekly["channel"] == "social"].set_index("week")["events"]
    assert social.reindex(weeks).tolist() == [2, 0, 0, 0, 1]
    assert weekly["events"].sum() == 6
    full = weekly.drop_duplicates("week").set_index("week")["full_week"]
    assert full.tolist() == [False, True, True, True, False]
    spend = audit.weekly_events(world, table="spend")
    assert spend["events"].sum() == 3


def test_audit_on_the_sample_world(sample_dir):
    world = load_world(sample_dir, as_of=AS_OF)
    ident = audit.identity_match(world).set_index("table")
    assert ident.loc["touchpoints", "unmatched"] == 1  # the documented unknown customer
    assert ident.loc["conversions", "match_rate"] == 1.0
    assert 0 < ident.loc["survey", "match_rate"] < 1  # most respondents are not customers
    weekly = audit.weekly_events(world)
    assert weekly["events"].sum() == len(world.touchpoints)
    cov = audit.date_coverage(world).set_index("table")
    assert cov.loc["touchpoints", "days_without_rows"] == 0
    dup = audit.duplicates(world).set_index("table")["duplicate_keys"]
    assert (dup["touchpoints"], dup["conversions"], dup.sum()) == (1, 1, 2)
    reasons = audit.quarantine_reasons(world)
    assert reasons["rows"].sum() == 10


@pytest.fixture(scope="module")
def engine_world(sample_dir):
    """The sample opened on DuckDB as an engine: event tables stay Ibis tables."""
    from imclab.warehouse import open_world

    return open_world(sample_dir, lazy=True, as_of="2025-06-30")


@pytest.mark.parametrize(
    "name",
    [
        "rows_per_table",
        "date_coverage",
        "missing_values",
        "duplicates",
        "identity_match",
        "weekly_events",
    ],
)
def test_engine_world_audit_equals_loaded_world(engine_world, name):
    loaded = load_world(engine_world.source, as_of="2025-06-30", tables=list(engine_world.tables))
    pd.testing.assert_frame_equal(getattr(audit, name)(engine_world), getattr(audit, name)(loaded))


def test_engine_world_quarantine_reasons_count_every_excluded_row(engine_world, sample_dir):
    reasons = audit.quarantine_reasons(engine_world)
    faults = pd.read_csv(sample_dir / "truth" / "faults.csv")
    assert reasons["rows"].sum() == len(faults)
    assert reasons.groupby("table")["rows"].sum().to_dict() == (
        faults.groupby("table").size().to_dict()
    )
    assert list(reasons["rows"]) == sorted(reasons["rows"], reverse=True)
