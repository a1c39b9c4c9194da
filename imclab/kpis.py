"""Compute the catalogue KPIs (:data:`imclab.config.KPIS`) from a brand world's tables.

One computation per KPI, each citing its catalogue entry; shared by the situation analysis
(baselines, SMART checks) and the post-campaign review (scorecard). The event tables
(``customers``, ``touchpoints``, ``conversions``) are reduced by Ibis expressions, so they may
be pandas DataFrames (run by DuckDB) or Ibis tables of DuckDB or Spark; the small tables
(``spend``, ``survey``) stay pandas.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from imclab.config import CHANNELS, KPIS, get_kpi
from imclab.engine import quiet, to_ibis
from imclab.errors import ParameterError

Tables = Mapping[str, "pd.DataFrame | ir.Table"]
"""A brand world as ``{table name: table}`` with data-dictionary columns: pandas DataFrames
(:func:`imclab.data.load_world`), or Ibis tables for the event tables ``customers``,
``touchpoints`` and ``conversions`` (:mod:`imclab.warehouse`,
:func:`imclab.engine.world_tables`)."""

DateLike = str | dt.date | dt.datetime | pd.Timestamp

SURVEY_FLAGS: dict[str, str] = {
    "awareness": "aware",
    "consideration": "consider",
    "preference": "prefer",
    "purchase_intent": "intent",
}
"""Survey column behind each brand-funnel share KPI."""

_DATE_COLUMNS: dict[str, str] = {
    "survey": "fieldwork_date",
    "touchpoints": "timestamp",
    "conversions": "timestamp",
    "spend": "date",
    "customers": "signup_date",
}

EVENT_TABLES: tuple[str, ...] = ("customers", "touchpoints", "conversions")
"""Tables reduced in the engine (Ibis); the others are small and stay pandas."""

# the columns of each event table the KPIs read (those present are handed to the engine)
_EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "touchpoints": ("customer_id", "timestamp", "channel", "campaign", "interaction"),
    "conversions": ("customer_id", "timestamp", "revenue"),
    "customers": ("customer_id", "signup_date"),
}
_STRING_COLUMNS = ("customer_id", "channel", "campaign", "interaction")


@dataclass(frozen=True)
class KPIValue:
    """One KPI measured on one window (and optionally one brand, channel or persona).

    Attributes
    ----------
    name
        Catalogue name of the KPI.
    value
        The KPI value (NaN when it cannot be computed; then :attr:`note` says why).
    numerator, denominator
        The two sums the value is the quotient of (NaN when the KPI is a plain count or sum).
    n
        Sample size behind the value: respondents, impressions, sends, customers or orders
        (see :attr:`note` and each KPI's docstring in :data:`KPI_FUNCTIONS`).
    start, end
        The window, both days included.
    note
        What was measured, caveats, or why the value is NaN.
    """

    name: str
    value: float
    numerator: float
    denominator: float
    n: int
    start: pd.Timestamp
    end: pd.Timestamp
    note: str = ""

    @property
    def computable(self) -> bool:
        """True when :attr:`value` is a finite number."""
        return bool(np.isfinite(self.value))

    def as_dict(self) -> dict[str, object]:
        """Return the fields as a plain dict (one row of a KPI table)."""
        return asdict(self)


@dataclass(frozen=True)
class Computability:
    """Whether a KPI's required tables and columns are present, and why not.

    Truthy when :attr:`ok`.
    """

    name: str
    ok: bool
    reason: str

    def __bool__(self) -> bool:
        """Return :attr:`ok`."""
        return self.ok


# --------------------------------------------------------------------------------------
# Small public helpers shared with imclab.situation
# --------------------------------------------------------------------------------------
def to_window(start: DateLike, end: DateLike) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Normalise a window to midnight timestamps ``(first day, last day)``, both included.

    Parameters
    ----------
    start, end
        First and last day (dates, datetimes, Timestamps or ISO strings).

    Returns
    -------
    tuple of pandas.Timestamp
        ``(start, end)`` at midnight; rows with ``start <= t < end + 1 day`` are inside.

    Raises
    ------
    ParameterError
        When a bound cannot be parsed or ``start`` is after ``end``.
    """
    try:
        lo = pd.Timestamp(start).normalize()
        hi = pd.Timestamp(end).normalize()
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"window {start!r}..{end!r}: cannot parse as dates (expected ISO 8601 like "
            f"'2025-03-03'): {exc}"
        ) from None
    if pd.isna(lo) or pd.isna(hi):
        raise ParameterError(f"window {start!r}..{end!r}: both bounds are required")
    if lo > hi:
        raise ParameterError(
            f"window start {lo.date()} is after its end {hi.date()}; give start <= end"
        )
    return lo, hi


