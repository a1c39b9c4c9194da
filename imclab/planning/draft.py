"""Draft the next campaign: dates, SMART objectives with probabilities, channel and phase split.

The Objectives, Strategy and Tactics of SOSTAC, after the review: this campaign's measured
KPIs are the baseline, the marketing-mix model's posterior curves
(:class:`imclab.mmm.PosteriorCurves`) say what a budget can do
(:mod:`imclab.planning.forecast`), and the draft plan is a
:class:`imclab.plan.CampaignPlan` that ``imclab validate`` accepts.

Rules
-----
- **Dates**: the next campaign starts ``gap_weeks`` weeks after the day after this one ends
  and lasts as many days as this one, unless ``next_start``/``next_end`` are given.
- **Channel split**: :func:`imclab.review.budget.optimize_budget` on the posterior curves,
  maximising expected revenue incremental to the always-on spend, each channel within
  ``bound_multiples`` times its share of this campaign's actual mix scaled to the next
  budget (the rule of the marketing-mix notebook: the bounds scale with the budget).
- **Phase split**: this plan's phases scaled to the new dates (each phase keeps its share of
  the campaign's days) and each channel's budget split across phases by its share in this
  plan's phase budgets (by phase days where this plan gave the channel no phase budget).
  The forecast of the split, and of every scenario, is that of the phased spend (each
  phase's budget spread evenly over its days, :func:`phase_schedule`), as the draft will be
  spent, not of the same money spent evenly.
- **Targets**: for each forecastable KPI (:data:`imclab.planning.forecast.FORECAST_KPIS`) the
  most ambitious target reached in ``probability`` of the posterior draws, rounded towards
  the safe side; when that is not better than the baseline by ``min_stretch`` the target is
  set to that stretch and its (lower) probability reported.
- **Baseline**: each objective's KPI measured on this campaign's window and scaled to the
  next campaign's days, by :func:`imclab.situation.smart.objective_baselines` (the SMART
  check's own measurement); the draft asks notebook 01 to use this campaign's window as the
  baseline period (``notebook_params``), so the SMART check measures the same baseline.
- **Personas**: with persona labels, the orders and revenue objectives are tied to the
  target persona with the most orders in this campaign and scaled by its measured share;
  ROAS and CPA are whole-budget ratios and stay untied.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import yaml

from imclab.config import CHANNELS, KPIS
from imclab.errors import ParameterError
from imclab.kpis import Tables
from imclab.mmm import PosteriorCurves
from imclab.plan import CampaignPlan, parse_plan, split_cents
from imclab.planning.forecast import (
    FORECAST_KPIS,
    CampaignBaseline,
    measure_campaign,
    outcome_draws,
    probability_of_reaching,
    target_at_probability,
)
from imclab.review.budget import BudgetPlan, budget_bounds, optimize_budget
from imclab.situation.smart import objective_baselines, smart_check

__all__ = [
    "OBJECTIVE_COLUMNS",
    "NextCampaign",
    "channel_split",
    "compare_scenarios",
    "draft_plan",
    "next_dates",
    "phase_schedule",
    "phase_split",
    "plan_next_campaign",
    "propose_objectives",
    "same_mix",
    "write_plan",
]

OBJECTIVE_COLUMNS: tuple[str, ...] = (
    "id", "kpi", "persona", "share", "baseline", "expected", "lower", "upper", "target",
    "probability", "description",
)  # fmt: skip
_SITUATION = "01_situation_analysis"
_PERSONA_KPIS = ("conversions", "revenue")


def next_dates(
    plan: CampaignPlan, next_start: str = "", next_end: str = "", gap_weeks: int = 0
) -> tuple[dt.date, dt.date]:
    """Return the next campaign's first and last day (rule in the module text).

    Parameters
    ----------
    plan
        This campaign's plan.
    next_start, next_end
        ISO dates; empty: the rule.
    gap_weeks
        Weeks between this campaign's end and the next one's start (when ``next_start`` is
        empty).

    Returns
    -------
    tuple of datetime.date
    """
    if gap_weeks < 0:
        raise ParameterError(f"gap_weeks must be >= 0, got {gap_weeks}")
    try:
        start = (
            dt.date.fromisoformat(next_start)
            if next_start
            else plan.end + dt.timedelta(days=1 + 7 * gap_weeks)
        )
        end = (
            dt.date.fromisoformat(next_end)
            if next_end
            else start + dt.timedelta(days=plan.days - 1)
        )
    except ValueError as exc:
        raise ParameterError(f"next_start/next_end: not an ISO date (YYYY-MM-DD): {exc}") from None
    if end < start:
        raise ParameterError(f"next_end {end} is before next_start {start}")
    if start <= plan.end:
        raise ParameterError(
            f"next_start {start} is not after this campaign's end {plan.end}: the next "
            "campaign must start after this one"
        )
    return start, end


def channel_split(
    curves: PosteriorCurves,
    baseline: CampaignBaseline,
    total: float,
    n_days: int,
    bound_multiples: Sequence[float] = (0.5, 2.0),
    split: Mapping[str, float] | None = None,
) -> BudgetPlan:
    """Split ``total`` across the curves' channels (rule in the module text).

    Parameters
    ----------
    curves
        Posterior response curves.
    baseline
        This campaign's anchor (its actual mix and always-on spend).
    total
        Next campaign's media budget.
    n_days
        Its length in days.
    bound_multiples
        ``(low, high)``: each channel within these times its share of the actual mix scaled
        to ``total``.
    split
        A fixed split ``{channel: amount}`` to evaluate instead of optimising (its sum is
        the total; bounds then pin each channel to its amount).

    Returns
    -------
    imclab.review.budget.BudgetPlan
    """
    channels = curves.fitted_channels()
    actual = baseline.campaign_spend.reindex(channels, fill_value=0.0)
    if split:
        unknown = sorted(set(split) - set(channels))
        if unknown:
            raise ParameterError(
                f"scenario split: no response curve for channel(s) {', '.join(unknown)} "
                f"(curves: {', '.join(channels)})"
            )
        total = float(sum(split.values()))
        bounds = {c: (float(split.get(c, 0.0)),) * 2 for c in channels}
    elif actual.sum() > 0:
        bounds = budget_bounds(actual, total, bound_multiples)
    else:
        bounds = None
    return optimize_budget(
        curves,
        total,
        n_days,
        actual=actual if actual.sum() > 0 else None,
        bounds=bounds,
        value_per_conversion=baseline.aov,
        base_daily_spend=baseline.always_on.reindex(channels, fill_value=0.0),
    )


def phase_split(
    plan: CampaignPlan, allocation: Mapping[str, float], start: dt.date, end: dt.date
) -> list[dict]:
    """Scale this plan's phases to ``start..end`` and split ``allocation`` across them.

    Parameters
    ----------
    plan
        This campaign's plan (its phase structure).
    allocation
        Next campaign's budget per channel (0 amounts are left out).
    start, end
        The next campaign's dates.

    Returns
    -------
    list of dict
        Phases as plan YAML mappings (``name, start, end, channels, budget``); phase budgets
        add up to ``allocation`` to the cent.
    """
    days = (end - start).days + 1
    if days < len(plan.phases):
        raise ParameterError(
            f"the next campaign has {days} days, fewer than this plan's {len(plan.phases)} phases"
        )
    # phase boundaries: each phase keeps its share of the campaign (by its start offset)
    offsets = [round((p.start - plan.start).days * days / plan.days) for p in plan.phases]
    offsets[0] = 0
    for i in range(1, len(offsets)):
        offsets[i] = min(max(offsets[i], offsets[i - 1] + 1), days - (len(offsets) - i))
    bounds = [*offsets, days]
    phases = [
        {
            "name": p.name,
            "start": (start + dt.timedelta(days=bounds[i])).isoformat(),
            "end": (start + dt.timedelta(days=bounds[i + 1] - 1)).isoformat(),
            "channels": list(p.channels),
            "budget": {},
        }
        for i, p in enumerate(plan.phases)
    ]
    lengths = np.array([bounds[i + 1] - bounds[i] for i in range(len(phases))], dtype=float)
    for channel in [c for c in CHANNELS if allocation.get(c, 0.0) > 0]:
        weights = np.array([p.budget.get(channel, 0.0) for p in plan.phases], dtype=float)
        if weights.sum() == 0:  # no phase budget in this plan: by the days of its phases
            weights = np.array([float(channel in p.channels) for p in plan.phases]) * lengths
        if weights.sum() == 0:  # not in any phase: every phase, by days
            weights = lengths.copy()
        for phase, amount in zip(phases, split_cents(allocation[channel], weights), strict=True):
            if amount > 0:
                if channel not in phase["channels"]:
                    phase["channels"].append(channel)
                phase["budget"][channel] = float(amount)
    for phase in phases:
        phase["channels"] = [c for c in CHANNELS if c in phase["channels"]]
    return phases


def phase_schedule(phases: Sequence[Mapping], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Return the daily spend of ``phases`` (each phase's budget spread evenly over its days).

    Parameters
    ----------
    phases
        Plan YAML phase mappings (``start``, ``end``, ``budget``), e.g. :func:`phase_split`'s.
    start, end
        The campaign's dates.

    Returns
    -------
    pandas.DataFrame
        One row per day from ``start`` to ``end``, one column per channel (days outside
        every phase spend nothing).
    """
    days = pd.date_range(start, end, freq="D")
    channels = [c for c in CHANNELS if any(c in p.get("budget", {}) for p in phases)]
    out = pd.DataFrame(0.0, index=days, columns=channels)
    for p in phases:
        on = (days >= pd.Timestamp(p["start"])) & (days <= pd.Timestamp(p["end"]))
        for channel, amount in p.get("budget", {}).items():
            out.loc[on, channel] += float(amount) / on.sum()
    return out.reset_index(drop=True)


