"""Customer feature table for persona clustering: one SQL query over customers, touches, orders.

The query derives, per customer, recency/frequency/monetary value, the channel mix, engagement
rates and tenure, and keeps the customer attributes. It is written once, in DuckDB SQL;
:func:`feature_sql` transpiles it with ``sqlglot`` for other engines (``dialect="spark"``) and
pins the two constructs whose meaning differs between engines (decimal literals, day
differences), so DuckDB and Spark give the same table. :func:`derive_features` runs it where
the tables live: a DuckDB connection, pandas DataFrames (``load_world``) or Ibis tables on
DuckDB or Spark (``open_world``, :func:`imclab.engine.world_tables`); only the per-customer
result comes back to pandas.

Feature groups (:data:`FEATURE_GROUPS`) are the unit the clustering pipeline weights:

``profile``
    Numeric customer attributes: age, session length, pages per visit, discount usage
    (price sensitivity), loyalty membership and newsletter opt-in (0/1).
``demographics``
    Categorical attributes: gender, city tier, device, income band (``region`` is kept in
    the table as a descriptor: it is the sales region used for geo holdout tests).
``channel_mix``
    Share of the customer's touches in each channel, smoothed towards the overall mix with
    :data:`PRIOR_TOUCHES` pseudo-touches so a customer seen twice is not "100 % social".
``engagement``
    Clicks, EDM opens and site visits per touch (smoothed the same way) and touches per week
    of tenure within the window.
``value``
    Recency (days since the last order; days since the window start when there is none),
    frequency (orders), monetary value (revenue), average order value (missing without orders).
``tenure``
    Days from signup to the analysis date.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd
import sqlglot
import sqlglot.expressions as sge

from imclab.config import CHANNELS
from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError

__all__ = [
    "FEATURE_GROUPS",
    "PRIOR_TOUCHES",
    "TABLE_NAMES",
    "derive_features",
    "feature_sql",
]

#: Pseudo-touches of the overall mix added to every customer's channel shares and rates.
PRIOR_TOUCHES: float = 5.0

#: Feature columns by group, in table order (``share_<channel>`` for every channel).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "profile": (
        "age",
        "avg_session_minutes",
        "pages_per_visit",
        "discount_usage_rate",
        "loyalty_member",
        "newsletter_opt_in",
    ),
    "demographics": ("gender", "city_tier", "device", "income_band"),
    "channel_mix": tuple(f"share_{c}" for c in CHANNELS),
    "engagement": ("click_rate", "open_rate", "visit_rate", "touches_per_week"),
    "value": ("recency_days", "frequency", "monetary", "aov"),
    "tenure": ("tenure_days",),
}

#: Columns kept for describing personas but not used to form them.
DESCRIPTORS: tuple[str, ...] = ("region", "n_touches", "converted")

#: The tables the feature query reads, in the order they are checked.
TABLE_NAMES: tuple[str, ...] = ("customers", "touchpoints", "conversions")

#: Columns the feature query reads, per table (data-dictionary names).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_id",
        "signup_date",
        "age",
        "gender",
        "region",
        "city_tier",
        "device",
        "income_band",
        "loyalty_member",
        "newsletter_opt_in",
        "avg_session_minutes",
        "pages_per_visit",
        "discount_usage_rate",
    ),
    "touchpoints": ("customer_id", "timestamp", "channel", "interaction"),
    "conversions": ("customer_id", "timestamp", "revenue"),
}

#: Text columns of the result (missing values are None, as DuckDB returns them).
_TEXT = ("gender", "city_tier", "device", "income_band", "region")
#: Integer columns of the result and their dtype (as DuckDB returns them).
_INTEGERS = {
    "recency_days": "int64",
    "frequency": "int64",
    "tenure_days": "int64",
    "n_touches": "int64",
    "converted": "int32",
}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
#: Backend names (``con.name``) -> sqlglot dialect.
_DIALECTS = {"pyspark": "spark", "duckdb": "duckdb"}


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _portable(tree: sge.Expression) -> sge.Expression:
    """Pin the two constructs whose meaning differs between DuckDB and the other engines.

    ``1.0`` is a DECIMAL on both DuckDB and Spark (Spark then rounds ratios to its decimal
    scale): every decimal literal becomes a DOUBLE. ``DATE_DIFF('day', a, b)`` counts day
    boundaries in DuckDB but whole 24-hour periods in Spark: both arguments become dates, so
    every engine counts calendar days as DuckDB does.
    """
    for lit in list(tree.find_all(sge.Literal)):
        if not lit.is_string and "." in str(lit.this):
            lit.replace(sge.Cast(this=lit.copy(), to=sge.DataType.build("DOUBLE")))
    for diff in list(tree.find_all(sge.DateDiff)):
        if str(diff.text("unit")).strip("'").lower() in ("day", ""):
            for arg in ("this", "expression"):
                diff.set(arg, sge.Cast(this=diff.args[arg].copy(), to=sge.DataType.build("DATE")))
    return tree


def feature_sql(
    as_of: str | None = None,
    channels: tuple[str, ...] = CHANNELS,
    prior_touches: float = PRIOR_TOUCHES,
    dialect: str = "duckdb",
    tables: Mapping[str, str] | None = None,
) -> str:
    """Return the feature query over the tables customers, touchpoints and conversions.

    Parameters
    ----------
    as_of
        Analysis date as ``YYYY-MM-DD`` (recency and tenure are measured to it); None uses
        the latest touch or order timestamp in the data.
    channels
        Channels that get a ``share_<channel>`` column.
    prior_touches
        Pseudo-touches of the overall mix added to each customer's shares and rates.
    dialect
        ``sqlglot`` dialect to write (``"duckdb"``, ``"spark"``, ...). Other than DuckDB,
        decimal literals are written as DOUBLE and day differences compare dates, so every
        engine computes what DuckDB computes.
    tables
        Names (``table``, ``database.table`` or ``catalog.database.table``) to read instead
        of ``customers``, ``touchpoints`` and ``conversions``: ``{"touchpoints":
        "lake.web.events"}``.

    Returns
    -------
    str
        One SELECT statement, one row per customer, ordered by ``customer_id``.

    Raises
    ------
    ParameterError
        A table name is not a plain (dotted) identifier, or names an unknown table.
    """
    names = {name: name for name in TABLE_NAMES}
    for key, value in (tables or {}).items():
        if key not in names:
            raise ParameterError(
                f"tables: unknown table {key!r} (expected some of {', '.join(TABLE_NAMES)})"
            )
        if not _IDENT.fullmatch(str(value)):
            raise ParameterError(
                f"tables.{key}: expected a name such as events or lake.web.events, found {value!r}"
            )
        names[key] = str(value)
    as_of = _check_as_of(as_of)
    ref = (
        f"CAST({_lit(as_of)} AS TIMESTAMP)"
        if as_of
        else "GREATEST((SELECT MAX(ts) FROM tx), (SELECT MAX(ts) FROM ox))"
    )
    a = float(prior_touches)
    shares = ",\n      ".join(
        f"(SUM(CASE WHEN t.channel = {_lit(c)} THEN 1.0 ELSE 0.0 END) + {a} * g.p_{c}) "
        f"/ (COUNT(*) + {a}) AS share_{c}"
        for c in channels
    )
    global_mix = ",\n      ".join(
        f"AVG(CASE WHEN channel = {_lit(c)} THEN 1.0 ELSE 0.0 END) AS p_{c}" for c in channels
    )
    no_touch_shares = ",\n    ".join(
        f"COALESCE(tp.share_{c}, g.p_{c}) AS share_{c}" for c in channels
    )
    rates = {"click_rate": "click", "open_rate": "open", "visit_rate": "visit"}
    global_rates = ",\n      ".join(
        f"AVG(CASE WHEN interaction = {_lit(i)} THEN 1.0 ELSE 0.0 END) AS g_{r}"
        for r, i in rates.items()
    )
    touch_rates = ",\n      ".join(
        f"(SUM(CASE WHEN t.interaction = {_lit(i)} THEN 1.0 ELSE 0.0 END) + {a} * g.g_{r}) "
        f"/ (COUNT(*) + {a}) AS {r}"
        for r, i in rates.items()
    )
    no_touch_rates = ",\n    ".join(f"COALESCE(tp.{r}, g.g_{r}) AS {r}" for r in rates)
    sql = f"""
