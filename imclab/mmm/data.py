"""The marketing-mix model's input: one row per day with orders, revenue, spend and controls.

:func:`build_input` turns a validated world (spend, conversions and, for the holdout, the
customers) into :class:`MMMInput`: daily orders (the target), daily revenue, total spend per
paid channel (always-on and campaign streams summed: the model explains the outcome by all
money spent), the campaign's own spend per channel (for the campaign lift and the budget),
and the controls: a linear trend and day-of-week indicators. The holdout regions do not
enter as a control (they receive always-on media too, so their orders would absorb part of
it); their measured lift calibrates the model instead (:mod:`imclab.mmm.calibrate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imclab.config import PAID_CHANNELS
from imclab.errors import DataError, ParameterError

__all__ = ["MMMInput", "build_input"]

WEEKDAYS = ("tue", "wed", "thu", "fri", "sat", "sun")  # Monday is the reference day


@dataclass(frozen=True)
class MMMInput:
    """Daily model input, built once by :func:`build_input` and trusted downstream.

    Attributes
    ----------
    frame
        One row per day: ``date``, ``orders``, ``revenue``, one spend column per channel
        (named after the channel) and the control columns.
    channels
        Paid channels with spend in the window (model order).
    controls
        Control columns: ``trend`` (0 on the first day, 1 on the last) and one 0/1 column per
        weekday other than Monday (``dow_tue`` ... ``dow_sun``).
    campaign_spend
        The campaign's own daily spend per channel (same dates and channel columns as
        ``frame``; zeros when no campaign is named).
    campaign
        The campaign whose spend is in ``campaign_spend`` (``None``: none).
    """

    frame: pd.DataFrame
    channels: list[str]
    controls: list[str]
    campaign_spend: pd.DataFrame
    campaign: str | None

    @property
    def n_days(self) -> int:
        """Days in the model window."""
        return len(self.frame)

    @property
    def revenue_per_order(self) -> float:
        """Mean revenue of an order over the window (turns orders into money for ROAS)."""
        return float(self.frame["revenue"].sum() / max(self.frame["orders"].sum(), 1))

    @property
    def spend(self) -> pd.DataFrame:
        """Daily total spend, one column per channel (index: date)."""
        return self.frame.set_index("date")[self.channels]


def build_input(
    spend: pd.DataFrame,
    conversions: pd.DataFrame,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    campaign: str | None = None,
    channels: Sequence[str] | None = None,
) -> MMMInput:
    """Build the daily model input from the spend and conversions tables.

    Parameters
    ----------
    spend
        ``date, channel, campaign, spend`` (one row per day, channel and campaign stream).
    conversions
        ``timestamp, revenue`` (one row per order): a pandas DataFrame, or an Ibis table
        (DuckDB, Spark) reduced to daily orders and revenue where it lives.
    start, end
        Model window (inclusive); default: from the first day with both spend and orders to
        the last day of the spend table.
    campaign
        The campaign whose own spend is reported in ``campaign_spend`` (``None``: none).
    channels
        Paid channels to model (default: every channel of :data:`imclab.config.PAID_CHANNELS`
        with spend in the window, in that order).

    Returns
    -------
    MMMInput

    Raises
    ------
    DataError
        No day in the window, no channel with spend, or the campaign has no spend row.
    """
    for table, cols, df in (
        ("spend", ("date", "channel", "campaign", "spend"), spend),
        ("conversions", ("timestamp", "revenue"), conversions),
    ):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(
                f"{table}: missing column(s) {', '.join(missing)} "
                f"(found: {', '.join(map(str, df.columns))})"
            )
    s_dates = pd.to_datetime(spend["date"]).dt.normalize()
    per_day = _daily_orders(conversions)
    lo = (
        pd.Timestamp(start).normalize()
        if start is not None
        else max(s_dates.min(), per_day.index.min())
    )
    hi = pd.Timestamp(end).normalize() if end is not None else s_dates.max()
    if lo > hi:
        raise ParameterError(f"model window: start {lo.date()} is after end {hi.date()}")
    days = pd.date_range(lo, hi, freq="D", name="date")
    if len(days) < 28:
        raise DataError(
            f"spend/conversions: the model window {lo.date()} to {hi.date()} has {len(days)} "
            "days; a marketing-mix model needs at least 28 (better 180 or more)"
        )
    sp = spend.assign(date=s_dates, channel=spend["channel"].astype(str))
    sp = sp[(sp["date"] >= lo) & (sp["date"] <= hi)]
    total = sp.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
    total = total.reindex(days, fill_value=0.0).fillna(0.0)
    if channels is None:
        channels = [c for c in PAID_CHANNELS if c in total.columns and total[c].sum() > 0]
    else:
        channels = list(channels)
        absent = [c for c in channels if c not in total.columns or total[c].sum() <= 0]
        if absent:
            raise DataError(
                f"spend: channel(s) {', '.join(absent)} have no spend between {lo.date()} and "
                f"{hi.date()}; leave them out of `channels`"
            )
    if not channels:
        raise DataError(f"spend: no paid channel has spend between {lo.date()} and {hi.date()}")
    if campaign is not None:
        own = sp[sp["campaign"].astype(str) == campaign]
        if own.empty:
            raise DataError(
                f"spend: no row of campaign {campaign!r} between {lo.date()} and {hi.date()} "
                f"(campaigns found: {', '.join(sorted(sp['campaign'].astype(str).unique()))})"
            )
        camp = own.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
    else:
        camp = pd.DataFrame(index=days)
    camp = camp.reindex(index=days, columns=channels).fillna(0.0)

    daily = per_day.reindex(days, fill_value=0)

    frame = pd.DataFrame({"date": days})
    frame["orders"] = daily["orders"].to_numpy(dtype=float)
    frame["revenue"] = daily["revenue"].to_numpy(dtype=float).round(2)
    for c in channels:
        frame[c] = total[c].to_numpy(dtype=float)
    frame["trend"] = np.linspace(0.0, 1.0, len(days))
    controls = ["trend"]
    for i, name in enumerate(WEEKDAYS, start=1):
        frame[f"dow_{name}"] = (days.dayofweek == i).astype(float)
        controls.append(f"dow_{name}")
    camp_frame = camp.reset_index(names="date")
    return MMMInput(frame, list(channels), controls, camp_frame, campaign)


def _daily_orders(conversions) -> pd.DataFrame:
    """Orders and revenue per day (index: date), computed where the table lives."""
    if isinstance(conversions, pd.DataFrame):
        cv = conversions.assign(date=pd.to_datetime(conversions["timestamp"]).dt.normalize())
        return cv.groupby("date").agg(orders=("date", "size"), revenue=("revenue", "sum"))
    t = conversions
    ts = t.timestamp if t.timestamp.type().is_timestamp() else t.timestamp.cast("timestamp")
    frame = (
        t.group_by(date=ts.date())
        .agg(orders=t.count(), revenue=t.revenue.cast("float64").sum())
        .execute()
    )
    frame["date"] = pd.to_datetime(frame["date"])
    frame["revenue"] = frame["revenue"].astype(float).round(6)
    return frame.set_index("date").sort_index()[["orders", "revenue"]]
