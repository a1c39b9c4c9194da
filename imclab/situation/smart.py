"""SMART check of a campaign plan's objectives against the KPI catalogue and the data.

Each objective gets pass / warn / fail for Specific, Measurable, Achievable, Relevant and
Time-bound, with the reason in the analyst's words.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from imclab.config import KPIS, STAGES
from imclab.kpis import (
    SCALES_WITH_WINDOW,
    DateLike,
    Tables,
    compute_kpi,
    kpi_computable,
    kpi_series,
    shared_tables,
    to_window,
)

LETTERS: dict[str, str] = {
    "S": "Specific",
    "M": "Measurable",
    "A": "Achievable",
    "R": "Relevant",
    "T": "Time-bound",
}
STATUSES: tuple[str, ...] = ("pass", "warn", "fail")
SMART_COLUMNS: tuple[str, ...] = ("objective", "kpi", "letter", "criterion", "status", "reason")


def _fmt(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "n/a"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit in ("currency", "count"):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{value:.2f}"


@shared_tables()
def objective_baselines(
    plan: Any,
    tables: Tables,
    baseline_start: DateLike,
    baseline_end: DateLike,
    *,
    persona_labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Measure each objective's KPI in the baseline period and compare with the plan.

    Sums over a window (``traffic``, ``leads``, ``conversions``, ``revenue``) are scaled
    to the campaign's length (per-day rate x campaign days) so they compare with a target
    set for the campaign. Spend-based KPIs use every campaign's spend (before the launch
    there is no campaign spend). Brand KPIs pool the survey waves in the period.

    Parameters
    ----------
    plan
        A :class:`imclab.plan.CampaignPlan`.
    tables
        ``{table name: table}``: pandas DataFrames, or Ibis tables for the event tables
        (the KPIs are reduced in their engine; see :func:`imclab.kpis.compute_kpi`).
    baseline_start, baseline_end
        The comparison period (before the campaign).
    persona_labels
        ``customer_id, persona``; used when an objective's persona is one of the labels.

    Returns
    -------
    pandas.DataFrame
        Columns ``objective, kpi, unit, plan_baseline, data_baseline, target, computable,
        note``.
    """
    lo, hi = to_window(baseline_start, baseline_end)
    base_days = (hi - lo).days + 1
    rows = []
    for o in plan.objectives:
        kpi = KPIS.get(o.kpi)
        row = {
            "objective": o.id,
            "kpi": o.kpi,
            "unit": kpi.unit if kpi else "",
            "plan_baseline": float(o.baseline),
            "data_baseline": math.nan,
            "target": float(o.target),
            "computable": False,
            "note": "",
        }
        if kpi is None:
            row["note"] = f"KPI {o.kpi!r} is not in the catalogue"
            rows.append(row)
            continue
        check = kpi_computable(o.kpi, tables)
        if not check:
            row["note"] = check.reason
            rows.append(row)
            continue
        row["computable"] = True
        scope, scope_note = _scope(plan, o, persona_labels)
        res = compute_kpi(o.kpi, tables, lo, hi, **scope)
        value, note = res.value, res.note
        if o.kpi in SCALES_WITH_WINDOW and np.isfinite(value):
            value = value * plan.days / base_days
            note += f"; scaled from {base_days} baseline days to the {plan.days} campaign days"
        row["data_baseline"] = value
        row["note"] = "; ".join(filter(None, [note, scope_note]))
        rows.append(row)
    return pd.DataFrame(rows)


def _scope(plan: Any, objective: Any, labels: pd.DataFrame | None) -> tuple[dict[str, Any], str]:
    scope: dict[str, Any] = {"brand": plan.brand if KPIS[objective.kpi].tier == "brand" else None}
    if objective.channel is not None:
        scope["channel"] = objective.channel
    note = ""
    if objective.persona:
        known = labels is not None and objective.persona in set(labels["persona"].astype(object))
        if known:
            scope["persona_labels"], scope["persona"] = labels, objective.persona
        else:
            note = f"measured on all customers: no persona labels for {objective.persona!r}"
    return scope, note


