"""The campaign scorecard: every SMART objective against its target, and the KPI tiers.

Each KPI value comes from :func:`imclab.kpis.compute_kpi` (one definition per KPI); this
module only chooses windows, compares with baselines and targets, and assigns a status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from imclab.config import KPIS, get_kpi
from imclab.errors import ParameterError
from imclab.kpis import EVENT_TABLES, SCALES_WITH_WINDOW, compute_kpi, date_range, shared_tables
from imclab.plan import CampaignPlan

__all__ = [
    "STATUSES",
    "campaign_totals",
    "kpi_scope",
    "kpi_tiers",
    "objective_status",
    "scorecard",
]

Tables = Mapping[str, Any]

STATUSES: tuple[str, ...] = ("met", "on track", "at risk", "missed", "no data")
"""Objective statuses. Before the deadline an objective not yet met is "on track" when it keeps
pace with a straight line from baseline to target (sums: when the run rate projects past the
target), else "at risk"; at or after the deadline it is "met" or "missed"."""


def _day(value: object, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value).normalize()
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}: cannot read {value!r} as a date (expected ISO 8601)"
        ) from None


def kpi_scope(kpi: str, plan: CampaignPlan) -> dict[str, str]:
    """Return the :func:`compute_kpi` keywords a plan implies for a KPI.

    Brand KPIs read the plan's brand; KPIs whose catalogue formula uses ``spend.campaign``
    (CAC, CPA, ROI, ROAS) count the plan's campaign spend only.

    Parameters
    ----------
    kpi
        Catalogue KPI name.
    plan
        The campaign plan.

    Returns
    -------
    dict
        ``brand=`` and/or ``campaign=`` keywords.
    """
    definition = get_kpi(kpi)
    scope: dict[str, str] = {}
    if definition.tier == "brand":
        scope["brand"] = plan.brand
    if "spend.campaign" in definition.requires:
        scope["campaign"] = plan.name
    return scope


def objective_status(
    kpi: str,
    actual: float,
    baseline: float,
    target: float,
    review_date: pd.Timestamp,
    start: pd.Timestamp,
    deadline: pd.Timestamp,
) -> tuple[str, float, float]:
    """Decide an objective's status and its progress.

    Parameters
    ----------
    kpi
        Catalogue KPI name (its direction says which way is better).
    actual, baseline, target
        Measured value (NaN when there is no data), and the plan's baseline and target.
    review_date, start, deadline
        Day of the review, first day of the measurement window, the objective's deadline.

    Returns
    -------
    tuple
        ``(status, progress, pct_of_target)``: ``progress`` is the share of the planned
        change achieved, ``(actual - baseline) / (target - baseline)`` (1 = target reached,
        works for lower-is-better KPIs too); ``pct_of_target`` is ``actual / target`` for
        higher-is-better KPIs and ``target / actual`` for lower-is-better ones (1 = on target).
    """
    definition = get_kpi(kpi)
    if actual is None or not np.isfinite(actual):
        return "no data", math.nan, math.nan
    span = target - baseline
    progress = (actual - baseline) / span if span != 0 else math.nan
    if definition.direction == "higher":
        pct = actual / target if target != 0 else math.nan
    else:
        pct = target / actual if actual > 0 else math.nan
    if definition.better(actual, target):
        return "met", progress, pct
    if review_date >= deadline:
        return "missed", progress, pct
    total = (deadline - start).days + 1
    elapsed = min(max((review_date - start).days + 1, 1), total)
    if kpi in SCALES_WITH_WINDOW:
        projected = actual * total / elapsed
        ok = definition.better(projected, target)
    else:
        ok = np.isfinite(progress) and progress >= elapsed / total
    return ("on track" if ok else "at risk"), progress, pct


def _persona_labels(
    persona: str | None, labels: pd.DataFrame | None
) -> tuple[dict[str, object], str]:
    if persona is None:
        return {}, ""
    if labels is None:
        return {}, f"measured on everyone: no persona labels given for {persona!r}"
    found = set(labels["persona"].astype(object))
    if persona in found:
        return {"persona_labels": labels, "persona": persona}, ""
    # The persona notebook matches each plan persona to the found persona it resembles most.
    if "target" in labels.columns and persona in set(labels["target"].astype(object)):
        matched = labels.assign(persona=labels["target"])
        names = sorted(set(labels.loc[labels["target"] == persona, "persona"].astype(str)))
        return {"persona_labels": matched, "persona": persona}, (
            f"persona {persona!r} measured on the found persona {', '.join(names)} (its best match)"
        )
    return {}, (
        f"measured on everyone: persona {persona!r} matches none of the found personas "
        f"({', '.join(sorted(map(str, found)))}); run 02_persona_clustering in the same run "
        "(it matches the plan's personas to the found ones), or name one of these in the plan"
    )


@shared_tables()
def scorecard(
    plan: CampaignPlan,
    tables: Tables,
    review_date: object,
    persona_labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every SMART objective of the plan on the review date.

    The actual value is the objective's KPI on the window from the campaign start to the
    deadline (or to the review date, when that comes first). Brand KPIs therefore pool the
    survey waves fielded in that window (the post-campaign waves).

    Parameters
    ----------
    plan
        The campaign plan (its ``objectives``).
    tables
        ``{table name: table}`` with data-dictionary columns (pandas, or Ibis event tables:
        see :func:`imclab.kpis.compute_kpi`).
    review_date
        The day of the review.
    persona_labels
        Optional ``customer_id, persona`` labels: objectives aimed at a persona that appears
        in them are measured on that persona only.

    Returns
    -------
    pandas.DataFrame
        One row per objective, in plan order: ``id, kpi, label, tier, unit, direction, persona,
        channel, baseline, target, actual, progress, pct_of_target, gap, status, deadline,
        window_start, window_end, n, note``. ``gap`` is how far the actual is from the target
        in the good direction (negative = short of it). ``status`` is one of
        :data:`STATUSES`; for "no data" the ``note`` gives the reason.
    """
    review = _day(review_date, "review_date")
    start = pd.Timestamp(plan.start)
    covered = _coverage(tables)
    rows = []
    for obj in plan.objectives:
        definition = obj.kpi_definition
        deadline = pd.Timestamp(obj.deadline)
        end = min(deadline, review)
        scope = kpi_scope(obj.kpi, plan)
        persona_kw, persona_note = _persona_labels(obj.persona, persona_labels)
        notes = []
        if end < start:
            value, n = math.nan, 0
            notes.append(f"the review date {review:%Y-%m-%d} is before the campaign start")
        elif definition.tier != "brand" and covered and (covered[1] < start or covered[0] > end):
            value, n = math.nan, 0  # a sum over days the data does not hold is not a zero
            notes.append(
                f"the data covers {covered[0]:%Y-%m-%d} to {covered[1]:%Y-%m-%d}, no day of "
                f"{start:%Y-%m-%d}..{end:%Y-%m-%d}"
            )
        else:
            res = compute_kpi(
                obj.kpi, tables, start, end, channel=obj.channel, **scope, **persona_kw
            )
            value, n = res.value, res.n
            notes.append(res.note)
        if not np.isfinite(value) and review < deadline:
            notes.append(f"deadline {deadline:%Y-%m-%d} not reached yet")
        if persona_note:
            notes.append(persona_note)
        status, progress, pct = objective_status(
            obj.kpi, value, obj.baseline, obj.target, review, start, deadline
        )
        sign = 1.0 if definition.direction == "higher" else -1.0
        rows.append(
            {
                "id": obj.id,
                "kpi": obj.kpi,
                "label": definition.label,
                "tier": definition.tier,
                "unit": definition.unit,
                "direction": definition.direction,
                "persona": obj.persona or "",
                "channel": obj.channel or "",
                "baseline": float(obj.baseline),
                "target": float(obj.target),
                "actual": float(value),
                "progress": progress,
                "pct_of_target": pct,
                "gap": sign * (value - obj.target),
                "status": status,
                "deadline": deadline,
                "window_start": start,
                "window_end": end,
                "n": int(n),
                "note": "; ".join(n for n in notes if n),
            }
        )
    return pd.DataFrame(rows)


