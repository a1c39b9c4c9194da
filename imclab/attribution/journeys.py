"""Customer journeys: events -> unique paths with conversions, nulls and value (Ibis, in-database).

The heavy step runs as Ibis expressions on DuckDB or Spark (:func:`imclab.engine.connect`):
one sort of each customer's event stream, one aggregation per journey, then unique paths.
Every model then works on the small table of unique paths that :func:`build_journeys`
returns (identical on both engines).

Definitions
-----------
- Only touches whose ``interaction`` is in ``interactions`` count; channels are mapped through
  ``channel_groups`` first (ungrouped channels keep their id).
- A conversion's journey is the customer's counted touches in the ``lookback_days`` before it
  (inclusive: a touch at the order's very timestamp counts) and after the customer's previous
  conversion. A touch therefore credits at most one conversion: the first one at or after it.
  Touches after a customer's last conversion are never credited backwards.
- Touches after a customer's last conversion (all touches for customers who never converted)
  form that customer's one non-converting ("null") journey: the touches in the
  ``lookback_days`` before the customer's last such touch (the moment the journey went quiet).
  Older touches are excluded and counted.
- A conversion with no counted touch in its window gets the path ``(no touch)``. It is kept in
  the paths table (``conversions`` and ``value``) and every model reports it as its own row.
- ``collapse_repeats`` keeps only the first touch of each run of consecutive touches of one
  channel inside a journey (``social > social > seo`` -> ``social > seo``).
- Touches are ordered by timestamp then ``event_id``; conversions by timestamp then ``order_id``.
  The query sorts, so the order of rows in the files does not matter.
- ``start``/``end`` restrict the conversions counted (and the end of data: touches after
  ``end`` are excluded and counted); touches before ``start`` still count inside a lookback.
"""

from __future__ import annotations

import gc
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import mul

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from imclab.config import CHANNELS, LOOKBACK_DAYS
from imclab.engine import to_ibis
from imclab.errors import DataError, ParameterError

#: Path label of conversions with no counted touch in their lookback window.
NO_TOUCH = "(no touch)"
#: Separator between channels in a path string (as ChannelAttribution's default ``sep``).
SEP = " > "
INTERACTIONS = ("impression", "click", "open", "visit")
_DAY = 86_400.0


@dataclass
class Journeys:
    """Unique paths and the bookkeeping of how they were built.

    Attributes
    ----------
    paths
        One row per unique path (and segment, when segments were given): ``path`` (channels
        joined by ``" > "``, or ``(no touch)``), ``channels`` (tuple), ``length``,
        ``conversions``, ``nulls`` (non-converting journeys), ``value`` (conversion revenue),
        ``decay`` and ``decay_value`` (per position, the time-decay credit of the converting
        journeys with this path: summed normalised weights and weights x revenue), and
        ``segment`` when segments were given. Sorted by conversions, nulls, path.
    report
        Counts of everything counted and excluded: columns ``item``, ``count``, ``note``.
    params
        The parameters the journeys were built with.
    """

    paths: pd.DataFrame
    report: pd.DataFrame
    params: dict = field(default_factory=dict)

    def count(self, item: str) -> int:
        """Return the count of one report item (0 when absent)."""
        hit = self.report.loc[self.report["item"] == item, "count"]
        return int(hit.iloc[0]) if len(hit) else 0


def _connect(con):
    """Return an Ibis backend for ``con`` (None -> in-memory DuckDB; duckdb or Spark session)."""
    if con is None:
        return ibis.duckdb.connect()
    if isinstance(con, ibis.BaseBackend):
        return con
    if type(con).__name__ == "SparkSession":  # without importing pyspark when unused
        return ibis.pyspark.connect(con)
    try:
        import duckdb

        if isinstance(con, duckdb.DuckDBPyConnection):
            return ibis.duckdb.from_connection(con)
    except ImportError:  # pragma: no cover - duckdb is a hard dependency
        pass
    raise ParameterError(
        f"con: expected an Ibis backend or a DuckDB connection, found {type(con).__name__}"
    )


def _backend(table) -> ibis.BaseBackend | None:
    """Return the backend an Ibis table is bound to (None for pandas and in-memory tables)."""
    if not isinstance(table, ir.Table):
        return None
    try:
        return table._find_backend()
    except Exception:  # noqa: BLE001 - a memtable has no backend of its own
        return None


def _table(con, table, name: str, columns: Sequence[str]) -> ir.Table:
    """Resolve a table given as an Ibis table, a table name in ``con`` or a pandas DataFrame."""
    if isinstance(table, str):
        try:
            table = con.table(table)
        except ibis.common.exceptions.TableNotFound:
            raise DataError(f"{name}: table '{table}' not found in the database") from None
    elif not isinstance(table, ir.Table | pd.DataFrame):
        raise ParameterError(
            f"{name}: expected an Ibis table, a table name or a pandas DataFrame, "
            f"found {type(table).__name__}"
        )
    return to_ibis(table, name, columns)


def _materialize(con, expr: ir.Table) -> tuple[ir.Table, str]:
    """Store an intermediate result (computed once, read several times).

    DuckDB: a temporary table. Spark: a temporary view of a local checkpoint (computed now,
    kept by the executors), so later queries neither recompute nor re-plan the expression:
    Spark's optimizer would otherwise inline the whole lineage into every query reading it.
    """
    name = f"_imclab_journeys_{uuid.uuid4().hex[:12]}"
    if con.name == "pyspark":
        con.create_view(name, expr, overwrite=True)
        stored = con._session.table(name).localCheckpoint(eager=True)
        stored.createOrReplaceTempView(name)
        return con.table(name), name
    return con.create_table(name, expr, temp=True), name