@shared_tables()
def smart_check(
    plan: Any,
    tables: Tables,
    baseline_start: DateLike,
    baseline_end: DateLike,
    *,
    history_start: DateLike | None = None,
    history_end: DateLike | None = None,
    persona_labels: pd.DataFrame | None = None,
    freq: str = "W",
    baseline_tolerance: float = 0.2,
    min_hit_rate: float = 0.25,
    min_history: int = 3,
) -> pd.DataFrame:
    """Check every objective of a plan against the SMART criteria.

    - **S**pecific: the KPI is in the catalogue (``imclab.config.KPIS``) - else fail.
    - **M**easurable: the KPI can be computed from the tables (else fail, with the missing
      table/column) and has a value in the baseline period (else fail, with why); warn when
      the plan's baseline is more than ``baseline_tolerance`` (relative) from the data's,
      or when the objective's persona cannot be measured (no labels).
    - **A**chievable: the improvement the target needs over the data baseline (relative,
      in the KPI's better direction) vs the KPI's history (:func:`imclab.kpis.kpi_series`
      at ``freq``; per survey wave for brand KPIs): pass when the target lies inside the
      historical range (per-week terms for sums) or the needed improvement was seen in at
      least ``min_hit_rate`` of period-over-period changes; warn when seen but rarer, when
      the target is already met (no stretch) or with fewer than ``min_history`` changes;
      fail when never seen.
    - **R**elevant: tied to a funnel stage consistent with the KPI's (warn if not) and to
      one of the plan's target personas (warn when none, fail when unknown).
    - **T**ime-bound: deadline inside the campaign, or in the post-campaign measurement
      window (``plan.measurement_end``) - else fail.

    Parameters
    ----------
    plan
        A :class:`imclab.plan.CampaignPlan`.
    tables
        ``{table name: table}``: pandas DataFrames, or Ibis tables for the event tables
        (the KPIs are reduced in their engine; see :func:`imclab.kpis.compute_kpi`).
    baseline_start, baseline_end
        The comparison period.
    history_start, history_end
        The history for the Achievable check (default: the baseline period).
    persona_labels
        ``customer_id, persona`` labels, when a persona file exists.
    freq
        Period of the KPI history.
    baseline_tolerance, min_hit_rate, min_history
        Thresholds above.

    Returns
    -------
    pandas.DataFrame
        One row per objective and letter: ``objective, kpi, letter, criterion, status,
        reason``.
    """
    baselines = objective_baselines(
        plan, tables, baseline_start, baseline_end, persona_labels=persona_labels
    ).set_index("objective")
    h_lo = history_start if history_start is not None else baseline_start
    h_hi = history_end if history_end is not None else baseline_end
    persona_names = [p.name for p in plan.target_personas]
    rows = []
    for o in plan.objectives:
        base = baselines.loc[o.id]
        checks = {
            "S": _specific(o),
            "M": _measurable(o, base, baseline_tolerance),
            "A": _achievable(
                plan, o, base, tables, h_lo, h_hi, persona_labels, freq, min_hit_rate, min_history
            ),
            "R": _relevant(o, persona_names),
            "T": _time_bound(plan, o),
        }
        for letter, (status, reason) in checks.items():
            rows.append(
                {
                    "objective": o.id,
                    "kpi": o.kpi,
                    "letter": letter,
                    "criterion": LETTERS[letter],
                    "status": status,
                    "reason": reason,
                }
            )
    return pd.DataFrame(rows, columns=list(SMART_COLUMNS))


def _specific(o: Any) -> tuple[str, str]:
    kpi = KPIS.get(o.kpi)
    if kpi is None:
        return "fail", f"KPI {o.kpi!r} is not in the KPI catalogue"
    where = f" on {o.channel}" if o.channel else ""
    return "pass", f"{kpi.label}{where}: {kpi.formula}"


def _measurable(o: Any, base: pd.Series, tolerance: float) -> tuple[str, str]:
    if o.kpi not in KPIS:
        return "fail", "no catalogue KPI to measure"
    if not base["computable"]:
        return "fail", f"cannot be computed from the data: {base['note']}"
    value = float(base["data_baseline"])
    unit = str(base["unit"])
    if not np.isfinite(value):
        return "fail", f"computable, but no baseline value in the data: {base['note']}"
    plan_value = float(base["plan_baseline"])
    text = f"data baseline {_fmt(value, unit)} (plan says {_fmt(plan_value, unit)})"
    warnings = []
    if value and abs(plan_value - value) / abs(value) > tolerance:
        warnings.append(
            f"the plan's baseline is {abs(plan_value - value) / abs(value):.0%} away from the "
            "data's: re-base the target"
        )
    if "spend.campaign" in KPIS[o.kpi].requires:
        text += (
            " - before the launch only always-on media runs, so this baseline uses all spend; "
            "the review scores the campaign on its own spend"
        )
    if "no persona labels" in str(base["note"]):
        warnings.append(f"not measurable for persona {o.persona!r} without persona labels")
    if warnings:
        return "warn", f"{text}; " + "; ".join(warnings)
    return "pass", text


