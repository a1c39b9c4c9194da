"""Schemas: every table and column of data/README.md, and the rules the loader derives from them."""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
import pytest

from imclab.config import CHANNELS
from imclab.data.schemas import (
    OPTIONAL_TABLES,
    REQUIRED_TABLES,
    SCHEMAS,
    TABLES,
    column_le,
    column_rules,
    cross_column_rules,
    date_columns,
    key_columns,
)


def dictionary_tables(readme: str) -> dict[str, list[str]]:
    """Columns of each ``## name.csv`` table of the data dictionary, in order."""
    tables: dict[str, list[str]] = {}
    current = None
    for line in readme.splitlines():
        heading = re.match(r"## (\w+)\.csv", line)
        if heading:
            current = heading.group(1)
            tables[current] = []
        elif line.startswith("## "):
            current = None
        elif current and line.startswith("| ") and not line.startswith("| column"):
            tables[current].append(line.split("|")[1].strip())
    return tables


def test_schemas_cover_exactly_the_data_dictionary(repo_root):
    documented = dictionary_tables((repo_root / "data" / "README.md").read_text())
    assert list(documented) == list(TABLES)
    for name, columns in documented.items():
        assert list(SCHEMAS[name].columns) == columns, name


def test_required_and_optional_tables():
    assert REQUIRED_TABLES == ("customers", "touchpoints", "conversions", "spend")
    assert OPTIONAL_TABLES == ("survey", "ab_tests", "creatives")


def rules_of(table: str) -> dict:
    return {rule.name: rule for rule in column_rules(SCHEMAS[table])}


def test_rules_derived_for_the_sql_checks():
    tp = rules_of("touchpoints")
    assert tp["channel"].allowed == CHANNELS
    assert tp["interaction"].allowed == ("impression", "click", "open", "visit")
    assert (tp["cost"].kind, tp["cost"].min_value, tp["cost"].max_value) == ("float", 0, None)
    assert tp["timestamp"].kind == "timestamp" and tp["timestamp"].not_future
    assert tp["customer_id"].references == "customers.customer_id"
    assert tp["campaign"].kind == "category" and tp["campaign"].allowed is None
    assert not tp["campaign"].nullable
    cust = rules_of("customers")
    assert (cust["age"].kind, cust["age"].min_value, cust["age"].max_value) == ("int", 16, 100)
    assert cust["age"].nullable
    assert cust["signup_date"].kind == "date" and cust["signup_date"].not_future
    assert cust["loyalty_member"].kind == "bool"
    assert (cust["discount_usage_rate"].min_value, cust["discount_usage_rate"].max_value) == (0, 1)
    survey = rules_of("survey")
    assert survey["aware"].allowed == (0, 1)
    assert survey["nps"].nullable and (survey["nps"].min_value, survey["nps"].max_value) == (0, 10)
    assert survey["customer_id"].nullable and not survey["customer_id"].required
    assert survey["customer_id"].references is None  # unmatched respondents are allowed
    assert not rules_of("spend")["date"].not_future


def test_cross_column_keys_and_dates():
    assert cross_column_rules(SCHEMAS["spend"]) == [("clicks", "impressions")]
    assert cross_column_rules(SCHEMAS["survey"]) == [
        ("consider", "aware"),
        ("prefer", "consider"),
        ("intent", "prefer"),
    ]
    assert ("start_date", "end_date") in cross_column_rules(SCHEMAS["ab_tests"])
    assert key_columns(SCHEMAS["touchpoints"]) == ["event_id"]
    assert key_columns(SCHEMAS["conversions"]) == ["order_id"]
    assert key_columns(SCHEMAS["spend"]) == ["date", "channel", "campaign"]
    assert key_columns(SCHEMAS["survey"]) == ["respondent_id", "wave", "brand"]
    assert date_columns(SCHEMAS["ab_tests"]) == ["start_date", "end_date"]
    assert date_columns(SCHEMAS["creatives"]) == []


def spend_frame(**changes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-03-01", "2025-03-02"]),
            "channel": pd.Categorical(["social", "edm"], categories=list(CHANNELS)),
            "campaign": pd.Categorical(["a", "a"]),
            "spend": [1.0, 2.0],
            "impressions": [10, 20],
            "clicks": [1, 2],
        }
    )
    return frame.assign(**changes)


def test_pandera_schema_accepts_good_and_rejects_bad_frames():
    SCHEMAS["spend"].validate(spend_frame())
    with pytest.raises(pa.errors.SchemaErrors) as info:
        SCHEMAS["spend"].validate(spend_frame(clicks=[1, 30], spend=[-1.0, 2.0]), lazy=True)
    cases = info.value.failure_cases
    assert set(cases["check"]) == {"clicks <= impressions", "greater_than_or_equal_to(0)"}
    with pytest.raises(pa.errors.SchemaErrors):  # duplicate key
        SCHEMAS["spend"].validate(
            spend_frame(date=pd.to_datetime(["2025-03-01"] * 2), channel="social"), lazy=True
        )


def test_column_le_lets_missing_values_pass():
    check = column_le("a", "b")
    frame = pd.DataFrame(
        {"a": pd.array([1, None, 3], dtype="Int64"), "b": pd.array([1, 0, 2], dtype="Int64")}
    )
    assert check(frame).check_output.tolist() == [True, True, False]
    dates = pd.DataFrame(
        {"a": pd.to_datetime(["2025-01-02", None]), "b": pd.to_datetime(["2025-01-01"] * 2)}
    )
    assert check(dates).check_output.tolist() == [False, True]