def _drop(con, name: str) -> None:
    """Drop a temporary table (ibis 12's ``drop_table`` fails with duckdb 2.0: raw SQL fallback)."""
    if con.name == "pyspark":
        con._session.catalog.dropTempView(name)  # also frees the checkpoint's blocks
        return
    try:
        con.drop_table(name, force=True)
    except Exception:  # noqa: BLE001 - the fallback is the same statement, quoted by hand
        con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


def _as_timestamp(col: ir.Value) -> ir.TimestampValue:
    return col if col.type().is_timestamp() else col.cast("timestamp")


def _has_timestamp(con, col: ir.Value) -> ir.BooleanValue:
    """Whether the event has a timestamp (as the typed ``ts`` column would tell).

    DuckDB's cast raises on a malformed timestamp string, so there a string is missing
    exactly when it is NULL: checking the raw column spares casting every row twice (the
    report's count and the filter). Spark's cast may turn a malformed string into NULL, so
    there the cast itself is checked.
    """
    if col.type().is_timestamp() or con.name == "duckdb":
        return col.notnull()
    return _as_timestamp(col).notnull()


def _lit_ts(value) -> ir.TimestampScalar:
    return ibis.literal(pd.Timestamp(value).to_pydatetime(), type="timestamp")


def _group_expr(channel: ir.StringValue, groups: Mapping[str, str]) -> ir.StringValue:
    if not groups:
        return channel
    return channel.cases(*[(k, v) for k, v in sorted(groups.items())], else_=channel)


def event_stream(
    touches: ir.Table, conversions: ir.Table, channel_groups: Mapping[str, str] | None = None
) -> ir.Table:
    """Annotate each customer's touches and conversions in one sort (the journey rule).

    A touch belongs to the customer's first conversion at or after it (ties: the touch
    first, then the lowest order id); after the last conversion it belongs to a
    non-converting journey anchored at the customer's last event. Used by
    :func:`build_journeys` and by :func:`imclab.review.budget.daily_credit`, so the rule is
    written once.

    Parameters
    ----------
    touches
        ``customer_id, ts, event_id, channel`` (typed: string ids, timestamp ``ts``).
    conversions
        ``customer_id, ts, order_id``.
    channel_groups
        Map channel -> group; grouped touches carry the group as their channel.

    Returns
    -------
    ibis.expr.types.Table
        ``customer_id, ts, event_id, channel, kind`` (0 touch, 1 conversion) plus
        ``conv_no`` (the journey: conversions before the event + 1), ``seq`` (position in
        the customer's stream), ``next_conv`` (the timestamp of the conversion the event
        belongs to, NULL after the last one), ``last_ts`` (the customer's last event) and
        the previous event's ``prev_kind``, ``prev_channel``, ``prev_ts``.
    """
    tp, cv = touches, conversions
    grouped = _group_expr(tp.channel, dict(channel_groups or {}))
    ev_t = tp.select(
        "customer_id", "ts", "event_id", channel=grouped, kind=ibis.literal(0, type="int8")
    )
    ev_c = cv.select(
        "customer_id", "ts", event_id=cv.order_id, channel=ibis.null("string"),
        kind=ibis.literal(1, type="int8"),
    )  # fmt: skip
    ev = ev_t.union(ev_c)
    order = ["ts", "kind", "event_id"]
    cum = ibis.window(group_by="customer_id", order_by=order, rows=(None, 0))
    ahead = ibis.window(group_by="customer_id", order_by=order, rows=(0, None))
    whole = ibis.window(group_by="customer_id", order_by=order, rows=(None, None))
    seq_w = ibis.window(group_by="customer_id", order_by=order)
    is_conv = ev.kind == 1
    return ev.mutate(
        conv_no=is_conv.cast("int64").sum().over(cum) + 1,
        seq=ibis.row_number().over(seq_w),
        next_conv=ibis.ifelse(is_conv, ev.ts, ibis.null("timestamp")).min().over(ahead),
        last_ts=ev.ts.max().over(whole),
        prev_kind=ev.kind.lag().over(seq_w),
        prev_channel=ev.channel.lag().over(seq_w),
        prev_ts=ev.ts.lag().over(seq_w),
    )


def _check_params(lookback_days, interactions, half_life_days, channel_groups, channels):
    if not lookback_days or lookback_days <= 0:
        raise ParameterError(
            f"lookback_days: expected a positive number of days, found {lookback_days!r}"
        )
    if half_life_days is None or half_life_days <= 0:
        raise ParameterError(
            f"half_life_days: expected a positive number of days, found {half_life_days!r}"
        )
    bad = sorted(set(interactions) - set(INTERACTIONS))
    if not interactions or bad:
        raise ParameterError(
            f"interactions: expected a non-empty subset of {list(INTERACTIONS)}, "
            f"found {list(interactions)}" + (f" (unknown: {', '.join(bad)})" if bad else "")
        )
    bad_keys = sorted(set(channel_groups) - set(channels))
    if bad_keys:
        raise ParameterError(
            f"channel_groups: key(s) {', '.join(bad_keys)} are not channels "
            f"(expected some of {', '.join(channels)})"
        )


