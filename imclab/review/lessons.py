"""Lessons learned: findings generated from the review's tables, each with the evidence behind it.

Each finding has a severity (``high``, ``medium``, ``low``), an area, a sentence for the report
and a reference to the table or figure that shows it; :func:`review_headlines` packs the
numbers the report index shows as tiles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from imclab.config import CHANNEL_LABELS
from imclab.errors import ParameterError
from imclab.review.experiments import DidResult

__all__ = [
    "LESSON_COLUMNS",
    "SEVERITIES",
    "incremental_return",
    "lessons_learned",
    "review_headlines",
]

SEVERITIES: tuple[str, ...] = ("high", "medium", "low")
LESSON_COLUMNS: list[str] = ["severity", "area", "finding", "evidence"]


def _label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def _num(value: float, unit: str = "") -> str:
    if unit == "share":
        return f"{value:.1%}"
    if unit == "currency":
        return f"{value:,.2f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _progress(share: float) -> str:
    """``42 %``; never ``-0 %`` (a change that rounds to nothing has no sign)."""
    if not np.isfinite(share):
        return "n/a"
    text = f"{share:.0%}"
    return "0%" if text in ("-0%", "0%") else text


def _objective_lessons(scorecard: pd.DataFrame) -> list[dict[str, str]]:
    out = []
    for row in scorecard.itertuples(index=False):
        unit = getattr(row, "unit", "")
        evidence = f"Scorecard: objective {row.id}"
        if row.status == "missed":
            out.append(
                {
                    "severity": "high",
                    "area": "objectives",
                    "finding": (
                        f"Objective {row.id} missed: {row.label} reached {_num(row.actual, unit)} "
                        f"against a target of {_num(row.target, unit)} (baseline "
                        f"{_num(row.baseline, unit)}; {_progress(row.progress)} of the planned "
                        "change)"
                    ),
                    "evidence": evidence,
                }
            )
        elif row.status == "at risk":
            out.append(
                {
                    "severity": "medium",
                    "area": "objectives",
                    "finding": (
                        f"Objective {row.id} at risk: {row.label} is {_num(row.actual, unit)}, "
                        f"behind the pace to {_num(row.target, unit)} by {row.deadline:%Y-%m-%d}"
                    ),
                    "evidence": evidence,
                }
            )
        elif row.status == "no data":
            out.append(
                {
                    "severity": "medium",
                    "area": "objectives",
                    "finding": f"Objective {row.id} cannot be scored: {row.note}",
                    "evidence": evidence,
                }
            )
    return out


def _roi_words(roi: float, threshold: float) -> str:
    """Say what an ROI below the threshold means (ROI = (revenue - cost) / cost; 0 = break-even)."""
    if roi < 0:
        return "it lost money: its attributed revenue is below its cost"
    return f"below the threshold of {threshold:g}, though above break-even"


def _channel_lessons(
    channel_roi: pd.DataFrame | None, cost_trend: pd.DataFrame | None, roi_threshold: float
) -> list[dict[str, str]]:
    out = []
    if channel_roi is not None:
        model = ""
        if "model" in channel_roi.columns and len(channel_roi):
            model = f" ({channel_roi['model'].iloc[0]})"
        for row in channel_roi.itertuples(index=False):
            if row.cost <= 0:
                out.append(
                    {
                        "severity": "low",
                        "area": "channels",
                        "finding": f"{_label(row.channel)} had a budget but no campaign spend",
                        "evidence": "Table: channel ROI",
                    }
                )
            elif np.isfinite(row.roi) and row.roi < roi_threshold:
                severity = "high" if row.roi < 0 else "medium"
                out.append(
                    {
                        "severity": severity,
                        "area": "channels",
                        "finding": (
                            f"{_label(row.channel)} returned an ROI of {row.roi:.2f} "
                            f"({_roi_words(row.roi, roi_threshold)}): {row.revenue:,.0f} "
                            f"attributed revenue on {row.cost:,.0f} spend"
                        ),
                        "evidence": f"Table: channel ROI{model}",
                    }
                )
    if cost_trend is not None and len(cost_trend):
        for channel, part in cost_trend.loc[cost_trend["rising"]].groupby("channel", sort=False):
            first, last = part.iloc[0], part.iloc[-1]
            out.append(
                {
                    "severity": "medium",
                    "area": "channels",
                    "finding": (
                        f"{_label(channel)}: cost per attributed conversion rose from "
                        f"{first.cost_per_conversion:,.2f} ({first.phase}) to "
                        f"{last.cost_per_conversion:,.2f} ({last.phase})"
                    ),
                    "evidence": "Table: cost per conversion by phase",
                }
            )
    return out


def _test_lessons(ab: pd.DataFrame | None, survey: pd.DataFrame | None) -> list[dict[str, str]]:
    out = []
    if ab is not None and len(ab):
        for row in ab.itertuples(index=False):
            if not row.warning:
                continue
            serious = "too small" in row.warning or "no rate can be compared" in row.warning
            severity = "medium" if serious else "low"
            out.append(
                {
                    "severity": severity,
                    "area": "experiments",
                    "finding": (
                        f"A/B test {row.test_id}, {row.metric.replace('_', ' ')} ({row.variant} vs "
                        f"{row.control}, lift {row.abs_lift:+.2%}, p = {row.p_value:.2f}): "
                        f"{row.warning}"
                    ),
                    "evidence": f"Table: A/B read-out {row.test_id}",
                }
            )
    if survey is not None and len(survey):
        warn = survey["warning"].astype(str)
        warn = warn[warn != ""]
        if len(warn):
            out.append(
                {
                    "severity": "medium",
                    "area": "experiments",
                    "finding": f"Brand survey lift not measurable: {warn.iloc[0]}",
                    "evidence": "Table: survey lift",
                }
            )
        else:
            flat = survey.loc[~survey["significant"].astype(bool), "stage"].tolist()
            if flat:
                out.append(
                    {
                        "severity": "low",
                        "area": "experiments",
                        "finding": (
                            "No significant pre/post change in "
                            f"{', '.join(s.replace('_', ' ') for s in flat)}"
                        ),
                        "evidence": "Table and figure: survey lift",
                    }
                )
    return out


def _did_lessons(did: DidResult | None, placebo: DidResult | None) -> list[dict[str, str]]:
    out = []
    if did is not None:
        est, low, high = did.per_customer_in_window
        if low <= 0 <= high:
            out.append(
                {
                    "severity": "high",
                    "area": "incrementality",
                    "finding": (
                        "The holdout comparison finds no significant incremental effect: "
                        f"{est:+.3f} conversions per treated customer ({low:+.3f} to {high:+.3f})"
                    ),
                    "evidence": "Table: difference in differences",
                }
            )
    if placebo is not None and not placebo.ci_low <= 0 <= placebo.ci_high:
        out.append(
            {
                "severity": "high",
                "area": "incrementality",
                "finding": (
                    "The placebo test on the pre-period finds a 'lift' where there was none "
                    f"({placebo.estimate:+.4f} per customer per week): treated and holdout "
                    "regions were drifting apart, so the incrementality estimate is suspect"
                ),
                "evidence": "Table: placebo difference in differences",
            }
        )
    return out


def _consistency_lessons(consistency: pd.DataFrame | None) -> list[dict[str, str]]:
    if consistency is None or not len(consistency):
        return []
    flag = next((c for c in ("off_message", "flagged") if c in consistency.columns), None)
    if flag is None or "channel" not in consistency.columns:
        return []
    rows = consistency.loc[consistency[flag].astype(bool)]
    score = next(
        (c for c in ("mean_score", "similarity", "score") if c in consistency.columns), None
    )
    out = []
    for channel, part in rows.groupby("channel", sort=False):
        detail = f" (similarity {part[score].min():.2f})" if score else ""
        out.append(
            {
                "severity": "medium",
                "area": "brand consistency",
                "finding": f"{_label(channel)} creative is off-message{detail}",
                "evidence": "Table: message consistency",
            }
        )
    return out


def _quality_lessons(validation: pd.DataFrame | None) -> list[dict[str, str]]:
    if validation is None or not len(validation):
        return []
    name = "file" if "file" in validation.columns else "table"
    out = []
    for row in validation.itertuples(index=False):
        count = int(getattr(row, "rows_quarantined", 0) or 0)
        if count > 0:
            loaded = getattr(row, "rows_read", None)
            share = f" of {int(loaded):,}" if loaded else ""
            out.append(
                {
                    "severity": "medium" if loaded and count / loaded > 0.01 else "low",
                    "area": "data quality",
                    "finding": (
                        f"{getattr(row, name)}: {count:,}{share} rows quarantined by the data "
                        "audit and left out of every figure"
                    ),
                    "evidence": "Data audit: validation report",
                }
            )
    return out


def _budget_lessons(budget: pd.DataFrame | None, tolerance: float) -> list[dict[str, str]]:
    if budget is None or not len(budget):
        return []
    out = []
    rows = budget.loc[budget["channel"] != "total"] if "channel" in budget.columns else budget
    for row in rows.itertuples(index=False):
        pct = row.variance_pct
        where = getattr(row, "channel", "") or getattr(row, "phase", "")
        if row.note:
            out.append(
                {
                    "severity": "low",
                    "area": "budget",
                    "finding": f"{_label(where)}: {row.note}",
                    "evidence": "Table: planned vs actual budget",
                }
            )
        elif np.isfinite(pct) and abs(pct) > tolerance:
            verb = "over" if pct > 0 else "under"
            out.append(
                {
                    "severity": "low",
                    "area": "budget",
                    "finding": (
                        f"{_label(where)} spent {abs(pct):.0%} {verb} budget "
                        f"({row.actual:,.0f} against {row.planned:,.0f})"
                    ),
                    "evidence": "Table: planned vs actual budget",
                }
            )
    return out


def lessons_learned(
    scorecard: pd.DataFrame | None = None,
    channel_roi: pd.DataFrame | None = None,
    cost_trend: pd.DataFrame | None = None,
    ab_readout: pd.DataFrame | None = None,
    survey_lift: pd.DataFrame | None = None,
    did: DidResult | None = None,
    placebo: DidResult | None = None,
    consistency: pd.DataFrame | None = None,
    validation: pd.DataFrame | None = None,
    budget: pd.DataFrame | None = None,
    roi_threshold: float = 0.0,
    budget_tolerance: float = 0.15,
) -> pd.DataFrame:
    """Generate the review's findings from its tables, most severe first.

    Parameters
    ----------
    scorecard
        :func:`imclab.review.scorecard.scorecard`: missed, at-risk and unscorable objectives.
    channel_roi
        :func:`imclab.review.plan_vs_actual.channel_roi`: channels with ROI below
        ``roi_threshold`` (ROI = (revenue - cost) / cost) or with no spend.
    cost_trend
        :func:`imclab.review.plan_vs_actual.channel_cost_trend`: rising cost per conversion.
    ab_readout
        :func:`imclab.review.experiments.ab_readout`: underpowered, too small or empty tests.
    survey_lift
        :func:`imclab.review.experiments.survey_lift`: missing waves, stages with no lift.
    did, placebo
        Holdout estimates: no significant effect; a placebo that finds one.
    consistency
        Message-consistency table with ``channel`` and an ``off_message`` (or ``flagged``)
        column and optionally a score (``mean_score``, ``similarity`` or ``score``), e.g.
        :func:`imclab.review.consistency.channel_consistency`.
    validation
        The data audit's per-table report (``ValidationReport.to_frame()``: ``table,
        rows_read, rows_quarantined``) or quarantine counts (``file, rows_quarantined``).
    budget
        :func:`imclab.review.plan_vs_actual.budget_vs_actual` with ``by="channel"``.
    roi_threshold
        Channels with an ROI below this are flagged (0: those that lost money).
    budget_tolerance
        Channels whose spend differs from budget by more than this share are listed.

    Returns
    -------
    pandas.DataFrame
        ``severity, area, finding, evidence``; high before medium before low, then in the
        order above. Empty (with the columns) when there is nothing to report.
    """
    lessons = [
        *_objective_lessons(scorecard if scorecard is not None else pd.DataFrame()),
        *_channel_lessons(channel_roi, cost_trend, roi_threshold),
        *_did_lessons(did, placebo),
        *_test_lessons(ab_readout, survey_lift),
        *_consistency_lessons(consistency),
        *_quality_lessons(validation),
        *_budget_lessons(budget, budget_tolerance),
    ]
    frame = pd.DataFrame(lessons, columns=LESSON_COLUMNS)
    rank = frame["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    order = np.argsort(rank.to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def incremental_return(did: DidResult, spend: float, value_per_conversion: float) -> pd.DataFrame:
    """Incremental revenue, ROAS and ROI of the campaign from the holdout comparison.

    Incremental conversions are the difference-in-differences estimate per treated customer in
    the window times the treated customers (:attr:`DidResult.incremental_conversions`);
    their value is ``value_per_conversion`` (e.g. the campaign window's AOV) each. Unlike the
    catalogue ROI and ROAS (all revenue in the window, organic orders included, over the
    campaign's media spend), only the revenue the campaign caused is counted::

        incremental ROAS = incremental conversions x value / spend
        incremental ROI  = incremental ROAS - 1

    The interval is the DiD interval carried through (value and spend are taken as known, so
    the bounds scale linearly; the uncertainty of the AOV is not included).

    Parameters
    ----------
    did
        The holdout estimate (:func:`imclab.review.experiments.holdout_did`).
    spend
        The campaign's media spend (e.g. ``campaign_totals(...)["spend"]``).
    value_per_conversion
        Revenue of one incremental conversion (e.g. the campaign window's AOV).

    Returns
    -------
    pandas.DataFrame
        Rows ``incremental conversions``, ``incremental revenue``, ``incremental ROAS``,
        ``incremental ROI``; columns ``estimate, ci_low, ci_high``; ``attrs["level"]`` is
        the interval's coverage.

    Raises
    ------
    ParameterError
        ``spend`` not positive or ``value_per_conversion`` negative or not finite.
    """
    if not math.isfinite(spend) or spend <= 0:
        raise ParameterError(f"incremental_return: spend must be a positive amount, got {spend}")
    if not math.isfinite(value_per_conversion) or value_per_conversion < 0:
        raise ParameterError(
            "incremental_return: value_per_conversion must be a finite amount >= 0, got "
            f"{value_per_conversion}"
        )
    conv = np.array(did.incremental_conversions, dtype=float)
    revenue = conv * value_per_conversion
    roas = revenue / spend
    frame = pd.DataFrame(
        [conv, revenue, roas, roas - 1.0],
        index=["incremental conversions", "incremental revenue", "incremental ROAS",
               "incremental ROI"],
        columns=["estimate", "ci_low", "ci_high"],
    )  # fmt: skip
    frame.index.name = "measure"
    frame.attrs["level"] = 1.0 - did.alpha
    return frame


def review_headlines(
    scorecard: pd.DataFrame,
    totals: dict[str, float],
    did: DidResult | None,
    lessons: pd.DataFrame,
    value_per_conversion: float | None = None,
) -> dict[str, Any]:
    """Pack the review's headline numbers for :func:`imclab.report.headlines.record_headlines`.

    Parameters
    ----------
    scorecard
        The objectives scorecard.
    totals
        :func:`imclab.review.scorecard.campaign_totals` (``roi``, ``roas``, ``cac``, and
        ``spend``, ``revenue``, ``conversions`` for the incremental return).
    did
        The holdout estimate (None when the data has no holdout).
    lessons
        :func:`lessons_learned`.
    value_per_conversion
        Value of an incremental conversion (default: the window's AOV, ``revenue /
        conversions`` of ``totals``).

    Returns
    -------
    dict
        ``objectives_met, objectives_total, roi, roas, cac, conversions, incremental_lift,
        incremental_roi, incremental_roas, lessons, objectives``. ``roi`` and ``roas`` are
        the catalogue KPIs: ALL revenue in the window (organic orders included) over the
        campaign's media spend; ``conversions`` the orders in the campaign period (the
        catalogue KPI; the run history compares campaigns by it). ``incremental_lift`` is
        ``{estimate, ci_low, ci_high, unit, relative, level}`` per treated customer in the
        campaign window; ``incremental_roas`` and ``incremental_roi``
        (:func:`incremental_return`: holdout incremental conversions x AOV over campaign
        spend) are ``{estimate, ci_low, ci_high, level, unit}``. Each is
        None without a holdout (or spend/AOV); ``lessons`` holds the finding sentences;
        ``objectives`` one ``{id, kpi, actual, target, status}`` per objective (the run
        history keeps them, so later plans can take their baselines from them). Without
        campaign spend (the data has no rows of the campaign) there is no incremental figure
        either: a holdout comparison of a campaign that left no trace in the data would be a
        figure computed from no data.
    """
    lift = roi_inc = roas_inc = None
    campaign_spend = float(totals.get("spend", math.nan))
    if did is not None and math.isfinite(campaign_spend) and campaign_spend > 0:
        est, low, high = did.per_customer_in_window
        lift = {
            "estimate": _clean(est),
            "ci_low": _clean(low),
            "ci_high": _clean(high),
            "unit": "incremental conversions per treated customer in the campaign window",
            "relative": _clean(did.relative_lift),
            "level": round(1.0 - did.alpha, 4),
        }
        spend = float(totals.get("spend", math.nan))
        if value_per_conversion is None:
            conversions = float(totals.get("conversions", math.nan))
            revenue = float(totals.get("revenue", math.nan))
            value_per_conversion = revenue / conversions if conversions > 0 else math.nan
        value = float(value_per_conversion)
        if math.isfinite(spend) and spend > 0 and math.isfinite(value) and value >= 0:
            ret = incremental_return(did, spend, value)
            for key, row, unit in (
                ("roas", "incremental ROAS", "incremental revenue per unit of campaign media"),
                ("roi", "incremental ROI", "(incremental revenue - cost) / cost"),
            ):
                packed = {k: _clean(v) for k, v in ret.loc[row].items()}
                packed["level"] = round(1.0 - did.alpha, 4)
                packed["unit"] = (
                    f"{unit}: holdout DiD incremental conversions x AOV {value:,.2f}, over "
                    f"campaign media {spend:,.2f}"
                )
                if key == "roas":
                    roas_inc = packed
                else:
                    roi_inc = packed
    orders = _clean(totals.get("conversions", math.nan))  # a count: shown and stored whole
    return {
        "objectives_met": int((scorecard["status"] == "met").sum()),
        "objectives_total": len(scorecard),
        "roi": _clean(totals.get("roi", math.nan)),
        "roas": _clean(totals.get("roas", math.nan)),
        "cac": _clean(totals.get("cac", math.nan)),
        "conversions": None if orders is None else int(round(orders)),
        "incremental_lift": lift,
        "incremental_roi": roi_inc,
        "incremental_roas": roas_inc,
        "lessons": [f"[{r.severity}] {r.finding}" for r in lessons.itertuples(index=False)],
        "objectives": [
            {
                "id": r.id,
                "kpi": r.kpi,
                "actual": _clean(r.actual),
                "target": _clean(r.target),
                "status": r.status,
            }
            for r in scorecard.itertuples(index=False)
        ],  # fmt: skip
    }