WITH tx AS (
    SELECT customer_id, CAST(timestamp AS TIMESTAMP) AS ts, channel, interaction
    FROM {names["touchpoints"]}
),
ox AS (
    SELECT customer_id, CAST(timestamp AS TIMESTAMP) AS ts, CAST(revenue AS DOUBLE) AS revenue
    FROM {names["conversions"]}
),
ref AS (
    SELECT {ref} AS as_of,
           LEAST((SELECT MIN(ts) FROM tx), (SELECT MIN(ts) FROM ox)) AS window_start
),
g AS (
    SELECT {global_mix},
      {global_rates}
    FROM tx
),
tp AS (
    SELECT t.customer_id,
      COUNT(*) AS n_touches,
      {shares},
      {touch_rates}
    FROM tx AS t CROSS JOIN g
    GROUP BY t.customer_id, {", ".join(f"g.p_{c}" for c in channels)},
             {", ".join(f"g.g_{r}" for r in rates)}
),
cv AS (
    SELECT customer_id, COUNT(*) AS orders, SUM(revenue) AS revenue, MAX(ts) AS last_order
    FROM ox
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    CAST(c.age AS DOUBLE) AS age,
    CAST(c.avg_session_minutes AS DOUBLE) AS avg_session_minutes,
    CAST(c.pages_per_visit AS DOUBLE) AS pages_per_visit,
    CAST(c.discount_usage_rate AS DOUBLE) AS discount_usage_rate,
    CASE WHEN CAST(c.loyalty_member AS BOOLEAN) THEN 1.0 ELSE 0.0 END AS loyalty_member,
    CASE WHEN CAST(c.newsletter_opt_in AS BOOLEAN) THEN 1.0 ELSE 0.0 END AS newsletter_opt_in,
    CAST(c.gender AS VARCHAR) AS gender, CAST(c.city_tier AS VARCHAR) AS city_tier,
    CAST(c.device AS VARCHAR) AS device, CAST(c.income_band AS VARCHAR) AS income_band,
    CAST(c.region AS VARCHAR) AS region,
    {no_touch_shares},
    {no_touch_rates},
    COALESCE(tp.n_touches, 0) * 7.0 / GREATEST(
        DATE_DIFF('day', GREATEST(CAST(c.signup_date AS TIMESTAMP), r.window_start), r.as_of), 7
    ) AS touches_per_week,
    CASE WHEN cv.last_order IS NULL THEN DATE_DIFF('day', r.window_start, r.as_of)
         ELSE DATE_DIFF('day', cv.last_order, r.as_of) END AS recency_days,
    COALESCE(cv.orders, 0) AS frequency,
    COALESCE(cv.revenue, 0.0) AS monetary,
    cv.revenue / cv.orders AS aov,
    DATE_DIFF('day', CAST(c.signup_date AS TIMESTAMP), r.as_of) AS tenure_days,
    COALESCE(tp.n_touches, 0) AS n_touches,
    CASE WHEN cv.orders IS NULL THEN 0 ELSE 1 END AS converted
FROM {names["customers"]} AS c
CROSS JOIN ref AS r
CROSS JOIN g
LEFT JOIN tp ON tp.customer_id = c.customer_id
LEFT JOIN cv ON cv.customer_id = c.customer_id
ORDER BY c.customer_id
"""

    if dialect == "duckdb":
        return sql.strip()
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        return _portable(tree).sql(dialect=dialect, pretty=True)
    except (sqlglot.errors.SqlglotError, ValueError, KeyError) as exc:
        raise ParameterError(
            f"dialect: cannot write the feature query as {dialect!r}: {exc}"
        ) from exc


def _check_as_of(as_of: Any) -> str | None:
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return None
    try:
        return pd.Timestamp(as_of).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"as_of: expected a date such as 2025-06-30, found {as_of!r}") from exc


def _tables_of(data: Any) -> dict[str, Any]:
    """Return the three tables of a mapping or of a world object (``World``, ``open_world``)."""
    if isinstance(data, Mapping):
        missing = [n for n in TABLE_NAMES if n not in data or data[n] is None]
        if missing:
            raise DataError(
                f"table(s) {', '.join(repr(n) for n in missing)} missing from the tables given "
                f"(expected {', '.join(TABLE_NAMES)}; found {', '.join(map(str, data)) or 'none'})"
            )
        return {n: data[n] for n in TABLE_NAMES}
    if all(hasattr(type(data), n) or hasattr(data, n) for n in TABLE_NAMES):
        return {n: getattr(data, n) for n in TABLE_NAMES}  # World raises naming the file
    raise ParameterError(
        "expected a DuckDB connection, a mapping of tables (customers, touchpoints, "
        f"conversions) or a world, found {type(data).__name__}"
    )


def _columns(table: Any) -> list[str]:
    if isinstance(table, ir.Table):
        return list(table.columns)
    if isinstance(table, pd.DataFrame):
        return [str(c) for c in table.columns]
    raise ParameterError(
        f"expected an Ibis table or a pandas DataFrame, found {type(table).__name__}"
    )


def _bind(data: Any) -> tuple[ibis.BaseBackend, dict[str, ir.Table]]:
    """Check the three tables and return the backend that runs them and their Ibis tables."""
    raw = _tables_of(data)
    tables: dict[str, ir.Table] = {}
    backends: list[ibis.BaseBackend] = []
    for name, table in raw.items():
        try:
            have = _columns(table)
        except ParameterError as exc:
            raise ParameterError(f"table '{name}': {exc}") from None
        cols = REQUIRED_COLUMNS[name]
        missing = [c for c in cols if c not in have]
        if missing:
            raise DataError(
                f"table '{name}': missing column(s) {', '.join(missing)} "
                f"(found {', '.join(have) or 'none'})"
            )
        t = to_ibis(table, name, columns=list(cols)).select(*cols)
        tables[name] = t
        for backend in t._find_backends()[0]:
            if all(backend is not b for b in backends):
                backends.append(backend)
    if len(backends) > 1:
        found = ", ".join(f"{n}: {_backend_of(t)}" for n, t in tables.items())
        raise ParameterError(f"the tables live on different engines ({found}): use one engine")
    if backends:
        return backends[0], tables
    from imclab.engine import connect

    return connect("duckdb"), tables  # pandas only: DuckDB in memory


def _backend_of(t: ir.Table) -> str:
    found = t._find_backends()[0]
    return found[0].name if found else "pandas"


def _views(con: ibis.BaseBackend, tables: Mapping[str, ir.Table], suffix: str) -> dict[str, str]:
    """Register the tables as temporary views of ``con``; return table -> view name."""
    names = {}
    for name, table in tables.items():
        view = f"_imclab_features_{name}_{suffix}"
        if con.name == "duckdb":  # temporary: never written into a database file
            con._run_pre_execute_hooks(table)  # registers in-memory (pandas) tables
            con.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {con.compile(table)}')
        else:  # Spark: a session-scoped temporary view
            con.create_view(view, table, overwrite=True)
        names[name] = view
    return names


def _drop_views(con: ibis.BaseBackend, views: list[str]) -> None:
    for view in views:
        try:
            if con.name == "duckdb":
                con.raw_sql(f'DROP VIEW IF EXISTS "{view}"')
            elif con.name == "pyspark":  # drop_view would look in the current database
                con.raw_sql(f"DROP VIEW IF EXISTS `{view}`")
            else:
                con.drop_view(view, force=True)
        except Exception:  # noqa: BLE001 - a temporary view goes with the session anyway
            pass


def _query(con: ibis.BaseBackend, sql: str, suffix: str) -> tuple[ir.Table, str | None]:
    """Return the query as an Ibis table of ``con`` (and the DuckDB view holding it)."""
    if con.name == "duckdb":
        # ibis 12's DuckDB ``sql()`` calls a method duckdb 2.0 removed: a view is equivalent.
        view = f"_imclab_features_{suffix}"
        con.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {sql}')
        t, made = con.table(view), view
    else:
        t, made = con.sql(sql, dialect=_DIALECTS.get(con.name, con.name)), None
    # one schema on every engine (DuckDB gives 0/1 flags as DECIMAL, Spark day counts as int32)
    types = {
        c: "string" if c == "customer_id" or c in _TEXT else _INTEGERS.get(c, "float64")
        for c in t.columns
    }
    return t.cast(types), made


@quiet
def derive_features(
    tables: Any,
    as_of: str | None = None,
    channels: tuple[str, ...] = CHANNELS,
    prior_touches: float = PRIOR_TOUCHES,
) -> pd.DataFrame:
    """Derive the per-customer feature table where the data lives.

    Parameters
    ----------
    tables
        Either a DuckDB connection where ``customers``, ``touchpoints`` and ``conversions``
        are tables or views (``World.duckdb()`` registers them), or the three tables: a
        mapping ``{"customers": ..., "touchpoints": ..., "conversions": ...}`` (or a world
        object with those attributes, such as ``load_world(...)``) of pandas DataFrames
        (run by DuckDB in memory) or Ibis tables of one engine (DuckDB or Spark, e.g. from
        :func:`imclab.engine.world_tables`; the query runs there).
    as_of, channels, prior_touches
        See :func:`feature_sql`.

    Returns
    -------
    pandas.DataFrame
        One row per customer sorted by ``customer_id`` (``customer_id`` first), columns of
        :data:`FEATURE_GROUPS` plus the descriptors ``region``, ``n_touches`` and
        ``converted``; the same columns, dtypes and values on every engine.

    Raises
    ------
    DataError
        A table or a required column is missing, or ``customers`` is empty.
    ParameterError
        A table is neither a DataFrame nor an Ibis table, or the tables live on different
        engines.
    """
    if isinstance(tables, duckdb.DuckDBPyConnection):
        frame = _on_connection(tables, as_of, channels, prior_touches)
    else:
        con, bound = _bind(tables)
        suffix = uuid.uuid4().hex[:10]
        views = _views(con, bound, suffix)
        made = list(views.values())
        try:
            dialect = _DIALECTS.get(con.name, con.name)
            expr, view = _query(con, feature_sql(as_of, channels, prior_touches, dialect, views),
                                suffix)  # fmt: skip
            made += [view] if view else []
            frame = expr.execute()
        finally:
            _drop_views(con, made[::-1])
    if frame.empty:
        raise DataError("table 'customers' has no rows: no features to derive")
    return _tidy(frame)


def _on_connection(con: duckdb.DuckDBPyConnection, as_of, channels, prior_touches) -> pd.DataFrame:
    for table, cols in REQUIRED_COLUMNS.items():
        try:
            have = list(con.sql(f"SELECT * FROM {table} LIMIT 0").columns)
        except duckdb.Error as exc:
            raise DataError(
                f"table '{table}' is not registered on the DuckDB connection "
                f"(expected columns: {', '.join(cols)})"
            ) from exc
        missing = [c for c in cols if c not in have]
        if missing:
            raise DataError(
                f"table '{table}': missing column(s) {', '.join(missing)} "
                f"(found {', '.join(have) or 'none'})"
            )
    return con.sql(feature_sql(as_of, channels, prior_touches)).df()


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every engine's result the dtypes and row order DuckDB gives."""
    frame = frame.sort_values("customer_id", kind="mergesort").reset_index(drop=True)
    for col in frame.columns:
        if col == "customer_id" or col in _TEXT:
            values = frame[col].astype("object")
            frame[col] = values.where(values.notna(), None)
        elif col in _INTEGERS:
            frame[col] = frame[col].astype(_INTEGERS[col])
        else:
            frame[col] = frame[col].astype("float64")
    return frame