def _coverage(tables: Tables) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Return the first and last day of the event tables and spend together, or None."""
    spans = [
        date_range(tables[name], column, name)
        for name, column in (
            ("touchpoints", "timestamp"),
            ("conversions", "timestamp"),
            ("spend", "date"),
        )  # fmt: skip
        if tables.get(name) is not None
    ]
    spans = [span for span in spans if span is not None]
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


@shared_tables()
def kpi_tiers(
    plan: CampaignPlan,
    tables: Tables,
    review_date: object,
    names: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Every catalogue KPI before and during the campaign, grouped by tier.

    Behavioural KPIs compare two windows of the same length ``N``: the last ``N`` days before
    the campaign and the first ``N`` days of it, with ``N = min(days of data before the
    campaign, campaign days)``. Rates such as the repeat-purchase rate, conversion rate,
    engagement rate and CLV proxy depend on the window's length (a longer window has more
    repeat buyers and more visitors who ordered), and sums (revenue, orders, visits, leads)
    grow with it, so only equal windows compare like for like. When the data before the
    campaign is shorter than the campaign, "during" is therefore the campaign's first ``N``
    days, not the whole campaign (the scorecard and :func:`campaign_totals` measure the whole
    campaign). Brand KPIs compare the survey waves before the campaign with those from the
    campaign start to the review date. Spend-based KPIs count all media spend (always-on and
    campaign) in both windows, so the change is not a change of cost basis; the campaign's
    own ROI, ROAS and CAC are in :func:`scorecard` and :func:`campaign_totals`.

    Parameters
    ----------
    plan
        The campaign plan.
    tables
        ``{table name: table}`` (pandas, or Ibis event tables).
    review_date
        Day of the review (last day of the brand KPIs' "during" window).
    names
        KPIs to show (default: the whole catalogue, in tier order).

    Returns
    -------
    pandas.DataFrame
        ``tier, kpi, label, unit, direction, before, during, change, improved, note``; the
        note names the two windows. ``df.attrs["windows"]`` holds ``{"before": (first, last),
        "during": (first, last)}`` of the behavioural KPIs (``before`` None without data before
        the campaign).
    """
    review = _day(review_date, "review_date")
    start, end = pd.Timestamp(plan.start), pd.Timestamp(plan.end)
    days = (end - start).days + 1
    first = _first_day(tables)
    pre_days = max((start - first).days, 0) if first is not None else 0
    n = min(pre_days, days) if pre_days > 0 else days
    before0, before1 = start - pd.Timedelta(days=n), start - pd.Timedelta(days=1)
    during1 = start + pd.Timedelta(days=n - 1)
    windows = {
        "before": (before0, before1) if pre_days > 0 else None,
        "during": (start, during1),
    }
    window_note = (
        f"{n} days each: before {before0:%Y-%m-%d}..{before1:%Y-%m-%d}, during "
        f"{start:%Y-%m-%d}..{during1:%Y-%m-%d}"
        + (f" (first {n} of the campaign's {days} days)" if n < days else "")
        if pre_days > 0
        else "no data before the campaign"
    )
    rows = []
    for name in names or tuple(KPIS):
        kpi = get_kpi(name)
        scope = kpi_scope(name, plan)
        notes = []
        if kpi.tier == "brand":
            during = compute_kpi(name, tables, start, max(review, start), **scope)
            survey = tables.get("survey")
            waves_from = (
                pd.to_datetime(survey["fieldwork_date"]).min().normalize()
                if survey is not None and len(survey) and "fieldwork_date" in survey.columns
                else start
            )
            prior = compute_kpi(name, tables, min(waves_from, before1), before1, **scope)
        else:
            # Like for like: before the launch only always-on media runs, so spend-based KPIs
            # count all media spend in both windows (a campaign-only "during" against an
            # all-media "before" would show a change that is only the change of cost basis).
            same = {k: v for k, v in scope.items() if k != "campaign"}
            during = compute_kpi(name, tables, start, during1, **same)
            prior = compute_kpi(name, tables, before0, before1, **same) if pre_days > 0 else None
            notes.append(window_note)
            if "campaign" in scope:
                notes.append(
                    "all media spend before and during (the scorecard and campaign totals use "
                    "the campaign's own spend)"
                )
        before = prior.value if prior is not None else math.nan
        for label, res in (("during", during), ("before", prior)):
            if res is not None and not res.computable:
                notes.append(f"{label}: {res.note}")
        change = during.value - before
        rows.append(
            {
                "tier": kpi.tier,
                "kpi": name,
                "label": kpi.label,
                "unit": kpi.unit,
                "direction": kpi.direction,
                "before": before,
                "during": during.value,
                "change": change,
                "improved": bool(np.isfinite(change) and kpi.better(during.value, before)
                                 and change != 0),
                "note": "; ".join(notes),
            }
        )  # fmt: skip
    out = pd.DataFrame(rows)
    out.attrs["windows"] = windows
    return out


