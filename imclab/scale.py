"""Heavy aggregations as Ibis expressions that DuckDB or Spark run where the data lives.

Validation counts (rows per table, rule violations per column, from the same table contracts
as the loader), KPI aggregates (daily or weekly sums by channel) and persona feature
derivation. Each function takes tables from :func:`imclab.engine.world_tables` (or any Ibis
tables with data-dictionary columns) and returns only small aggregated results as pandas.
Journey/path aggregation is :func:`imclab.attribution.build_journeys` (same backends);
:func:`clean_tables` quarantines bad rows in the engine and :func:`journeys_from_source`
reads, cleans and builds journeys without passing the events through pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from imclab.config import CHANNELS
from imclab.data.schemas import SCHEMAS, column_rules, cross_column_rules, key_columns
from imclab.engine import quiet
from imclab.errors import DataError, ParameterError

__all__ = [
    "FAULTS",
    "clean_tables",
    "journeys_from_source",
    "kpi_aggregates",
    "persona_features",
    "sales_aggregates",
    "validation_counts",
]

#: Fault kinds counted per column, in the order a cell is checked (a cell gets the first).
FAULTS: tuple[str, ...] = (
    "missing required value",
    "text too long",
    "unparseable",
    "time zone offset",
    "implausible date",
    "unknown value",
    "below minimum",
    "above maximum",
    "in the future",
)

_TYPES = {
    "int": "float64",  # integers are checked as numbers, then for a fractional part
    "float": "float64",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def _blank(col: ir.Value) -> ir.BooleanValue:
    if col.type().is_string():
        return col.isnull() | (col.strip() == "")
    return col.isnull()


def _typed(col: ir.Value, kind: str) -> ir.Value:
    target = _TYPES.get(kind)
    if target is None:
        return col.cast("string") if not col.type().is_string() else col
    if kind == "timestamp" and col.type().is_timestamp():
        return col
    if kind == "date" and col.type().is_date():
        return col
    if kind == "bool" and col.type().is_string():
        low = col.strip().lower()
        return ibis.cases(
            (low == "true", True), (low == "false", False), else_=ibis.null("boolean")
        )
    return col.try_cast(target)


def _fault(col: ir.Value, rule, as_of: pd.Timestamp) -> tuple[ir.StringValue | None, list[str]]:
    """Return the first fault of a cell (NULL when fine) and the faults the rule can give."""
    from imclab.data.load import _MAX_DATE, _MIN_DATE, _TZ_PATTERN  # the loader's bounds

    blank = _blank(col)
    typed = _typed(col, rule.kind)
    cases: list[tuple[ir.BooleanValue, str]] = []
    if not rule.nullable:
        cases.append((blank, "missing required value"))
    text = col.cast("string") if not col.type().is_string() else col
    if rule.max_length is not None:
        cases.append((~blank & (text.length() > int(rule.max_length)), "text too long"))
    not_parsed = ~blank & typed.isnull()
    if rule.kind == "int":
        not_parsed = not_parsed | (~blank & (typed.floor() != typed).fill_null(False))
    if rule.kind in _TYPES:
        cases.append((not_parsed, "unparseable"))
    if rule.kind == "timestamp" and col.type().is_string():
        # 'YYYY-MM-DDTHH:MM:SS' is 19 characters: only longer text can carry an offset
        offset = ~blank & (text.length() > 19) & text.re_search(_TZ_PATTERN)
        cases.append((offset, "time zone offset"))
    if rule.kind in ("date", "timestamp"):
        lo = ibis.literal(pd.Timestamp(_MIN_DATE).to_pydatetime(), type="timestamp")
        hi = ibis.literal(pd.Timestamp(_MAX_DATE).to_pydatetime(), type="timestamp")
        stamp = typed.cast("timestamp")
        cases.append((((stamp < lo) | (stamp > hi)).fill_null(False), "implausible date"))
    if rule.allowed is not None:
        values = [str(v) for v in rule.allowed]
        txt = col.cast("string").strip() if rule.kind in ("category", "string") else None
        if txt is not None:
            cases.append((~blank & ~txt.isin(values), "unknown value"))
        else:
            nums = [float(v) for v in rule.allowed]
            cases.append((~blank & ~typed.isin(nums), "unknown value"))
    if rule.min_value is not None:
        cases.append(((typed < float(rule.min_value)).fill_null(False), "below minimum"))
    if rule.max_value is not None:
        cases.append(((typed > float(rule.max_value)).fill_null(False), "above maximum"))
    if rule.not_future:
        if rule.kind == "date":
            limit = ibis.literal(as_of.date(), type="date")
        else:
            limit = ibis.literal(as_of.to_pydatetime(), type="timestamp")
        cases.append(((typed > limit).fill_null(False), "in the future"))
    if not cases:
        return None, []
    fault = ibis.cases(*[(cond.fill_null(False), label) for cond, label in cases])
    return fault, [label for _, label in cases]


def _when(as_of) -> pd.Timestamp:
    """Return the moment after which dates are "in the future" (read as the loader does)."""
    from imclab.data.load import _as_of  # one reading of as_of for the loader and the engines

    return _as_of(as_of)


def _rules(name: str, t: ir.Table):
    """Return the column rules of table ``name`` that apply to ``t`` (raise on missing ones)."""
    rules = [r for r in column_rules(SCHEMAS[name]) if r.name in t.columns or r.required]
    missing = [r.name for r in rules if r.name not in t.columns]
    if missing:
        raise DataError(f"{name}: missing required column(s) {', '.join(missing)}")
    return rules


def _row_faults(
    name: str, t: ir.Table, as_of: pd.Timestamp
) -> tuple[list, list[tuple[str, str, ir.BooleanValue]]]:
    """Every per-row rule of a table contract, as Ibis expressions over ``t``.

    Returns the rules and ``(column, rule label, expression)`` triples: per column one
    expression giving the cell's first fault (NULL when fine) and labelled ``None``, then the
    cross-column ``left <= right`` checks as boolean expressions. Used by
    :func:`validation_counts` (counts) and :func:`clean_tables` (filters).
    """
    rules = _rules(name, t)
    out: list = []
    for rule in rules:
        fault, possible = _fault(t[rule.name], rule, as_of)
        if fault is not None:
            out.append((rule.name, tuple(possible), fault))
    kinds = {r.name: r.kind for r in rules}
    for left, right in cross_column_rules(SCHEMAS[name]):
        lv, rv = _typed(t[left], kinds[left]), _typed(t[right], kinds[right])
        out.append((left, (f"greater than {right}",), (lv > rv).fill_null(False)))
    return rules, out


def _key_text(col: ir.Value) -> ir.StringValue:
    """Ids compared across tables as text (CSV strings and typed Parquet ids alike)."""
    return col.cast("string")


@quiet
def validation_counts(
    tables: Mapping[str, ir.Table], as_of=None, *, references: bool = True
) -> pd.DataFrame:
    """Count rows and rule violations per table and column, in the database.

    The rules are the loader's table contracts (:data:`imclab.data.schemas.SCHEMAS`):
    missing required values, unparseable numbers/dates/timestamps/booleans, values outside
    the allowed set, below the minimum or above the maximum, dates in the future, duplicate
    keys, ids missing from the referenced table and ``left <= right`` column pairs.

    Parameters
    ----------
    tables
        Table name -> Ibis table (raw strings from CSV or typed Parquet columns).
    as_of
        The moment after which dates are "in the future" (default: now; a date without a
        time means the end of that day, as in :func:`imclab.data.load_world`).
    references
        Also count ids missing from the referenced table (an anti-join per reference).

    Returns
    -------
    pandas.DataFrame
        ``table, column, rule, rows``: one ``(rows)`` line per table with its row count,
        then one line per column and rule with a violation count (zero counts are kept, so
        two engines can be compared cell by cell). Sorted by table, column, rule.

    Raises
    ------
    DataError
        A table misses a required column.
    """
    as_of = _when(as_of)
    out: list[tuple[str, str, str, int]] = []
    for name in sorted(tables):
        if name not in SCHEMAS:
            continue
        t = tables[name]
        schema = SCHEMAS[name]
        rules, checks = _row_faults(name, t, as_of)
        aggs: dict[str, ir.Scalar] = {"_rows": t.count()}
        labels: dict[str, tuple[str, str]] = {}
        for i, (col, possible, expr) in enumerate(checks):
            for j, label in enumerate(possible):
                key = f"c{i}_{j}"
                hit = expr if expr.type().is_boolean() else (expr == label).fill_null(False)
                aggs[key] = hit.cast("int64").sum()
                labels[key] = (col, label)
        row = t.agg(**aggs).execute().iloc[0]
        out.append((name, "(rows)", "rows", int(row["_rows"])))
        for key, (col, label) in labels.items():
            out.append((name, col, label, int(row[key] or 0)))
        keys = key_columns(schema)
        if keys and all(k in t.columns for k in keys):
            dup = t.group_by(keys).agg(n=ibis._.count()).filter(ibis._.n > 1)
            n_dup = dup.agg(extra=(dup.n - 1).sum()).execute()["extra"].iloc[0]
            out.append((name, "+".join(keys), "duplicate key", int(0 if pd.isna(n_dup) else n_dup)))
        if references:
            for rule in rules:
                if not rule.references:
                    continue
                ref_table, ref_col = rule.references.split(".")
                if ref_table not in tables:
                    continue
                ref = tables[ref_table].select(_key=_key_text(tables[ref_table][ref_col]))
                ids = t.select(_key=_key_text(t[rule.name])).filter(ibis._._key.notnull())
                n = ids.anti_join(ref, "_key").count().execute()
                out.append((name, rule.name, f"not in {rule.references}", int(n)))
    frame = pd.DataFrame(out, columns=["table", "column", "rule", "rows"])
    return frame.sort_values(["table", "column", "rule"], kind="mergesort").reset_index(drop=True)


_CAST = {"int": "int64", "float": "float64", "bool": "boolean", "date": "date"}


def _clean_one(name: str, t: ir.Table, as_of: pd.Timestamp, refs: Mapping[str, ir.Table]):
    """One table -> (typed clean table, [(column, reason, count expression)])."""
    rules, checks = _row_faults(name, t, as_of)
    # a row is excluded once, for its first fault: columns in contract order, then pairs
    none = ibis.null("string")
    reasons, columns = [], []
    for col, possible, expr in checks:
        if expr.type().is_boolean():
            reasons.append(ibis.ifelse(expr, possible[0], none))
            columns.append((expr, col))
        else:
            reasons.append(expr)
            columns.append((expr.notnull(), col))
    reason = ibis.coalesce(*reasons, none) if reasons else none
    column = ibis.cases(*columns, else_=none) if columns else none
    staged = t.mutate(_column=column, _reason=reason)
    # every row with its first cell fault (NULL when it passed): counting it by reason gives
    # the rows read and the rows refused by a cell check in one pass
    excluded = [("cells", staged)]
    kept = staged.filter(staged._reason.isnull())
    typed = {}
    for rule in rules:
        value = _typed(kept[rule.name], rule.kind)
        if rule.kind == "timestamp":
            value = value.cast("timestamp")
        elif rule.kind in _CAST:
            value = value.cast(_CAST[rule.kind])
        elif value.type().is_string():
            value = value.strip()
        typed[rule.name] = value
    extra = [c for c in t.columns if c not in typed]
    clean = kept.select(**typed, **{c: kept[c] for c in extra})
    for rule in rules:  # ids must exist in the (clean) referenced table
        if not rule.references:
            continue
        ref_table, ref_col = rule.references.split(".")
        if ref_table not in refs:
            continue
        known = refs[ref_table].select(_ref=_key_text(refs[ref_table][ref_col])).distinct()
        marked = clean.left_join(known, clean[rule.name].cast("string") == known._ref)
        marked = marked.select(*clean.columns, _found=marked._ref.notnull())
        excluded.append(((rule.name, f"not in {rule.references}"), marked.filter(~marked._found)))
        clean = marked.filter(marked._found).drop("_found")
    keys = key_columns(SCHEMAS[name])
    if keys and all(k in clean.columns for k in keys):
        # the first occurrence in a deterministic order (every column, missing values last)
        order = [e for c in clean.columns for e in (clean[c].isnull(), clean[c])]
        win = ibis.window(group_by=[clean[k] for k in keys], order_by=order)
        ranked = clean.mutate(_n=ibis.row_number().over(win))
        excluded.append((("+".join(keys), "duplicate key"), ranked.filter(ranked._n > 0)))
        clean = ranked.filter(ranked._n == 0).drop("_n")
    return clean, excluded


@quiet
def clean_tables(
    tables: Mapping[str, ir.Table], as_of=None
) -> tuple[dict[str, ir.Table], pd.DataFrame]:
    """Quarantine rows that break the table contracts, in the database (DuckDB or Spark).

    The same rules as :func:`validation_counts` (one definition), applied as filters: rows
    with a missing, unparseable or unknown value, a value below the minimum or above the
    maximum, a date in the future, a ``left > right`` column pair, an id missing from the
    (clean) referenced table, or a repeated key (the first occurrence is kept, in the order
    of all columns: deterministic on every engine) are left out and counted.

    Parameters
    ----------
    tables
        Table name -> Ibis table (raw strings from CSV or typed Parquet columns), e.g. from
        :func:`imclab.engine.world_tables`. Tables without a contract pass through unchanged.
    as_of
        The moment after which dates are "in the future" (default: now; a date means the end
        of that day, as in :func:`imclab.data.load_world`).

    Returns
    -------
    clean : dict
        Table name -> lazy Ibis table with typed columns (strings, ``float64``, ``int64``,
        ``boolean``, ``date``, ``timestamp``) holding only the rows that passed.
    excluded : pandas.DataFrame
        ``table, column, reason, rows``: excluded rows per table and the first fault found
        (columns in contract order, then references, then duplicate keys); each excluded row
        is counted exactly once, so ``rows in - clean rows == excluded rows`` per table.

    Raises
    ------
    DataError
        A table misses a required column.
    """
    as_of = _when(as_of)
    clean: dict[str, ir.Table] = {}
    parts: list[pd.DataFrame] = []
    # referenced tables first: ids are checked against the rows that passed there
    for name in sorted(tables, key=lambda n: (n != "customers", n)):
        if name not in SCHEMAS:
            clean[name] = tables[name]
            continue
        clean[name], excluded = _clean_one(name, tables[name], as_of, clean)
        for what, rows in excluded:
            if what == "cells":
                frame = rows.group_by(column="_column", reason="_reason").agg(rows=ibis._.count())
                frame = frame.execute().dropna(subset=["reason"])
            else:
                frame = pd.DataFrame(
                    [{"column": what[0], "reason": what[1], "rows": int(rows.count().execute())}]
                )
            parts.append(frame.assign(table=name))
    cols = ["table", "column", "reason", "rows"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    out = out[out["rows"] > 0].astype({"rows": "int64"})
    out = out.sort_values(cols[:3], kind="mergesort").reset_index(drop=True)
    return {name: clean[name] for name in tables}, out


def _period(ts: ir.Value, freq: str) -> ir.DateValue:
    # unparseable cells (counted by validation_counts) get no period and are left out
    ts = ts if ts.type().is_timestamp() else ts.try_cast("timestamp")
    if freq == "day":
        return ts.date()
    return ts.truncate("W").date()  # weeks start on Monday on both engines


def _check_freq(freq: str) -> str:
    if freq not in ("day", "week"):
        raise ParameterError(f"freq: expected 'day' or 'week', found {freq!r}")
    return freq


@quiet
def kpi_aggregates(
    touchpoints: ir.Table, spend: ir.Table | None = None, freq: str = "day"
) -> pd.DataFrame:
    """Daily or weekly sums by channel: touches by interaction, touch cost, media spend.

    Parameters
    ----------
    touchpoints
        Touch events (``timestamp, channel, interaction, cost``).
    spend
        Optional daily spend (``date, channel, spend, impressions, clicks``).
    freq
        ``"day"`` or ``"week"`` (weeks start on Monday).

    Returns
    -------
    pandas.DataFrame
        ``period, channel, touches, impressions, clicks, opens, visits, cost, spend,
        paid_impressions, paid_clicks``; one row per period and channel seen in either
        table (missing sums are 0), sorted by period and channel.
    """
    freq = _check_freq(freq)
    tp = touchpoints
    inter = tp.interaction.cast("string")
    touches = (
        tp.select(
            period=_period(tp.timestamp, freq),
            channel=tp.channel.cast("string"),
            interaction=inter,
            cost=tp.cost.try_cast("float64"),
        )
        .filter(ibis._.period.notnull())
        .group_by(["period", "channel"])
        .agg(
            touches=ibis._.count(),
            impressions=(ibis._.interaction == "impression").cast("int64").sum(),
            clicks=(ibis._.interaction == "click").cast("int64").sum(),
            opens=(ibis._.interaction == "open").cast("int64").sum(),
            visits=(ibis._.interaction == "visit").cast("int64").sum(),
            cost=ibis._.cost.sum(),
        )
    )
    cols = ["touches", "impressions", "clicks", "opens", "visits", "cost"]
    if spend is not None:
        paid = (
            spend.select(
                period=_period(spend.date, freq),
                channel=spend.channel.cast("string"),
                spend=spend.spend.try_cast("float64"),
                imp=spend.impressions.try_cast("float64"),
                clk=spend.clicks.try_cast("float64"),
            )
            .filter(ibis._.period.notnull())
            .group_by(["period", "channel"])
            .agg(
                spend=ibis._.spend.sum(),
                paid_impressions=ibis._.imp.sum(),
                paid_clicks=ibis._.clk.sum(),
            )
        )
        joined = touches.outer_join(paid, ["period", "channel"])
        expr = joined.select(
            period=ibis.coalesce(joined.period, joined.period_right),
            channel=ibis.coalesce(joined.channel, joined.channel_right),
            **{c: joined[c] for c in cols},
            spend=joined.spend,
            paid_impressions=joined.paid_impressions,
            paid_clicks=joined.paid_clicks,
        )
        cols = [*cols, "spend", "paid_impressions", "paid_clicks"]
    else:
        expr = touches
    frame = expr.execute()
    return _tidy_periods(frame, ["period", "channel"], cols)


@quiet
def sales_aggregates(conversions: ir.Table, freq: str = "day") -> pd.DataFrame:
    """Daily or weekly orders, revenue and distinct buyers.

    Parameters
    ----------
    conversions
        Orders (``order_id, customer_id, timestamp, revenue``).
    freq
        ``"day"`` or ``"week"``.

    Returns
    -------
    pandas.DataFrame
        ``period, orders, revenue, buyers`` sorted by period.
    """
    freq = _check_freq(freq)
    cv = conversions
    expr = (
        cv.select(
            period=_period(cv.timestamp, freq),
            customer_id=cv.customer_id.cast("string"),
            revenue=cv.revenue.try_cast("float64"),
        )
        .filter(ibis._.period.notnull())
        .group_by("period")
        .agg(
            orders=ibis._.count(),
            revenue=ibis._.revenue.sum(),
            buyers=ibis._.customer_id.nunique(),
        )
    )
    return _tidy_periods(expr.execute(), ["period"], ["orders", "revenue", "buyers"])


def _tidy_periods(frame: pd.DataFrame, keys: list[str], cols: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    frame["period"] = pd.to_datetime(frame["period"])
    for c in cols:
        frame[c] = frame[c].fillna(0)
        if c not in ("cost", "spend", "revenue"):
            frame[c] = frame[c].astype("int64")
        else:
            frame[c] = frame[c].astype(float)
    frame = frame.sort_values(keys, kind="mergesort").reset_index(drop=True)
    return frame[[*keys, *cols]]


@quiet
def persona_features(
    con: ibis.BaseBackend,
    customers: ir.Table,
    touchpoints: ir.Table,
    conversions: ir.Table,
    as_of: str | None = None,
    channels: tuple[str, ...] = CHANNELS,
) -> ir.Table:
    """Run the persona feature derivation where the tables live (lazy, one row per customer).

    The query is :func:`imclab.personas.features.feature_sql`, written once and pinned to
    mean the same on DuckDB and Spark; see :func:`imclab.personas.features.feature_table`.

    Parameters
    ----------
    con
        Backend from :func:`imclab.engine.connect` (the tables' own engine runs the query).
    customers, touchpoints, conversions
        Tables with data-dictionary columns.
    as_of, channels
        See :func:`imclab.personas.features.feature_sql`.

    Returns
    -------
    ibis.expr.types.Table
        One row per customer (lazy). It is per customer, not small: sample it or aggregate
        it in the database before ``.execute()`` on very large worlds.
    """
    from imclab.personas.features import feature_table

    del con  # the engine of the tables runs the query
    return feature_table(
        {"customers": customers, "touchpoints": touchpoints, "conversions": conversions},
        as_of=as_of,
        channels=channels,
    )


@quiet
def journeys_from_source(
    engine: str | ibis.BaseBackend,
    data_dir: str | Path,
    *,
    as_of=None,
    tables: Mapping[str, str] | None = None,
    **build_kwargs,
):
    """Read, quarantine and build customer journeys where the data lives (DuckDB or Spark).

    ``customers``, ``touchpoints`` and ``conversions`` are opened in the engine with
    :func:`imclab.warehouse.open_world` (cleaned by the table contracts) and passed to
    :func:`imclab.attribution.build_journeys`; nothing but the unique paths and the counts
    comes back to pandas.

    Parameters
    ----------
    engine
        ``"duckdb"`` or ``"spark"`` (see :func:`imclab.engine.connect`), or a backend from it.
    data_dir
        Anything :func:`imclab.engine.world_tables` accepts (a folder of Parquet/CSV files, a
        lake folder URL, a catalog database).
    as_of
        The moment after which dates are "in the future" (see :func:`clean_tables`).
    tables
        Optional per-table overrides (``sources`` of :func:`imclab.warehouse.open_world`).
    **build_kwargs
        Passed to :func:`imclab.attribution.build_journeys` (``lookback_days``,
        ``channel_groups``, ``start``, ``end``...).

    Returns
    -------
    journeys : imclab.attribution.Journeys
        As :func:`imclab.attribution.build_journeys` returns it.
    excluded : pandas.DataFrame
        Rows quarantined per table, column and reason (``EngineWorld.excluded``).

    Raises
    ------
    DataError
        A table is missing, or misses a required column.
    """
    from imclab.attribution.journeys import build_journeys
    from imclab.warehouse import open_world

    world = open_world(
        data_dir,
        engine,
        as_of=as_of,
        tables=["customers", "touchpoints", "conversions"],
        sources=tables,
        lazy=True,
        examples=0,
    )
    journeys = build_journeys(None, world.touchpoints, world.conversions, **build_kwargs)
    return journeys, world.excluded
