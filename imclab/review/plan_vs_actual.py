"""Planned versus actual: media budget by channel and phase, the weeks each channel ran, ROI.

Budgets come from the campaign plan; actual spend from ``spend.csv`` (campaign rows only);
attributed conversions and revenue from any :mod:`imclab.attribution` model's credit table.
The event tables (``touchpoints``, ``conversions``) may be pandas DataFrames or Ibis tables on
DuckDB or Spark: they are counted, and their journeys built, where they live.
"""

from __future__ import annotations

import warnings

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from imclab.config import CHANNELS, LOOKBACK_DAYS
from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError
from imclab.plan import CampaignPlan
from imclab.review.experiments import ReviewWarning

__all__ = [
    "OUTSIDE_PHASES",
    "ATTRIBUTION_MODELS",
    "activity_spans",
    "attributed_credit",
    "budget_vs_actual",
    "channel_activity",
    "channel_cost_trend",
    "channel_roi",
    "phase_of_dates",
    "planned_spans",
]

OUTSIDE_PHASES = "(outside phases)"
"""Phase label of campaign spend dated outside every phase of the plan."""


def _require(frame: pd.DataFrame | ir.Table, columns: list[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{table}: missing column(s) {', '.join(missing)} "
            f"(found {', '.join(map(str, frame.columns)) or 'none'}; see data/README.md)"
        )


def _order(channels: pd.Series) -> pd.Series:
    rank = {c: i for i, c in enumerate(CHANNELS)}
    return channels.map(lambda c: rank.get(c, len(rank)))


def phase_of_dates(plan: CampaignPlan, dates: pd.Series) -> pd.Series:
    """Label each date with the plan phase that contains it (:data:`OUTSIDE_PHASES` otherwise).

    Parameters
    ----------
    plan
        The campaign plan.
    dates
        Dates or timestamps.

    Returns
    -------
    pandas.Series
        Phase names, aligned with ``dates``.
    """
    day = pd.to_datetime(dates).dt.normalize()
    out = pd.Series(OUTSIDE_PHASES, index=dates.index, dtype=object)
    for phase in plan.phases:
        inside = (day >= pd.Timestamp(phase.start)) & (day <= pd.Timestamp(phase.end))
        out[inside] = phase.name
    return out


def _campaign_spend(plan: CampaignPlan, spend: pd.DataFrame) -> pd.DataFrame:
    _require(spend, ["date", "channel", "campaign", "spend"], "spend")
    rows = spend.loc[spend["campaign"].astype(object) == plan.name]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(rows["date"]).dt.normalize(),
            "channel": rows["channel"].astype(object),
            "spend": rows["spend"].astype(float),
            "phase": phase_of_dates(plan, rows["date"]),
        }
    )


def budget_vs_actual(plan: CampaignPlan, spend: pd.DataFrame, by: str = "phase") -> pd.DataFrame:
    """Compare the plan's media budget with the campaign's actual spend.

    Parameters
    ----------
    plan
        The campaign plan (``phases[].budget``).
    spend
        The ``spend`` table; rows of other campaigns (``always_on``) are not counted.
    by
        ``"phase"`` (phase x channel), ``"channel"`` or ``"phase_total"`` (one row per phase).

    Returns
    -------
    pandas.DataFrame
        ``[phase,] [channel,] planned, actual, variance, variance_pct, note``; ``variance`` is
        actual minus planned; ``variance_pct`` is NaN when nothing was planned. ``note`` flags
        budgeted channels with no spend and unplanned spend (a :class:`ReviewWarning` too).
        A ``total`` row closes the table.
    """
    if by not in ("phase", "channel", "phase_total"):
        raise ValueError(f"by: {by!r} is not one of phase, channel, phase_total")
    planned = plan.budget_frame().rename(columns={"budget": "planned"})
    actual = _campaign_spend(plan, spend)
    keys = {"phase": ["phase", "channel"], "channel": ["channel"], "phase_total": ["phase"]}[by]
    p = planned.groupby(keys, sort=False)["planned"].sum()
    a = actual.groupby(keys, sort=False)["spend"].sum()
    frame = pd.concat([p, a.rename("actual")], axis=1).fillna(0.0).reset_index()
    frame.columns = [*keys, "planned", "actual"]
    phases = [ph.name for ph in plan.phases] + [OUTSIDE_PHASES]
    sort_cols = []
    if "phase" in keys:
        frame["_p"] = frame["phase"].map({n: i for i, n in enumerate(phases)})
        sort_cols.append("_p")
    if "channel" in keys:
        frame["_c"] = _order(frame["channel"])
        sort_cols.append("_c")
    frame = frame.sort_values(sort_cols).drop(columns=sort_cols).reset_index(drop=True)
    frame["variance"] = frame["actual"] - frame["planned"]
    frame["variance_pct"] = frame["variance"] / frame["planned"].where(frame["planned"] > 0)
    notes = []
    for row in frame.itertuples(index=False):
        where = " in ".join(str(getattr(row, k)) for k in reversed(keys))
        if row.planned > 0 and row.actual == 0:
            notes.append(f"no spend recorded: {where} had a budget of {row.planned:,.0f}")
        elif row.planned == 0 and row.actual > 0:
            notes.append(f"unplanned spend: {where} spent {row.actual:,.0f} with no budget")
        else:
            notes.append("")
    frame["note"] = notes
    for note in filter(None, notes):
        warnings.warn(f"spend vs plan {plan.name}: {note}", ReviewWarning, stacklevel=2)
    total = {k: "total" for k in keys}
    total.update(planned=frame["planned"].sum(), actual=frame["actual"].sum())
    total["variance"] = total["actual"] - total["planned"]
    total["variance_pct"] = total["variance"] / total["planned"] if total["planned"] > 0 else np.nan
    total["note"] = ""
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


