"""Loader: typed tables, quarantine lines naming file/column/row/reason, and the load errors."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from imclab.config import CHANNELS
from imclab.data.load import _pandera_guard, load_world
from imclab.data.quarantine import QUARANTINE_COLUMNS
from imclab.data.schemas import OPTIONAL_TABLES, TABLES
from imclab.errors import DataError, ParameterError

AS_OF = "2025-07-01"


def lines_of(world, file: str) -> pd.DataFrame:
    return world.quarantine[world.quarantine["file"] == file].reset_index(drop=True)


def with_rows(text: str, *rows: str) -> str:
    return text + "".join(r + "\n" for r in rows)


# ---------------------------------------------------------------------------------------------
# Clean loads
# ---------------------------------------------------------------------------------------------
def test_valid_world_loads_every_table_with_contract_dtypes(make_world, no_row_lost):
    world = load_world(make_world(), as_of=AS_OF)
    no_row_lost(world)
    assert world.report.ok
    assert world.quarantine.empty
    assert list(world.quarantine.columns) == QUARANTINE_COLUMNS
    assert set(world.tables) == set(TABLES)
    assert [len(world.tables[t]) for t in TABLES] == [3, 5, 2, 3, 4, 2, 2]
    tp = world.touchpoints
    assert list(tp.columns) == [
        "event_id",
        "customer_id",
        "timestamp",
        "channel",
        "campaign",
        "interaction",
        "cost",
    ]
    assert str(tp["event_id"].dtype) == "string"
    assert tp["timestamp"].dtype == "datetime64[ns]"
    assert list(tp["channel"].cat.categories) == list(CHANNELS)
    assert list(tp["campaign"].cat.categories) == ["always_on", "organic", "spring_launch"]
    assert tp["timestamp"].iloc[4] == pd.Timestamp("2025-03-10 18:30:00")
    assert tp["cost"].sum() == pytest.approx(1.71)
    cust = world.customers
    assert cust["loyalty_member"].tolist() == [True, False, True]
    assert str(cust["age"].dtype) == "Int64"
    assert world.spend["clicks"].dtype == "int64"
    assert world.survey["nps"].isna().sum() == 1
    assert world.ab_tests["description"].iloc[0] == "Spring, naturally"
    assert world.creatives["text"].iloc[1] == "清洁美妆"
    # RangeIndex in file order
    assert tp.index.equals(pd.RangeIndex(5))
    assert tp["event_id"].tolist() == ["E1", "E2", "E3", "E4", "E5"]


def test_report_has_counts_date_ranges_and_summary(make_world):
    world = load_world(make_world(), as_of=AS_OF)
    frame = world.report.to_frame()
    assert frame["table"].tolist() == list(TABLES)
    tp = frame.set_index("table").loc["touchpoints"]
    assert (tp["rows_read"], tp["rows_loaded"], tp["rows_quarantined"]) == (5, 5, 0)
    assert tp["date_min"] == pd.Timestamp("2025-03-01 10:00:00")
    assert tp["date_max"] == pd.Timestamp("2025-03-10 18:30:00")
    ab = frame.set_index("table").loc["ab_tests"]
    assert (ab["date_min"], ab["date_max"]) == (
        pd.Timestamp("2025-04-07"),
        pd.Timestamp("2025-04-13"),
    )
    assert pd.isna(frame.set_index("table").loc["creatives", "date_min"])
    assert repr(world).endswith(
        "/: customers 3, touchpoints 5, conversions 2, spend 3, survey 4, ab_tests 2, "
        "creatives 2; 0 rows quarantined)"
    )
    assert str(world.report) == world.report.summary()
    text = world.report.summary()
    assert "touchpoints.csv: 5 rows read, 5 loaded, 0 quarantined; 2025-03-01 to 2025-03-10" in text
    assert "No row was quarantined." in text


def test_optional_tables_absent_are_reported_not_errors(make_world, no_row_lost):
    world = load_world(make_world(survey=None, ab_tests=None, creatives=None), as_of=AS_OF)
    no_row_lost(world)
    assert world.report.missing_optional == list(OPTIONAL_TABLES)
    assert world.survey is None and world.ab_tests is None and world.creatives is None
    assert "survey: absent (optional)" in world.report.summary()
    with pytest.raises(DataError, match=r"table 'survey' was not loaded \(expected survey.csv"):
        world.table("survey")


def test_duckdb_connection_has_the_clean_tables(make_world):
    world = load_world(make_world(), as_of=AS_OF)
    con = world.duckdb()
    rows = con.sql(
        "SELECT channel, count(*) AS n FROM touchpoints GROUP BY ALL ORDER BY channel"
    ).fetchall()
    # categoricals become DuckDB ENUMs: ORDER BY follows the canonical channel order
    assert rows == [("paid_search", 1), ("seo", 1), ("social", 2), ("edm", 1)]
    joined = con.sql(
        "SELECT sum(revenue) FROM conversions JOIN customers USING (customer_id) "
        "WHERE region = 'south'"
    ).fetchall()
    assert joined == [(60.5,)]


def test_tables_subset_adds_customers_for_references(make_world):
    world = load_world(make_world(), as_of=AS_OF, tables=["touchpoints"])
    assert set(world.tables) == {"customers", "touchpoints"}
    only_spend = load_world(make_world(), as_of=AS_OF, tables=["spend"])
    assert set(only_spend.tables) == {"spend"}
    with pytest.raises(ParameterError, match="unknown table.*tochpoints"):
        load_world(make_world(), tables=["tochpoints"])


def test_bom_and_crlf_files_load(make_world, valid_csv):
    text = "\ufeff" + valid_csv["conversions"].replace("\n", "\r\n")
    world = load_world(make_world(conversions=text), as_of=AS_OF)
    assert world.report.ok
    assert world.conversions["order_id"].tolist() == ["O1", "O2"]


def test_extra_columns_are_reported_and_not_loaded(make_world, valid_csv):
    text = valid_csv["conversions"].replace("revenue\n", "revenue,coupon\n")
    text = text.replace(",50\n", ",50,SPRING10\n").replace(",60.5\n", ",60.5,\n")
    world = load_world(make_world(conversions=text), as_of=AS_OF)
    assert world.report.tables["conversions"].extra_columns == ("coupon",)
    assert "coupon" not in world.conversions.columns
    assert "extra columns not loaded: coupon" in world.report.summary()
    assert world.report.ok


def test_optional_survey_customer_column_may_be_absent(make_world, valid_csv):
    lines = [line.rsplit(",", 1)[0] for line in valid_csv["survey"].splitlines()]
    world = load_world(make_world(survey="\n".join(lines) + "\n"), as_of=AS_OF)
    assert world.survey["customer_id"].isna().all()
    assert world.report.tables["survey"].identity_matched == 0


# ---------------------------------------------------------------------------------------------
# Quarantine: each bad-input case names file, column, rows and reason
# ---------------------------------------------------------------------------------------------
def test_unparseable_timestamps_message_names_file_column_rows(make_world, valid_csv, no_row_lost):
    text = with_rows(
        valid_csv["touchpoints"],
        "E6,C1,2024-13-01,social,spring_launch,click,0.5",
        "E7,C2,2025-03-04T10:00:00,seo,organic,visit,0",
        "E8,C2,2024-13-01,seo,organic,visit,0",
    )
    world = load_world(make_world(touchpoints=text), as_of=AS_OF)
    no_row_lost(world)
    assert world.report.messages == [
        "touchpoints.csv: column 'timestamp' rows 6, 8 (2 rows): cannot parse '2024-13-01' as "
        "a timestamp (expected ISO 8601); another date format? set date_format (e.g. "
        "'%d/%m/%Y %H:%M') for this file in the plan's columns: section"
    ]
    lines = lines_of(world, "touchpoints.csv")
    assert lines.to_dict("records") == [
        {
            "file": "touchpoints.csv",
            "row": 6,
            "column": "timestamp",
            "value": "2024-13-01",
            "reason": "cannot parse as a timestamp (expected ISO 8601)",
        },
        {
            "file": "touchpoints.csv",
            "row": 8,
            "column": "timestamp",
            "value": "2024-13-01",
            "reason": "cannot parse as a timestamp (expected ISO 8601)",
        },
    ]
    assert world.touchpoints["event_id"].tolist() == ["E1", "E2", "E3", "E4", "E5", "E7"]


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "reason"),
    [
        ("spend", "2025-03-03,social,spring_launch,-5,100,1", "spend", "-5", "negative value"),
        ("conversions", "O3,C1,2025-03-06T10:00:00,-1.5", "revenue", "-1.5", "negative value"),
        (
            "touchpoints",
            "E6,C1,2025-03-04T10:00:00,tv,always_on,impression,-0.1",
            "cost",
            "-0.1",
            "negative value",
        ),
        (
            "touchpoints",
            "E6,C1,2025-03-04T10:00:00,tiktok,always_on,impression,0",
            "channel",
            "tiktok",
            "unknown channel (expected one of: paid_search, seo, social",
        ),
        (
            "touchpoints",
            "E6,C1,2025-03-04T10:00:00,tv,always_on,like,0",
            "interaction",
            "like",
            "unknown interaction (expected one of: impression, click, open, visit)",
        ),
        (
            "touchpoints",
            "E6,C1,2025-03-04T10:00:00+08:00,tv,always_on,click,0",
            "timestamp",
            "2025-03-04T10:00:00+08:00",
            "timestamp has a time zone offset",
        ),
        (
            "touchpoints",
            "E6,C1,2025-03-04T10:00:00,tv,,click,0",
            "campaign",
            None,
            "missing required value",
        ),
        (
            "touchpoints",
            ",C1,2025-03-04T10:00:00,tv,always_on,click,0",
            "event_id",
            None,
            "missing required value",
        ),
        (
            "touchpoints",
            "E6,C1,2025-03-04T10:00:00,tv,always_on,click,nan",
            "cost",
            "nan",
            "cannot parse as a number",
        ),
        (
            "touchpoints",
            "E6,C1,1850-03-04T10:00:00,tv,always_on,click,0",
            "timestamp",
            "1850-03-04T10:00:00",
            "implausible date (expected years 1900 to 2199)",
        ),
        (
            "conversions",
            "O3,C1,2025-03-06T10:00:00,12 EUR",
            "revenue",
            "12 EUR",
            "cannot parse as a number",
        ),
        (
            "customers",
            "C4,2025-01-05,34.5,female,north,tier1,mobile,middle,true,false,3.5,4.0,0.2",
            "age",
            "34.5",
            "cannot parse as an integer",
        ),
        (
            "customers",
            "C4,2025-01-05,12,female,north,tier1,mobile,middle,true,false,3.5,4.0,0.2",
            "age",
            "12",
            "out of range (expected 16..100)",
        ),
        (
            "customers",
            "C4,2025-01-05,30,female,north,tier1,mobile,middle,yes,false,3.5,4.0,0.2",
            "loyalty_member",
            "yes",
            "cannot parse as a boolean (expected true or false)",
        ),
        (
            "customers",
            "C4,2025-01-05,30,female,north,tier1,mobile,middle,true,false,3.5,4.0,1.2",
            "discount_usage_rate",
            "1.2",
            "out of range (expected 0..1)",
        ),
        (
            "customers",
            "C4,2025-01-05,30,female,Nord,tier1,mobile,middle,true,false,3.5,4.0,0.2",
            "region",
            "Nord",
            "unknown region",
        ),
        (
            "customers",
            "C4,05/01/2025,30,female,north,tier1,mobile,middle,true,false,3.5,4.0,0.2",
            "signup_date",
            "05/01/2025",
            "cannot parse as a date (expected ISO 8601)",
        ),
        (
            "spend",
            "2025-03-03,social,spring_launch,5,100,101",
            "clicks",
            "101 > 100",
            "clicks greater than impressions",
        ),
        (
            "spend",
            "2025-03-03,social,spring_launch,5,10.5,1",
            "impressions",
            "10.5",
            "cannot parse as an integer",
        ),
        (
            "survey",
            "R9,W1,2025-01-20,pre,Lumina,0,1,0,0,,",
            "consider",
            "1 > 0",
            "consider greater than aware",
        ),
        (
            "survey",
            "R9,W1,2025-01-20,pre,Lumina,1,1,0,0,11,",
            "nps",
            "11",
            "out of range (expected 0..10)",
        ),
        (
            "survey",
            "R9,W1,2025-01-20,during,Lumina,1,1,0,0,5,",
            "period",
            "during",
            "unknown period (expected one of: pre, post)",
        ),
        (
            "survey",
            "R9,W1,2025-01-20,pre,Lumina,2,1,0,0,5,",
            "aware",
            "2",
            "unknown aware (expected one of: 0, 1)",
        ),
        (
            "ab_tests",
            "T2,edm,A,x,2025-05-10,2025-05-01,10,5,1,0",
            "start_date",
            "2025-05-10 > 2025-05-01",
            "start_date greater than end_date",
        ),
        (
            "ab_tests",
            "T2,edm,A,x,2025-05-01,2025-05-10,10,11,1,0",
            "opens",
            "11 > 10",
            "opens greater than sends",
        ),
        (
            "creatives",
            "CR3,social,spring_launch,fr,Bonjour",
            "language",
            "fr",
            "unknown language (expected one of: en, zh)",
        ),
    ],
)
def test_bad_value_is_quarantined_with_its_reason(
    make_world, valid_csv, no_row_lost, table, row, column, value, reason
):
    folder = make_world(**{table: with_rows(valid_csv[table], row)})
    world = load_world(folder, as_of=AS_OF, tables=[table])
    no_row_lost(world)
    lines = lines_of(world, f"{table}.csv")
    assert len(lines) == 1, lines
    n_rows = len(valid_csv[table].splitlines())  # header + data rows: the new row's number
    line = lines.iloc[0]
    assert (line["row"], line["column"]) == (n_rows, column)
    assert (None if pd.isna(line["value"]) else line["value"]) == value
    assert line["reason"].startswith(reason)
    assert world.report.tables[table].rows_quarantined == 1
    assert len(world.tables[table]) == n_rows - 1
    assert any(
        m.startswith(f"{table}.csv: column '{column}' row {n_rows}: ")
        for m in world.report.messages
    )


def test_row_with_two_faults_has_two_lines_and_counts_once(make_world, valid_csv, no_row_lost):
    text = with_rows(valid_csv["touchpoints"], "E6,C1,not-a-date,radio,spring_launch,click,-2")
    world = load_world(make_world(touchpoints=text), as_of=AS_OF)
    no_row_lost(world)
    lines = lines_of(world, "touchpoints.csv")
    assert lines["column"].tolist() == ["timestamp", "channel", "cost"]
    assert set(lines["row"]) == {6}
    rep = world.report.tables["touchpoints"]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_quarantined, rep.faults) == (6, 5, 1, 3)


def test_duplicate_order_ids_keep_the_first_in_file_order(make_world, valid_csv, no_row_lost):
    text = with_rows(
        valid_csv["conversions"],
        "O1,C2,2025-03-07T10:00:00,70",
        "O3,C3,2025-03-08T10:00:00,80",
        "O1,C3,2025-03-09T10:00:00,90",
    )
    world = load_world(make_world(conversions=text), as_of=AS_OF)
    no_row_lost(world)
    conv = world.conversions
    assert conv["order_id"].tolist() == ["O1", "O2", "O3"]
    assert conv.loc[conv["order_id"] == "O1", "revenue"].item() == 50  # the first occurrence
    lines = lines_of(world, "conversions.csv")
    assert lines["row"].tolist() == [3, 5]
    assert set(lines["reason"]) == {"duplicate order_id (the first occurrence is kept)"}
    assert world.report.messages == [
        "conversions.csv: column 'order_id' rows 3, 5 (2 rows): duplicate order_id 'O1' "
        "(the first occurrence is kept)"
    ]


def test_duplicate_kept_when_first_occurrence_was_refused(make_world, valid_csv, no_row_lost):
    text = with_rows(valid_csv["conversions"], "O3,C1,bad,10", "O3,C1,2025-03-09T10:00:00,20")
    world = load_world(make_world(conversions=text), as_of=AS_OF)
    no_row_lost(world)
    assert world.conversions["order_id"].tolist() == ["O1", "O2", "O3"]
    assert lines_of(world, "conversions.csv")["row"].tolist() == [3]


def test_identical_events_with_different_event_ids_are_kept(make_world, valid_csv, no_row_lost):
    text = with_rows(
        valid_csv["touchpoints"],
        "E6,C1,2025-03-01T10:00:00,social,spring_launch,impression,0.01",
        "E1,C1,2025-03-01T10:00:00,social,spring_launch,impression,0.01",
    )
    world = load_world(make_world(touchpoints=text), as_of=AS_OF)
    no_row_lost(world)
    assert world.touchpoints["event_id"].tolist() == ["E1", "E2", "E3", "E4", "E5", "E6"]
    lines = lines_of(world, "touchpoints.csv")
    assert lines[["row", "column", "value"]].values.tolist() == [[7, "event_id", "E1"]]


def test_duplicate_compound_key_in_spend(make_world, valid_csv, no_row_lost):
    text = with_rows(valid_csv["spend"], "2025-03-01,social,spring_launch,1,10,1")
    world = load_world(make_world(spend=text), as_of=AS_OF)
    no_row_lost(world)
    line = lines_of(world, "spend.csv").iloc[0]
    assert (line["row"], line["column"], line["value"]) == (
        4,
        "date, channel, campaign",
        "2025-03-01|social|spring_launch",
    )
    assert line["reason"] == "duplicate key date, channel, campaign (the first occurrence is kept)"


def test_future_events_are_quarantined_after_as_of(make_world, valid_csv, no_row_lost):
    text = with_rows(
        valid_csv["touchpoints"],
        "E6,C1,2025-07-01T00:00:01,social,spring_launch,click,0.5",
        "E7,C1,2025-07-01T00:00:00,social,spring_launch,click,0.5",
    )
    world = load_world(make_world(touchpoints=text), as_of="2025-07-01 00:00:00")
    no_row_lost(world)
    lines = lines_of(world, "touchpoints.csv")
    assert lines[["row", "column"]].values.tolist() == [[6, "timestamp"]]
    assert lines["reason"].item() == "in the future (after as_of 2025-07-01 00:00:00)"
    # A date alone means the end of that day: both rows are "as of 2025-07-01".
    assert load_world(make_world(touchpoints=text), as_of="2025-07-01").report.ok
    assert load_world(make_world(touchpoints=text), as_of=date(2025, 7, 1)).report.ok
    day_before = load_world(make_world(touchpoints=text), as_of="2025-06-30")
    assert day_before.report.as_of == pd.Timestamp("2025-06-30 23:59:59.999999")
    assert lines_of(day_before, "touchpoints.csv")["row"].tolist() == [6, 7]
    assert "E7" in set(world.touchpoints["event_id"])
    # The same file with a later as_of keeps both rows.
    later = load_world(make_world(touchpoints=text), as_of=pd.Timestamp("2025-08-01"))
    assert later.report.ok


def test_default_as_of_is_now(make_world, valid_csv):
    tomorrow = (pd.Timestamp.now() + pd.Timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    text = with_rows(valid_csv["conversions"], f"O3,C1,{tomorrow},10")
    world = load_world(make_world(conversions=text))
    assert abs(world.report.as_of - pd.Timestamp.now()) < pd.Timedelta(minutes=5)
    assert lines_of(world, "conversions.csv")["reason"].str.startswith("in the future").all()


def test_future_signup_dates_are_quarantined(make_world, valid_csv):
    text = with_rows(
        valid_csv["customers"],
        "C4,2025-07-02,30,female,north,tier1,mobile,middle,true,false,3.5,4.0,0.2",
    )
    world = load_world(make_world(customers=text), as_of=AS_OF)
    line = lines_of(world, "customers.csv").iloc[0]
    assert (line["row"], line["column"], line["value"]) == (4, "signup_date", "2025-07-02")


def test_unknown_customers_are_quarantined_but_survey_may_not_match(
    make_world, valid_csv, no_row_lost
):
    tp = with_rows(valid_csv["touchpoints"], "E6,C99,2025-03-04T10:00:00,seo,organic,visit,0")
    conv = with_rows(valid_csv["conversions"], "O3,C42,2025-03-06T10:00:00,10")
    world = load_world(make_world(touchpoints=tp, conversions=conv), as_of=AS_OF)
    no_row_lost(world)
    assert world.report.messages == [
        "touchpoints.csv: column 'customer_id' row 6: unknown customer 'C99' (not in "
        "customers.csv)",
        "conversions.csv: column 'customer_id' row 3: unknown customer 'C42' (not in "
        "customers.csv)",
    ]
    assert set(world.quarantine["reason"]) == {
        "unknown customer (customer_id not in customers.csv)"
    }
    # Survey: C99 does not match and one respondent has no id; both rows stay.
    assert len(world.survey) == 4
    survey = world.report.tables["survey"]
    assert (survey.identity_rows, survey.identity_matched) == (4, 2)
    tp_rep = world.report.tables["touchpoints"]
    assert (tp_rep.identity_rows, tp_rep.identity_matched) == (6, 5)


def test_touches_of_a_quarantined_customer_say_so(make_world, valid_csv, no_row_lost):
    customers = valid_csv["customers"].replace("C3,2025-02-01,40", "C3,2025-02-31,40")
    world = load_world(make_world(customers=customers), as_of=AS_OF)
    no_row_lost(world)
    tp_line = lines_of(world, "touchpoints.csv").iloc[0]
    assert (tp_line["row"], tp_line["value"]) == (5, "C3")
    assert tp_line["reason"] == "customer row quarantined in customers.csv"
    assert "C3" not in set(world.touchpoints["customer_id"])


def test_malformed_csv_records_are_quarantined_and_later_rows_keep_numbers(
    make_world, valid_csv, no_row_lost
):
    text = with_rows(
        valid_csv["touchpoints"],
        "E6,C1,2025-03-04T10:00:00,seo,organic,visit,0,surplus",
        "E7,C1,2025-03-04T10:00:00,seo",
        "E8,C1,2025-03-04T10:00:00,seo,organic,visit,oops",
    )
    world = load_world(make_world(touchpoints=text), as_of=AS_OF)
    no_row_lost(world)
    lines = lines_of(world, "touchpoints.csv")
    assert lines["row"].tolist() == [6, 7, 8]
    assert lines["reason"].tolist() == [
        "malformed CSV record (too many columns)",
        "malformed CSV record (missing columns)",
        "cannot parse as a number",
    ]
    assert lines["value"].iloc[1] == "E7,C1,2025-03-04T10:00:00,seo"


def test_invalid_utf8_row_is_quarantined(make_world, valid_csv, no_row_lost):
    folder = make_world()
    data = valid_csv["conversions"].encode() + b"O3,C1,2025-03-06T10:00:00,1\xff0\n"
    (folder / "conversions.csv").write_bytes(data)
    world = load_world(folder, as_of=AS_OF)
    no_row_lost(world)
    line = lines_of(world, "conversions.csv").iloc[0]
    assert (line["row"], line["reason"]) == (3, "malformed CSV record (invalid encoding)")


def test_pandera_guard_moves_failing_rows_to_the_quarantine(make_world):
    world = load_world(make_world(), as_of=AS_OF)
    frame = world.spend.copy()
    frame.index = pd.Index([1, 2, 3], name="_row")
    frame.loc[2, "spend"] = -1.0  # something the SQL would have caught, slipped through
    kept, bad = _pandera_guard(frame, "spend", "spend.csv")
    assert kept.index.tolist() == [1, 3]
    assert bad[["row", "column"]].values.tolist() == [[2, "spend"]]
    assert bad["reason"].item().startswith("failed schema check greater_than_or_equal_to")


def test_pandera_guard_table_wide_failure_quarantines_all_rows(make_world):
    world = load_world(make_world(), as_of=AS_OF)
    frame = world.spend.copy()
    frame.index = pd.Index([1, 2, 3], name="_row")
    frame["impressions"] = frame["impressions"].astype("float64")  # wrong dtype
    kept, bad = _pandera_guard(frame, "spend", "spend.csv")
    assert kept.empty
    assert sorted(bad["row"].unique()) == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# strict=True
# ---------------------------------------------------------------------------------------------
def test_strict_raises_listing_the_faults(make_world, valid_csv):
    text = with_rows(valid_csv["conversions"], "O3,C1,2025-03-06T10:00:00,-1")
    folder = make_world(conversions=text)
    with pytest.raises(DataError) as info:
        load_world(folder, strict=True, as_of=AS_OF)
    message = str(info.value)
    assert "1 fault in 1 row (strict=True" in message
    assert "conversions.csv: column 'revenue' row 3: negative value '-1' (expected >= 0)" in message
    assert load_world(make_world(), strict=True, as_of=AS_OF).report.ok


def test_strict_lists_first_20_fault_messages_and_counts_the_rest(make_world, valid_csv):
    rows = [f"E{i},C1,2025-03-04T10:00:00,ch{i},organic,visit,0" for i in range(6, 31)]
    folder = make_world(touchpoints=with_rows(valid_csv["touchpoints"], *rows))
    # 25 distinct unknown channels -> 1 message (same column and reason)
    with pytest.raises(DataError, match=r"25 faults in 25 rows"):
        load_world(folder, strict=True, as_of=AS_OF)
    # 23 messages: one per file, column and reason
    files = {
        "customers": with_rows(
            valid_csv["customers"],
            "C4,2025-02-30,x,f,nord,t1,phone,rich,yes,no,-1,-2,1.5",
        ),
        "touchpoints": with_rows(valid_csv["touchpoints"], ",C1,soon,tiktok,,like,-1"),
        "conversions": with_rows(valid_csv["conversions"], ",C1,later,-5"),
        "spend": with_rows(valid_csv["spend"], "2025-03-04,social,x,-1,10,11"),
    }
    world = load_world(make_world(**files), as_of=AS_OF)
    assert len(world.report.messages) == 23
    with pytest.raises(DataError) as info:
        load_world(make_world(**files), strict=True, as_of=AS_OF)
    body = str(info.value).splitlines()
    assert body[0].endswith(
        "23 faults in 4 rows (strict=True; load with strict=False to "
        "quarantine these rows and keep the rest):"
    )
    assert body[1:21] == [f"  {m}" for m in world.report.messages[:20]]
    assert body[-1] == "  ... and 3 more fault messages"
    assert len(body) == 22


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: data folder not found \(expected a folder"):
        load_world(tmp_path / "nowhere")


def test_missing_required_file_lists_expected_files(make_world):
    with pytest.raises(DataError) as info:
        load_world(make_world(spend=None, conversions=None))
    message = str(info.value)
    assert "missing required files conversions.csv, spend.csv" in message
    assert "expected customers.csv, touchpoints.csv, conversions.csv, spend.csv" in message


def test_csv_and_parquet_of_the_same_table_is_an_error(make_world):
    folder = make_world()
    pd.DataFrame({"a": [1]}).to_parquet(folder / "spend.parquet")
    with pytest.raises(DataError, match="both spend.csv and spend.parquet exist"):
        load_world(folder)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "touchpoints.csv: the file is empty (expected a header row naming the columns)"),
        ("\n\n", "touchpoints.csv: the file is empty"),
        (
            "event_id,customer_id,timestamp,channel,campaign,interaction,cost\n",
            "touchpoints.csv: the file has no data rows",
        ),
    ],
)
def test_empty_files(make_world, text, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_world(make_world(touchpoints=text))


def test_missing_required_column_names_it_and_suggests(make_world, valid_csv):
    text = valid_csv["touchpoints"].replace(",timestamp,", ",time_stamp,")
    with pytest.raises(DataError) as info:
        load_world(make_world(touchpoints=text))
    message = str(info.value)
    assert message.startswith(
        "touchpoints.csv: missing required column 'timestamp' (did you mean 'time_stamp'?); "
        "expected columns: event_id, customer_id, timestamp, channel, campaign, interaction, cost"
    )


def test_two_missing_columns_and_a_case_mismatch(make_world, valid_csv):
    text = valid_csv["conversions"].replace("order_id,customer_id", "Order ID,customerid")
    with pytest.raises(DataError) as info:
        load_world(make_world(conversions=text))
    message = str(info.value)
    assert "missing required columns 'order_id' (did you mean 'Order ID'?), 'customer_id' " in (
        message
    )


def test_duplicate_header_column_is_an_error(make_world, valid_csv):
    text = valid_csv["conversions"].replace("revenue\n", "revenue,revenue\n")
    with pytest.raises(DataError, match="column 'revenue' appears twice in the header"):
        load_world(make_world(conversions=text))


def test_bad_as_of_is_a_parameter_error(make_world):
    with pytest.raises(ParameterError, match="as_of='soon'"):
        load_world(make_world(), as_of="soon")


# ---------------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------------
def _to_parquet(folder, typed: bool) -> None:
    for csv_path in sorted(folder.glob("*.csv")):
        if typed:  # what an analyst's pandas export looks like: native ints, floats, bools
            frame = pd.read_csv(csv_path)
        else:
            frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        frame.to_parquet(csv_path.with_suffix(".parquet"), index=False)
        csv_path.unlink()


@pytest.mark.parametrize("typed", [True, False])
def test_parquet_and_csv_give_the_same_frames(make_world, typed):
    from_csv = load_world(make_world(), as_of=AS_OF)
    folder = make_world()
    _to_parquet(folder, typed)
    from_parquet = load_world(folder, as_of=AS_OF)
    assert from_parquet.report.ok
    assert from_parquet.report.tables["spend"].file == "spend.parquet"
    for name in TABLES:
        pd.testing.assert_frame_equal(from_parquet.tables[name], from_csv.tables[name])


def test_parquet_bad_rows_use_1_based_row_numbers(make_world, valid_csv, no_row_lost):
    text = with_rows(
        valid_csv["conversions"], "O3,C1,2025-03-06T10:00:00,-4", "O1,C1,2025-03-06T10:00:00,4"
    )
    folder = make_world(conversions=text)
    _to_parquet(folder, typed=True)
    world = load_world(folder, as_of=AS_OF)
    no_row_lost(world)
    lines = lines_of(world, "conversions.parquet")
    assert lines[["row", "column", "value"]].values.tolist() == [
        [3, "revenue", "-4.0"],
        [4, "order_id", "O1"],
    ]


def test_parquet_missing_column_error(make_world):
    folder = make_world()
    pd.read_csv(folder / "spend.csv").drop(columns="clicks").to_parquet(folder / "spend.parquet")
    (folder / "spend.csv").unlink()
    with pytest.raises(DataError, match="spend.parquet: missing required column 'clicks'"):
        load_world(folder)


def test_corrupt_parquet_is_a_data_error(make_world):
    folder = make_world()
    (folder / "spend.csv").unlink()
    (folder / "spend.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="spend.parquet: cannot read the Parquet file"):
        load_world(folder)


# ---------------------------------------------------------------------------------------------
# The bundled sample world
# ---------------------------------------------------------------------------------------------
def test_sample_world_quarantines_exactly_its_documented_faults(sample_dir, no_row_lost):
    world = load_world(sample_dir, as_of="2025-07-01")
    no_row_lost(world)
    assert world.report.missing_optional == []
    truth = pd.read_csv(sample_dir / "truth" / "faults.csv")
    found = world.quarantine.assign(table=world.quarantine["file"].str.removesuffix(".csv"))
    assert sorted(map(tuple, found[["table", "row", "column"]].values.tolist())) == sorted(
        map(tuple, truth[["table", "row", "column"]].values.tolist())
    )
    for name in TABLES:
        with (sample_dir / f"{name}.csv").open(encoding="utf-8") as handle:
            n_records = len(pd.read_csv(handle, dtype=str))
        assert world.report.tables[name].rows_read == n_records
    assert len(world.customers) == 5000
    tp = world.report.tables["touchpoints"]
    assert tp.date_min >= pd.Timestamp("2025-01-01")
    assert tp.date_max < pd.Timestamp("2025-07-01")


# ---------------------------------------------------------------------------------------------
# Runaway records
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("quoted", [False, True])
def test_over_long_lines_are_quarantined_not_lost(
    make_world, valid_csv, no_row_lost, monkeypatch, quoted
):
    from imclab.data import load as load_module

    monkeypatch.setattr(load_module, "MAX_LINE_BYTES", 200)
    monkeypatch.setattr(load_module, "_SCAN_CHUNK", 64)  # lines straddle the scan chunks
    text = "x" * 500
    cell = f'"{text}"' if quoted else text
    creatives = with_rows(
        valid_csv["creatives"], f"CR3,tv,spring_launch,en,{cell}", "CR4,tv,x,en,ok"
    )
    world = load_world(make_world(creatives=creatives), as_of=AS_OF, tables=["creatives"])
    no_row_lost(world)
    assert world.creatives["creative_id"].tolist() == ["CR1", "CR2", "CR4"]
    line = lines_of(world, "creatives.csv").iloc[0]
    assert (line["row"], line["column"]) == (3, "")
    assert line["reason"] == "record too long (over 200 bytes)"
    assert line["value"].startswith("CR3,tv,spring_launch,en,")
    message = world.report.messages[0]
    assert message.startswith("creatives.csv: row 3: record 'CR3,tv,spring_launch,en,")
    assert message.endswith(f"too long ({len(cell) + 25:,} bytes, over the 200-byte limit)")


def test_long_line_scan_finds_exact_lines(tmp_path):
    from imclab.data.load import _long_lines

    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n" + b"a" * 10 + b"\n" + b"b" * 30 + b"\r\n" + b"c\n" + b"d" * 12)
    assert _long_lines(path, limit=11) == [(3, 13, 45), (5, 47, 59)]
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"h\r" + b"a" * 20 + b"\rb\r")
    assert _long_lines(mac, limit=11) == [(2, 2, 23)]


def test_free_text_longer_than_the_limit_is_quarantined(make_world, valid_csv, no_row_lost):
    creatives = with_rows(valid_csv["creatives"], "CR3,tv,spring_launch,en," + "y" * 100_001)
    world = load_world(make_world(creatives=creatives), as_of=AS_OF, tables=["creatives"])
    no_row_lost(world)
    line = lines_of(world, "creatives.csv").iloc[0]
    assert (line["row"], line["column"]) == (3, "text")
    assert line["reason"] == "text too long (over 100,000 characters)"
