"""Data contracts: one pandera schema per table of a brand world (see ``data/README.md``).

The schemas are the single source of truth for the loader: ``imclab.data.load`` derives its
SQL parse and rule checks from them and validates every clean table with them at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa

from imclab.config import CHANNELS, INTERACTIONS, PAID_CHANNELS, REGIONS

__all__ = [
    "CHANNELS",
    "INTERACTIONS",
    "PAID_CHANNELS",
    "REGIONS",
    "REQUIRED_TABLES",
    "OPTIONAL_TABLES",
    "TABLES",
    "SCHEMAS",
]

GENDERS: tuple[str, ...] = ("female", "male", "other")
CITY_TIERS: tuple[str, ...] = ("tier1", "tier2", "tier3")
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
INCOME_BANDS: tuple[str, ...] = ("low", "middle", "high")
PERIODS: tuple[str, ...] = ("pre", "post")
LANGUAGES: tuple[str, ...] = ("en", "zh")

REQUIRED_TABLES: tuple[str, ...] = ("customers", "touchpoints", "conversions", "spend")
OPTIONAL_TABLES: tuple[str, ...] = ("survey", "ab_tests", "creatives")
TABLES: tuple[str, ...] = REQUIRED_TABLES + OPTIONAL_TABLES

# Column metadata keys understood by the loader.
META_KIND = "kind"  # "date" or "timestamp" for datetime columns (both datetime64[ns] in pandas)
META_NOT_FUTURE = "not_future"  # values after the load's ``as_of`` are quarantined
META_REFERENCES = "references"  # "customers.customer_id": the value must exist there

MAX_TEXT_LENGTH = 100_000  # characters in a free-text cell (ad copy, test descriptions)

STRING = pd.StringDtype("pyarrow")
FLOAT = "float64"
INT = "int64"
NULLABLE_INT = "Int64"
NULLABLE_BOOL = "boolean"
DATETIME = "datetime64[ns]"


def column_le(left: str, right: str) -> pa.Check:
    """Dataframe-level check ``left <= right`` (rows where either side is missing pass).

    Parameters
    ----------
    left, right
        Column names; the check fails the rows where ``left`` is greater than ``right``.

    Returns
    -------
    pandera.Check
        A check named ``column_le`` whose ``statistics`` carry both column names, so the
        loader can translate it to SQL.
    """

    def _check(df: pd.DataFrame) -> pd.Series:
        a, b = df[left], df[right]
        return ((a <= b) | a.isna() | b.isna()).fillna(True).astype(bool)

    return pa.Check(
        _check,
        name="column_le",
        error=f"{left} <= {right}",
        statistics={"left": left, "right": right},
    )


def _id(**kwargs: Any) -> pa.Column:
    return pa.Column(STRING, nullable=False, **kwargs)


def _text(nullable: bool = False, **kwargs: Any) -> pa.Column:
    check = pa.Check.str_length(max_value=MAX_TEXT_LENGTH)
    return pa.Column(STRING, check, nullable=nullable, **kwargs)


def _category(values: tuple[str, ...] | None = None, nullable: bool = False) -> pa.Column:
    if values is None:  # free set of labels (campaign, brand): required, any value
        return pa.Column("category", nullable=nullable)
    return pa.Column(
        pd.CategoricalDtype(list(values)), pa.Check.isin(list(values)), nullable=nullable
    )


def _date(nullable: bool = False, not_future: bool = False) -> pa.Column:
    meta = {META_KIND: "date", META_NOT_FUTURE: not_future}
    return pa.Column(DATETIME, nullable=nullable, metadata=meta)


def _timestamp(not_future: bool = False) -> pa.Column:
    meta = {META_KIND: "timestamp", META_NOT_FUTURE: not_future}
    return pa.Column(DATETIME, nullable=False, metadata=meta)


def _number(dtype: str, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(dtype, list(checks), nullable=nullable)


def _customer_ref() -> pa.Column:
    return _id(metadata={META_REFERENCES: "customers.customer_id"})


def _flag() -> pa.Column:
    return _number(INT, pa.Check.isin([0, 1]))


CUSTOMERS = pa.DataFrameSchema(
    {
        "customer_id": _id(unique=True, report_duplicates="exclude_first"),
        "signup_date": _date(not_future=True),
        # Profile attributes may be missing in a CRM export; a missing age must not cost the
        # customer (and all their touchpoints) a place in the world, so they are nullable.
        "age": _number(NULLABLE_INT, pa.Check.in_range(16, 100), nullable=True),
        "gender": _category(GENDERS, nullable=True),
        "region": _category(REGIONS, nullable=True),
        "city_tier": _category(CITY_TIERS, nullable=True),
        "device": _category(DEVICES, nullable=True),
        "income_band": _category(INCOME_BANDS, nullable=True),
        "loyalty_member": pa.Column(NULLABLE_BOOL, nullable=True),
        "newsletter_opt_in": pa.Column(NULLABLE_BOOL, nullable=True),
        "avg_session_minutes": _number(FLOAT, pa.Check.ge(0), nullable=True),
        "pages_per_visit": _number(FLOAT, pa.Check.ge(0), nullable=True),
        "discount_usage_rate": _number(FLOAT, pa.Check.in_range(0, 1), nullable=True),
    },
    name="customers",
    strict=True,
    metadata={"key": ["customer_id"], "date_columns": ["signup_date"]},
)

TOUCHPOINTS = pa.DataFrameSchema(
    {
        "event_id": _id(unique=True, report_duplicates="exclude_first"),
        "customer_id": _customer_ref(),
        "timestamp": _timestamp(not_future=True),
        "channel": _category(CHANNELS),
        "campaign": _category(),
        "interaction": _category(INTERACTIONS),
        "cost": _number(FLOAT, pa.Check.ge(0)),
    },
    name="touchpoints",
    strict=True,
    metadata={"key": ["event_id"], "date_columns": ["timestamp"]},
)

CONVERSIONS = pa.DataFrameSchema(
    {
        "order_id": _id(unique=True, report_duplicates="exclude_first"),
        "customer_id": _customer_ref(),
        "timestamp": _timestamp(not_future=True),
        "revenue": _number(FLOAT, pa.Check.ge(0)),
    },
    name="conversions",
    strict=True,
    metadata={"key": ["order_id"], "date_columns": ["timestamp"]},
)

SPEND = pa.DataFrameSchema(
    {
        "date": _date(),
        "channel": _category(CHANNELS),
        "campaign": _category(),
        "spend": _number(FLOAT, pa.Check.ge(0)),
        "impressions": _number(INT, pa.Check.ge(0)),
        "clicks": _number(INT, pa.Check.ge(0)),
    },
    checks=[column_le("clicks", "impressions")],
    # One row per day, channel and campaign ("daily media spend per paid channel and
    # campaign"): a repeated row would double-count spend.
    unique=["date", "channel", "campaign"],
    report_duplicates="exclude_first",
    name="spend",
    strict=True,
    metadata={"key": ["date", "channel", "campaign"], "date_columns": ["date"]},
)

SURVEY = pa.DataFrameSchema(
    {
        "respondent_id": _id(),
        "wave": _category(),
        "fieldwork_date": _date(),
        "period": _category(PERIODS),
        "brand": _category(),
        "aware": _flag(),
        "consider": _flag(),
        "prefer": _flag(),
        "intent": _flag(),
        "nps": _number(NULLABLE_INT, pa.Check.in_range(0, 10), nullable=True),
        # Optional: filled when the respondent is a known customer (identity match metric).
        "customer_id": pa.Column(STRING, nullable=True, required=False),
    },
    checks=[
        column_le("consider", "aware"),
        column_le("prefer", "consider"),
        column_le("intent", "prefer"),
    ],
    unique=["respondent_id", "wave", "brand"],
    report_duplicates="exclude_first",
    name="survey",
    strict=True,
    metadata={"key": ["respondent_id", "wave", "brand"], "date_columns": ["fieldwork_date"]},
)

AB_TESTS = pa.DataFrameSchema(
    {
        "test_id": _id(),
        "channel": _category(CHANNELS),
        "variant": _id(),
        "description": _text(nullable=True, required=False),
        "start_date": _date(),
        "end_date": _date(),
        "sends": _number(INT, pa.Check.ge(0)),
        "opens": _number(INT, pa.Check.ge(0)),
        "clicks": _number(INT, pa.Check.ge(0)),
        "conversions": _number(INT, pa.Check.ge(0)),
    },
    checks=[
        column_le("start_date", "end_date"),
        column_le("opens", "sends"),
        column_le("clicks", "opens"),
        column_le("conversions", "clicks"),
    ],
    # One row per test and variant (the results are aggregated per variant).
    unique=["test_id", "variant"],
    report_duplicates="exclude_first",
    name="ab_tests",
    strict=True,
    metadata={"key": ["test_id", "variant"], "date_columns": ["start_date", "end_date"]},
)

CREATIVES = pa.DataFrameSchema(
    {
        "creative_id": _id(unique=True, report_duplicates="exclude_first"),
        "channel": _category(CHANNELS),
        "campaign": _category(),
        "language": _category(LANGUAGES),
        "text": _text(),
    },
    name="creatives",
    strict=True,
    metadata={"key": ["creative_id"], "date_columns": []},
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "customers": CUSTOMERS,
    "touchpoints": TOUCHPOINTS,
    "conversions": CONVERSIONS,
    "spend": SPEND,
    "survey": SURVEY,
    "ab_tests": AB_TESTS,
    "creatives": CREATIVES,
}


@dataclass(frozen=True)
class ColumnRule:
    """One column of a table contract, in the terms the SQL loader needs.

    Attributes
    ----------
    name
        Column name.
    kind
        ``"string"``, ``"category"``, ``"int"``, ``"float"``, ``"bool"``, ``"date"`` or
        ``"timestamp"``.
    nullable
        Whether a missing value is allowed.
    required
        Whether the column must be present in the file (absent optional columns are all-missing).
    allowed
        Allowed values (``None``: any value).
    min_value, max_value
        Inclusive numeric bounds (``None``: unbounded).
    max_length
        Longest allowed text, in characters (``None``: no limit).
    not_future
        Values after the load's ``as_of`` are faults.
    references
        ``"table.column"`` the value must exist in, or ``None``.
    dtype
        The pandas dtype of the validated column.
    """

    name: str
    kind: str
    nullable: bool
    required: bool
    allowed: tuple[Any, ...] | None
    min_value: float | None
    max_value: float | None
    max_length: int | None
    not_future: bool
    references: str | None
    dtype: Any


def _kind(column: pa.Column) -> str:
    dtype = column.dtype.type
    meta = column.metadata or {}
    if isinstance(dtype, pd.CategoricalDtype) or str(dtype) == "category":
        return "category"
    if pd.api.types.is_datetime64_dtype(dtype):
        return meta.get(META_KIND, "timestamp")
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "string"


def column_rules(schema: pa.DataFrameSchema) -> list[ColumnRule]:
    """Translate a table schema's columns into :class:`ColumnRule` records.

    Parameters
    ----------
    schema
        One of :data:`SCHEMAS`.

    Returns
    -------
    list of ColumnRule
        In schema column order. Built-in pandera checks (``isin``, ``ge``, ``le``,
        ``in_range``) become ``allowed``/``min_value``/``max_value``.
    """
    rules = []
    for name, column in schema.columns.items():
        allowed, lo, hi, max_length = None, None, None, None
        for check in column.checks:
            stats = check.statistics or {}
            if check.name == "isin":
                allowed = tuple(stats["allowed_values"])
            elif check.name == "greater_than_or_equal_to":
                lo = stats["min_value"]
            elif check.name == "less_than_or_equal_to":
                hi = stats["max_value"]
            elif check.name == "in_range":
                lo, hi = stats["min_value"], stats["max_value"]
            elif check.name == "str_length":
                max_length = stats["max_value"]
            else:  # pragma: no cover - guards the one-source-of-truth promise
                raise NotImplementedError(f"no SQL translation for check {check.name!r}")
        meta = column.metadata or {}
        rules.append(
            ColumnRule(
                name=name,
                kind=_kind(column),
                nullable=column.nullable,
                required=column.required,
                allowed=allowed,
                min_value=lo,
                max_value=hi,
                max_length=max_length,
                not_future=bool(meta.get(META_NOT_FUTURE, False)),
                references=meta.get(META_REFERENCES),
                dtype=column.dtype.type,
            )
        )
    return rules


def cross_column_rules(schema: pa.DataFrameSchema) -> list[tuple[str, str]]:
    """Return the ``(left, right)`` pairs of the schema's ``left <= right`` checks."""
    pairs = []
    for check in schema.checks:
        if check.name != "column_le":  # pragma: no cover
            raise NotImplementedError(f"no SQL translation for check {check.name!r}")
        pairs.append((check.statistics["left"], check.statistics["right"]))
    return pairs


def key_columns(schema: pa.DataFrameSchema) -> list[str]:
    """Return the key columns of a table (unique together); empty when it has no key."""
    single = [name for name, column in schema.columns.items() if column.unique]
    return single or list(schema.unique or [])


def date_columns(schema: pa.DataFrameSchema) -> list[str]:
    """Return the columns that date a table's rows (used for date ranges and coverage)."""
    return list((schema.metadata or {}).get("date_columns", []))