def build_journeys(
    con=None,
    touchpoints: ir.Table | pd.DataFrame | str = "touchpoints",
    conversions: ir.Table | pd.DataFrame | str = "conversions",
    *,
    lookback_days: float = LOOKBACK_DAYS,
    interactions: Sequence[str] = INTERACTIONS,
    collapse_repeats: bool = False,
    channel_groups: Mapping[str, str] | None = None,
    channels: Sequence[str] = CHANNELS,
    half_life_days: float = 7.0,
    start=None,
    end=None,
    segments: ir.Table | pd.DataFrame | str | None = None,
    decay: bool = True,
) -> Journeys:
    """Build customer journeys in the database and aggregate them to unique paths.

    Parameters
    ----------
    con
        An Ibis backend (DuckDB or PySpark, e.g. from :func:`imclab.engine.connect`), a DuckDB
        connection, a SparkSession, or None: the backend of ``touchpoints``/``conversions``
        when they are tables of one (e.g. from :func:`imclab.warehouse.open_world`), else a
        fresh in-memory DuckDB (pandas inputs are then registered as in-memory tables).
    touchpoints, conversions
        The event tables (data-dictionary columns): Ibis tables, table names in ``con`` or
        pandas DataFrames. Only ``customer_id``, ``timestamp``, ``channel``, ``interaction``,
        ``event_id`` (touchpoints) and ``order_id``, ``customer_id``, ``timestamp``,
        ``revenue`` (conversions) are read.
    lookback_days
        Touches older than this before their conversion (or before the last touch of a
        non-converting journey) are excluded.
    interactions
        Interaction types that count as touches (e.g. ``("click", "visit", "open")`` leaves
        impressions out).
    collapse_repeats
        Collapse consecutive touches of one channel within a journey into one.
    channel_groups
        Map channel -> group name (the plan's ``channel_groups``); grouped channels are
        attributed as their group.
    channels
        The known channel ids; a touch on any other channel is an error unless it is grouped.
    half_life_days
        Half-life of the time-decay weights stored per path position (``decay`` columns).
    start, end
        Optional period of the conversions counted (inclusive timestamps or dates; a date
        ``end`` means the whole day). ``end`` is also the end of data for touches.
    segments
        Optional table of ``customer_id, segment`` (e.g. personas): the paths are then
        aggregated per segment; customers without a segment get ``(unknown)``.
    decay
        Compute the time-decay arrays (``decay``, ``decay_value``; needed by the time-decay
        model only). Without them the paths table has no such columns and is built faster.

    Returns
    -------
    Journeys
        ``paths`` (unique paths with counts), ``report`` (what was counted and excluded) and
        ``params``.

    Raises
    ------
    DataError
        Unknown channels (naming them and their row counts), conversions with negative
        revenue (naming the order ids), or missing columns.
    ParameterError
        Out-of-range parameters.
    """
    with warnings.catch_warnings():
        # ibis 12 calls duckdb 2.0's deprecated fetch_arrow_table(); harmless, not the user's.
        warnings.filterwarnings(
            "ignore", message=".*fetch_arrow_table", category=DeprecationWarning
        )
        return _build(
            con, touchpoints, conversions, lookback_days=lookback_days, interactions=interactions,
            collapse_repeats=collapse_repeats, channel_groups=channel_groups, channels=channels,
            half_life_days=half_life_days, start=start, end=end, segments=segments, decay=decay,
        )  # fmt: skip