def _achievable(
    plan: Any,
    o: Any,
    base: pd.Series,
    tables: Tables,
    h_lo: DateLike,
    h_hi: DateLike,
    labels: pd.DataFrame | None,
    freq: str,
    min_hit_rate: float,
    min_history: int,
) -> tuple[str, str]:
    kpi = KPIS.get(o.kpi)
    if kpi is None or not base["computable"]:
        return "fail", "no data to judge the target against"
    value = float(base["data_baseline"])
    ref = value if np.isfinite(value) and value else float(o.baseline)
    ref_name = "data baseline" if ref == value else "plan baseline"
    if not ref:
        return "warn", "baseline is 0: the growth a target needs is undefined"
    sign = 1.0 if kpi.direction == "higher" else -1.0
    needed = sign * (float(o.target) / ref - 1)
    target_text = f"target {_fmt(float(o.target), kpi.unit)} vs {ref_name} {_fmt(ref, kpi.unit)}"
    if needed <= 0:
        return "warn", f"{target_text}: already met, so the target is no stretch"
    scope, _ = _scope(plan, o, labels)
    series = kpi_series(o.kpi, tables, freq, start=h_lo, end=h_hi, **scope)
    full = series.loc[~series["partial"].astype(bool) & series["value"].notna()]
    changes = (sign * series["growth"]).dropna()
    hits = int((changes >= needed).sum())
    change_word = "better" if kpi.direction == "higher" else "lower"
    text = (
        f"{target_text} needs {needed:.1%} {change_word}; seen in {hits} of {len(changes)} "
        f"period-over-period changes ({'per wave' if kpi.tier == 'brand' else freq})"
    )
    in_range = False
    if len(full):
        per_period = float(o.target)
        if o.kpi in SCALES_WITH_WINDOW:
            days = float(full["days"].median())
            per_period = float(o.target) * days / plan.days
        best = full["value"].max() if kpi.direction == "higher" else full["value"].min()
        in_range = bool(kpi.better(float(best), per_period))
        text += (
            f"; best period {_fmt(float(best), kpi.unit)} vs target"
            f"{' per period' if o.kpi in SCALES_WITH_WINDOW else ''} "
            f"{_fmt(per_period, kpi.unit)} ({'inside' if in_range else 'outside'} the "
            "historical range)"
        )
    if len(changes) < min_history:
        return "warn", f"{text}; too little history to judge (< {min_history} changes)"
    rate = hits / len(changes)
    if in_range or rate >= min_hit_rate:
        return "pass", text
    if hits:
        return "warn", f"{text}; such growth is rare ({rate:.0%} of changes)"
    return "fail", f"{text}; never seen in the history"


def _relevant(o: Any, persona_names: list[str]) -> tuple[str, str]:
    kpi = KPIS.get(o.kpi)
    stage = o.funnel_stage
    problems, status = [], "pass"
    if stage is None or stage not in STAGES:
        return "fail", f"funnel stage {stage!r} is not one of {', '.join(STAGES)}"
    text = f"stage {stage}"
    if kpi is not None and stage != kpi.funnel_stage:
        problems.append(f"the KPI measures {kpi.funnel_stage}, not {stage}")
        status = "warn"
    if not o.persona:
        problems.append("not tied to a target persona")
        status = "warn"
    elif o.persona not in persona_names:
        problems.append(
            f"persona {o.persona!r} is not a target persona of the plan "
            f"({', '.join(persona_names) or 'none'})"
        )
        status = "fail"
    else:
        text += f", persona {o.persona!r}"
    return status, "; ".join([text, *problems])


def _time_bound(plan: Any, o: Any) -> tuple[str, str]:
    deadline: dt.date = o.deadline
    if plan.start <= deadline <= plan.end:
        return "pass", f"deadline {deadline} inside the campaign ({plan.start}..{plan.end})"
    if plan.end < deadline <= plan.measurement_end:
        return "pass", (
            f"deadline {deadline} in the post-campaign measurement window "
            f"(until {plan.measurement_end})"
        )
    return "fail", (
        f"deadline {deadline} is outside the campaign ({plan.start}..{plan.end}) and its "
        f"measurement window (until {plan.measurement_end})"
    )


def smart_matrix(check: pd.DataFrame) -> pd.DataFrame:
    """Return the SMART check as one row per objective and one column per letter.

    Parameters
    ----------
    check
        :func:`smart_check` output.

    Returns
    -------
    pandas.DataFrame
        Index ``objective``; columns ``kpi, S, M, A, R, T, passed`` (letters passed of 5).
    """
    wide = check.pivot(index="objective", columns="letter", values="status")
    wide = wide.reindex(index=list(dict.fromkeys(check["objective"])), columns=list(LETTERS))
    kpis = check.drop_duplicates("objective").set_index("objective")["kpi"]
    wide.insert(0, "kpi", kpis)
    wide["passed"] = (wide[list(LETTERS)] == "pass").sum(axis=1)
    wide.columns.name = None
    return wide


def smart_warnings(check: pd.DataFrame) -> pd.DataFrame:
    """Return only the letters that did not pass, worst first (fail, then warn).

    Parameters
    ----------
    check
        :func:`smart_check` output.

    Returns
    -------
    pandas.DataFrame
        The ``warn`` and ``fail`` rows.
    """
    bad = check.loc[check["status"] != "pass"].copy()
    bad["_s"] = bad["status"].map({"fail": 0, "warn": 1})
    return bad.sort_values("_s", kind="stable").drop(columns="_s").reset_index(drop=True)
