"""Data-audit tables for the single customer view: volumes, coverage, gaps, duplicates, silos.

Pure functions of a loaded :class:`~imclab.data.load.World` or an engine world
(:func:`imclab.warehouse.open_world`) that return DataFrames; the aggregations are Ibis
expressions run where the tables live (DuckDB for pandas tables, or the world's engine).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from imclab.data.load import World
from imclab.data.quarantine import excluded_rows
from imclab.data.schemas import SCHEMAS, column_rules, date_columns, key_columns
from imclab.engine import to_ibis

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

#: A loaded :class:`~imclab.data.load.World` or an engine world
#: (:class:`imclab.warehouse.EngineWorld`: event tables stay in the engine).
AnyWorld = Any
# Single-column surrogate ids: a row identical to another except for its id is a suspected
# double record (tracking fired twice, an order exported twice).
_SURROGATE_IDS = {
    "customers": "customer_id",
    "touchpoints": "event_id",
    "conversions": "order_id",
    "creatives": "creative_id",
}


def _table(world: AnyWorld, table: str) -> ir.Table:
    """Return a world's table as Ibis (engine tables as they are, pandas ones in DuckDB)."""
    return to_ibis(world.tables[table], table)


def _excluded(world: AnyWorld) -> pd.DataFrame:
    """Every excluded row once, by its first fault: ``table, column, reason, rows``.

    An engine world counted them in the engine (``world.excluded``); a loaded world's
    quarantine has one line per fault, its first line per row is that fault
    (:func:`imclab.data.quarantine.excluded_rows`), so both count alike.
    """
    excluded = getattr(world, "excluded", None)
    if excluded is not None:
        return excluded
    files = {t: r.file for t, r in world.report.tables.items() if r.file}
    return excluded_rows(world.quarantine, files)


def _excluded_rows(world: AnyWorld, reason: Callable[[pd.Series], pd.Series]) -> pd.DataFrame:
    """Excluded rows per table and column for the reasons ``reason`` selects (by first fault)."""
    excluded = _excluded(world)
    picked = excluded[reason(excluded["reason"])]
    return picked.groupby(["table", "column"], as_index=False)["rows"].sum()


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
    parts = []
    for table in world.tables:
        cols = date_columns(SCHEMAS[table])
        if not cols:
            continue
        t = _table(world, table)
        day = t[cols[0]].cast("timestamp").date()
        row = t.agg(first=day.min(), last=day.max(), days_with_rows=day.nunique(), n=t.count())
        row = row.execute().iloc[0]
        if not row["n"]:
            continue
        parts.append({"table": table, "column": cols[0], "first": row["first"],
                      "last": row["last"], "days_with_rows": row["days_with_rows"]})  # fmt: skip
    columns = ["table", "column", "first", "last", "days", "days_with_rows", "days_without_rows"]
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(parts)
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
    quarantined = _excluded_rows(world, lambda r: r == MISSING_REASON)
    counts = quarantined.set_index(["table", "column"])["rows"]
    rows = []
    for table in world.tables:
        schema = SCHEMAS[table]
        names = list(schema.columns)
        t = _table(world, table)
        missing = t.agg(**{f"m{i}": t[c].isnull().cast("int64").sum() for i, c in enumerate(names)})
        missing = [0 if pd.isna(v) else v for v in missing.execute().iloc[0]]
        report = world.report.tables[table]
        for name, n_missing in zip(names, missing, strict=True):
            n_quarantined = int(counts.get((table, name), 0))
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
    dup_counts = _excluded_rows(world, lambda r: r.str.startswith("duplicate"))
    dup_counts = dup_counts.groupby("table")["rows"].sum()
    rows = []
    for table in world.tables:
        names = [c for c in SCHEMAS[table].columns if c != _SURROGATE_IDS.get(table)]
        t = _table(world, table)
        groups = t.group_by(names).agg(n=t.count())
        summary = groups.agg(exact=(groups.n - 1).sum(), loaded=groups.n.sum()).execute()
        exact = summary["exact"].iloc[0]
        exact = 0 if pd.isna(exact) else exact
        loaded = world.report.tables[table].rows_loaded
        rows.append(
            {
                "table": table,
                "key": ", ".join(key_columns(SCHEMAS[table])),
                "rows_loaded": int(loaded),
                "duplicate_keys": int(dup_counts.get(table, 0)),
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
        ``table, file, column, reason, rows``, largest first; empty with these columns when
        nothing was quarantined. Every excluded row is counted once, by its first fault
        (rule 4 of ``data/README.md``), on every path: a row with two bad cells counts under
        the first one's reason.
    """
    columns = ["table", "file", "column", "reason", "rows"]
    if isinstance(world_or_quarantine, pd.DataFrame):
        excluded = excluded_rows(world_or_quarantine)
        files = {Path(str(f)).stem: f for f in dict.fromkeys(world_or_quarantine["file"])}
    else:
        excluded = _excluded(world_or_quarantine)
        files = {t: r.file for t, r in world_or_quarantine.report.tables.items()}
    summary = excluded.assign(file=excluded["table"].map(files))[columns]
    summary = summary.astype({"rows": "int64"}).sort_values(
        ["rows", "file", "column", "reason"], ascending=[False, True, True, True],
        kind="mergesort",
    )  # fmt: skip
    return summary.reset_index(drop=True)


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
    column = date_columns(SCHEMAS[table])[0]
    t = to_ibis(world.table(table), table, [column, "channel"])
    day = t[column].cast("timestamp").date()
    counts = (
        t.select(
            week=t[column].cast("timestamp").truncate("W").date(), channel=t.channel.cast("string")
        )  # fmt: skip
        .group_by(["week", "channel"])
        .agg(events=ibis._.count())
        .execute()
    )
    span = t.agg(first=day.min(), last=day.max()).execute().iloc[0]
    columns = ["week", "channel", "events", "full_week"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    counts["week"] = pd.to_datetime(counts["week"])
    weeks = pd.date_range(counts["week"].min(), counts["week"].max(), freq="7D")
    allowed = next(r.allowed for r in column_rules(SCHEMAS[table]) if r.name == "channel")
    known = list(allowed) if allowed is not None else sorted(counts["channel"].unique())
    categories = [c for c in known if c in set(counts["channel"])]
    grid = pd.MultiIndex.from_product([categories, weeks], names=["channel", "week"])
    weekly = (
        counts.set_index(["channel", "week"])["events"]
        .reindex(grid, fill_value=0)
        .astype("int64")
        .reset_index()
    )
    first, last = pd.Timestamp(span["first"]), pd.Timestamp(span["last"])
    weekly["full_week"] = (weekly["week"] >= first) & (
        weekly["week"] + pd.Timedelta(days=6) <= last
    )
    weekly["channel"] = pd.Categorical(weekly["channel"], categories=categories)
    return weekly[columns].sort_values(["channel", "week"]).reset_index(drop=True)