def _build(
    con, touchpoints, conversions, *, lookback_days, interactions, collapse_repeats,
    channel_groups, channels, half_life_days, start, end, segments, decay,
) -> Journeys:  # fmt: skip
    groups = dict(channel_groups or {})
    interactions = tuple(interactions)
    _check_params(lookback_days, interactions, half_life_days, groups, channels)
    if con is None:  # the engine of the event tables when they live in one
        con = next((_backend(t) for t in (touchpoints, conversions) if _backend(t)), None)
    con = _connect(con)
    tp = _table(con, touchpoints, "touchpoints",
                ["event_id", "customer_id", "timestamp", "channel", "interaction"])  # fmt: skip
    cv = _table(
        con, conversions, "conversions", ["order_id", "customer_id", "timestamp", "revenue"]
    )
    end_ts = None
    if end is not None:
        end_ts = pd.Timestamp(end)
        if end_ts == end_ts.normalize() and not isinstance(end, pd.Timestamp | np.datetime64):
            end_ts = end_ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)

    tp = tp.select(
        event_id=tp.event_id.cast("string"),
        customer_id=tp.customer_id.cast("string"),
        ts=_as_timestamp(tp.timestamp),
        channel=tp.channel.cast("string"),
        interaction=tp.interaction.cast("string"),
        has_ts=_has_timestamp(con, tp.timestamp),
    )
    cv = cv.select(
        order_id=cv.order_id.cast("string"),
        customer_id=cv.customer_id.cast("string"),
        ts=_as_timestamp(cv.timestamp),
        revenue=cv.revenue.cast("float64"),
        has_ts=_has_timestamp(con, cv.timestamp),
    )

    # -- one pass over each table: every count of the report and the validation --------------
    known = sorted(set(channels) | set(groups))
    complete = tp.has_ts & tp.customer_id.notnull()
    counted = tp.interaction.isin(list(interactions))
    late = tp.ts > _lit_ts(end_ts) if end_ts is not None else ibis.literal(False)
    tstats = (
        tp.group_by(
            unknown=ibis.ifelse(
                tp.channel.isin(known), ibis.null("string"), tp.channel.fill_null("(missing)")
            ),
            complete=complete,
            counted=counted,
            late=late.fill_null(False),
        )  # fmt: skip
        .agg(n=ibis._.count())
        .execute()
    )
    bad = tstats[tstats["unknown"].notna()].groupby("unknown")["n"].sum().sort_index()
    if len(bad):
        found = ", ".join(f"'{c}' ({n} rows)" for c, n in bad.items())
        raise DataError(
            f"touchpoints: column 'channel' has unknown channel(s) {found}; expected one of "
            f"{', '.join(channels)} (or map them with channel_groups)"
        )
    c_complete = cv.has_ts & cv.customer_id.notnull()
    in_period = ibis.literal(True)
    if start is not None:
        in_period = in_period & (cv.ts >= _lit_ts(pd.Timestamp(start)))
    if end_ts is not None:
        in_period = in_period & (cv.ts <= _lit_ts(end_ts))
    cstats = (
        cv.group_by(
            complete=c_complete,
            in_period=in_period.fill_null(False),
            negative=(cv.revenue < 0).fill_null(False),
        )  # fmt: skip
        .agg(n=ibis._.count())
        .execute()
    )
    n_neg = int(cstats.loc[cstats["negative"], "n"].sum())
    if n_neg:
        neg = cv.filter(cv.revenue < 0)
        ids = neg.order_by("order_id").select("order_id").limit(10).execute()["order_id"].tolist()
        more = f" and {n_neg - len(ids)} more" if n_neg > len(ids) else ""
        raise DataError(
            f"conversions: column 'revenue' is negative for {n_neg} order(s): "
            f"{', '.join(map(str, ids))}{more} (expected >= 0)"
        )

    def _sum(frame: pd.DataFrame, mask) -> int:
        return int(frame.loc[mask, "n"].sum())

    ts_ = tstats
    report: list[tuple[str, int, str]] = [
        ("touches in the file", _sum(ts_, slice(None)), ""),
        ("touches without timestamp or customer", _sum(ts_, ~ts_.complete), "left out"),
        ("touches of interactions not counted", _sum(ts_, ts_.complete & ~ts_.counted),
         f"only {', '.join(interactions)} count"),
    ]  # fmt: skip
    if end_ts is not None:
        report.append(
            ("touches after the end of data", _sum(ts_, ts_.complete & ts_.counted & ts_.late),
             f"after {end_ts}")
        )  # fmt: skip
    cs = cstats
    report += [
        ("conversions in the file", _sum(cs, slice(None)), ""),
        ("conversions without timestamp or customer", _sum(cs, ~cs.complete), "left out"),
        ("conversions outside the period", _sum(cs, cs.complete & ~cs.in_period),
         "close journeys, not counted"),
    ]  # fmt: skip

    tp = tp.filter(complete & counted & ~late.fill_null(False))
    cv = cv.filter(c_complete).mutate(
        revenue=cv.revenue.fill_null(0.0), in_period=in_period.fill_null(False)
    )
    # A customer's k-th conversion (by timestamp, then order id) closes journey k.
    cv = cv.mutate(
        conv_no=ibis.row_number().over(group_by="customer_id", order_by=["ts", "order_id"]) + 1
    )

    # -- one sort of each customer's event stream ----------------------------------------------
    # A touch belongs to the first conversion at or after it: journey number = conversions
    # strictly before it + 1; the journey's anchor is that conversion's timestamp (the minimum
    # conversion timestamp at or after the touch) or, after the last conversion, the
    # customer's last event. All windows share one partitioning and ordering.
    ev = event_stream(tp, cv, groups)
    t = ev.filter(ev.kind == 0)
    converted = t.next_conv.notnull()
    anchor_s = ibis.ifelse(converted, t.next_conv, t.last_ts).epoch_seconds()
    window_s = lookback_days * _DAY
    lag_s = anchor_s - t.ts.epoch_seconds()
    t_in_period = ibis.literal(True)
    if start is not None:
        t_in_period = t_in_period & (t.next_conv >= _lit_ts(pd.Timestamp(start)))
    if end_ts is not None:
        t_in_period = t_in_period & (t.next_conv <= _lit_ts(end_ts))
    prev = ["prev_kind", "prev_channel", "prev_ts"] if collapse_repeats else []
    t = t.select(
        "customer_id", "conv_no", "seq", "channel", *prev,
        converted=converted, lag_s=lag_s, anchor_s=anchor_s,
        in_period=~converted | t_in_period.fill_null(False),
    )  # fmt: skip
    t = t.mutate(in_window=t.lag_s <= window_s)
    has_period = start is not None or end_ts is not None
    eligible = t.in_window & t.in_period if has_period else t.in_window
    if collapse_repeats:
        # The previous event is a touch of this journey (no conversion in between), of the
        # same channel and itself inside the window: this touch only repeats it.
        repeat = eligible & (
            (t.prev_kind == 0)
            & (t.prev_channel == t.channel)
            & ((t.anchor_s - t.prev_ts.epoch_seconds()) <= window_s)
        ).fill_null(False)
    kept = eligible & ~repeat if collapse_repeats else eligible
    weight = (t.lag_s * (-np.log(2.0) / (half_life_days * _DAY))).exp()
    kept_conv = kept & t.converted

    # -- one row per journey: the path and the time-decay weights, in touch order ----------------
    # Touches outside their window fall into two rows of their own (NULL customer; conv_no -1
    # converting, -2 not), so the grouping hashes only the journeys' in-window touches to
    # journeys and the exclusion counts are those rows' sizes. A journey's in-window touches
    # are used, out of the period or repeats; only the counts asked for are aggregated.
    out = ~t.in_window
    group_customer = ibis.ifelse(out, ibis.null("string"), t.customer_id)
    group_conv = ibis.ifelse(out, ibis.ifelse(t.converted, -1, -2), t.conv_no)
    cell = {"seq": t.seq, "channel": t.channel, **({"w": weight} if decay else {})}
    dropped = {}
    if has_period:
        dropped["n_out_period"] = ibis._.count(where=t.in_window & ~t.in_period)
    if collapse_repeats:
        dropped["n_repeat"] = ibis._.count(where=repeat)
    per_journey = t.group_by(customer_id=group_customer, conv_no=group_conv).agg(
        touches=ibis.struct(cell).collect(where=kept),
        converted=t.converted.max(),
        **({"wsum": ibis.ifelse(kept_conv, weight, 0.0).sum()} if decay else {}),
        n=ibis._.count(),
        **dropped,
    )
    n_used = per_journey.n
    for c in dropped:
        n_used = n_used - per_journey[c]
    zero = ibis.literal(0, type="int64")
    pj = per_journey
    sorted_touches = pj.touches.sort()
    per_journey = pj.select(
        "customer_id", "conv_no", "converted", *(["wsum"] if decay else []),
        n_before=ibis.ifelse(pj.conv_no == -1, pj.n, zero),
        n_null_out=ibis.ifelse(pj.conv_no == -2, pj.n, zero),
        n_out_period=pj.n_out_period if "n_out_period" in dropped else zero,
        n_repeat=pj.n_repeat if "n_repeat" in dropped else zero,
        n_used=ibis.ifelse(pj.conv_no > 0, n_used, zero),
        path=ibis.ifelse(
            (pj.conv_no > 0) & (n_used > 0), sorted_touches.map(lambda x: x.channel).join(SEP),
            ibis.null("string"),
        ),
        **(
            {"w": sorted_touches.map(lambda x, i: ibis.struct({"position": i, "w": x.w}))}
            if decay else {}
        ),
    )  # fmt: skip
    per_journey, tmp_name = _materialize(con, per_journey)
    try:
        paths, stats = _aggregate_paths(con, per_journey, cv, segments, decay)
    finally:
        _drop(con, tmp_name)

    report.append(
        ("touches before their conversion's lookback window", int(stats["n_before"]),
         f"older than {lookback_days:g} days")
    )  # fmt: skip
    report.append(
        ("touches of non-converting journeys outside the lookback window",
         int(stats["n_null_out"]),
         f"more than {lookback_days:g} days before the journey's last touch")
    )  # fmt: skip
    report.append(("touches of conversions outside the period", int(stats["n_out_period"]), ""))
    note = "consecutive touches of one channel" if collapse_repeats else "not collapsed"
    report.append(("repeated touches collapsed", int(stats["n_repeat"]), note))

    keys = ["segment", "path"] if segments is not None else ["path"]
    paths = _finish_paths(paths, keys, decay)
    n_null_journeys = int(paths["nulls"].sum())
    n_no_touch = int(paths.loc[paths["path"] == NO_TOUCH, "conversions"].sum())
    n_conv_counted = int(paths["conversions"].sum())
    report += [
        ("touches used", int(stats["n_used"]), "in the journeys below"),
        ("conversions counted", n_conv_counted, "including (no touch)"),
        ("conversions with a touched journey", n_conv_counted - n_no_touch, ""),
        ("conversions with no touch in the window", n_no_touch,
         f"path {NO_TOUCH}: reported as their own row"),
        ("non-converting journeys", n_null_journeys, "nulls"),
        ("unique paths", int((paths["path"] != NO_TOUCH).sum()), ""),
    ]  # fmt: skip
    rep = pd.DataFrame(report, columns=["item", "count", "note"])
    params = {
        "lookback_days": lookback_days,
        "interactions": list(interactions),
        "collapse_repeats": collapse_repeats,
        "channel_groups": groups,
        "half_life_days": half_life_days,
        "start": None if start is None else str(pd.Timestamp(start)),
        "end": None if end_ts is None else str(end_ts),
    }
    return Journeys(paths=paths, report=rep, params=params)