def in_window(values: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Return a boolean mask of ``values`` (datetimes) inside the days ``start..end``.

    Parameters
    ----------
    values
        Dates or timestamps (strings are parsed).
    start, end
        Window from :func:`to_window`.

    Returns
    -------
    pandas.Series
        True where ``start <= value < end + 1 day``.
    """
    ts = as_datetime(values)
    return (ts >= start) & (ts < end + pd.Timedelta(days=1))


def as_datetime(values: pd.Series) -> pd.Series:
    """Return ``values`` as ``datetime64`` (parsing ISO strings when needed)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with categorical and Arrow string columns as plain Python objects.

    The loader returns categoricals; grouping on them would add empty combinations.
    """
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def wilson_interval(
    successes: float | np.ndarray, trials: float | np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score interval of a proportion (statsmodels ``proportion_confint``).

    Parameters
    ----------
    successes, trials
        Counts (scalars or arrays); where ``trials`` is 0 the bounds are NaN.
    alpha
        1 - confidence level (0.05 gives a 95 % interval).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds.
    """
    k = np.atleast_1d(np.asarray(successes, dtype=float))
    n = np.atleast_1d(np.asarray(trials, dtype=float))
    ok = n > 0
    lo = np.full(np.broadcast(k, n).shape, np.nan)
    hi = lo.copy()
    if ok.any():
        kk, nn = np.broadcast_arrays(k, n)
        lo[ok], hi[ok] = proportion_confint(kk[ok], nn[ok], alpha=alpha, method="wilson")
    return lo, hi


# --------------------------------------------------------------------------------------
# Event tables in the engine
# --------------------------------------------------------------------------------------
_SHARED: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar(
    "imclab_kpis_shared", default=None
)


@contextlib.contextmanager
def shared_tables() -> Iterator[None]:
    """Within the block, hand each event table to the engine once and remember table facts.

    Every KPI call turns the pandas event tables it reads into in-memory Ibis tables; inside
    this block that happens once per table (and row counts and date spans of Ibis tables are
    queried once), which saves time when many KPIs or windows are computed on the same
    tables (scorecards, SMART checks). The tables must not change inside the block. Blocks
    nest (the outermost one counts).

    Yields
    ------
    None
    """
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _remember(key: tuple, anchor: object, build: Callable[[], Any]) -> Any:
    """Return ``build()``, computed once per ``key`` inside :func:`shared_tables`."""
    cache = _SHARED.get()
    if cache is None:
        return build()
    full = (*key, id(anchor))
    if full not in cache:
        cache[full] = (anchor, build())  # keep the anchor alive so its id stays unique
    return cache[full][1]


def _as_ts(col: ir.Value) -> ir.TimestampValue:
    return col if col.type().is_timestamp() else col.cast("timestamp")


def _lit_ts(value: pd.Timestamp) -> ir.TimestampScalar:
    return ibis.literal(pd.Timestamp(value).to_pydatetime(), type="timestamp")


def _event_table(tables: Tables, name: str) -> ir.Table:
    """Return an event table as Ibis, with the columns the KPIs read (typed alike everywhere)."""
    frame = tables[name]

    def build() -> ir.Table:
        present = [c for c in _EVENT_COLUMNS[name] if c in frame.columns]
        t = to_ibis(frame, name, present)
        out = {}
        for c in present:
            col = t[c]
            if c in _STRING_COLUMNS:
                col = col.cast("string")
            elif c == "revenue":
                col = col.cast("float64")
            out[c] = col
        return t.select(**out)

    return _remember(("ibis", name), frame, build)


def _is_empty(frame: pd.DataFrame | ir.Table) -> bool:
    if isinstance(frame, pd.DataFrame):
        return frame.empty
    return _remember(
        ("empty",), frame, lambda: int(frame.limit(1).count().execute()) == 0
    )  # fmt: skip


@quiet
def date_range(
    frame: pd.DataFrame | ir.Table, column: str, name: str = "table"
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Return the first and last day of a date column (an engine query for Ibis tables).

    Parameters
    ----------
    frame
        A pandas DataFrame or an Ibis table.
    column
        Its date or timestamp column.
    name
        The table's name, for error messages.

    Returns
    -------
    tuple of pandas.Timestamp or None
        ``(first day, last day)`` at midnight; None when the column is missing or has no
        dates.
    """
    if column not in frame.columns:
        return None

    def build() -> tuple[pd.Timestamp, pd.Timestamp] | None:
        if column in _EVENT_COLUMNS.get(name, ()):
            t = _event_table({name: frame}, name)  # the conversion the KPI queries share
        else:
            t = to_ibis(frame, name, [column])
        ts = _as_ts(t[column])
        row = t.aggregate(first=ts.min(), last=ts.max()).execute().iloc[0]
        if pd.isna(row["first"]) or pd.isna(row["last"]):
            return None
        return pd.Timestamp(row["first"]).normalize(), pd.Timestamp(row["last"]).normalize()

    return _remember(("span", column), frame, build)


# --------------------------------------------------------------------------------------
# Computability
# --------------------------------------------------------------------------------------
@quiet
def kpi_computable(name: str, tables: Tables) -> Computability:
    """Say whether the tables hold every ``table.column`` a KPI requires.

    Parameters
    ----------
    name
        Catalogue KPI name.
    tables
        ``{table name: DataFrame or Ibis table}`` (an Ibis table's emptiness costs one small
        query; inside :func:`shared_tables` one per table).

    Returns
    -------
    Computability
        ``ok`` and, when not ok, the missing tables/columns or empty tables in ``reason``.

    Raises
    ------
    UnknownKPIError
        When ``name`` is not in the catalogue.
    """
    kpi = get_kpi(name)
    missing_tables: list[str] = []
    missing_columns: list[str] = []
    empty: list[str] = []
    for item in kpi.requires:
        table, column = item.split(".", 1)
        frame = tables.get(table)
        if frame is None:
            if table not in missing_tables:
                missing_tables.append(table)
        elif column not in frame.columns:
            missing_columns.append(item)
        elif table not in empty and _is_empty(frame):
            empty.append(table)
    reasons = []
    if missing_tables:
        reasons.append(f"table(s) {', '.join(missing_tables)} not in the data")
    if missing_columns:
        reasons.append(f"column(s) {', '.join(missing_columns)} missing")
    if empty:
        reasons.append(f"table(s) {', '.join(empty)} have no rows")
    if reasons:
        return Computability(
            name,
            False,
            f"{name} needs {', '.join(kpi.requires)}: " + "; ".join(reasons),
        )
    return Computability(name, True, "")


# --------------------------------------------------------------------------------------
# Filters shared by the computations
# --------------------------------------------------------------------------------------
class _Batch:
    """The windows (periods) one set of engine queries covers, and their small results.

    Every reduction of an event table groups by the period index ``kpi_p`` (0 for a single
    window), so a KPI's whole history is one query; the results are kept per query key and
    read per period by the KPI functions.
    """

    def __init__(
        self,
        tables: Tables,
        periods: list[tuple[pd.Timestamp, pd.Timestamp]],
        customers: frozenset[str] | None,
    ) -> None:
        self.tables = tables
        self.periods = periods
        self.customers = customers
        self._results: dict[tuple, Any] = {}

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        if key not in self._results:
            self._results[key] = build()
        return self._results[key]

    @property
    def end(self) -> pd.Timestamp:
        """First instant after the last period."""
        return self.periods[-1][1] + pd.Timedelta(days=1)

    def persona(self) -> ir.Table:
        """Return the persona's customers (an in-memory table joined to the event tables)."""

        def build() -> ir.Table:
            ids = sorted({str(c) for c in self.customers or () if not pd.isna(c)})
            return ibis.memtable(
                pd.DataFrame({"customer_id": pd.Series(ids, dtype=object)}),
                schema=ibis.schema({"customer_id": "string"}),
            )

        return self.get(("persona table",), build)

    def calendar(self) -> ir.Table:
        """Each day of the batch -> its period index ``kpi_p``."""

        def build() -> ir.Table:
            days, index = [], []
            for i, (lo, hi) in enumerate(self.periods):
                for day in pd.date_range(lo, hi, freq="D"):
                    days.append(day.date())
                    index.append(i)
            return ibis.memtable(
                pd.DataFrame({"kpi_day": days, "kpi_p": index}),
                schema=ibis.schema({"kpi_day": "date", "kpi_p": "int64"}),
            )

        return self.get(("calendar table",), build)

    def ends(self) -> ir.Table:
        """Each period index -> the first instant after the period (``kpi_end``)."""

        def build() -> ir.Table:
            ends = [hi + pd.Timedelta(days=1) for _, hi in self.periods]
            return ibis.memtable(
                pd.DataFrame({"kpi_p": range(len(self.periods)), "kpi_end": ends}),
                schema=ibis.schema({"kpi_p": "int64", "kpi_end": "timestamp"}),
            )

        return self.get(("ends table",), build)

    def per_period(self, key: tuple, build: Callable[[], ir.Table]) -> pd.DataFrame:
        """Run a ``kpi_p``-grouped query once; one row per period, counts 0 where none."""

        def run() -> pd.DataFrame:
            frame = build().execute().set_index("kpi_p")
            frame = frame.reindex(range(len(self.periods)))
            return frame.fillna(0)

        return self.get(key, run)


@dataclass(frozen=True)
class _Scope:
    """The population a KPI is measured on."""

    start: pd.Timestamp
    end: pd.Timestamp
    brand: str | None
    channel: str | None
    campaign: str | None
    customers: frozenset[str] | None  # persona members, None = everyone
    persona: str | None
    batch: _Batch | None = field(default=None, compare=False, repr=False)
    index: int = 0  # this window's period in the batch

    @property
    def days(self) -> int:
        return int((self.end - self.start).days) + 1

    def stats(self, key: tuple, build: Callable[[], ir.Table]) -> pd.Series:
        """Return this window's row of a per-period engine query (run once per batch)."""
        assert self.batch is not None
        return self.batch.per_period(key, build).loc[self.index]


def _rows(tables: Tables, table: str, scope: _Scope, *, by_customer: bool = True) -> pd.DataFrame:
    """Return a small (pandas) table's rows inside the window (and the persona's customers)."""
    frame = tables[table]
    mask = in_window(frame[_DATE_COLUMNS[table]], scope.start, scope.end)
    if by_customer and scope.customers is not None and "customer_id" in frame.columns:
        mask &= frame["customer_id"].astype(object).isin(scope.customers)
    return frame.loc[mask]


def _events(scope: _Scope, table: str) -> ir.Table:
    """Return an event table's rows inside the batch's periods (and the persona's customers).

    Adds ``kpi_ts`` (the row's time) and ``kpi_p`` (its period index in the batch).
    """
    batch = scope.batch
    assert batch is not None
    t = _event_table(batch.tables, table)
    t = t.mutate(kpi_ts=_as_ts(t[_DATE_COLUMNS[table]]))
    t = t.filter(t.kpi_ts >= _lit_ts(batch.periods[0][0]), t.kpi_ts < _lit_ts(batch.end))
    if batch.customers is not None and "customer_id" in t.columns:
        t = t.semi_join(batch.persona(), "customer_id")
    if len(batch.periods) == 1:
        return t.mutate(kpi_p=ibis.literal(0, type="int64"))
    t = t.mutate(kpi_day=t.kpi_ts.date()).join(batch.calendar(), "kpi_day")
    return t.drop("kpi_day")


def _touched(scope: _Scope) -> ir.Table:
    """First touch time (``first_touch``) per period and customer touched on ``scope.channel``."""
    t = _events(scope, "touchpoints")
    t = t.filter(t.channel == scope.channel, t.customer_id.notnull())
    if scope.campaign is not None and "campaign" in t.columns:
        t = t.filter(t.campaign == scope.campaign)
    return t.group_by("kpi_p", "customer_id").agg(first_touch=t.kpi_ts.min())


def _orders(scope: _Scope) -> tuple[ir.Table, str]:
    """Orders in the window; with a channel, only those at/after the buyer's first touch."""
    orders = _events(scope, "conversions")
    if scope.channel is None:
        return orders, ""
    assert scope.batch is not None
    if "touchpoints" not in scope.batch.tables:
        raise _NotComputable(
            f"a channel filter ({scope.channel}) needs the touchpoints table to find the "
            "customers the channel reached"
        )
    joined = orders.join(_touched(scope), ["kpi_p", "customer_id"])
    note = (
        f"orders of customers touched on {scope.channel} in the window, placed at or after "
        "their first touch there (reach, not incrementality)"
    )
    return joined.filter(joined.kpi_ts >= joined.first_touch), note


def _order_stats(scope: _Scope) -> tuple[int, float, str]:
    """``(orders, revenue, note)`` of :func:`_orders` in the window."""
    orders, note = _orders(scope)

    def build() -> ir.Table:
        revenue = orders.revenue.sum() if "revenue" in orders.columns else ibis.literal(0.0)
        return orders.group_by("kpi_p").agg(orders=orders.count(), revenue=revenue)

    row = scope.stats(("orders", scope.channel, scope.campaign), build)
    return int(row["orders"]), float(row["revenue"]), note


def _spend(tables: Tables, scope: _Scope) -> tuple[float, str]:
    """Media spend in the window (channel and campaign filters)."""
    if scope.customers is not None:
        raise _NotComputable(
            f"spend.csv is not split by persona, so a spend-based KPI cannot be measured for "
            f"persona {scope.persona!r}"
        )
    rows = _rows(tables, "spend", scope, by_customer=False)
    what = []
    if scope.channel is not None:
        rows = rows.loc[rows["channel"].astype(object) == scope.channel]
        what.append(f"channel {scope.channel}")
    if scope.campaign is not None:
        rows = rows.loc[rows["campaign"].astype(object) == scope.campaign]
        what.append(f"campaign {scope.campaign}")
    total = float(rows["spend"].sum())
    if total <= 0:
        raise _NotComputable(
            f"no media spend in spend.csv for {', '.join(what) or 'any channel'} in "
            f"{scope.start.date()}..{scope.end.date()}"
        )
    label = f" ({', '.join(what)})" if what else " (all campaigns)"
    return total, f"spend{label}: {total:,.2f}"


class _NotComputable(Exception):
    """Internal: the data cannot give the KPI; the message becomes the KPIValue note."""


def _ratio(num: float, den: float, what: str) -> float:
    if den == 0:
        raise _NotComputable(f"{what} is 0 in the window, so the ratio is undefined")
    return num / den


# --------------------------------------------------------------------------------------
# One function per catalogue KPI: each returns (value, numerator, denominator, n, note)
# --------------------------------------------------------------------------------------
_Result = tuple[float, float, float, int, str]


def _survey(tables: Tables, scope: _Scope) -> pd.DataFrame:
    if scope.brand is None:
        raise ParameterError("brand KPIs need brand= (our brand or a competitor's name)")
    rows = _rows(tables, "survey", scope)
    brands = sorted(set(tables["survey"]["brand"].dropna().astype(object)))
    rows = rows.loc[rows["brand"].astype(object) == scope.brand]
    if rows.empty:
        waves = sorted(set(_rows(tables, "survey", scope)["wave"].dropna().astype(object)))
        where = f"waves {', '.join(waves)}" if waves else "no survey wave"
        raise _NotComputable(
            f"no survey respondents for brand {scope.brand!r} in "
            f"{scope.start.date()}..{scope.end.date()} ({where} in the window; "
            f"brands in survey.csv: {', '.join(brands)})"
        )
    return rows


def _wave_note(rows: pd.DataFrame) -> str:
    waves = sorted(set(rows["wave"].astype(object)))
    return f"survey wave(s) {', '.join(waves)} pooled"


def _brand_share(flag: str) -> Callable[[Tables, _Scope], _Result]:
    def compute(tables: Tables, scope: _Scope) -> _Result:
        rows = _survey(tables, scope)
        k = float(pd.to_numeric(rows[flag]).sum())
        n = len(rows)
        return k / n, k, float(n), n, f"{_wave_note(rows)}; {n} respondents"

    return compute


def _nps(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: 100 * (share 9..10 - share 0..6) among aware respondents with an answer.
    rows = _survey(tables, scope)
    score = pd.to_numeric(rows["nps"], errors="coerce")
    if "aware" in rows.columns:
        score = score.loc[pd.to_numeric(rows["aware"]) == 1]
    score = score.dropna()
    n = len(score)
    if n == 0:
        raise _NotComputable(f"no NPS answers from aware {scope.brand} respondents in the window")
    promoters = float((score >= 9).sum())
    detractors = float((score <= 6).sum())
    return (
        100.0 * (promoters - detractors) / n,
        promoters - detractors,
        float(n),
        n,
        f"{_wave_note(rows)}; {n} aware respondents answered "
        f"({promoters:.0f} promoters, {detractors:.0f} detractors)",
    )


def _traffic(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: count(touchpoints where interaction = 'visit').
    touches = _events(scope, "touchpoints")
    if scope.channel is not None:
        touches = touches.filter(touches.channel == scope.channel)
    row = scope.stats(
        ("traffic", scope.channel),
        lambda: touches.group_by("kpi_p").agg(
            visits=touches.count(where=touches.interaction == "visit")
        ),
    )
    visits = int(row["visits"])
    where = f" from {scope.channel}" if scope.channel else " from every channel"
    note = f"site visits{where}"
    if scope.campaign is not None:
        note += "; visits are organic, so the campaign filter does not apply"
    return float(visits), math.nan, math.nan, visits, note


def _ctr(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: sum(spend.clicks) / sum(spend.impressions) (per channel or overall).
    if scope.customers is not None:
        raise _NotComputable("spend.csv is not split by persona; CTR has no persona view")
    rows = _rows(tables, "spend", scope, by_customer=False)
    if scope.campaign is not None:
        rows = rows.loc[rows["campaign"].astype(object) == scope.campaign]
    note = ""
    if scope.channel is not None:
        rows = rows.loc[rows["channel"].astype(object) == scope.channel]
    else:
        clicks_by = rows.groupby(rows["channel"].astype(object))["clicks"].sum()
        no_clicks = sorted(clicks_by.index[clicks_by == 0])
        if no_clicks:
            rows = rows.loc[~rows["channel"].astype(object).isin(no_clicks)]
            note = f"; left out (no clicks measured): {', '.join(no_clicks)}"
    clicks = float(rows["clicks"].sum())
    impressions = float(rows["impressions"].sum())
    if impressions == 0:
        raise _NotComputable("no impressions in spend.csv for this scope and window")
    if clicks == 0 and scope.channel is not None:
        raise _NotComputable(f"{scope.channel} reports no clicks in spend.csv (e.g. TV)")
    return clicks / impressions, clicks, impressions, int(impressions), "platform totals" + note


def _open_rate(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: EDM opens / EDM sends. A click on an email implies it was opened, so EDM
    # 'click' touches count as opens too (as email platforms count them). Sends are the EDM
    # 'impression' touches when the event log records them, else the EDM impressions of
    # spend.csv (the data dictionary: impressions are sends for edm).
    if scope.channel not in (None, "edm"):
        raise _NotComputable(f"open rate is an EDM KPI; channel {scope.channel!r} has no opens")
    touches = _events(scope, "touchpoints")
    touches = touches.filter(touches.channel == "edm")
    if scope.campaign is not None:
        touches = touches.filter(touches.campaign == scope.campaign)
    kind = touches.interaction
    row = scope.stats(
        ("open_rate", scope.campaign),
        lambda: touches.group_by("kpi_p").agg(
            opens=touches.count(where=kind.isin(["open", "click"])),
            sends=touches.count(where=kind == "impression"),
        ),
    )
    opens, sends = float(row["opens"]), float(row["sends"])
    if sends > 0:
        note = "EDM opens (open or click touches) / sends in the event log"
        return opens / sends, opens, sends, int(sends), note
    where = f"{scope.start.date()}..{scope.end.date()}"
    spend = tables.get("spend")
    if spend is None or not {"date", "channel", "impressions"} <= set(spend.columns):
        raise _NotComputable(
            f"no EDM sends in {where}: touchpoints.csv logs none (interaction 'impression' on "
            f"channel 'edm'; {opens:.0f} opens logged) and there is no spend.csv with EDM "
            "impressions (sends)"
        )
    if scope.customers is not None:
        raise _NotComputable(
            "the event log has no EDM sends and spend.csv is not split by persona, so the open "
            f"rate cannot be measured for persona {scope.persona!r}"
        )
    rows = _rows(tables, "spend", scope, by_customer=False)
    rows = rows.loc[rows["channel"].astype(object) == "edm"]
    if scope.campaign is not None and "campaign" in rows.columns:
        rows = rows.loc[rows["campaign"].astype(object) == scope.campaign]
    sends = float(rows["impressions"].sum())
    if sends == 0:
        raise _NotComputable(
            f"no EDM sends in {where}: none logged in touchpoints.csv and no EDM impressions "
            f"in spend.csv ({opens:.0f} opens logged)"
        )
    note = (
        "EDM opens (open or click touches in the event log) / sends (EDM impressions in "
        "spend.csv; the event log records no sends)"
    )
    return opens / sends, opens, sends, int(sends), note


def _engagement_rate(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: customers with a click, open or visit / customers with any touch.
    touches = _events(scope, "touchpoints")
    if scope.channel is not None:
        touches = touches.filter(touches.channel == scope.channel)
    if scope.campaign is not None:
        touches = touches.filter(touches.campaign == scope.campaign)
    who = touches.customer_id
    engaged = touches.interaction.isin(["click", "open", "visit"])
    row = scope.stats(
        ("engagement_rate", scope.channel, scope.campaign),
        lambda: touches.group_by("kpi_p").agg(
            exposed=who.nunique(), engaged=who.nunique(where=engaged)
        ),
    )
    exposed, k = int(row["exposed"]), float(row["engaged"])
    value = _ratio(k, float(exposed), "the number of touched customers")
    return value, k, float(exposed), int(exposed), "customers engaged / customers touched"


def _first_orders(tables: Tables, scope: _Scope) -> tuple[int, str]:
    """Count the customers whose first order in the whole table falls in the window."""
    every = _event_table(tables, "conversions")
    history = date_range(tables["conversions"], "timestamp", "conversions")
    ts = _as_ts(every.timestamp)
    first = (
        every.filter(every.customer_id.notnull()).group_by("customer_id").agg(first_order=ts.min())
    )
    orders, note = _orders(scope)

    def build() -> ir.Table:
        firsts = orders.join(first, "customer_id")
        firsts = firsts.filter(firsts.kpi_ts == firsts.first_order)
        return firsts.group_by("kpi_p").agg(new=firsts.customer_id.nunique())

    new = int(scope.stats(("leads", scope.channel, scope.campaign), build)["new"])
    since = history[0].date() if history is not None else "n/a"
    caveat = (
        f"first order seen in conversions.csv (history from {since}; earlier orders are unknown)"
    )
    return new, f"{caveat}; {note}" if note else caveat


def _leads(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: customers whose min(conversions.timestamp) is in the period.
    new, note = _first_orders(tables, scope)
    return float(new), math.nan, math.nan, new, note


def _conversions(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: count(conversions) in the period.
    n, _, note = _order_stats(scope)
    return float(n), math.nan, math.nan, n, note or "orders in the window"


def _conversion_rate(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: customers with a visit and an order / customers with a visit, in the period.
    touches = _events(scope, "touchpoints")
    visitors = touches.filter(touches.interaction == "visit", touches.customer_id.notnull())
    visitors = visitors.select("kpi_p", "customer_id").distinct()
    orders, note = _orders(scope)
    if scope.channel is not None:
        visitors = visitors.semi_join(_touched(scope), ["kpi_p", "customer_id"])

    def build() -> ir.Table:
        buyers = orders.filter(orders.customer_id.notnull()).select("kpi_p", "customer_id")
        buyers = buyers.distinct().mutate(bought=ibis.literal(1, type="int64"))
        both = visitors.left_join(buyers, ["kpi_p", "customer_id"])
        return both.group_by("kpi_p").agg(visitors=both.count(), k=both.bought.count())

    row = scope.stats(("conversion_rate", scope.channel, scope.campaign), build)
    k, n = float(row["k"]), int(row["visitors"])
    value = _ratio(k, float(n), "the number of site visitors")
    base = "visitors who ordered / site visitors in the window"
    return value, k, float(n), n, f"{base}; {note}" if note else base


def _cac(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: sum(spend.spend for the campaign) / leads.
    spend, spend_note = _spend(tables, scope)
    new, note = _first_orders(tables, scope)
    value = _ratio(spend, float(new), "the number of new customers")
    return value, spend, float(new), new, f"{spend_note}; new customers: {note}"


def _cpa(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: sum(spend.spend for the campaign) / conversions.
    spend, spend_note = _spend(tables, scope)
    n, _, note = _order_stats(scope)
    value = _ratio(spend, float(n), "the number of orders")
    return value, spend, float(n), n, "; ".join(filter(None, [spend_note, note]))


def _revenue(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: sum(conversions.revenue) in the period.
    n, total, note = _order_stats(scope)
    return total, math.nan, math.nan, n, note or f"{n} orders"


def _aov(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: revenue / conversions.
    n, total, note = _order_stats(scope)
    value = _ratio(total, float(n), "the number of orders")
    return value, total, float(n), n, note or "revenue per order"


def _roi(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: (revenue - sum(spend.spend)) / sum(spend.spend).
    spend, spend_note = _spend(tables, scope)
    n, revenue, note = _order_stats(scope)
    extra = note or "all revenue in the window (not only incremental)"
    return (revenue - spend) / spend, revenue - spend, spend, n, f"{spend_note}; {extra}"


def _roas(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: revenue / sum(spend.spend).
    spend, spend_note = _spend(tables, scope)
    n, revenue, note = _order_stats(scope)
    extra = note or "all revenue in the window (not only incremental)"
    return revenue / spend, revenue, spend, n, f"{spend_note}; {extra}"


def _retention_rate(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: buyers with >= 2 orders / buyers with >= 1 order, in the period.
    orders, note = _orders(scope)

    def build() -> ir.Table:
        known = orders.filter(orders.customer_id.notnull())
        counts = known.group_by("kpi_p", "customer_id").agg(k=known.count())
        return counts.group_by("kpi_p").agg(
            buyers=counts.count(), repeat=counts.count(where=counts.k >= 2)
        )

    row = scope.stats(("retention_rate", scope.channel, scope.campaign), build)
    buyers, k = int(row["buyers"]), float(row["repeat"])
    value = _ratio(k, float(buyers), "the number of buyers")
    base = "buyers with 2+ orders in the window / buyers"
    return value, k, float(buyers), buyers, f"{base}; {note}" if note else base


def _clv(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: revenue in the period x 365 / period days / customers signed up by its end.
    # Per customer of the base (not per buyer of the window), so it does not grow as the
    # window shrinks: a shorter window has fewer buyers but the same customer base.
    _, revenue, note = _order_stats(scope)
    batch = scope.batch
    assert batch is not None
    customers = _event_table(tables, "customers")
    customers = customers.filter(customers.customer_id.notnull())
    if batch.customers is not None:
        customers = customers.semi_join(batch.persona(), "customer_id")
    signup = _as_ts(customers.signup_date)
    signed = customers.group_by("customer_id").agg(signup=signup.min())
    what = "customers signed up by the window end"
    if scope.channel is not None:

        def build() -> ir.Table:
            touched = _touched(scope).select("kpi_p", "customer_id")
            base = touched.join(signed, "customer_id").join(batch.ends(), "kpi_p")
            base = base.filter(base.signup < base.kpi_end)
            return base.group_by("kpi_p").agg(base=base.count())

        base = int(scope.stats(("clv_base", scope.channel, scope.campaign), build)["base"])
        what += f" and touched on {scope.channel} in the window"
    else:

        def daily() -> pd.DataFrame:
            # customers by signup day (a small result), counted up to each window's end
            known = signed.filter(signed.signup < _lit_ts(batch.end))
            per_day = known.group_by(day=known.signup.date()).agg(n=known.count()).execute()
            return per_day.assign(day=pd.to_datetime(per_day["day"]))

        per_day = batch.get(("clv_signups",), daily)
        base = int(per_day.loc[per_day["day"] <= scope.end, "n"].sum())
    annual = revenue * 365.0 / scope.days
    value = _ratio(annual, float(base), f"the number of {what}")
    text = (
        f"annualised revenue (x 365 / {scope.days} days) per customer of the base ({base:,} "
        f"{what}); a historical proxy (the post-campaign review fits BG/NBD + Gamma-Gamma)"
    )
    return value, annual, float(base), base, f"{text}; {note}" if note else text


KPI_FUNCTIONS: dict[str, Callable[[Tables, _Scope], _Result]] = {
    "awareness": _brand_share("aware"),
    "consideration": _brand_share("consider"),
    "preference": _brand_share("prefer"),
    "purchase_intent": _brand_share("intent"),
    "nps": _nps,
    "traffic": _traffic,
    "ctr": _ctr,
    "open_rate": _open_rate,
    "engagement_rate": _engagement_rate,
    "leads": _leads,
    "conversions": _conversions,
    "conversion_rate": _conversion_rate,
    "cac": _cac,
    "cpa": _cpa,
    "revenue": _revenue,
    "aov": _aov,
    "roi": _roi,
    "roas": _roas,
    "retention_rate": _retention_rate,
    "clv": _clv,
}
"""The computation of each catalogue KPI (same keys as :data:`imclab.config.KPIS`)."""

SURVEY_KPIS: tuple[str, ...] = tuple(k for k, v in KPIS.items() if v.tier == "brand")
"""KPIs measured by the brand-tracking survey (one value per wave, not per day)."""

SCALES_WITH_WINDOW: tuple[str, ...] = ("traffic", "leads", "conversions", "revenue")
"""KPIs that are sums over the window: compare windows of equal length or per-day rates."""


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------
@quiet
def compute_kpi(
    name: str,
    tables: Tables,
    start: DateLike,
    end: DateLike,
    *,
    brand: str | None = None,
    channel: str | None = None,
    campaign: str | None = None,
    persona_labels: pd.DataFrame | None = None,
    persona: str | None = None,
) -> KPIValue:
    """Compute one catalogue KPI on a window, following its catalogue formula.

    Definitions (formula text in :data:`imclab.config.KPIS`):

    - brand KPIs (``awareness`` .. ``purchase_intent``): share of the brand's survey
      respondents with the flag, survey waves whose ``fieldwork_date`` is in the window
      pooled; ``nps``: 100 x (promoters - detractors) / answers among aware respondents.
    - ``traffic``: visit touches; ``ctr``: spend clicks / impressions (channels that report
      no clicks, such as TV, are left out of the overall CTR); ``open_rate``: EDM opens
      (open or click touches: a click implies an open) / EDM sends (``impression`` touches,
      or spend.csv EDM impressions when the event log records no sends);
      ``engagement_rate``: customers with a click, open or visit / customers touched.
    - ``leads``: customers whose first order in ``conversions`` falls in the window;
      ``conversions``: orders; ``conversion_rate``: site visitors who ordered / site
      visitors; ``cac``: spend / leads; ``cpa``: spend / orders.
    - ``revenue``; ``aov`` = revenue / orders; ``roi`` = (revenue - spend) / spend;
      ``roas`` = revenue / spend; ``retention_rate``: buyers with 2+ orders / buyers;
      ``clv``: historical proxy, the window's revenue annualised (x 365 / window days) per
      customer signed up by the window end (not per buyer, so windows of different length
      compare).

    The event tables are reduced in the engine (one Ibis query per reduction: DuckDB for
    pandas tables, the tables' own engine for Ibis tables); only the sums and counts come back.

    Parameters
    ----------
    name
        Catalogue KPI name.
    tables
        ``{table name: table}`` with data-dictionary columns: pandas DataFrames, or Ibis
        tables (DuckDB, Spark) for ``customers``, ``touchpoints`` and ``conversions``.
    start, end
        The window (days, both included).
    brand
        The survey brand, required for brand KPIs.
    channel
        Restrict to one channel: touches and spend of the channel; order-based KPIs count
        the orders of customers touched on the channel, at or after their first touch there
        (reach, not incrementality: attribution does better).
    campaign
        Restrict media spend (and, for engagement KPIs, touches) to one campaign; None
        counts every campaign.
    persona_labels, persona
        ``customer_id, persona`` labels and the persona to measure; spend cannot be split
        by persona, so spend-based KPIs are then not computable.

    Returns
    -------
    KPIValue
        NaN value with the reason in ``note`` when the data cannot give the KPI.

    Raises
    ------
    UnknownKPIError
        For a name outside the catalogue.
    ParameterError
        For a bad window, unknown channel, a brand KPI without ``brand``, or a persona
        without labels.
    """
    with shared_tables():
        return _compute_kpis(
            [name],
            tables,
            start,
            end,
            brand=brand,
            channel=channel,
            campaign=campaign,
            persona_labels=persona_labels,
            persona=persona,
        )[0]


def _compute_kpis(
    names: list[str] | tuple[str, ...],
    tables: Tables,
    start: DateLike,
    end: DateLike,
    *,
    brand: str | None = None,
    channel: str | None = None,
    campaign: str | None = None,
    persona_labels: pd.DataFrame | None = None,
    persona: str | None = None,
) -> list[KPIValue]:
    """Compute KPIs on one window; the engine queries they share run once."""
    kpis = [get_kpi(name) for name in names]
    lo, hi = to_window(start, end)
    if channel is not None and channel not in CHANNELS:
        raise ParameterError(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
    customers = _persona_customers(persona_labels, persona)
    batch = _Batch(tables, [(lo, hi)], customers)
    out = []
    for name, kpi in zip(names, kpis, strict=True):
        if kpi.tier == "brand" and brand is None:
            raise ParameterError(f"{name} is a brand KPI: pass brand= (e.g. the plan's brand)")
        check = kpi_computable(name, tables)
        if not check:
            out.append(KPIValue(name, math.nan, math.nan, math.nan, 0, lo, hi, check.reason))
            continue
        scope = _Scope(lo, hi, brand, channel, campaign, customers, persona, batch, 0)
        out.append(_measure(name, tables, scope))
    return out


def _measure(name: str, tables: Tables, scope: _Scope) -> KPIValue:
    """Run one KPI's computation on a scope (checks done), turning "not computable" into NaN."""
    lo, hi = scope.start, scope.end
    notes = []
    if KPIS[name].tier == "brand" and scope.channel is not None:
        notes.append(f"channel {scope.channel} ignored: the survey is not split by channel")
        scope = _Scope(
            lo, hi, scope.brand, None, scope.campaign, scope.customers, scope.persona,
            scope.batch, scope.index,
        )  # fmt: skip
    if scope.customers is not None:
        notes.append(f"persona {scope.persona!r} ({len(scope.customers)} labelled customers)")
    try:
        value, num, den, n, note = KPI_FUNCTIONS[name](tables, scope)
    except _NotComputable as exc:
        return KPIValue(
            name, math.nan, math.nan, math.nan, 0, lo, hi, "; ".join([str(exc), *notes])
        )
    return KPIValue(
        name, float(value), float(num), float(den), int(n), lo, hi, "; ".join([note, *notes])
    )


def _persona_customers(labels: pd.DataFrame | None, persona: str | None) -> frozenset[str] | None:
    if persona is None and labels is None:
        return None
    if persona is None or labels is None:
        raise ParameterError(
            "give both persona_labels (customer_id, persona) and persona=, or neither"
        )
    missing = {"customer_id", "persona"} - set(labels.columns)
    if missing:
        raise ParameterError(
            f"persona_labels: missing column(s) {', '.join(sorted(missing))}; expected "
            "customer_id, persona"
        )
    names = labels["persona"].astype(object)
    if persona not in set(names):
        raise ParameterError(
            f"persona {persona!r} is not in persona_labels; personas: "
            f"{', '.join(sorted(map(str, set(names.dropna()))))}"
        )
    return frozenset(labels.loc[names == persona, "customer_id"].astype(object))


@quiet
def kpi_table(
    tables: Tables,
    start: DateLike,
    end: DateLike,
    names: list[str] | tuple[str, ...] | None = None,
    **scope: object,
) -> pd.DataFrame:
    """Compute several KPIs on one window: one row per KPI.

    KPIs that reduce the same rows share one engine query (orders and revenue, for example).

    Parameters
    ----------
    tables
        ``{table name: table}`` (see :func:`compute_kpi`).
    start, end
        The window.
    names
        KPI names (default: the whole catalogue in catalogue order).
    **scope
        Passed to :func:`compute_kpi` (``brand``, ``channel``, ``campaign``, ...).

    Returns
    -------
    pandas.DataFrame
        Columns ``kpi, label, tier, unit, value, numerator, denominator, n, note``.
    """
    names = list(names or tuple(KPIS))
    with shared_tables():
        results = _compute_kpis(names, tables, start, end, **scope)  # type: ignore[arg-type]
    rows = []
    for name, res in zip(names, results, strict=True):
        kpi = KPIS[name]
        rows.append(
            {
                "kpi": name,
                "label": kpi.label,
                "tier": kpi.tier,
                "unit": kpi.unit,
                "value": res.value,
                "numerator": res.numerator,
                "denominator": res.denominator,
                "n": res.n,
                "note": res.note,
            }
        )
    return pd.DataFrame(rows, columns=list(rows[0]))


@quiet
def kpi_series(
    name: str,
    tables: Tables,
    freq: str = "W",
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    **scope: object,
) -> pd.DataFrame:
    """Return a KPI's history: one value per period (per survey wave for brand KPIs).

    The periods of a behavioural KPI are measured together: each reduction of an event
    table is one engine query grouped by period, not one query per period.

    Parameters
    ----------
    name
        Catalogue KPI name.
    tables
        ``{table name: table}`` (see :func:`compute_kpi`).
    freq
        pandas period frequency (``"W"`` weeks ending Sunday, ``"D"``, ``"M"``); ignored for
        brand KPIs, which have one value per survey wave.
    start, end
        Limit the history (default: the span of the KPI's tables).
    **scope
        Passed to :func:`compute_kpi` (``brand``, ``channel``, ``campaign``, ...).

    Returns
    -------
    pandas.DataFrame
        Columns ``period, start, end, days, partial, value, numerator, denominator, n, note,
        growth``. ``partial`` marks periods the data covers only in part (first and last
        weeks); ``growth`` is the relative change from the previous full period (NaN for
        partial periods and after a gap).
    """
    with shared_tables():
        return _kpi_series(name, tables, freq, start, end, scope)


def _kpi_series(
    name: str,
    tables: Tables,
    freq: str,
    start: DateLike | None,
    end: DateLike | None,
    scope: dict[str, Any],
) -> pd.DataFrame:
    kpi = get_kpi(name)
    check = kpi_computable(name, tables)
    columns = ["period", "start", "end", "days", "partial", "value", "numerator"]
    columns += ["denominator", "n", "note", "growth"]
    if not check:
        return pd.DataFrame(columns=columns)
    lo, hi = _span(kpi.tables, tables, start, end)
    rows = []
    if kpi.tier == "brand":
        survey = tables["survey"]
        inside = survey.loc[in_window(survey["fieldwork_date"], lo, hi)]
        waves = (
            pd.DataFrame(
                {
                    "wave": inside["wave"].astype(object),
                    "date": as_datetime(inside["fieldwork_date"]).dt.normalize(),
                }
            )
            .groupby("wave")["date"]
            .min()
            .sort_values()
        )
        for wave, day in waves.items():
            res = compute_kpi(name, tables, day, day, **scope)
            rows.append((wave, day, day, 1, False, res))
    else:
        data_lo, data_hi = _span(kpi.tables, tables, None, None)
        periods = []
        for period in pd.period_range(lo, hi, freq=freq):
            p_lo = max(period.start_time.normalize(), lo)
            p_hi = min(period.end_time.normalize(), hi)
            first_day = period.start_time.normalize()
            last_day = period.end_time.normalize()
            days = int((p_hi - p_lo).days) + 1
            partial = bool(
                first_day < max(lo, data_lo) or last_day > min(hi, data_hi) or p_lo > p_hi
            )
            periods.append((str(period), p_lo, p_hi, days, partial))
        rows = [
            (label, p_lo, p_hi, days, partial, res)
            for (label, p_lo, p_hi, days, partial), res in zip(
                periods, _measure_periods(name, tables, periods, scope), strict=True
            )
        ]
    out = pd.DataFrame(
        [
            {
                "period": label,
                "start": p_lo,
                "end": p_hi,
                "days": days,
                "partial": partial,
                "value": res.value,
                "numerator": res.numerator,
                "denominator": res.denominator,
                "n": res.n,
                "note": res.note,
            }
            for label, p_lo, p_hi, days, partial, res in rows
        ],
        columns=columns[:-1],
    )
    # numeric even when no period has a value (None throughout: an object column)
    usable = pd.to_numeric(out["value"], errors="coerce").where(~out["partial"].astype(bool))
    out["growth"] = usable / usable.shift(1) - 1
    out.loc[~np.isfinite(out["growth"]), "growth"] = np.nan
    return out


def _measure_periods(
    name: str, tables: Tables, periods: list[tuple], scope: dict[str, Any]
) -> list[KPIValue]:
    """Measure a behavioural KPI on consecutive periods (each reduction grouped by period)."""
    brand = scope.get("brand")
    channel = scope.get("channel")
    campaign = scope.get("campaign")
    persona = scope.get("persona")
    unknown = set(scope) - {"brand", "channel", "campaign", "persona_labels", "persona"}
    if unknown:
        raise TypeError(f"kpi_series() got unexpected keyword argument(s) {sorted(unknown)}")
    if channel is not None and channel not in CHANNELS:
        raise ParameterError(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
    customers = _persona_customers(scope.get("persona_labels"), persona)  # type: ignore[arg-type]
    windows = [to_window(p_lo, p_hi) for _, p_lo, p_hi, _, _ in periods]
    batch = _Batch(tables, windows, customers)
    return [
        _measure(
            name, tables, _Scope(lo, hi, brand, channel, campaign, customers, persona, batch, i)
        )  # type: ignore[arg-type]
        for i, (lo, hi) in enumerate(windows)
    ]


def _span(
    table_names: tuple[str, ...],
    tables: Tables,
    start: DateLike | None,
    end: DateLike | None,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the history window: the given bounds, else the span of the tables."""
    firsts, lasts = [], []
    if start is None or end is None:
        for table in table_names:
            column = _DATE_COLUMNS.get(table)
            frame = tables.get(table)
            if column is None or frame is None:
                continue
            span = date_range(frame, column, table)
            if span is not None:
                firsts.append(span[0])
                lasts.append(span[1])
    if start is None and not firsts:
        raise ParameterError(f"no dates in tables {', '.join(table_names)} to build a history")
    lo = pd.Timestamp(start).normalize() if start is not None else min(firsts)
    hi = pd.Timestamp(end).normalize() if end is not None else max(lasts)
    return to_window(lo, hi)
