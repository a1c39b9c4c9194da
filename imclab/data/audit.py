"""Data-audit tables for the single customer view: volumes, coverage, gaps, duplicates, silos.

Pure functions of a loaded :class:`~imclab.data.load.World` (or its quarantine) that return
DataFrames; the aggregations run in DuckDB SQL over the clean tables.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from imclab.data.load import World
from imclab.data.schemas import SCHEMAS, date_columns, key_columns

__all__ = [
    "date_coverage",
    "duplicates",
    "identity_match",
    "missing_values",
    "quarantine_reasons",
    "rows_per_table",
    "weekly_events",
]

MISSING_REASON = "missing required value"
# Single-column surrogate ids: a row identical to another except for its id is a suspected
# double record (tracking fired twice, an order exported twice).
_SURROGATE_IDS = {
    "customers": "customer_id",
    "touchpoints": "event_id",
    "conversions": "order_id",
    "creatives": "creative_id",
}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _con(world: World) -> duckdb.DuckDBPyConnection:
    return world.duckdb()


def rows_per_table(world: World) -> pd.DataFrame:
    """Rows read, loaded and quarantined per table.

    Parameters
    ----------
    world
        A loaded world.

    Returns
    -------
    pandas.DataFrame
        One row per table in load order: ``table, file, present, rows_read, rows_loaded,
        rows_quarantined, share_quarantined`` (share of rows read; 0 for absent tables).
    """
    frame = world.report.to_frame()[
        ["table", "file", "present", "rows_read", "rows_loaded", "rows_quarantined"]
    ].copy()
    read = frame["rows_read"].where(frame["rows_read"] > 0)
    frame["share_quarantined"] = (frame["rows_quarantined"] / read).fillna(0.0)
    return frame


def date_coverage(world: World) -> pd.DataFrame:
    """First and last date of each dated table and the calendar days without any row.

    Parameters
    ----------
    world
        A loaded world.

    Returns
    -------
    pandas.DataFrame
        ``table, column, first, last, days, days_with_rows, days_without_rows`` for every loaded
        table with a date column (the first one: ``start_date`` for ``ab_tests``). ``days``
        counts calendar days from ``first`` to ``last`` inclusive; a gap in an event log
        (``days_without_rows``) often means a tracking outage.
    """
    con = _con(world)
    parts = []
    for table in world.tables:
        cols = date_columns(SCHEMAS[table])
        if not cols or world.tables[table].empty:
            continue
        col = _ident(cols[0])
        parts.append(
            f"SELECT '{table}' AS table, '{cols[0]}' AS column, "
            f"CAST(min({col}) AS DATE) AS first, CAST(max({col}) AS DATE) AS last, "
            f"count(DISTINCT CAST({col} AS DATE)) AS days_with_rows FROM {table}"
        )
    columns = ["table", "column", "first", "last", "days", "days_with_rows", "days_without_rows"]
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = con.sql(" UNION ALL ".join(parts)).df()
    frame["first"] = pd.to_datetime(frame["first"])
    frame["last"] = pd.to_datetime(frame["last"])
    frame["days"] = (frame["last"] - frame["first"]).dt.days + 1
    frame["days_with_rows"] = frame["days_with_rows"].astype("int64")
    frame["days_without_rows"] = frame["days"] - frame["days_with_rows"]
    order = {t: i for i, t in enumerate(world.tables)}
    return frame.sort_values("table", key=lambda s: s.map(order)).reset_index(drop=True)[columns]


def missing_values(world: World) -> pd.DataFrame:
    """Missing values per column: in the loaded rows and in rows quarantined for them.

    Parameters
    ----------
    world
        A loaded world.

    Returns
    -------
    pandas.DataFrame
        ``table, column, nullable, rows_read, missing_loaded, missing_quarantined,
        share_missing`` for every column of every loaded table. Required columns have
        ``missing_loaded == 0`` (their empty cells are quarantined and counted in
        ``missing_quarantined``); ``share_missing`` is the sum over ``rows_read``.
    """
    con = _con(world)
    quarantined = world.quarantine[world.quarantine["reason"] == MISSING_REASON]
    counts = quarantined.groupby(["file", "column"])["row"].nunique()
    rows = []
    for table in world.tables:
        schema = SCHEMAS[table]
        names = list(schema.columns)
        selects = ", ".join(f"count(*) - count({_ident(c)})" for c in names)
        missing = con.execute(f"SELECT {selects} FROM {table}").fetchall()[0]
        report = world.report.tables[table]
        for name, n_missing in zip(names, missing, strict=True):
            n_quarantined = int(counts.get((report.file, name), 0))
            rows.append(
                {
                    "table": table,
                    "column": name,
                    "nullable": bool(schema.columns[name].nullable),
                    "rows_read": report.rows_read,
                    "missing_loaded": int(n_missing),
                    "missing_quarantined": n_quarantined,
                    "share_missing": (int(n_missing) + n_quarantined) / report.rows_read,
                }
            )
    return pd.DataFrame(rows)


def duplicates(world: World) -> pd.DataFrame:
    """Duplicate keys (quarantined) and suspected double records (kept) per table.

    Parameters
    ----------
    world
        A loaded world.

    Returns
    -------
    pandas.DataFrame
        ``table, key, rows_loaded, duplicate_keys, exact_duplicates``. ``duplicate_keys``:
        rows quarantined because an earlier row had the same key. ``exact_duplicates``: loaded
        rows identical to an earlier loaded row in every column except the surrogate id
        (``event_id``, ``order_id``, ``customer_id``, ``creative_id``; tables with a compound
        natural key compare every column, so they have none). Such rows are kept: two
        identical touches can be real, but many of them suggest double tracking.
    """
    con = _con(world)
    dup_rows = world.quarantine[world.quarantine["reason"].str.startswith("duplicate")]
    dup_counts = dup_rows.groupby("file")["row"].nunique()
    rows = []
    for table, frame in world.tables.items():
        names = [c for c in SCHEMAS[table].columns if c != _SURROGATE_IDS.get(table)]
        cols = ", ".join(_ident(c) for c in names)
        exact = con.execute(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {table} "
            f"GROUP BY {cols})"
        ).fetchall()[0][0]
        report = world.report.tables[table]
        rows.append(
            {
                "table": table,
                "key": ", ".join(key_columns(SCHEMAS[table])),
                "rows_loaded": len(frame),
                "duplicate_keys": int(dup_counts.get(report.file, 0)),
                "exact_duplicates": int(exact),
            }
        )
    return pd.DataFrame(rows)


def quarantine_reasons(world_or_quarantine: World | pd.DataFrame) -> pd.DataFrame:
    """Summarise the quarantine: rows per table, column and reason.

    Parameters
    ----------
    world_or_quarantine
        A loaded world or its quarantine frame.

    Returns
    -------
    pandas.DataFrame
        ``table, file, column, reason, rows`` (distinct rows), largest first; empty with these
        columns when nothing was quarantined.
    """
    frame = (
        world_or_quarantine
        if isinstance(world_or_quarantine, pd.DataFrame)
        else world_or_quarantine.quarantine
    )
    columns = ["table", "file", "column", "reason", "rows"]
    if frame.empty:
        return pd.DataFrame(columns=columns).astype({"rows": "int64"})
    con = duckdb.connect()
    con.register("quarantine", frame)
    summary = con.sql(
        'SELECT file, coalesce("column", \'\') AS "column", reason, '
        'count(DISTINCT "row") AS rows FROM quarantine GROUP BY ALL '
        'ORDER BY rows DESC, file, "column", reason'
    ).df()
    summary.insert(0, "table", summary["file"].map(lambda f: Path(f).stem))
    summary["rows"] = summary["rows"].astype("int64")
    return summary[columns]


def identity_match(world: World) -> pd.DataFrame:
    """Share of rows whose ``customer_id`` joins to a known customer (data silos).

    Parameters
    ----------
    world
        A loaded world.

    Returns
    -------
    pandas.DataFrame
        ``table, rows, matched, unmatched, match_rate`` for touchpoints, conversions and
        survey (when loaded). For touchpoints and conversions ``rows`` are the rows that passed
        the per-cell checks, and the unmatched ones were quarantined as unknown customers; for
        the survey every loaded row counts and an empty ``customer_id`` is unmatched.
    """
    rows = []
    for table, report in world.report.tables.items():
        if report.identity_rows is None:
            continue
        rows.append(
            {
                "table": table,
                "rows": report.identity_rows,
                "matched": report.identity_matched,
                "unmatched": report.identity_rows - report.identity_matched,
                "match_rate": (
                    report.identity_matched / report.identity_rows
                    if report.identity_rows
                    else float("nan")
                ),
            }
        )
    return pd.DataFrame(rows, columns=["table", "rows", "matched", "unmatched", "match_rate"])


def weekly_events(world: World, table: str = "touchpoints") -> pd.DataFrame:
    """Rows per channel and ISO week (Monday), zero-filled, to spot tracking gaps.

    Parameters
    ----------
    world
        A loaded world.
    table
        A table with ``channel`` and a date column (``touchpoints`` or ``spend``).

    Returns
    -------
    pandas.DataFrame
        ``week, channel, events, full_week``: one row per week from the first to the last week
        of the table and per channel seen in it (weeks without rows have ``events == 0``),
        sorted by channel (canonical order) then week. ``full_week`` is False for the first
        and last week when the data starts or ends mid-week (their counts are partial).
    """
    frame = world.table(table)
    date_col = _ident(date_columns(SCHEMAS[table])[0])
    con = _con(world)
    weekly = con.sql(
        f"WITH w AS (SELECT CAST(date_trunc('week', {date_col}) AS DATE) AS week, "
        f"CAST(channel AS VARCHAR) AS channel FROM {table}), "
        "weeks AS (SELECT CAST(unnest(generate_series(min(week), max(week), INTERVAL 7 DAY)) "
        "AS DATE) AS week FROM w), "
        "channels AS (SELECT DISTINCT channel FROM w) "
        "SELECT weeks.week, channels.channel, count(w.week) AS events "
        "FROM weeks CROSS JOIN channels "
        "LEFT JOIN w ON w.week = weeks.week AND w.channel = channels.channel "
        "GROUP BY ALL"
    ).df()
    weekly["week"] = pd.to_datetime(weekly["week"])
    weekly["events"] = weekly["events"].astype("int64")
    dates = frame[date_columns(SCHEMAS[table])[0]]
    first, last = dates.min().normalize(), dates.max().normalize()
    weekly["full_week"] = (weekly["week"] >= first) & (
        weekly["week"] + pd.Timedelta(days=6) <= last
    )
    categories = [c for c in frame["channel"].cat.categories if c in set(weekly["channel"])]
    weekly["channel"] = pd.Categorical(weekly["channel"], categories=categories)
    return weekly.sort_values(["channel", "week"]).reset_index(drop=True)