def _aggregate_paths(con, per_journey: ir.Table, cv: ir.Table, segments, decay: bool = True):
    """Per-journey table -> unique paths (counts, value, decay arrays) and the touch counts."""
    stats = (
        per_journey.agg(
            **{
                c: per_journey[c].sum()
                for c in ("n_before", "n_null_out", "n_out_period", "n_repeat", "n_used")
            }
        )  # fmt: skip
        .execute()
        .fillna(0)
        .iloc[0]
    )
    journey_key = ["customer_id", "conv_no"]
    touched = per_journey.filter(per_journey.n_used > 0)
    conv = cv.select(*journey_key, "revenue", "in_period")
    journeys = touched.left_join(conv, journey_key).select(
        *journey_key, "path", "converted", *(["w", "wsum"] if decay else []),
        revenue=ibis._.revenue.fill_null(0.0),
    )  # fmt: skip
    no_touch = conv.filter(conv.in_period).anti_join(touched.filter(touched.converted), journey_key)
    no_touch = no_touch.select(
        *journey_key, path=ibis.literal(NO_TOUCH), converted=ibis.literal(True),
        revenue="revenue",
    )  # fmt: skip
    alljourneys = journeys.select(*journey_key, "path", "converted", "revenue").union(no_touch)
    keys = ["path"]
    if segments is not None:
        seg = _table(con, segments, "segments", ["customer_id", "segment"]).select(
            "customer_id", segment=ibis._.segment.cast("string")
        )

        def _segmented(tab: ir.Table) -> ir.Table:
            return tab.left_join(seg, "customer_id").select(
                *tab.columns, segment=ibis._.segment.fill_null("(unknown)")
            )

        alljourneys = _segmented(alljourneys)
        journeys = _segmented(journeys)
        keys = ["segment", "path"]
    counts = alljourneys.group_by(keys).agg(
        conversions=alljourneys.converted.cast("int64").sum(),
        nulls=(~alljourneys.converted).cast("int64").sum(),
        value=ibis.ifelse(alljourneys.converted, alljourneys.revenue, 0.0).sum(),
    )
    if not decay:
        return counts.to_pyarrow(), stats
    # Time-decay credit per path position (converting journeys only), as ordered arrays.
    conv_j = journeys.filter(journeys.converted)
    # (a select-list unnest: DuckDB runs it far faster than the lateral join of Table.unnest)
    pos = conv_j.select(*keys, "wsum", "revenue", cell=conv_j.w.unnest())
    pos = pos.select(*keys, "revenue", position=pos.cell.position, d=pos.cell.w / pos.wsum)
    pos = pos.group_by([*keys, "position"]).agg(d=pos.d.sum(), dv=(pos.d * pos.revenue).sum())
    arrays = pos.group_by(keys).agg(
        cells=ibis.struct({"position": pos.position, "d": pos.d, "dv": pos.dv}).collect()
    )
    cells = arrays.cells.sort()
    arrays = arrays.select(
        *keys, decay=cells.map(lambda x: x.d), decay_value=cells.map(lambda x: x.dv)
    )
    paths = (
        counts.left_join(arrays, keys)
        .select(*keys, "conversions", "nulls", "value", "decay", "decay_value")
        .to_pyarrow()
    )
    return paths, stats