@quiet
def channel_activity(
    plan: CampaignPlan,
    spend: pd.DataFrame,
    touchpoints: pd.DataFrame | ir.Table | None = None,
) -> pd.DataFrame:
    """Return the weeks each channel actually ran for the campaign.

    A paid channel ran in a week when it had campaign spend; an unpaid channel when the event
    log has touches tagged with the campaign (organic touches are not the campaign's).

    Parameters
    ----------
    plan
        The campaign plan (its name tags the rows).
    spend
        The ``spend`` table.
    touchpoints
        Optional ``touchpoints`` table (for unpaid channels): a pandas DataFrame or an Ibis
        table (DuckDB, Spark); the campaign's touches are counted per channel and day where
        it lives.

    Returns
    -------
    pandas.DataFrame
        ``channel, week`` (Monday), ``spend, touches`` for every channel-week with activity,
        in channel then week order.
    """
    rows = _campaign_spend(plan, spend)
    rows = rows.loc[rows["spend"] > 0]
    weeks = rows["date"] - pd.to_timedelta(rows["date"].dt.weekday, unit="D")
    paid = rows.groupby([rows["channel"], weeks.rename("week")])["spend"].sum().rename("spend")
    parts = [paid]
    if touchpoints is not None and not (
        isinstance(touchpoints, pd.DataFrame) and touchpoints.empty
    ):
        parts.append(_campaign_touches(plan, touchpoints))
    out = pd.concat(parts, axis=1).reset_index()
    out.columns = ["channel", "week", *out.columns[2:]]
    for col in ("spend", "touches"):
        if col not in out.columns:
            out[col] = 0.0
    out[["spend", "touches"]] = out[["spend", "touches"]].fillna(0.0)
    out["_c"] = _order(out["channel"])
    out = out.sort_values(["_c", "week"]).drop(columns="_c").reset_index(drop=True)
    return out[["channel", "week", "spend", "touches"]]


def _campaign_touches(plan: CampaignPlan, touchpoints: pd.DataFrame | ir.Table) -> pd.Series:
    """Touches tagged with the campaign per channel and week (counted per day in the engine)."""
    cols = ["timestamp", "channel", "campaign"]
    _require(touchpoints, cols, "touchpoints")
    tp = to_ibis(touchpoints, "touchpoints", cols)
    mine = tp.filter(tp.campaign.cast("string") == plan.name)
    ts = mine.timestamp
    ts = ts if ts.type().is_timestamp() else ts.cast("timestamp")
    daily = (
        mine.group_by(channel=mine.channel.cast("string"), day=ts.date())
        .agg(n=ibis._.count())
        .execute()
        .dropna(subset=["day"])
    )
    day = pd.to_datetime(daily["day"]).astype("datetime64[ns]")
    week = (day - pd.to_timedelta(day.dt.weekday, unit="D")).rename("week")
    channel = daily["channel"].astype(object).rename("channel")
    return daily["n"].astype("int64").groupby([channel, week]).sum().rename("touches")