def _cents(allocation: Mapping[str, float]) -> dict[str, float]:
    """Return the draft's budget per channel (catalogue order, whole cents, no zeros)."""
    return {c: float(round(allocation[c], 2)) for c in CHANNELS if allocation.get(c, 0.0) > 0}


def phased(
    plan: CampaignPlan, allocation: Mapping[str, float], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Return the daily spend of ``allocation`` as the draft phases it (:func:`phase_split`)."""
    return phase_schedule(phase_split(plan, _cents(allocation), start, end), start, end)


def _step(value: float, kpi: str) -> float:
    """Return the rounding step of a target: 3 significant digits (whole orders; ratios 0.01)."""
    unit = KPIS[kpi].unit
    if unit not in ("count", "currency") or not value:
        return 0.01
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 2)
    return max(step, 1.0) if unit == "count" else step


def _round_target(value: float, kpi: str, ambitious: bool = False) -> float:
    """Round to :func:`_step`: towards the safe side, or the ambitious one."""
    step = _step(value, kpi)
    up = (KPIS[kpi].direction == "higher") == ambitious
    scaled = value / step
    return round((math.ceil(scaled - 1e-9) if up else math.floor(scaled + 1e-9)) * step, 10)


def _stretch(baseline: float, kpi: str, min_stretch: float) -> float:
    """Return the baseline improved by ``min_stretch`` (at least one rounding step)."""
    sign = 1.0 if KPIS[kpi].direction == "higher" else -1.0
    target = _round_target(baseline * (1 + sign * min_stretch), kpi, ambitious=True)
    if not KPIS[kpi].better(target, baseline) or target == baseline:
        target = baseline + sign * _step(baseline, kpi)
    return target


def _fmt(value: float, kpi: str, currency: str) -> str:
    unit = KPIS[kpi].unit
    if unit == "currency":
        return f"{currency} {value:,.0f}" if abs(value) >= 100 else f"{currency} {value:,.2f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _kpi_draws(draws: pd.DataFrame, kpi: str, share: float = 1.0) -> np.ndarray:
    return draws[kpi].to_numpy(dtype=float) * share


def propose_objectives(
    draws: pd.DataFrame,
    baselines: Mapping[str, float],
    probability: float,
    *,
    n_days: int,
    currency: str = "EUR",
    budget: float | None = None,
    source: str = "this campaign",
    personas: Mapping[str, tuple[str, float]] | None = None,
    min_stretch: float = 0.02,
    level: float = 0.9,
) -> pd.DataFrame:
    """Propose one objective per KPI with its target at ``probability`` (rule: module text).

    Parameters
    ----------
    draws
        :func:`imclab.planning.forecast.outcome_draws` of the recommended split.
    baselines
        ``{kpi: baseline}`` for the KPIs to propose (measured, scaled to ``n_days``).
    probability
        Wanted probability of reaching each target.
    n_days
        Length of the next campaign (for the description).
    currency, budget, source
        For the descriptions.
    personas
        ``{kpi: (persona, share)}``: objectives tied to a persona, the draws scaled by its
        share.
    min_stretch
        Smallest improvement over the baseline a target must ask for.
    level
        Coverage of the posterior interval shown (``lower``, ``upper``).

    Returns
    -------
    pandas.DataFrame
        :data:`OBJECTIVE_COLUMNS`, one row per KPI.
    """
    personas = dict(personas or {})
    q = (1 - level) / 2
    rows = []
    for kpi, base in baselines.items():
        if kpi not in FORECAST_KPIS:
            raise ParameterError(
                f"cannot forecast KPI {kpi!r} from response curves; forecastable: "
                f"{', '.join(FORECAST_KPIS)}"
            )
        persona, share = personas.get(kpi, (None, 1.0))
        v = _kpi_draws(draws, kpi, share)
        target = _round_target(target_at_probability(v, probability, kpi), kpi)
        stretch = _stretch(base, kpi, min_stretch)
        if not KPIS[kpi].better(target, stretch):  # not ambitious enough: ask for the stretch
            target = stretch
        p = probability_of_reaching(v, target, kpi)
        verb = "Lower" if KPIS[kpi].direction == "lower" else "Reach"
        who = f" among {persona}" if persona else ""
        label = KPIS[kpi].label
        money = f" on a media budget of {_fmt(budget, 'revenue', currency)}" if budget else ""
        rows.append(
            {
                "id": f"next_{kpi}",
                "kpi": kpi,
                "persona": persona,
                "share": share,
                "baseline": float(base),
                "expected": float(np.nanmean(v)),
                "lower": float(np.nanquantile(v, q)),
                "upper": float(np.nanquantile(v, 1 - q)),
                "target": float(target),
                "probability": p,
                "description": (
                    f"{verb} {label[0].lower() + label[1:]}{who} to {_fmt(target, kpi, currency)} "
                    f"in the {n_days} campaign days{money}, from "
                    f"{_fmt(base, kpi, currency)} in {source}; the marketing-mix posterior "
                    f"gives {p:.0%} probability of reaching it"
                ),
            }
        )
    return pd.DataFrame(rows, columns=list(OBJECTIVE_COLUMNS))


_OWN_SETTINGS = ("review_date", "baseline_start", "baseline_end", "next_budget")
"""Plan settings that belong to one campaign's dates or budget (not carried to the next)."""


def draft_plan(
    plan: CampaignPlan,
    name: str,
    start: dt.date,
    end: dt.date,
    allocation: Mapping[str, float],
    objectives: pd.DataFrame,
) -> dict:
    """Build the draft plan as a YAML mapping, validated by :func:`imclab.plan.parse_plan`.

    Everything but the dates, phases, budget, objectives and the settings of
    :data:`_OWN_SETTINGS` is carried over from ``plan`` (brand, personas, message house,
    holdout regions, SWOT, the other settings...); ``notebook_params`` ask the
    situation notebook to measure the baseline on this campaign's window.
    """
    spend = _cents(allocation)
    data = plan.model_dump(mode="json", exclude_none=True)
    # settings tied to this campaign's dates or money do not carry over: the next plan's own
    # defaults derive them from its dates and budget (the rest, e.g. lookback_days, does)
    settings = {k: v for k, v in data.get("settings", {}).items() if k not in _OWN_SETTINGS}
    data.pop("settings", None)
    if settings:
        data["settings"] = settings
    params = dict(data.get("notebook_params", {}))
    params[_SITUATION] = {
        **params.get(_SITUATION, {}),
        "baseline_start": plan.start.isoformat(),
        "baseline_end": plan.end.isoformat(),
    }
    data.update(
        name=name,
        title=f"{plan.title}: next campaign (draft)",
        start=start.isoformat(),
        end=end.isoformat(),
        phases=phase_split(plan, spend, start, end),
        budget={"total": round(sum(spend.values()), 2), "by_channel": spend},
        objectives=[
            {
                "id": r.id,
                "kpi": r.kpi,
                "description": r.description,
                "baseline": round(float(r.baseline), 4),
                "target": round(float(r.target), 4),
                "deadline": end.isoformat(),
                "funnel_stage": KPIS[r.kpi].funnel_stage,
                **({"persona": r.persona} if isinstance(r.persona, str) else {}),
            }
            for r in objectives.itertuples()
        ],
        notebook_params=params,
    )
    parse_plan(data, f"draft plan {name!r}")
    return data


def write_plan(data: dict, path: str | Path) -> Path:
    """Write a draft plan mapping as YAML (key order kept); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Draft plan written by notebook 07_plan_next_campaign (imclab.planning): targets are\n"
        "# the marketing-mix posterior's; review them, the message house and the SWOT before use.\n"
    )
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, encoding="utf-8")
    return path


@dataclass
class NextCampaign:
    """Everything the planning notebook shows.

    Attributes
    ----------
    start, end, budget
        The next campaign's dates and media budget.
    baseline
        This campaign's measured anchor.
    split
        The optimiser's channel split (:class:`imclab.review.budget.BudgetPlan`).
    draws
        Posterior draws of the outcome under the split.
    objectives
        Proposed objectives (:data:`OBJECTIVE_COLUMNS`).
    plan
        The draft plan mapping (validated).
    smart
        The SMART check of the draft (:func:`imclab.situation.smart.smart_check`, baseline
        period: this campaign's window).
    notes
        Sentences the analyst should read (personas not tied, optimiser warnings).
    phasing
        ``allocation -> daily spend`` as the draft phases it (:func:`phased`): what the
        forecast of the split used, for :func:`compare_scenarios`.
    """

    start: dt.date
    end: dt.date
    budget: float
    baseline: CampaignBaseline
    split: BudgetPlan
    draws: pd.DataFrame
    objectives: pd.DataFrame
    plan: dict
    smart: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    phasing: Callable[[Mapping[str, float]], pd.DataFrame] | None = None

    @property
    def days(self) -> int:
        """Length of the next campaign in days."""
        return (self.end - self.start).days + 1


def _measured(plan, tables, objectives: list[dict], n_days: int, labels) -> pd.DataFrame:
    """Baselines of ``objectives`` on this campaign's window, scaled to ``n_days``."""
    shim = SimpleNamespace(
        objectives=[
            SimpleNamespace(
                id=o["id"], kpi=o["kpi"], baseline=0.0, target=0.0, channel=None,
                persona=o.get("persona"),
            )
            for o in objectives
        ],
        days=n_days,
        brand=plan.brand,
    )  # fmt: skip
    return objective_baselines(shim, tables, plan.start, plan.end, persona_labels=labels)


def _persona_shares(plan, tables, n_days, labels) -> tuple[dict, list[str]]:
    """``{kpi: (persona, share)}`` for the persona with the most orders; notes."""
    if labels is None:
        return {}, [
            "No persona labels given: the objectives are not tied to a target persona (add "
            "persona_file, written by notebook 02, to tie the orders and revenue objectives)."
        ]
    named = [p.name for p in plan.target_personas if p.name in set(labels["persona"].astype(str))]
    if not named:
        return {}, [
            "None of the plan's target personas is among the persona labels "
            f"({', '.join(sorted(set(labels['persona'].astype(str))))}): the objectives are "
            "not tied to a persona."
        ]
    probes = [{"id": f"all_{k}", "kpi": k} for k in _PERSONA_KPIS] + [
        {"id": f"{i}_{k}", "kpi": k, "persona": p}
        for i, p in enumerate(named)
        for k in _PERSONA_KPIS
    ]
    m = _measured(plan, tables, probes, n_days, labels).set_index("objective")["data_baseline"]
    best = max(range(len(named)), key=lambda i: (m[f"{i}_conversions"], -i))
    shares = {
        k: (named[best], float(m[f"{best}_{k}"] / m[f"all_{k}"]))
        for k in _PERSONA_KPIS
        if m[f"all_{k}"] > 0
    }
    return shares, []


def plan_next_campaign(
    plan: CampaignPlan,
    tables: Tables,
    curves: PosteriorCurves,
    *,
    next_start: str = "",
    next_end: str = "",
    gap_weeks: int = 0,
    next_budget: float = 0.0,
    probability: float = 0.7,
    kpis: Sequence[str] = FORECAST_KPIS,
    bound_multiples: Sequence[float] = (0.5, 2.0),
    persona_labels: pd.DataFrame | None = None,
    name: str = "",
    min_stretch: float = 0.02,
) -> NextCampaign:
    """Draft the next campaign from this one's plan and data and the posterior curves.

    Parameters
    ----------
    plan, tables
        This campaign's plan and the brand world's tables.
    curves
        The marketing-mix model's posterior response curves.
    next_start, next_end, gap_weeks
        The next campaign's dates (:func:`next_dates`).
    next_budget
        Its media budget (0: this plan's budget total).
    probability
        Probability of reaching each proposed target.
    kpis
        KPIs to propose objectives for (subset of ``FORECAST_KPIS``).
    bound_multiples
        Channel bounds rule of :func:`channel_split`.
    persona_labels
        ``customer_id, persona`` (optional).
    name
        Name (slug) of the draft plan (empty: ``<this plan's name>_next``).
    min_stretch
        Smallest improvement over the baseline a target must ask for.

    Returns
    -------
    NextCampaign
    """
    start, end = next_dates(plan, next_start, next_end, gap_weeks)
    n_days = (end - start).days + 1
    total = float(next_budget) if next_budget > 0 else float(plan.budget.total)
    baseline = measure_campaign(plan, tables)
    # channels this campaign spent on without a curve keep their spend per day (scaled to the
    # budget); the optimiser splits the rest
    actual = baseline.campaign_spend[baseline.campaign_spend > 0]
    uncurved = actual[~actual.index.isin(curves.fitted_channels())]
    fixed = (uncurved / baseline.days * n_days * min(1.0, total / actual.sum())).round(2)
    split = channel_split(curves, baseline, total - float(fixed.sum()), n_days, bound_multiples)
    allocation = pd.concat([split.allocation.set_index("channel")["recommended_spend"], fixed])

    def phasing(alloc: Mapping[str, float]) -> pd.DataFrame:
        return phased(plan, alloc, start, end)

    draws = outcome_draws(curves, baseline, phasing(allocation), n_days)
    personas, notes = _persona_shares(plan, tables, n_days, persona_labels)
    if len(fixed):
        notes.append(
            f"No response curve for {', '.join(fixed.index)}: the draft keeps their spend "
            f"per day ({', '.join(f'{c} {v:,.2f}' for c, v in fixed.items())} in all) and "
            "the forecast takes their effect as measured; the optimiser splits the rest."
        )
    probes = [
        {"id": k, "kpi": k, **({"persona": personas[k][0]} if k in personas else {})} for k in kpis
    ]
    measured = _measured(plan, tables, probes, n_days, persona_labels)
    bad = measured.loc[~np.isfinite(measured["data_baseline"].astype(float))]
    if len(bad):
        raise ParameterError(
            f"cannot measure {', '.join(bad['kpi'])} in {plan.name} ({plan.start}..{plan.end}): "
            f"{'; '.join(bad['note'])}"
        )
    objectives = propose_objectives(
        draws,
        dict(zip(measured["kpi"], measured["data_baseline"].astype(float), strict=True)),
        probability,
        n_days=n_days,
        currency=plan.currency,
        budget=total,
        source=f"{plan.name} (scaled to {n_days} days)" if n_days != plan.days else plan.name,
        personas=personas,
        min_stretch=min_stretch,
    )
    data = draft_plan(plan, name or f"{plan.name}_next", start, end, allocation, objectives)
    smart = smart_check(
        parse_plan(data), tables, plan.start, plan.end, persona_labels=persona_labels
    )
    return NextCampaign(
        start, end, total, baseline, split, draws, objectives, data, smart,
        notes + list(split.warnings), phasing,
    )  # fmt: skip


def compare_scenarios(
    curves: PosteriorCurves,
    baseline: CampaignBaseline,
    scenarios: Sequence[float | Mapping[str, float]],
    n_days: int,
    objectives: pd.DataFrame,
    bound_multiples: Sequence[float] = (0.5, 2.0),
    level: float = 0.9,
    phasing: Callable[[Mapping[str, float]], pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast each budget scenario and its probability of reaching each objective.

    Parameters
    ----------
    curves, baseline, n_days
        As for :func:`imclab.planning.forecast.outcome_draws`.
    scenarios
        Budget totals (split by :func:`channel_split`) or fixed splits ``{channel: amount}``.
    objectives
        :func:`propose_objectives` output (``id, kpi, share, target``).
    bound_multiples
        Channel bounds rule for totals.
    level
        Coverage of the posterior intervals.
    phasing
        ``allocation -> daily spend`` (:attr:`NextCampaign.phasing`: as the draft phases
        it); ``None``: spent evenly.

    Returns
    -------
    tuple of pandas.DataFrame
        ``outcomes``: ``scenario, budget, kpi, expected, lower, upper`` (all customers);
        ``reach``: one row per scenario, ``scenario, budget`` and one column per objective id
        with the probability of reaching its target.
    """
    if not scenarios:
        raise ParameterError("scenarios: give at least one budget total or split")
    q = (1 - level) / 2
    outcomes, reach = [], []
    for i, sc in enumerate(scenarios):
        split = sc if isinstance(sc, Mapping) else None
        if split is None and not (isinstance(sc, (int, float)) and sc > 0):
            raise ParameterError(
                f"scenarios[{i}]: {sc!r} is neither a positive budget total nor a "
                "{channel: amount} split"
            )
        bp = channel_split(curves, baseline, float(sc) if split is None else 0.0, n_days,
                           bound_multiples, split=split)  # fmt: skip
        alloc = bp.allocation.set_index("channel")["recommended_spend"]
        d = outcome_draws(curves, baseline, phasing(alloc) if phasing else alloc, n_days)
        label = f"#{i + 1} {'split' if split else 'total'} {alloc.sum():,.0f}"
        for kpi in ("media_orders", *FORECAST_KPIS):
            v = d[kpi].to_numpy(dtype=float)
            outcomes.append(
                {
                    "scenario": label,
                    "budget": float(alloc.sum()),
                    "kpi": kpi,
                    "expected": float(np.nanmean(v)),
                    "lower": float(np.nanquantile(v, q)),
                    "upper": float(np.nanquantile(v, 1 - q)),
                }
            )
        row = {"scenario": label, "budget": float(alloc.sum())}
        for o in objectives.itertuples():
            row[o.id] = probability_of_reaching(_kpi_draws(d, o.kpi, o.share), o.target, o.kpi)
        reach.append(row)
    return pd.DataFrame(outcomes), pd.DataFrame(reach)


def same_mix(nc: NextCampaign) -> dict[str, float]:
    """Return the next budget split in this campaign's own mix (the re-split's comparison)."""
    curved = nc.split.allocation
    actual = nc.baseline.campaign_spend.reindex(curved["channel"], fill_value=0.0)
    actual = actual[actual > 0]
    total = float(curved["recommended_spend"].sum())  # channels without a curve left out
    amounts = split_cents(total, actual.to_numpy(dtype=float))
    return dict(zip(actual.index, amounts, strict=True))