def _finish_paths(paths, keys: list[str], decay: bool = True) -> pd.DataFrame:
    """Sort the unique paths (an Arrow table) deterministically; add channels and length.

    Every step is columnar (Arrow) or a C-level ``map``; the decay arrays become tuples.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    order = [(k, "ascending") for k in keys[:-1]]
    order += [("conversions", "descending"), ("nulls", "descending"), ("path", "ascending")]
    paths = paths.sort_by(order)
    strings = paths.column("path").to_pylist()
    n = len(strings)
    channels = list(map(tuple, map(str.split, strings, repeat(SEP, n))))
    empty = np.flatnonzero(pc.equal(paths.column("path"), NO_TOUCH).to_numpy(zero_copy_only=False))
    for i in empty:  # the (no touch) paths: one per segment
        channels[i] = ()
    lengths = np.fromiter(map(len, channels), dtype=np.int64, count=n)
    _remember_coding(channels, paths.column("path").combine_chunks())
    out = {k: paths.column(k).to_pandas() for k in keys[:-1]}
    out.update(
        {
            "path": strings,
            "channels": channels,
            "length": lengths.astype(int),
            "conversions": paths.column("conversions").to_numpy(),
            "nulls": paths.column("nulls").to_numpy(),
            "value": paths.column("value").to_numpy().astype(float),
        }
    )
    if decay:
        for col in ("decay", "decay_value"):
            arr = paths.column(col).combine_chunks()
            arr = pc.if_else(pc.is_null(arr), pa.scalar([], arr.type), arr)
            out[col] = list(map(tuple, arr.to_pylist()))
    return pd.DataFrame(out)


def paths_from_strings(
    paths: Sequence[str],
    conversions: Sequence[float],
    nulls: Sequence[float] | None = None,
    value: Sequence[float] | None = None,
    *,
    as_arrow: bool = False,
) -> pd.DataFrame:
    """Make a paths table from path strings (``"a > b"``), e.g. exported from another tool.

    Channels are separated by ``>`` (spaces around it are ignored); ``(no touch)`` is the
    empty path. Time-decay columns assume equal weights (all touches at the same time).

    Parameters
    ----------
    paths
        One string per unique path.
    conversions, nulls, value
        Per path: converting journeys, non-converting journeys (default 0), revenue
        (default 0).
    as_arrow
        Return ``channels``, ``decay`` and ``decay_value`` as Arrow list columns
        (``pd.ArrowDtype``) instead of tuples: built without a Python object per channel,
        for large path sets (every model accepts them).

    Returns
    -------
    pandas.DataFrame
        ``path, channels, length, conversions, nulls, value, decay, decay_value``.
    """
    n = len(paths)
    conv = np.asarray(conversions, dtype=float)
    nul = np.zeros(n) if nulls is None else np.asarray(nulls, dtype=float)
    val = np.zeros(n) if value is None else np.asarray(value, dtype=float)
    if as_arrow:
        return _arrow_paths(paths, conv, nul, val)
    gc_was_on = gc.isenabled()
    gc.disable()  # hundreds of thousands of tuples, no cycle: the collector would only rescan
    try:
        return _tuple_paths(list(paths), conv, nul, val)
    finally:
        if gc_was_on:
            gc.enable()


def _tuple_paths(strings: list, conv, nul, val) -> pd.DataFrame:
    """:func:`paths_from_strings` with tuple columns."""
    n = len(strings)
    if not set(map(type, strings)) <= {str}:
        rows = [i for i, x in enumerate(strings) if not isinstance(x, str)]
        raise DataError(
            f"paths: no path string in rows {rows[:10]}; write '{NO_TOUCH}' for a journey "
            "without touches"
        )
    empty = [i for i, x in enumerate(strings) if x == NO_TOUCH]  # few
    original = strings
    # "a > b" as build_journeys writes it: split in C, then check the (few) distinct channels
    channels = list(map(tuple, map(str.split, strings, repeat(SEP, n))))
    names = set(chain.from_iterable(channels))
    if not all(">" not in c and c == c.strip() for c in names):  # spelled otherwise
        channels = [tuple(x.strip() for x in p.split(">")) for p in strings]
        strings = list(map(SEP.join, channels))
    lengths = np.fromiter(map(len, channels), dtype=np.int64, count=n)
    for i in empty:
        channels[i] = ()
        strings[i] = NO_TOUCH
        lengths[i] = 0
    if strings is original:  # split at SEP (spelled "a > b"): the models get the coding
        _remember_coding(channels, strings)
    safe = np.where(lengths > 0, lengths, 1)

    def column(values) -> np.ndarray:  # an object array as is (no type inference)
        return np.fromiter(values, dtype=object, count=n)

    return pd.DataFrame(
        {
            "path": column(strings),
            "channels": column(channels),
            "length": lengths.astype(int),
            "conversions": conv,
            "nulls": nul,
            "value": val,
            # (x,) * length: a tuple of equal weights per path, built in C
            "decay": column(map(mul, zip((conv / safe).tolist()), lengths.tolist())),
            "decay_value": column(map(mul, zip((val / safe).tolist()), lengths.tolist())),
        }
    )


def _arrow_paths(paths, conv, nul, val) -> pd.DataFrame:
    """:func:`paths_from_strings` with Arrow columns (split by Arrow, no Python per path)."""
    import pyarrow as pa

    if isinstance(paths, pd.Series) and isinstance(paths.dtype, pd.ArrowDtype):
        paths = paths.array.__arrow_array__()
    arr = paths if isinstance(paths, pa.Array | pa.ChunkedArray) else pa.array(paths, pa.string())
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    arr = arr.cast(pa.string())
    if arr.null_count:
        rows = np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))
        raise DataError(
            f"paths: no path string in rows {rows[:10].tolist()}; write '{NO_TOUCH}' for a "
            "journey without touches"
        )
    arr, channels, lengths, offsets = _split_paths(arr)
    safe = np.where(lengths > 0, lengths, 1)
    # copy=False: one block per column, not stacked into 2-D blocks (a copy of every number
    # column); the frame owns its number columns all the same (the caller's arrays are copied)
    return pd.DataFrame(
        {
            "path": pd.Series(arr, dtype=pd.ArrowDtype(pa.string())),
            "channels": pd.Series(channels, dtype=pd.ArrowDtype(channels.type)),
            "length": lengths.astype(int),
            "conversions": np.array(conv, dtype=float),
            "nulls": np.array(nul, dtype=float),
            "value": np.array(val, dtype=float),
            "decay": _arrow_list(offsets, np.repeat(conv / safe, lengths)),
            "decay_value": _arrow_list(offsets, np.repeat(val / safe, lengths)),
        },
        copy=False,
    )


def _split_paths(arr, *, respell: bool = True):
    """Split an Arrow string array of paths into channels (Arrow only, no Python per path).

    Returns the path strings (respelled ``a > b`` when they were spelled otherwise), the
    channels as an Arrow list array (``(no touch)`` an empty list), the lengths (int64) and
    the list offsets. ``respell=False``: split at ``" > "`` only, as ``str.split(SEP)``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = pc.equal(arr, NO_TOUCH)
    # the "(no touch)" paths (few) are masked as missing: split yields no channel for them
    # (a copy of every channel to cut them out afterwards is avoided)
    if empty.true_count and arr.offset == 0:
        valid = pc.invert(empty).buffers()[1]
        target = pa.StringArray.from_buffers(len(arr), arr.buffers()[1], arr.buffers()[2], valid)
    else:
        target = arr
    lists = pc.split_pattern(target, SEP)
    flat = lists.flatten()
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    lengths = lengths.astype(np.int64)
    odd = respell and not _spelled_canonically(flat)
    if odd:  # not spelled "a > b": split at every ">" and trim the channels
        lists = pc.split_pattern(target, ">")
        flat = pc.utf8_trim_whitespace(lists.flatten())
        lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
        lengths = lengths.astype(np.int64)
    is_empty = empty.to_numpy(zero_copy_only=False)
    if target is arr and is_empty.any():  # (a sliced array) cut the "(no touch)" channels out
        flat = flat.filter(pa.array(np.repeat(~is_empty, lengths)))
        lengths = np.where(is_empty, 0, lengths)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
    channels = pa.ListArray.from_arrays(offsets, flat)
    if odd:
        arr = pc.if_else(empty, NO_TOUCH, pc.binary_join(channels, SEP))
    return arr, channels, lengths, offsets