def activity_spans(activity: pd.DataFrame) -> pd.DataFrame:
    """Merge consecutive active weeks of each channel into spans (for a Gantt chart).

    Parameters
    ----------
    activity
        :func:`channel_activity` output.

    Returns
    -------
    pandas.DataFrame
        ``channel, start, end, weeks``: ``start`` is the first Monday, ``end`` the last
        Sunday of each run of consecutive weeks.
    """
    rows = []
    for channel, group in activity.groupby("channel", sort=False):
        weeks = pd.to_datetime(group["week"]).sort_values().reset_index(drop=True)
        run = (weeks.diff() != pd.Timedelta(days=7)).cumsum()
        for _, chunk in weeks.groupby(run):
            rows.append(
                {
                    "channel": channel,
                    "start": chunk.iloc[0],
                    "end": chunk.iloc[-1] + pd.Timedelta(days=6),
                    "weeks": len(chunk),
                }
            )
    return pd.DataFrame(rows, columns=["channel", "start", "end", "weeks"])


def planned_spans(plan: CampaignPlan) -> pd.DataFrame:
    """Return the plan's phases as channel spans: one row per phase and listed channel.

    Parameters
    ----------
    plan
        The campaign plan.

    Returns
    -------
    pandas.DataFrame
        ``phase, channel, start, end, budget`` in phase then channel order.
    """
    rows = [
        {
            "phase": p.name,
            "channel": c,
            "start": pd.Timestamp(p.start),
            "end": pd.Timestamp(p.end),
            "budget": float(p.budget.get(c, 0.0)),
        }
        for p in plan.phases
        for c in CHANNELS
        if c in p.channels
    ]
    return pd.DataFrame(rows, columns=["phase", "channel", "start", "end", "budget"])


ATTRIBUTION_MODELS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "markov",
    "shapley",
)
"""Model names :func:`attributed_credit` accepts (functions of :mod:`imclab.attribution`)."""


def _backend(*tables: pd.DataFrame | ir.Table):
    """Return the engine holding the Ibis tables among ``tables`` (None: pandas only)."""
    for table in tables:
        if isinstance(table, ir.Table):
            return ibis.get_backend(table)
    return None


def attributed_credit(
    touchpoints: pd.DataFrame | ir.Table,
    conversions: pd.DataFrame | ir.Table,
    model: str,
    start: object = None,
    end: object = None,
    lookback_days: float = LOOKBACK_DAYS,
) -> pd.DataFrame | None:
    """Credit conversions in a window to channels with one :mod:`imclab.attribution` model.

    Parameters
    ----------
    touchpoints, conversions
        The event tables: pandas DataFrames (journeys built in an in-memory DuckDB) or Ibis
        tables (journeys built by their engine, DuckDB or Spark, with
        :func:`imclab.attribution.build_journeys`; only the unique paths come back).
    model
        One of :data:`ATTRIBUTION_MODELS`.
    start, end
        Conversions counted (inclusive days); touches before ``start`` still count inside the
        lookback.
    lookback_days
        Journey lookback window.

    Returns
    -------
    pandas.DataFrame or None
        ``channel, model, conversions, value, share`` (the attribution package's tidy
        result); None when :mod:`imclab.attribution` cannot be imported (a
        :class:`ReviewWarning` says so), so the review still runs without it.
    """
    if model not in ATTRIBUTION_MODELS:
        raise ParameterError(
            f"attribution model {model!r} is not one of {', '.join(ATTRIBUTION_MODELS)}"
        )
    try:
        import imclab.attribution as attribution
    except ImportError as exc:  # the review runs without attribution; say so
        warnings.warn(
            f"imclab.attribution is not available ({exc}): channel revenue is unknown",
            ReviewWarning,
            stacklevel=2,
        )
        return None
    journeys = attribution.build_journeys(
        _backend(touchpoints, conversions),
        touchpoints,
        conversions,
        lookback_days=lookback_days,
        start=None if start is None else pd.Timestamp(start).date(),
        end=None if end is None else pd.Timestamp(end).date(),  # a date: the whole day
    )
    return getattr(attribution, model)(journeys.paths)


