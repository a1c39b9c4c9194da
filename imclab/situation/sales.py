"""Market and sales: revenue and orders over time, STL trend and weekly seasonality, growth.

Also share of voice and share of market (survey proxies when competitor data is missing).
Orders per day are counted where the conversions live (DuckDB or Spark, through Ibis); the
time-series steps work on that small daily table in pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL

from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError
from imclab.kpis import DateLike, in_window, plain, to_window

EventTable = pd.DataFrame | ir.Table
"""An event table: a pandas DataFrame (:func:`imclab.data.load_world`) or an Ibis table."""

METRICS: tuple[str, ...] = ("revenue", "orders")
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def analysis_window(report, start: str = "", end: str = "") -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the analysis window: the given days, else the span of the orders kept.

    Without a kept order (an empty or wholly quarantined conversions table) the window is the
    span of the touches, so the sections that need no orders still have their dates.

    Parameters
    ----------
    report
        The world's :class:`~imclab.data.load.ValidationReport` (its tables' date spans).
    start, end
        ``YYYY-MM-DD`` to override each end (empty: from the data).

    Returns
    -------
    tuple of pandas.Timestamp
        First and last day (midnight).
    """
    spans = [report.tables[t] for t in ("conversions", "touchpoints")]
    data = next((r for r in spans if r.date_min is not None), spans[-1])
    first = pd.Timestamp(start or data.date_min).normalize()
    last = pd.Timestamp(end or data.date_max).normalize()
    return first, last


def _events_in_window(
    table: EventTable, name: str, columns: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
) -> ir.Table:
    """Return the rows of an event table whose ``timestamp`` falls in the days ``start..end``.

    The table goes through :func:`imclab.engine.to_ibis` (an Ibis table stays where it lives;
    a DataFrame becomes an in-memory table); nothing is executed.

    Parameters
    ----------
    table
        The event table (pandas or Ibis) with a ``timestamp`` column among ``columns``.
    name
        Table name for error messages (``conversions``).
    columns
        Columns to keep (all must exist).
    start, end
        Window from :func:`imclab.kpis.to_window` (midnights, both days included).

    Returns
    -------
    ibis.expr.types.Table
        ``columns`` of the rows with ``start <= timestamp < end + 1 day`` (``timestamp``
        typed as a timestamp; unparseable or missing times are outside every window).

    Raises
    ------
    DataError
        A column is missing (the message names the table and the column).
    """
    t = to_ibis(table, name, columns=list(columns))
    ts = t.timestamp if t.timestamp.type().is_timestamp() else t.timestamp.try_cast("timestamp")
    lo = ibis.literal(start.to_pydatetime(), type="timestamp")
    hi = ibis.literal((end + pd.Timedelta(days=1)).to_pydatetime(), type="timestamp")
    t = t.select(*[ts.name("timestamp") if c == "timestamp" else t[c] for c in columns])
    return t.filter((t.timestamp >= lo) & (t.timestamp < hi))


