"""What the next campaign can expect: outcome draws from the marketing-mix posterior curves.

The forecast is anchored on what this campaign measured, so the model's level bias cancels and
only the *difference* the new budget makes comes from the curves. For posterior draw ``d``:

- **campaign-caused orders in the window** of a daily spend schedule ``x_c,t`` (campaign spend
  of channel ``c`` on day ``t`` of an ``n``-day window; ``b_c`` the spend a day under the
  curve, :func:`imclab.review.budget.curve_base`: the always-on spend under curves of total
  spend, zero under the curves of a campaign's own spend that notebook 04 hands over)::

      M_d(x) = sum_c sum_t (f_c,d(b_c + x_c,t) - f_c,d(b_c)) * w_c,d(n - 1 - t)

  where ``f_c,d`` is the steady-state curve (orders a day of spend causes in all,
  :class:`imclab.mmm.PosteriorCurves`) and ``w_c,d(k)`` the share of them that falls within
  ``k`` days after the spend (the curves' carry-over: the one the customer-level attribution
  measures, or the model's adstock, :meth:`~imclab.mmm.PosteriorCurves.in_window_share`):
  orders caused after the window's last day are not the window's. The
  schedule is the draft's own phasing (each phase's budget spread evenly over its days,
  :func:`imclab.planning.draft.phase_schedule`), and this campaign's is its spend table's
  daily campaign spend: on concave curves a phased budget brings fewer orders than the same
  money spent evenly, and the forecast counts that. This is the planner's one definition of
  the campaign's outcome (``media_orders``): the orders the campaign's spend causes *within
  its own dates*, which is what the simulator's truth calls
  ``campaign_incremental_conversions_in_window`` (``benchmarks/README.md``,
  ``bench_plan_truth``);
- orders over the next ``n`` days:
  ``O_d = orders_measured * n / days + M_d(next schedule) - M_d(this schedule) * n / days``
  (the non-media orders and the always-on effect keep their measured rate per day);
- revenue: ``R_d = revenue_measured * n / days + aov * (O_d - orders_measured * n / days)``,
  with the campaign's measured revenue per order ``aov``;
- spend: the next budget plus the always-on spend per day x ``n`` (the SMART baseline of
  spend-based KPIs counts all media spend, :func:`imclab.situation.smart.objective_baselines`);
- ``roas = R_d / spend``, ``cpa = spend / O_d``.

The measured anchor is taken as known: the intervals are the posterior's uncertainty about
what the change of budget does, not the week-to-week noise of the non-media orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imclab.config import KPIS
from imclab.errors import ParameterError
from imclab.kpis import Tables, compute_kpi
from imclab.mmm import PosteriorCurves
from imclab.review.budget import actual_allocation, base_daily_spend, curve_base, daily_spend

__all__ = [
    "FORECAST_KPIS",
    "CampaignBaseline",
    "measure_campaign",
    "media_orders",
    "outcome_draws",
    "probability_of_reaching",
    "target_at_probability",
]

FORECAST_KPIS: tuple[str, ...] = ("conversions", "revenue", "roas", "cpa")
"""Catalogue KPIs the curves can forecast (columns of :func:`outcome_draws`)."""


@dataclass(frozen=True)
class CampaignBaseline:
    """What this campaign measured: the anchor of the next campaign's forecast.

    Attributes
    ----------
    days
        Length of the campaign in days.
    orders, revenue
        Orders and revenue in the campaign window (all customers, all channels).
    campaign_spend
        The campaign's own spend per channel in its window (its actual allocation).
    always_on
        Spend per day per channel of every other stream in the window (always-on media),
        assumed to keep running during the next campaign.
    schedule
        The campaign's own spend per day (one row per day of the window, in order; one
        column per channel), or ``None``: spent evenly over the days.
    """

    days: int
    orders: float
    revenue: float
    campaign_spend: pd.Series
    always_on: pd.Series
    schedule: pd.DataFrame | None = None

    @property
    def aov(self) -> float:
        """Revenue per order in the campaign."""
        return self.revenue / self.orders if self.orders else float("nan")


def measure_campaign(plan, tables: Tables) -> CampaignBaseline:
    """Measure the anchor of the forecast on the campaign window of ``plan``.

    Parameters
    ----------
    plan
        The campaign's :class:`imclab.plan.CampaignPlan`.
    tables
        The brand world's tables (``conversions`` and ``spend`` are used).

    Returns
    -------
    CampaignBaseline
    """
    spend = tables["spend"]
    if not isinstance(spend, pd.DataFrame):
        spend = spend.to_pandas()
    own = daily_spend(spend, plan.start, plan.end, [plan.name])
    schedule = (
        own.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
        .reindex(pd.date_range(plan.start, plan.end, freq="D"), fill_value=0.0)
        .fillna(0.0)
        .reset_index(drop=True)
        .rename_axis(columns=None)
    )
    return CampaignBaseline(
        days=plan.days,
        orders=float(compute_kpi("conversions", tables, plan.start, plan.end).value),
        revenue=float(compute_kpi("revenue", tables, plan.start, plan.end).value),
        campaign_spend=actual_allocation(spend, plan.start, plan.end, [plan.name]),
        always_on=base_daily_spend(spend, plan.start, plan.end, plan.name),
        schedule=schedule,
    )


def _aligned(curves: PosteriorCurves) -> np.ndarray:
    """Return the draw ids, checked to be the same for every channel (joint draws)."""
    ids = None
    for channel, g in curves.draws_.groupby("channel", sort=True):
        these = g["draw"].to_numpy()
        if ids is None:
            ids = these
        elif len(these) != len(ids) or (these != ids).any():
            raise ParameterError(
                f"response curves: channel {channel!r} has other draws than the first channel; "
                "the forecast needs joint posterior draws (the same draw ids for every channel)"
            )
    return ids


def _even_schedule(allocation: Mapping[str, float] | pd.Series, n_days: int) -> pd.DataFrame:
    """Return ``allocation`` spread evenly over ``n_days`` days (one row per day)."""
    alloc = pd.Series(dict(allocation.items()), dtype=float)
    return pd.DataFrame(np.repeat(alloc.to_numpy()[None, :] / n_days, n_days, axis=0),
                        columns=alloc.index)  # fmt: skip


def media_orders(
    curves: PosteriorCurves,
    schedule: pd.DataFrame,
    always_on: Mapping[str, float] | pd.Series | None = None,
) -> np.ndarray:
    """Campaign-caused orders within the schedule's days, per posterior draw (module text).

    Parameters
    ----------
    curves
        Posterior response curves (with their carry-over, if any).
    schedule
        Campaign spend per day: one row per day of the window, in order, one column per
        channel; channels without a curve are left out (their effect is taken as measured).
    always_on
        Spend per day per channel that runs anyway (default none); it goes under curves of
        total spend only (:func:`imclab.review.budget.curve_base`).

    Returns
    -------
    numpy.ndarray
        ``M_d``: one value per draw (draw order of ``curves.draws_``).
    """
    ids = _aligned(curves)
    known = curves.fitted_channels()
    if always_on is not None:
        always_on = {c: v for c, v in always_on.items() if c in known}
    base = curve_base(curves, always_on, known)
    n_days = len(schedule)
    total = np.zeros(len(ids))
    for channel in [c for c in schedule.columns if c in known]:
        x = schedule[channel].to_numpy(dtype=float)
        if not (x > 0).any():
            continue
        b = float(base.get(channel, 0.0))
        f = curves.response(channel, np.concatenate([[b], b + x]), draws=True)
        total += ((f[:, 1:] - f[:, :1]) * curves.in_window_share(channel, n_days)).sum(axis=1)
    return total


def _schedule(allocation, n_days: int) -> tuple[pd.Series, pd.DataFrame]:
    """``(allocation, daily schedule)`` of an allocation (even) or a daily schedule."""
    if isinstance(allocation, pd.DataFrame):
        if len(allocation) != n_days:
            raise ParameterError(
                f"spend schedule: {len(allocation)} days, the campaign has {n_days}"
            )
        schedule = allocation.astype(float)
        alloc = schedule.sum()
    else:
        alloc = pd.Series(dict(allocation.items()), dtype=float)
        schedule = _even_schedule(alloc, n_days)
    if (schedule < 0).any().any():
        raise ParameterError(f"budget allocation: negative amounts {alloc[alloc < 0].to_dict()}")
    return alloc, schedule


def outcome_draws(
    curves: PosteriorCurves,
    baseline: CampaignBaseline,
    allocation: Mapping[str, float] | pd.Series | pd.DataFrame,
    n_days: int,
) -> pd.DataFrame:
    """Posterior draws of the next campaign's outcome under a budget ``allocation``.

    Parameters
    ----------
    curves
        Posterior response curves.
    baseline
        This campaign's measured anchor (:func:`measure_campaign`; its ``schedule``, or
        even spend without one).
    allocation
        Next campaign's budget: per channel (spent evenly over ``n_days``), or a daily
        schedule (one row per day, one column per channel; e.g.
        :func:`imclab.planning.draft.phase_schedule` of the draft's phases). Channels without
        a response curve count in the spend; their effect is taken as measured (keep their
        spend per day as in this campaign for that to hold).
    n_days
        Length of the next campaign.

    Returns
    -------
    pandas.DataFrame
        One row per draw: ``media_orders`` (campaign-caused orders within the campaign's
        days, incremental to always-on: ``M_d`` of the module text), ``conversions``,
        ``revenue``, ``spend``, ``roas``, ``cpa`` (see the module text).
    """
    if n_days < 1:
        raise ParameterError(f"n_days must be >= 1, got {n_days}")
    alloc, schedule = _schedule(allocation, n_days)
    now = baseline.schedule
    if now is None:
        now = _even_schedule(baseline.campaign_spend, baseline.days)
    m_next = media_orders(curves, schedule, baseline.always_on)
    m_now = media_orders(curves, now, baseline.always_on)
    scale = n_days / baseline.days
    delta = m_next - m_now * scale
    orders = baseline.orders * scale + delta
    revenue = baseline.revenue * scale + baseline.aov * delta
    spend = float(alloc.sum()) + float(baseline.always_on.sum()) * n_days
    return pd.DataFrame(
        {
            "media_orders": m_next,
            "conversions": orders,
            "revenue": revenue,
            "spend": spend,
            "roas": revenue / spend,
            "cpa": spend / np.where(orders > 0, orders, np.nan),
        }
    )


def _higher(kpi: str) -> bool:
    if kpi not in KPIS:
        raise ParameterError(f"unknown KPI {kpi!r}; forecastable: {', '.join(FORECAST_KPIS)}")
    return KPIS[kpi].direction == "higher"


def probability_of_reaching(values, target: float, kpi: str) -> float:
    """Share of posterior draws in which ``kpi`` reaches ``target`` (its better direction).

    Parameters
    ----------
    values
        Posterior draws of the KPI.
    target
        The objective's target.
    kpi
        Catalogue KPI name (its direction: higher or lower is better).

    Returns
    -------
    float
        ``P(value >= target)`` for higher-is-better KPIs, ``P(value <= target)`` otherwise.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return float("nan")
    return float(np.mean(v >= target) if _higher(kpi) else np.mean(v <= target))


def target_at_probability(values, probability: float, kpi: str) -> float:
    """Return the most ambitious target reached in at least ``probability`` of the draws.

    Parameters
    ----------
    values
        Posterior draws of the KPI.
    probability
        Wanted probability of reaching the target, in (0, 1).
    kpi
        Catalogue KPI name.

    Returns
    -------
    float
        The ``1 - probability`` quantile for higher-is-better KPIs (the ``probability``
        quantile for lower-is-better), taken as an observed draw so that
        :func:`probability_of_reaching` at it is at least ``probability``.
    """
    if not 0 < probability < 1:
        raise ParameterError(f"target probability must be between 0 and 1, got {probability}")
    v = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
    if not v.size:
        return float("nan")
    k = int(np.ceil(probability * v.size))  # draws that must reach the target
    return float(v[v.size - k] if _higher(kpi) else v[k - 1])