def channel_cost_trend(
    plan: CampaignPlan,
    spend: pd.DataFrame,
    touchpoints: pd.DataFrame | ir.Table,
    conversions: pd.DataFrame | ir.Table,
    model: str = "markov",
    tolerance: float = 0.10,
) -> pd.DataFrame:
    """Cost per attributed conversion of each paid channel, phase by phase.

    Parameters
    ----------
    plan
        The campaign plan (phases, campaign name).
    spend, touchpoints, conversions
        The tables (the event tables pandas or Ibis, see :func:`attributed_credit`).
    model
        Attribution model (see :func:`attributed_credit`).
    tolerance
        A channel's cost is "rising" when its last active phase costs more than
        ``1 + tolerance`` times its first.

    Returns
    -------
    pandas.DataFrame
        ``channel, phase, cost, conversions, cost_per_conversion, rising``; ``rising`` is the
        channel's verdict, repeated on each of its rows. Empty when attribution is missing.
    """
    rows = []
    for phase in plan.phases:
        credit = attributed_credit(touchpoints, conversions, model, phase.start, phase.end)
        if credit is None:
            return pd.DataFrame(
                columns=["channel", "phase", "cost", "conversions", "cost_per_conversion",
                         "rising"]
            )  # fmt: skip
        sub = plan.model_copy(update={"phases": [phase], "start": phase.start, "end": phase.end})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReviewWarning)  # channels idle in this phase
            roi = channel_roi(sub, spend, credit)
        roi = roi.loc[roi["cost"] > 0]
        for r in roi.itertuples(index=False):
            rows.append((r.channel, phase.name, r.cost, r.conversions, r.cost_per_conversion))
    frame = pd.DataFrame(
        rows, columns=["channel", "phase", "cost", "conversions", "cost_per_conversion"]
    )
    verdict = {}
    for channel, part in frame.groupby("channel", sort=False):
        cpc = part["cost_per_conversion"].dropna()
        verdict[channel] = bool(len(cpc) >= 2 and cpc.iloc[-1] > cpc.iloc[0] * (1 + tolerance))
    frame["rising"] = frame["channel"].map(verdict).astype(bool)
    frame["_c"] = _order(frame["channel"])
    return frame.sort_values(["_c"], kind="stable").drop(columns="_c").reset_index(drop=True)


def channel_roi(
    plan: CampaignPlan,
    spend: pd.DataFrame,
    credit: pd.DataFrame | None,
    value_column: str = "value",
) -> pd.DataFrame:
    """ROI, ROAS and cost per attributed conversion of each paid channel.

    ROI = (revenue - cost) / cost, with the catalogue's definition, on the channel's campaign
    spend and the conversions and revenue an attribution model credits to it.

    Parameters
    ----------
    plan
        The campaign plan (its name and start..end select the spend rows; its budget lists
        the channels).
    spend
        The ``spend`` table.
    credit
        An attribution result: ``channel, conversions`` and the revenue column (the
        :mod:`imclab.attribution` models return ``channel, model, conversions, value,
        share``). None when no attribution is available: revenue columns are then NaN.
    value_column
        Name of the revenue column in ``credit``.

    Returns
    -------
    pandas.DataFrame
        ``channel, cost, conversions, revenue, roi, roas, cost_per_conversion, note``: one row
        per channel with a budget or spend. A channel with zero spend gets NaN ROI/ROAS and a
        note (a :class:`ReviewWarning` too), never a division by zero.
    """
    rows = _campaign_spend(plan, spend)
    rows = rows.loc[
        (rows["date"] >= pd.Timestamp(plan.start)) & (rows["date"] <= pd.Timestamp(plan.end))
    ]
    cost = rows.groupby("channel")["spend"].sum()
    channels = [c for c in CHANNELS if c in plan.budget.by_channel or cost.get(c, 0) > 0]
    frame = pd.DataFrame({"channel": channels})
    frame["cost"] = frame["channel"].map(cost).fillna(0.0).astype(float)
    if credit is not None:
        _require(credit, ["channel", "conversions", value_column], "attribution credit")
        by = credit.groupby(credit["channel"].astype(object))
        frame["conversions"] = frame["channel"].map(by["conversions"].sum()).fillna(0.0)
        frame["revenue"] = frame["channel"].map(by[value_column].sum()).fillna(0.0)
    else:
        frame["conversions"] = np.nan
        frame["revenue"] = np.nan
    paid = frame["cost"].where(frame["cost"] > 0)
    frame["roi"] = (frame["revenue"] - frame["cost"]) / paid
    frame["roas"] = frame["revenue"] / paid
    frame["cost_per_conversion"] = paid / frame["conversions"].where(frame["conversions"] > 0)
    notes = []
    for row in frame.itertuples(index=False):
        if row.cost <= 0:
            note = f"no campaign spend on {row.channel}: ROI undefined"
            warnings.warn(f"channel ROI: {note}", ReviewWarning, stacklevel=2)
        elif credit is None:
            note = "no attribution model: revenue unknown"
        else:
            note = ""
        notes.append(note)
    frame["note"] = notes
    return frame