@quiet
@quiet
def _sales_per_day(conversions: ir.Table) -> pd.DataFrame:
    """Return ``period, orders, revenue, buyers`` per day with orders, run in the engine.

    Unparseable timestamps (the contracts quarantine them) get no day and are left out.
    """
    cv = conversions
    ts = cv.timestamp if cv.timestamp.type().is_timestamp() else cv.timestamp.try_cast("timestamp")
    expr = (
        cv.select(
            period=ts.date(),
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
    frame = expr.execute()
    frame["period"] = pd.to_datetime(frame["period"])
    frame["revenue"] = frame["revenue"].fillna(0).astype(float)
    for col in ("orders", "buyers"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame = frame.sort_values("period", kind="mergesort").reset_index(drop=True)
    return frame[["period", "orders", "revenue", "buyers"]]


def daily_sales(conversions: EventTable, start: DateLike, end: DateLike) -> pd.DataFrame:
    """Return orders and revenue per day, every day of the window (zeros included).

    The orders are counted where the table lives (:func:`_sales_per_day`); only one row per
    day comes back.

    Parameters
    ----------
    conversions
        The conversions table (``timestamp``, ``revenue``): a DataFrame or an Ibis table.
    start, end
        The window (days, both included).

    Returns
    -------
    pandas.DataFrame
        Columns ``date, orders, revenue``.

    Raises
    ------
    DataError
        When ``timestamp`` or ``revenue`` is missing.
    """
    lo, hi = to_window(start, end)
    has_buyer = "customer_id" in getattr(conversions, "columns", ())
    cols = ["timestamp", "revenue", *(["customer_id"] if has_buyer else [])]
    rows = _events_in_window(conversions, "conversions", cols, lo, hi)
    if not has_buyer:  # buyers are not shown here; _sales_per_day counts them
        rows = rows.mutate(customer_id=ibis.null("string"))
    per_day = _sales_per_day(rows)
    per_day["period"] = per_day["period"].astype("datetime64[ns]")
    days = pd.date_range(lo, hi, freq="D", name="date")
    out = per_day.set_index("period")[["orders", "revenue"]].reindex(days, fill_value=0)
    out["orders"] = out["orders"].astype(int)
    out["revenue"] = out["revenue"].astype(float)
    return out.reset_index()


def sales_decomposition(
    conversions: EventTable,
    start: DateLike,
    end: DateLike,
    metric: str = "revenue",
    *,
    period: int = 7,
    robust: bool = True,
) -> pd.DataFrame:
    """Split daily sales into trend, weekly seasonality and remainder with STL.

    STL (Cleveland et al. 1990, ``statsmodels.tsa.seasonal.STL``) with a robust fit so a
    promotion spike does not bend the trend.

    Parameters
    ----------
    conversions
        The conversions table (a DataFrame or an Ibis table).
    start, end
        The window; at least two full seasonal periods of days are needed.
    metric
        ``"revenue"`` or ``"orders"``.
    period
        Season length in days (7: the weekly cycle).
    robust
        Use STL's robust (outlier-downweighting) fit.

    Returns
    -------
    pandas.DataFrame
        Columns ``date, weekday, observed, trend, seasonal, resid``.

    Raises
    ------
    ParameterError
        For an unknown metric.
    DataError
        When the window is shorter than two seasonal periods.
    """
    if metric not in METRICS:
        raise ParameterError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
    daily = daily_sales(conversions, start, end)
    if len(daily) < 2 * period + 1:
        raise DataError(
            f"sales decomposition needs at least {2 * period + 1} days; the window "
            f"{daily['date'].iloc[0].date()}..{daily['date'].iloc[-1].date()} has {len(daily)}"
        )
    series = daily.set_index("date")[metric].astype(float)
    fit = STL(series, period=period, robust=robust).fit()
    return pd.DataFrame(
        {
            "date": daily["date"],
            "weekday": [WEEKDAYS[d] for d in daily["date"].dt.dayofweek],
            "observed": series.to_numpy(),
            "trend": fit.trend.to_numpy(),
            "seasonal": fit.seasonal.to_numpy(),
            "resid": fit.resid.to_numpy(),
        }
    )


def weekly_seasonality(decomposition: pd.DataFrame) -> pd.DataFrame:
    """Return the average seasonal effect per weekday, also relative to the mean trend.

    Parameters
    ----------
    decomposition
        Output of :func:`sales_decomposition`.

    Returns
    -------
    pandas.DataFrame
        Columns ``weekday, effect`` (same unit as the metric) and ``relative`` (effect /
        mean trend: +0.12 means that weekday sells 12 % above the trend), Monday first.
    """
    effect = decomposition.groupby("weekday")["seasonal"].mean().reindex(list(WEEKDAYS))
    level = float(decomposition["trend"].mean())
    out = pd.DataFrame({"weekday": list(WEEKDAYS), "effect": effect.to_numpy()})
    out["relative"] = out["effect"] / level if level else np.nan
    return out


def sales_growth(
    conversions: EventTable, start: DateLike, end: DateLike, freq: str = "W"
) -> pd.DataFrame:
    """Return orders and revenue per period with period-over-period growth.

    Parameters
    ----------
    conversions
        The conversions table (a DataFrame or an Ibis table).
    start, end
        The window.
    freq
        pandas period frequency (``"W"``: weeks ending Sunday; ``"M"``: months).

    Returns
    -------
    pandas.DataFrame
        Columns ``period, start, end, days, partial, orders, revenue, aov, orders_growth,
        revenue_growth``. Periods cut by the window are ``partial`` and get no growth (a
        short week would show a false drop).
    """
    daily = daily_sales(conversions, start, end)
    periods = daily["date"].dt.to_period(freq)
    grouped = daily.groupby(periods, sort=True).agg(
        start=("date", "min"), end=("date", "max"), orders=("orders", "sum"),
        revenue=("revenue", "sum"),
    )  # fmt: skip
    grouped["days"] = (grouped["end"] - grouped["start"]).dt.days + 1
    full_days = [
        (p.end_time.normalize() - p.start_time.normalize()).days + 1 for p in grouped.index
    ]
    grouped["partial"] = grouped["days"] < np.array(full_days)
    grouped["aov"] = grouped["revenue"] / grouped["orders"].where(grouped["orders"] > 0)
    for col in ("orders", "revenue"):
        usable = grouped[col].where(~grouped["partial"]).astype(float)
        growth = usable / usable.shift(1) - 1
        grouped[f"{col}_growth"] = growth.where(np.isfinite(growth))
    out = grouped.reset_index(names="period")
    out["period"] = out["period"].astype(str)
    cols = ["period", "start", "end", "days", "partial", "orders", "revenue", "aov"]
    return out[[*cols, "orders_growth", "revenue_growth"]]


def sales_summary(decomposition: pd.DataFrame, growth: pd.DataFrame) -> pd.DataFrame:
    """Summarise the sales situation in a few figures (one row per figure).

    Parameters
    ----------
    decomposition
        Output of :func:`sales_decomposition` (for the trend and weekday pattern).
    growth
        Output of :func:`sales_growth` (for the typical period-over-period growth).

    Returns
    -------
    pandas.DataFrame
        Columns ``figure, value, meaning``: trend change over the window (mean trend of
        the last 7 days vs the first 7), strongest and weakest weekday, median and 90th
        percentile of period growth.
    """
    # Mean trend of the first and last week: STL's trend is least certain at the ends.
    trend = decomposition["trend"]
    head, tail = float(trend.iloc[:7].mean()), float(trend.iloc[-7:].mean())
    change = tail / head - 1 if head else np.nan
    season = weekly_seasonality(decomposition)
    best = season.loc[season["relative"].idxmax()]
    worst = season.loc[season["relative"].idxmin()]
    rates = growth["revenue_growth"].dropna()
    first, last = decomposition["date"].iloc[0].date(), decomposition["date"].iloc[-1].date()
    rows = [
        ("trend_change", change, f"STL trend, first vs last week of {first}..{last}"),
        ("strongest_weekday_effect", float(best["relative"]), f"{best['weekday']} vs trend"),
        ("weakest_weekday_effect", float(worst["relative"]), f"{worst['weekday']} vs trend"),
        ("median_period_growth", float(rates.median()) if len(rates) else np.nan,
         f"median revenue growth between full periods ({len(rates)} changes)"),
        ("p90_period_growth", float(rates.quantile(0.9)) if len(rates) else np.nan,
         "90th percentile of revenue growth between full periods"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["figure", "value", "meaning"])


def share_of_voice(
    spend: pd.DataFrame | None,
    survey: pd.DataFrame | None,
    brands: list[str] | tuple[str, ...],
    start: DateLike,
    end: DateLike,
) -> pd.DataFrame:
    """Return share of voice per brand: media spend and impressions when the data has them.

    ``spend.csv`` normally holds our own media only. When it has a ``brand`` column with
    competitor rows (market-level media monitoring data), share of voice is each brand's
    share of spend and of impressions. Otherwise the function says so in ``note`` and falls
    back to **share of mind**: each brand's aided awareness in the survey waves of the window
    divided by the sum of the brands' awareness (rates, so unequal sample sizes do not
    matter), a standard proxy when competitor spend is not known.

    Parameters
    ----------
    spend
        The spend table (optionally with a ``brand`` column), or None.
    survey
        The survey table, or None.
    brands
        Our brand first, then the competitors.
    start, end
        The window.

    Returns
    -------
    pandas.DataFrame
        Columns ``brand, measure, value, share, source, note``; ``measure`` is ``spend``,
        ``impressions`` or ``awareness``. Brands without data get a row with NaN and the
        reason.
    """
    lo, hi = to_window(start, end)
    brands = list(brands)
    rows: list[dict[str, object]] = []
    if spend is not None and "brand" in spend.columns:
        media = plain(spend.loc[in_window(spend["date"], lo, hi)])
        found = set(media["brand"].dropna())
        if len(found & set(brands[1:])):
            for measure in ("spend", "impressions"):
                totals = media.groupby("brand")[measure].sum().reindex(brands)
                grand = float(totals.sum())
                for brand, value in totals.items():
                    rows.append(
                        {
                            "brand": brand,
                            "measure": measure,
                            "value": float(value) if pd.notna(value) else np.nan,
                            "share": float(value) / grand if pd.notna(value) and grand else np.nan,
                            "source": "spend.csv (share of voice)",
                            "note": "" if pd.notna(value) else f"no {measure} rows for {brand}",
                        }
                    )
            return pd.DataFrame(
                rows, columns=["brand", "measure", "value", "share", "source", "note"]
            )
    reason = (
        "spend.csv has no competitor media (no 'brand' column with competitor rows): share of "
        "voice cannot be measured; showing share of mind (share of aided awareness) instead"
    )
    return _survey_share(survey, brands, lo, hi, "aware", "awareness", "share of mind", reason)


def share_of_market(
    survey: pd.DataFrame | None,
    brands: list[str] | tuple[str, ...],
    start: DateLike,
    end: DateLike,
) -> pd.DataFrame:
    """Return a survey-based share of market: each brand's share of purchase intenders.

    There is no category sales data for competitors, so the share of respondents intending
    to buy each brand in the next 3 months, divided by the sum over the brands, stands in
    for share of market (share of near-term demand); ``value`` is the brand's intent rate.
    It is a proxy: intent overstates purchases and one respondent may intend to buy
    several brands.

    Parameters
    ----------
    survey
        The survey table, or None.
    brands
        Our brand first, then the competitors.
    start, end
        The window (survey waves with ``fieldwork_date`` inside are pooled).

    Returns
    -------
    pandas.DataFrame
        Columns ``brand, measure, value, share, source, note`` (``measure`` is ``intent``).
    """
    lo, hi = to_window(start, end)
    note = "proxy: share of purchase intenders across the surveyed brands (no market sales data)"
    return _survey_share(survey, list(brands), lo, hi, "intent", "intent", "share of market", note)


def _survey_share(
    survey: pd.DataFrame | None,
    brands: list[str],
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    flag: str,
    measure: str,
    label: str,
    note: str,
) -> pd.DataFrame:
    columns = ["brand", "measure", "value", "share", "source", "note"]
    if survey is None or survey.empty:
        return pd.DataFrame(
            [
                {"brand": b, "measure": measure, "value": np.nan, "share": np.nan,
                 "source": "", "note": f"{note}; but there is no survey table"}
                for b in brands
            ],
            columns=columns,
        )  # fmt: skip
    rows = plain(survey.loc[in_window(survey["fieldwork_date"], lo, hi)])
    # Rates, not counts: brands may have different numbers of respondents.
    counts = rows.groupby("brand")[flag].mean().reindex(brands)
    grand = float(counts.sum())
    waves = ", ".join(sorted(set(rows["wave"])))
    out = []
    for brand, value in counts.items():
        missing = pd.isna(value)
        extra = f"; {brand} has no respondents in the window" if missing else ""
        out.append(
            {
                "brand": brand,
                "measure": measure,
                "value": np.nan if missing else float(value),
                "share": np.nan if missing or not grand else float(value) / grand,
                "source": f"survey.csv {label} (waves {waves or 'none'})",
                "note": note + extra,
            }
        )
    return pd.DataFrame(out, columns=columns)