def _remember_coding(channels: list, strings) -> None:
    """Code the tuples ``channels`` (``str.split(SEP)`` of ``strings``) columnar, once.

    The coding is kept for the models (:func:`imclab.attribution._common.remember_tuples`),
    which would otherwise hash every channel string of every path again.
    """
    import pyarrow as pa

    from imclab.attribution._common import arrow_structure, remember_tuples

    strings = strings if isinstance(strings, pa.Array) else pa.array(strings, pa.string())
    split = _split_paths(strings.cast(pa.string()), respell=False)
    names, codes, lengths = arrow_structure(split[1])
    remember_tuples(channels, names, codes, lengths)


def _utf8_bytes(arr) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (one per value and one past the end) and data bytes of an Arrow string array."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
    offsets = offsets[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    return offsets, np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, "u1")


def _blank_or_non_ascii(values: np.ndarray, shifted=None, out=None) -> np.ndarray:
    """Where a byte (uint8) is blank or control (<= 0x20) or non-ASCII (>= 0x7F).

    One comparison after a wrapping shift; ``shifted`` and ``out`` are optional buffers.
    """
    return np.greater_equal(np.subtract(values, np.uint8(0x21), out=shifted), 0x5E, out=out)


def _odd_bytes(data: np.ndarray, step: int = 1 << 16) -> bool:
    """Whether ``data`` (uint8) holds a ``>``, a blank or control byte or a non-ASCII byte.

    Scanned in cache-sized blocks into two reused buffers: no temporary the size of the data
    (whose first touch in a fresh process costs more than the scan itself).
    """
    shifted, flags = np.empty(step, np.uint8), np.empty(step, bool)
    for i in range(0, len(data), step):
        block = data[i : i + step]
        n = len(block)
        if _blank_or_non_ascii(block, shifted[:n], flags[:n]).any():
            return True
        if np.equal(block, ord(">"), out=flags[:n]).any():
            return True
    return False


