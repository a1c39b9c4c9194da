"""Compute the catalogue KPIs (:data:`imclab.config.KPIS`) from a brand world's tables.

One computation per KPI, each citing its catalogue entry; shared by the situation analysis
(baselines, SMART checks) and the post-campaign review (scorecard).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from imclab.config import CHANNELS, KPIS, get_kpi
from imclab.errors import ParameterError

Tables = Mapping[str, pd.DataFrame]
"""A brand world as ``{table name: DataFrame}`` with data-dictionary columns."""

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
# Computability
# --------------------------------------------------------------------------------------
def kpi_computable(name: str, tables: Tables) -> Computability:
    """Say whether the tables hold every ``table.column`` a KPI requires.

    Parameters
    ----------
    name
        Catalogue KPI name.
    tables
        ``{table name: DataFrame}``.

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
        elif frame.empty and table not in empty:
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

    @property
    def days(self) -> int:
        return int((self.end - self.start).days) + 1


def _rows(tables: Tables, table: str, scope: _Scope, *, by_customer: bool = True) -> pd.DataFrame:
    """Return a table's rows inside the window (and the persona's customers)."""
    frame = tables[table]
    mask = in_window(frame[_DATE_COLUMNS[table]], scope.start, scope.end)
    if by_customer and scope.customers is not None and "customer_id" in frame.columns:
        mask &= frame["customer_id"].astype(object).isin(scope.customers)
    return frame.loc[mask]


def _touched(tables: Tables, scope: _Scope) -> pd.Series:
    """First touch time in the window per customer touched on ``scope.channel``."""
    touches = _rows(tables, "touchpoints", scope)
    touches = touches.loc[touches["channel"].astype(object) == scope.channel]
    if scope.campaign is not None and "campaign" in touches.columns:
        touches = touches.loc[touches["campaign"].astype(object) == scope.campaign]
    first = as_datetime(touches["timestamp"]).groupby(touches["customer_id"].astype(object)).min()
    return first


def _orders(tables: Tables, scope: _Scope) -> tuple[pd.DataFrame, str]:
    """Orders in the window; with a channel, only those at/after the buyer's first touch."""
    orders = _rows(tables, "conversions", scope)
    if scope.channel is None:
        return orders, ""
    if "touchpoints" not in tables:
        raise _NotComputable(
            f"a channel filter ({scope.channel}) needs the touchpoints table to find the "
            "customers the channel reached"
        )
    first = _touched(tables, scope)
    when = orders["customer_id"].astype(object).map(first)
    keep = when.notna() & (as_datetime(orders["timestamp"]) >= when)
    note = (
        f"orders of customers touched on {scope.channel} in the window, placed at or after "
        "their first touch there (reach, not incrementality)"
    )
    return orders.loc[keep], note


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


def _channel_touches(tables: Tables, scope: _Scope) -> pd.DataFrame:
    touches = _rows(tables, "touchpoints", scope)
    if scope.channel is not None:
        touches = touches.loc[touches["channel"].astype(object) == scope.channel]
    return touches


