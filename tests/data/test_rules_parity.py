"""One rule set, two paths: the file loader and the DuckDB engine refuse and keep the same."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from imclab.data import audit, load_world
from imclab.warehouse import open_world

from .conftest import CUSTOMERS_HEADER, SURVEY_HEADER

AS_OF = "2025-07-01"
CUSTOMERS = CUSTOMERS_HEADER + (
    "\nC1,2025-01-05,34,female,north,tier1,mobile,middle,true,false,3.5,4.0,0.2"
    "\nC2,2025-01-06,51,male,south,tier2,desktop,high,false,true,2.0,3.0,0.0"
    # a refused customer row (age out of range): its touches are "customer row quarantined"
    "\nC3,2025-02-01,140,other,east,tier3,tablet,low,true,true,1.0,2.0,0.5"
    # two bad cells in one row (an unknown gender and a rate above 1), trimmed allowed values
    "\nC4,2025-02-02,30,robot, west ,tier1,mobile , low,false,false,1.0,2.0,1.5"
    "\n C5 ,2025-02-03,22,female , north,tier2,desktop,middle,TRUE,false,1.0,2.0,0.1"
    "\n"
)
TOUCHPOINTS = """event_id,customer_id,timestamp,channel,campaign,interaction,cost
E1,C1,2025-03-01T09:00:00,seo,organic,visit,0
E1,C1,2025-03-01T10:00:00,social,spring_launch,impression,0.01
E2,C3,2025-03-01T10:05:00,social,spring_launch,click,0.5
E3,C9,2025-03-02T09:00:00,seo,organic,visit,0
E4,C2,2025-13-03T10:00:00, email ,always_on,open,-1
E5,C2,2025-03-03T10:00:00, edm ,always_on,open,0
E6,C5,2025-03-10T18:30:00+02:00,paid_search,spring_launch,click,1.2
E7,C1,1850-03-10T18:30:00,paid_search,spring_launch,click,1.2
E8,C1,2031-03-10T18:30:00,Social,spring_launch,click,x
E9,,2025-03-10T18:30:00,paid_search,, click ,inf
E10,C1,2025-03-11T18:30:00,paid_search,spring_launch,click,0.3
E10,C2,2025-03-11T18:30:00,paid_search,spring_launch,click,0.3
"""
CONVERSIONS = """order_id,customer_id,timestamp,revenue
O1,C1,2025-03-02T11:00:00,50
O2,C3,2025-03-05T12:00:00,60.5
O3,C7,2025-03-05T12:00:00,-5
O4, C2 ,2025-03-06T12:00:00,10
"""
SPEND = """date,channel,campaign,spend,impressions,clicks
2025-03-01,social,spring_launch,90,900,45
2025-03-01,social,spring_launch,100,1000,50
2025-03-02, edm ,always_on,10,500,600
2025-03-03,tiktok,always_on,-3,1.5,1
"""


def write_hostile(folder):
    """Write the hostile world's four required tables to ``folder`` and return it."""
    for name, text in (
        ("customers", CUSTOMERS),
        ("touchpoints", TOUCHPOINTS),
        ("conversions", CONVERSIONS),
        ("spend", SPEND),
    ):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The hostile world through the file loader and through DuckDB as an engine."""
    folder = write_hostile(tmp_path_factory.mktemp("hostile"))
    loaded = load_world(folder, as_of=AS_OF)
    engine = open_world(folder, lazy=True, as_of=AS_OF, examples=1000)
    return loaded, engine


def rows_of(table) -> pd.DataFrame:
    frame = table if isinstance(table, pd.DataFrame) else table.execute()
    frame = frame.astype({c: "object" for c in frame.columns if str(frame[c].dtype) == "category"})
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
    frame = frame.astype({c: "datetime64[ns]" for c in frame.columns if frame[c].dtype.kind == "M"})
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def lines_of(quarantine: pd.DataFrame) -> list[tuple]:
    frame = quarantine[["file", "column", "value", "reason"]].astype("object")
    return sorted(frame.where(frame.notna(), None).itertuples(index=False, name=None), key=str)


def test_both_paths_keep_the_same_clean_rows(both):
    loaded, engine = both
    for name in ("customers", "touchpoints", "conversions", "spend"):
        pd.testing.assert_frame_equal(
            rows_of(engine.tables[name]), rows_of(loaded.tables[name]), check_dtype=False, obj=name
        )


def test_both_paths_write_the_same_quarantine_lines(both):
    loaded, engine = both
    assert lines_of(engine.quarantine) == lines_of(loaded.quarantine)
    for name, rep in loaded.report.tables.items():
        other = engine.report.tables[name]
        assert (other.rows_read, other.rows_loaded, other.rows_quarantined, other.faults) == (
            rep.rows_read, rep.rows_loaded, rep.rows_quarantined, rep.faults,
        ), name  # fmt: skip


def without_row_numbers(message: str) -> str:
    """The message as a table without row numbers words it: the count alone."""
    return re.sub(
        r" (?:row \d+|rows [\d, .]+ (\([\d,]+ rows\))): ",
        lambda m: f" {m.group(1) or '(1 row)'}: ",
        message,
        count=1,
    )


def test_both_paths_word_the_same_report_messages(both):
    """One report builder: the same sentence, count and values per file, column and reason,
    in the same order; only a file can name its rows."""
    loaded, engine = both
    assert len(loaded.report.messages) == 22
    assert engine.report.messages == [without_row_numbers(m) for m in loaded.report.messages]
    assert "touchpoints.csv: column 'channel' rows 5, 9 (2 rows): unknown channel ' email ', " in (
        "\n".join(loaded.report.messages)
    )
    assert "spend.csv: column 'clicks' (1 row): clicks greater than impressions ('600 > 500'; " in (
        "\n".join(engine.report.messages)
    )


def test_messages_count_every_fault_not_the_examples(tmp_path):
    """The engine keeps a few example lines, its messages still count every faulty cell and
    quote the most frequent values; two rules with one wording (below and above a range) give
    one message on both paths."""
    folder = write_hostile(tmp_path)
    (folder / "customers.csv").write_text(
        CUSTOMERS + "C6,2025-02-03,12,female,north,tier2,desktop,middle,true,false,1.0,2.0,0.1\n",
        encoding="utf-8",
    )
    costs = ["x", "x", "y", "inf", "x", "nan", "y", "z", "w"]
    (folder / "touchpoints.csv").write_text(
        "event_id,customer_id,timestamp,channel,campaign,interaction,cost\n"
        + "".join(
            f"E{i},C1,2025-03-01T10:00:00,social,spring_launch,click,{cost}\n"
            for i, cost in enumerate(costs)
        ),
        encoding="utf-8",
    )
    loaded = load_world(folder, as_of=AS_OF, tables=["customers", "touchpoints"])
    engine = open_world(
        folder, lazy=True, as_of=AS_OF, tables=["customers", "touchpoints"], examples=1
    )
    assert len(engine.quarantine[engine.quarantine["file"] == "touchpoints.csv"]) == 1
    assert engine.report.messages == [without_row_numbers(m) for m in loaded.report.messages]
    assert (
        "touchpoints.csv: column 'cost' (9 rows): cannot parse 'x', 'y', 'inf' and 3 other "
        "values as a number;" in "\n".join(engine.report.messages)
    )
    assert (
        "customers.csv: column 'age' rows 3, 6 (2 rows): value '12', '140' out of range "
        "(expected 16..100)" in loaded.report.messages
    )


def test_a_row_with_two_faults_counts_once_by_its_first_on_both_paths(tmp_path):
    """Rule 4: the quarantine names every fault of a row, the counts count the row once, by
    its first fault in the order of the checks (cells in contract order, then the pairs)."""
    folder = write_hostile(tmp_path)
    (folder / "survey.csv").write_text(
        SURVEY_HEADER + "\nR1,W1,2025-01-20,pre,Lumina,0,1,0,0,11,C1"  # consider > aware; nps
        "\nR2,W1,2025-01-20,pre,Lumina,1,1,0,0,5,C2\n",
        encoding="utf-8",
    )
    loaded = load_world(folder, as_of=AS_OF)
    engine = open_world(folder, lazy=True, as_of=AS_OF)
    survey = loaded.quarantine[loaded.quarantine["file"] == "survey.csv"]
    assert survey["column"].tolist() == ["nps", "consider"]  # one row, two lines, checks' order
    reasons = audit.quarantine_reasons(loaded)
    pd.testing.assert_frame_equal(reasons, audit.quarantine_reasons(engine))
    pd.testing.assert_frame_equal(audit.quarantine_reasons(loaded.quarantine), reasons)
    by_table = reasons.groupby("table")["rows"].sum().to_dict()
    assert by_table == {t: r.rows_quarantined for t, r in loaded.report.tables.items()
                        if r.rows_quarantined}  # fmt: skip
    picked = reasons[reasons["table"].isin(["customers", "survey"])]
    assert picked[["column", "reason", "rows"]].values.tolist() == [
        ["age", "out of range (expected 16..100)", 1],
        ["gender", "unknown gender (expected one of: female, male, other)", 1],
        ["nps", "out of range (expected 0..10)", 1],
    ]
    pd.testing.assert_frame_equal(audit.missing_values(loaded), audit.missing_values(engine))


def test_the_decided_rules_hold_on_both_paths(both):
    loaded, engine = both
    for world in (loaded, engine):
        q = world.quarantine
        tp = rows_of(world.tables["touchpoints"])
        # padded allowed values are the allowed value, trimmed in the clean table
        assert "E5" in set(tp["event_id"]) and "edm" in set(tp["channel"])
        assert set(rows_of(world.tables["customers"])["customer_id"]) == {"C1", "C2", "C5"}
        # the first row of a repeated key in file order is kept (file order = sort order here)
        e1 = tp[tp["event_id"] == "E1"]
        assert e1["channel"].tolist() == ["seo"]
        # a row with two bad cells has two lines, counted once
        c4 = q[(q["file"] == "customers.csv") & (q["value"].isin(["robot", "1.5"]))]
        assert sorted(c4["column"]) == ["discount_usage_rate", "gender"]
        assert world.report.tables["customers"].rows_quarantined == 2
        # orphans: a refused customer row and an unknown customer are told apart
        reasons = set(q.loc[q["file"] == "touchpoints.csv", "reason"])
        assert "customer row quarantined in customers.csv" in reasons
        assert "unknown customer (customer_id not in customers.csv)" in reasons
        # 'Social' is not 'social': allowed values are case-sensitive
        assert "Social" in set(q["value"])
    counted = engine.excluded.groupby("table")["rows"].sum()
    assert counted["customers"] == 2
    assert counted.to_dict() == {
        t: r.rows_quarantined for t, r in loaded.report.tables.items() if r.rows_quarantined
    }


def test_duplicate_keys_keep_the_first_in_source_order(tmp_path):
    """A file keeps its first row of a key; a warehouse table the first in the sort of all
    columns (contracts.duplicates_ranked), here a later row of the file."""
    folder = write_hostile(tmp_path)
    (folder / "touchpoints.csv").write_text(
        "event_id,customer_id,timestamp,channel,campaign,interaction,cost\n"
        "E1,C2,2025-03-01T10:00:00,social,spring_launch,click,0.5\n"
        "E1,C1,2025-03-01T11:00:00,seo,organic,visit,0\n",
        encoding="utf-8",
    )
    loaded = load_world(folder, as_of=AS_OF, tables=["touchpoints"])
    engine = open_world(folder, lazy=True, as_of=AS_OF, tables=["touchpoints"])
    assert loaded.touchpoints["customer_id"].tolist() == ["C2"]  # the file's first row
    assert engine.touchpoints.execute()["customer_id"].tolist() == ["C1"]  # first in the sort
    for world in (loaded, engine):
        q = world.quarantine
        line = q[q["file"] == "touchpoints.csv"].iloc[0]
        assert (line["column"], line["reason"]) == (
            "event_id", "duplicate event_id (the first occurrence is kept)",
        )  # fmt: skip
