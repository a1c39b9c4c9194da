"""Customer feature table for persona clustering: one SQL query over customers, touches, orders.

The query derives, per customer, recency/frequency/monetary value, the channel mix, engagement
rates and tenure, and keeps the customer attributes. It is written in DuckDB SQL and kept to
portable constructs; :func:`feature_sql` transpiles it with ``sqlglot`` for other engines
(``dialect="spark"``), so the same derivation runs on Spark.

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

import duckdb
import pandas as pd
import sqlglot

from imclab.config import CHANNELS
from imclab.errors import DataError

__all__ = [
    "FEATURE_GROUPS",
    "PRIOR_TOUCHES",
    "customer_features",
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

_REQUIRED = {
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


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def feature_sql(
    as_of: str | None = None,
    channels: tuple[str, ...] = CHANNELS,
    prior_touches: float = PRIOR_TOUCHES,
    dialect: str = "duckdb",
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
        ``sqlglot`` dialect to write (``"duckdb"``, ``"spark"``, ...).

    Returns
    -------
    str
        One SELECT statement, one row per customer, ordered by ``customer_id``.
    """
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
    FROM touchpoints
),
ox AS (
    SELECT customer_id, CAST(timestamp AS TIMESTAMP) AS ts, CAST(revenue AS DOUBLE) AS revenue
    FROM conversions
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
FROM customers AS c
CROSS JOIN ref AS r
CROSS JOIN g
LEFT JOIN tp ON tp.customer_id = c.customer_id
LEFT JOIN cv ON cv.customer_id = c.customer_id
ORDER BY c.customer_id
"""
    if dialect == "duckdb":
        return sql.strip()
    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0]


def derive_features(
    con: duckdb.DuckDBPyConnection,
    as_of: str | None = None,
    channels: tuple[str, ...] = CHANNELS,
    prior_touches: float = PRIOR_TOUCHES,
) -> pd.DataFrame:
    """Run the feature query on a DuckDB connection holding the three tables.

    Parameters
    ----------
    con
        Connection where ``customers``, ``touchpoints`` and ``conversions`` are tables or
        views with the data-dictionary columns (``World.duckdb()`` registers them).
    as_of, channels, prior_touches
        See :func:`feature_sql`.

    Returns
    -------
    pandas.DataFrame
        One row per customer (``customer_id`` first), columns of :data:`FEATURE_GROUPS`
        plus the descriptors ``region``, ``n_touches`` and ``converted``.

    Raises
    ------
    DataError
        A table or a required column is missing, or ``customers`` is empty.
    """
    for table, cols in _REQUIRED.items():
        try:
            have = set(con.sql(f"SELECT * FROM {table} LIMIT 0").columns)
        except duckdb.Error as exc:
            raise DataError(
                f"table '{table}' is not registered on the DuckDB connection "
                f"(expected columns: {', '.join(cols)})"
            ) from exc
        missing = [c for c in cols if c not in have]
        if missing:
            raise DataError(f"table '{table}': missing column(s) {', '.join(missing)}")
    frame = con.sql(feature_sql(as_of, channels, prior_touches)).df()
    if frame.empty:
        raise DataError("table 'customers' has no rows: no features to derive")
    for col in ("gender", "city_tier", "device", "income_band", "region"):
        frame[col] = frame[col].astype("object").where(frame[col].notna(), None)
    return frame


def customer_features(
    customers: pd.DataFrame,
    touchpoints: pd.DataFrame,
    conversions: pd.DataFrame,
    as_of: str | None = None,
    channels: tuple[str, ...] = CHANNELS,
    prior_touches: float = PRIOR_TOUCHES,
) -> pd.DataFrame:
    """Derive the feature table from pandas DataFrames (registered in a fresh DuckDB).

    Parameters
    ----------
    customers, touchpoints, conversions
        Tables with the data-dictionary columns (timestamps as datetime64).
    as_of, channels, prior_touches
        See :func:`feature_sql`.

    Returns
    -------
    pandas.DataFrame
        As :func:`derive_features`.
    """
    con = duckdb.connect()
    try:
        for name, frame in (
            ("customers", customers),
            ("touchpoints", touchpoints),
            ("conversions", conversions),
        ):
            con.register(name, frame)
        return derive_features(con, as_of=as_of, channels=channels, prior_touches=prior_touches)
    finally:
        con.close()