def _traffic(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: count(touchpoints where interaction = 'visit').
    touches = _channel_touches(tables, scope)
    visits = int((touches["interaction"].astype(object) == "visit").sum())
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
    touches = _rows(tables, "touchpoints", scope)
    touches = touches.loc[touches["channel"].astype(object) == "edm"]
    if scope.campaign is not None:
        touches = touches.loc[touches["campaign"].astype(object) == scope.campaign]
    kind = touches["interaction"].astype(object)
    opens = float(kind.isin(["open", "click"]).sum())
    sends = float((kind == "impression").sum())
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
    touches = _channel_touches(tables, scope)
    if scope.campaign is not None:
        touches = touches.loc[touches["campaign"].astype(object) == scope.campaign]
    who = touches["customer_id"].astype(object)
    exposed = who.nunique()
    engaged = who.loc[touches["interaction"].astype(object).isin(["click", "open", "visit"])]
    k = float(engaged.nunique())
    value = _ratio(k, float(exposed), "the number of touched customers")
    return value, k, float(exposed), int(exposed), "customers engaged / customers touched"


def _first_orders(tables: Tables, scope: _Scope) -> tuple[pd.Series, str]:
    """Return the customers whose first order in the whole table falls in the window."""
    all_orders = tables["conversions"]
    ts = as_datetime(all_orders["timestamp"])
    first = ts.groupby(all_orders["customer_id"].astype(object)).min()
    orders, note = _orders(tables, scope)
    firsts = orders.loc[
        as_datetime(orders["timestamp"]) == orders["customer_id"].astype(object).map(first)
    ]
    new = firsts["customer_id"].astype(object).drop_duplicates()
    history = ts.min()
    caveat = (
        f"first order seen in conversions.csv (history from {history.date()}; earlier "
        "orders are unknown)"
    )
    return new, f"{caveat}; {note}" if note else caveat


def _leads(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: customers whose min(conversions.timestamp) is in the period.
    new, note = _first_orders(tables, scope)
    return float(len(new)), math.nan, math.nan, len(new), note


def _conversions(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: count(conversions) in the period.
    orders, note = _orders(tables, scope)
    return float(len(orders)), math.nan, math.nan, len(orders), note or "orders in the window"


def _conversion_rate(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: customers with a visit and an order / customers with a visit, in the period.
    touches = _rows(tables, "touchpoints", scope)
    visitors = set(
        touches.loc[touches["interaction"].astype(object) == "visit", "customer_id"].astype(object)
    )
    orders, note = _orders(tables, scope)
    if scope.channel is not None:
        visitors &= set(_touched(tables, scope).index)
    buyers = set(orders["customer_id"].astype(object))
    k = float(len(visitors & buyers))
    value = _ratio(k, float(len(visitors)), "the number of site visitors")
    base = "visitors who ordered / site visitors in the window"
    return value, k, float(len(visitors)), len(visitors), f"{base}; {note}" if note else base


def _cac(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: sum(spend.spend for the campaign) / leads.
    spend, spend_note = _spend(tables, scope)
    new, note = _first_orders(tables, scope)
    value = _ratio(spend, float(len(new)), "the number of new customers")
    return value, spend, float(len(new)), len(new), f"{spend_note}; new customers: {note}"


def _cpa(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: sum(spend.spend for the campaign) / conversions.
    spend, spend_note = _spend(tables, scope)
    orders, note = _orders(tables, scope)
    value = _ratio(spend, float(len(orders)), "the number of orders")
    return (
        value,
        spend,
        float(len(orders)),
        len(orders),
        "; ".join(filter(None, [spend_note, note])),
    )


def _revenue(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: sum(conversions.revenue) in the period.
    orders, note = _orders(tables, scope)
    total = float(orders["revenue"].sum())
    return total, math.nan, math.nan, len(orders), note or f"{len(orders)} orders"


def _aov(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: revenue / conversions.
    orders, note = _orders(tables, scope)
    total = float(orders["revenue"].sum())
    value = _ratio(total, float(len(orders)), "the number of orders")
    return value, total, float(len(orders)), len(orders), note or "revenue per order"


def _roi(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: (revenue - sum(spend.spend)) / sum(spend.spend).
    spend, spend_note = _spend(tables, scope)
    orders, note = _orders(tables, scope)
    revenue = float(orders["revenue"].sum())
    extra = note or "all revenue in the window (not only incremental)"
    return (revenue - spend) / spend, revenue - spend, spend, len(orders), f"{spend_note}; {extra}"


def _roas(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: revenue / sum(spend.spend).
    spend, spend_note = _spend(tables, scope)
    orders, note = _orders(tables, scope)
    revenue = float(orders["revenue"].sum())
    extra = note or "all revenue in the window (not only incremental)"
    return revenue / spend, revenue, spend, len(orders), f"{spend_note}; {extra}"


def _retention_rate(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: buyers with >= 2 orders / buyers with >= 1 order, in the period.
    orders, note = _orders(tables, scope)
    counts = orders.groupby(orders["customer_id"].astype(object)).size()
    buyers = len(counts)
    k = float((counts >= 2).sum())
    value = _ratio(k, float(buyers), "the number of buyers")
    base = "buyers with 2+ orders in the window / buyers"
    return value, k, float(buyers), buyers, f"{base}; {note}" if note else base


def _clv(tables: Tables, scope: _Scope) -> _Result:
    # Catalogue: revenue in the period x 365 / period days / customers signed up by its end.
    # Per customer of the base (not per buyer of the window), so it does not grow as the
    # window shrinks: a shorter window has fewer buyers but the same customer base.
    orders, note = _orders(tables, scope)
    revenue = float(orders["revenue"].sum())
    customers = tables["customers"]
    signed = as_datetime(customers["signup_date"]) < scope.end + pd.Timedelta(days=1)
    ids = customers.loc[signed, "customer_id"].astype(object)
    if scope.customers is not None:
        ids = ids.loc[ids.isin(scope.customers)]
    what = "customers signed up by the window end"
    if scope.channel is not None:
        ids = ids.loc[ids.isin(_touched(tables, scope).index)]
        what += f" and touched on {scope.channel} in the window"
    base = int(ids.nunique())
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

    Parameters
    ----------
    name
        Catalogue KPI name.
    tables
        ``{table name: DataFrame}`` with data-dictionary columns.
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
    kpi = get_kpi(name)
    lo, hi = to_window(start, end)
    if channel is not None and channel not in CHANNELS:
        raise ParameterError(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
    customers = _persona_customers(persona_labels, persona)
    scope = _Scope(lo, hi, brand, channel, campaign, customers, persona)
    if kpi.tier == "brand" and brand is None:
        raise ParameterError(f"{name} is a brand KPI: pass brand= (e.g. the plan's brand)")
    check = kpi_computable(name, tables)
    if not check:
        return KPIValue(name, math.nan, math.nan, math.nan, 0, lo, hi, check.reason)
    notes = []
    if kpi.tier == "brand" and channel is not None:
        notes.append(f"channel {channel} ignored: the survey is not split by channel")
        scope = _Scope(lo, hi, brand, None, campaign, customers, persona)
    if customers is not None:
        notes.append(f"persona {persona!r} ({len(customers)} labelled customers)")
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


def kpi_table(
    tables: Tables,
    start: DateLike,
    end: DateLike,
    names: list[str] | tuple[str, ...] | None = None,
    **scope: object,
) -> pd.DataFrame:
    """Compute several KPIs on one window: one row per KPI.

    Parameters
    ----------
    tables
        ``{table name: DataFrame}``.
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
    rows = []
    for name in names or tuple(KPIS):
        res = compute_kpi(name, tables, start, end, **scope)  # type: ignore[arg-type]
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

    Parameters
    ----------
    name
        Catalogue KPI name.
    tables
        ``{table name: DataFrame}``.
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
            res = compute_kpi(name, tables, day, day, **scope)  # type: ignore[arg-type]
            rows.append((wave, day, day, 1, False, res))
    else:
        data_lo, data_hi = _span(kpi.tables, tables, None, None)
        for period in pd.period_range(lo, hi, freq=freq):
            p_lo = max(period.start_time.normalize(), lo)
            p_hi = min(period.end_time.normalize(), hi)
            first_day = period.start_time.normalize()
            last_day = period.end_time.normalize()
            days = int((p_hi - p_lo).days) + 1
            partial = bool(
                first_day < max(lo, data_lo) or last_day > min(hi, data_hi) or p_lo > p_hi
            )
            res = compute_kpi(name, tables, p_lo, p_hi, **scope)  # type: ignore[arg-type]
            rows.append((str(period), p_lo, p_hi, days, partial, res))
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
    usable = out["value"].where(~out["partial"].astype(bool))
    out["growth"] = usable / usable.shift(1) - 1
    out.loc[~np.isfinite(out["growth"]), "growth"] = np.nan
    return out


def _span(
    table_names: tuple[str, ...],
    tables: Tables,
    start: DateLike | None,
    end: DateLike | None,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the history window: the given bounds, else the span of the tables."""
    firsts, lasts = [], []
    for table in table_names:
        column = _DATE_COLUMNS.get(table)
        frame = tables.get(table)
        if column is None or frame is None or column not in frame.columns or frame.empty:
            continue
        ts = as_datetime(frame[column])
        firsts.append(ts.min().normalize())
        lasts.append(ts.max().normalize())
    if start is None and not firsts:
        raise ParameterError(f"no dates in tables {', '.join(table_names)} to build a history")
    lo = pd.Timestamp(start).normalize() if start is not None else min(firsts)
    hi = pd.Timestamp(end).normalize() if end is not None else max(lasts)
    return to_window(lo, hi)