def _first_day(tables: Tables) -> pd.Timestamp | None:
    """First day of the orders, touches and spend (an engine min for the event tables)."""
    days = []
    for table, column in (("conversions", "timestamp"), ("touchpoints", "timestamp"),
                          ("spend", "date")):  # fmt: skip
        frame = tables.get(table)
        if frame is None or column not in frame.columns:
            continue
        if table in EVENT_TABLES:
            span = date_range(frame, column, table)  # empty tables give None
            if span is not None:
                days.append(span[0])
        elif len(frame):
            days.append(pd.to_datetime(frame[column]).min().normalize())
    return min(days) if days else None


@shared_tables()
def campaign_totals(plan: CampaignPlan, tables: Tables) -> dict[str, float]:
    """Headline value-tier numbers of the campaign window (through :func:`compute_kpi`).

    Parameters
    ----------
    plan
        The campaign plan (window and campaign name).
    tables
        ``{table name: table}`` (pandas, or Ibis event tables).

    Returns
    -------
    dict
        ``revenue, spend, roi, roas, cac, conversions, leads`` (NaN when not computable).
        ``spend`` is the campaign's media spend (ROAS's denominator).
    """
    start, end = plan.start, plan.end
    values = {
        name: compute_kpi(name, tables, start, end, **kpi_scope(name, plan))
        for name in ("revenue", "roi", "roas", "cac", "conversions", "leads")
    }
    out = {name: float(v.value) for name, v in values.items()}
    out["spend"] = float(values["roas"].denominator)
    return out