def _spelled_canonically(flat) -> bool:
    """Whether channels split at ``" > "`` (``flat``) are those of the split at ``">"``, trimmed.

    True when no channel holds a ``>`` (so every ``>`` was inside a separator) and none starts
    or ends with whitespace (byte scans; Arrow judges only channels with a non-ASCII or blank
    edge).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets, data = _utf8_bytes(flat)
    data = data[offsets[0] : offsets[-1]] if len(offsets) else data[:0]
    if len(data) == 0 or not _odd_bytes(data):  # plain ASCII channels without ">"
        return True
    if data.tobytes().find(b">") >= 0:  # memchr over a copy: faster than a byte comparison
        return False
    # first and last byte of every channel (an empty channel reads its neighbours': harmless);
    # indexed by the int32 offsets themselves (np.take would first copy them to int64)
    base = int(offsets[0])
    starts = offsets[:-1] if base == 0 else offsets[:-1] - np.int32(base)
    ends = offsets[1:] - np.int32(base + 1)
    if starts[-1] >= len(data):  # empty channels at the very end
        starts = np.minimum(starts, np.int32(len(data) - 1))
    edge = _blank_or_non_ascii(data[starts]) | _blank_or_non_ascii(data[ends])
    if not edge.any():  # plain ASCII edges: nothing to trim
        return True
    sub = flat.filter(pa.array(edge))
    return not pc.any(pc.not_equal(pc.utf8_trim_whitespace(sub), sub)).as_py()


def _arrow_list(offsets, values: np.ndarray) -> pd.Series:
    import pyarrow as pa

    lists = pa.ListArray.from_arrays(offsets, pa.array(values, pa.float64()))
    return pd.Series(lists, dtype=pd.ArrowDtype(lists.type))


def top_paths(paths: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """Return the ``n`` paths with the most conversions, with conversion rate and share.

    Parameters
    ----------
    paths
        Unique paths (segments, if any, are summed).
    n
        How many paths to show.

    Returns
    -------
    pandas.DataFrame
        ``path, length, conversions, nulls, journeys, conversion_rate, share_of_conversions,
        value``; ties broken by path.
    """
    agg = paths.groupby("path", as_index=False).agg(
        length=("length", "first"),
        conversions=("conversions", "sum"),
        nulls=("nulls", "sum"),
        value=("value", "sum"),
    )
    agg["journeys"] = agg["conversions"] + agg["nulls"]
    agg["conversion_rate"] = agg["conversions"] / agg["journeys"]
    agg["share_of_conversions"] = agg["conversions"] / agg["conversions"].sum()
    agg = agg.sort_values(["conversions", "path"], ascending=[False, True], kind="mergesort")
    cols = ["path", "length", "conversions", "nulls", "journeys", "conversion_rate",
            "share_of_conversions", "value"]  # fmt: skip
    return agg[cols].head(n).reset_index(drop=True)


def path_length_distribution(paths: pd.DataFrame) -> pd.DataFrame:
    """Count converting and non-converting journeys by number of touches (0 = no touch).

    Parameters
    ----------
    paths
        Unique paths.

    Returns
    -------
    pandas.DataFrame
        ``length, conversions, nulls, conversion_rate`` for every length seen.
    """
    agg = paths.groupby("length", as_index=False)[["conversions", "nulls"]].sum()
    tot = agg["conversions"] + agg["nulls"]
    agg["conversion_rate"] = np.where(tot > 0, agg["conversions"] / tot.where(tot > 0, 1), 0.0)
    return agg.sort_values("length").reset_index(drop=True)
