"""The anchor of the journey benchmark: unique paths by one hand-written DuckDB SQL query.

Same output as :func:`imclab.attribution.build_journeys` with its defaults (all interactions,
30-day lookback, no grouping, collapsing, period or segments): per unique path the converting
and non-converting journeys and the revenue and, with ``decay=True``, the time-decay arrays.
It does not validate anything and reports no exclusion counts: it is the speed to match, not
a replacement (``tests/attribution/test_journeys_sql.py`` checks it gives the same paths).
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

_EVENTS = """
WITH ev AS (
    SELECT customer_id, "timestamp" AS ts, event_id, channel, 0 AS kind FROM tp
    WHERE "timestamp" IS NOT NULL AND customer_id IS NOT NULL
    UNION ALL
    SELECT customer_id, "timestamp", order_id, NULL, 1 FROM cv
    WHERE "timestamp" IS NOT NULL AND customer_id IS NOT NULL
),
s AS (
    SELECT kind, customer_id, ts, event_id, channel,
        SUM(kind) OVER (PARTITION BY customer_id ORDER BY ts, kind, event_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) + 1 AS conv_no,
        MIN(CASE WHEN kind = 1 THEN ts END) OVER (
            PARTITION BY customer_id ORDER BY ts, kind, event_id
            ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_conv,
        MAX(ts) OVER (PARTITION BY customer_id) AS last_ts
    FROM ev
),
k AS (  -- the touches inside their journey's window
    SELECT customer_id, conv_no, ts, event_id, channel, next_conv IS NOT NULL AS converted,
        epoch(COALESCE(next_conv, last_ts)) - epoch(ts) AS lag
    FROM s
    WHERE kind = 0 AND epoch(COALESCE(next_conv, last_ts)) - epoch(ts) <= {window}
),
cvn AS (
    SELECT customer_id, COALESCE(revenue, 0.0) AS revenue,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY "timestamp", order_id) AS conv_no
    FROM cv WHERE "timestamp" IS NOT NULL AND customer_id IS NOT NULL
),
"""

_COUNTS = (
    _EVENTS
    + """
j AS (
    SELECT customer_id, conv_no, bool_or(converted) AS converted,
        string_agg(channel, ' > ' ORDER BY ts, event_id) AS path
    FROM k GROUP BY customer_id, conv_no
),
alljourneys AS (
    SELECT j.path, j.converted, COALESCE(cvn.revenue, 0.0) AS revenue
    FROM j LEFT JOIN cvn USING (customer_id, conv_no)
    UNION ALL
    SELECT '(no touch)', TRUE, cvn.revenue FROM cvn
    ANTI JOIN (SELECT customer_id, conv_no FROM j WHERE converted) USING (customer_id, conv_no)
)
SELECT path,
    COUNT(*) FILTER (WHERE converted) AS conversions,
    COUNT(*) FILTER (WHERE NOT converted) AS nulls,
    COALESCE(SUM(revenue) FILTER (WHERE converted), 0.0) AS value
FROM alljourneys GROUP BY path
"""
)

_DECAY = (
    _EVENTS
    + """
j AS (
    SELECT customer_id, conv_no, bool_or(converted) AS converted,
        string_agg(channel, ' > ' ORDER BY ts, event_id) AS path,
        list(exp(lag * {rate}) ORDER BY ts, event_id) AS w
    FROM k GROUP BY customer_id, conv_no
),
jr AS (
    SELECT j.path, j.converted, j.w, COALESCE(cvn.revenue, 0.0) AS revenue
    FROM j LEFT JOIN cvn USING (customer_id, conv_no)
),
alljourneys AS (
    SELECT path, converted, revenue FROM jr
    UNION ALL
    SELECT '(no touch)', TRUE, cvn.revenue FROM cvn
    ANTI JOIN (SELECT customer_id, conv_no FROM j WHERE converted) USING (customer_id, conv_no)
),
counts AS (
    SELECT path,
        COUNT(*) FILTER (WHERE converted) AS conversions,
        COUNT(*) FILTER (WHERE NOT converted) AS nulls,
        COALESCE(SUM(revenue) FILTER (WHERE converted), 0.0) AS value
    FROM alljourneys GROUP BY path
),
cells AS (
    SELECT path, revenue, unnest(w) / list_sum(w) AS d, generate_subscripts(w, 1) AS position
    FROM jr WHERE converted
),
pos AS (
    SELECT path, position, SUM(d) AS d, SUM(d * revenue) AS dv FROM cells
    GROUP BY path, position
),
arrays AS (
    SELECT path, list(d ORDER BY position) AS decay, list(dv ORDER BY position) AS decay_value
    FROM pos GROUP BY path
)
SELECT counts.*, arrays.decay, arrays.decay_value
FROM counts LEFT JOIN arrays USING (path)
"""
)


def sql_paths(
    con: duckdb.DuckDBPyConnection,
    touchpoints: str,
    conversions: str,
    *,
    lookback_days: float = 30.0,
    half_life_days: float = 7.0,
    decay: bool = True,
) -> pd.DataFrame:
    """Unique paths of the events in two Parquet files (or table names), by one query.

    Returns ``path, conversions, nulls, value`` (and ``decay``, ``decay_value`` as lists),
    sorted as ``build_journeys`` sorts its paths.
    """

    def _source(x: str) -> str:
        return f"read_parquet('{x}')" if x.endswith(".parquet") else x

    for view, source in (("tp", touchpoints), ("cv", conversions)):
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * REPLACE "
            f'(CAST("timestamp" AS TIMESTAMP) AS "timestamp") FROM {_source(source)}'
        )
    sql = (_DECAY if decay else _COUNTS).format(
        window=lookback_days * 86_400.0, rate=-math.log(2.0) / (half_life_days * 86_400.0)
    )
    paths = con.sql(sql).to_arrow_table().to_pandas()
    return paths.sort_values(
        ["conversions", "nulls", "path"], ascending=[False, False, True], kind="mergesort"
    ).reset_index(drop=True)
