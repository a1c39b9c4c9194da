"""A spend plan for the simulator: what the simulated campaign spends, per phase and channel.

``imclab simulate --spend-plan FILE`` (``simulate_world(spend_plan=...)``) replaces the
simulator's own campaign budget (the sample plan's phase budgets for 5,000 customers, scaled
to the world's size and multiplied by the delivery over- and under-runs) with the amounts of
a plan, e.g. the split the planning notebook recommends, so that the true outcome of that
spend can be simulated on the same world (same seed, same customers).

Rules
-----
- **Amounts are what the world spends**, in the world's currency: they are not scaled by the
  number of customers and no delivery factor is applied: the ``spend`` table's campaign rows
  of a phase and channel add up to its amount to the cent (the simulator's daily noise
  spread in whole cents).
- **Phases are the simulator's** (:class:`imclab.simulate.world.Calendar`: ``teaser``,
  ``launch``, ``sustain``, stretched to the campaign's dates); amounts are matched to them by
  phase name. Within a phase a channel's amount is spread over the phase's days with the
  simulator's daily noise, as its own budget is.
- **Files**:

  - a CSV ``channel,phase,spend`` (one row per channel and phase), or ``channel,spend`` (a
    channel's whole-campaign amount, split across the phases in proportion to the simulator's
    own phase budgets for that channel, or by phase days where it has none);
  - a plan YAML (``imclab validate`` accepts it, e.g. the planning notebook's
    ``next_campaign.yaml``): its phases' ``budget`` by phase name when any phase has one,
    otherwise ``budget.by_channel`` split as the two-column CSV is. A plan whose phases are
    named otherwise (``awareness``, ``conversion``, ...) keeps its phasing by position: each
    phase's amounts are spread evenly over its share of the campaign's days and go to the
    simulator's phases at the same place in the campaign (a plan phase over the first third
    of its campaign spends in the first third of the simulated one, to the resolution of the
    simulator's three phases: within one the money is spread as its own budget is).

- Only the simulator's paid channels can be given (:data:`imclab.simulate.world.PAID_CHANNELS`);
  a channel left out spends nothing in the campaign (its always-on spend is unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from imclab.errors import DataError, ParameterError
from imclab.simulate import world as W

__all__ = ["SpendPlan", "check_spend_plan", "read_spend_plan"]

SpendPlan = dict[str, dict[str, float]]
"""``{phase name: {channel: amount}}``, amounts the world spends."""


def _split_by_phase(amounts: Mapping[str, float], cal: W.Calendar) -> SpendPlan:
    """Split whole-campaign amounts across the calendar's phases (rule in the module text)."""
    out: SpendPlan = {p.name: {} for p in cal.phases}
    days = np.array([(p.end - p.start).days + 1 for p in cal.phases], dtype=float)
    for channel, amount in amounts.items():
        weights = np.array([p.budget.get(channel, 0.0) for p in cal.phases], dtype=float)
        if weights.sum() == 0:
            weights = days
        for phase, w in zip(cal.phases, weights / weights.sum(), strict=True):
            if w > 0 and amount > 0:
                out[phase.name][channel] = float(amount) * float(w)
    return out


def _by_position(plan, cal: W.Calendar) -> SpendPlan:
    """Move a plan's phase budgets onto the calendar's phases by place in the campaign."""

    def spans(phases, start):
        length = (phases[-1].end - start).days + 1
        return [
            ((p.start - start).days / length, ((p.end - start).days + 1) / length) for p in phases
        ]

    ours = spans(cal.phases, cal.phases[0].start)
    out: SpendPlan = {p.name: {} for p in cal.phases}
    for phase, (a, b) in zip(plan.phases, spans(plan.phases, plan.start), strict=True):
        for target, (s, e) in zip(cal.phases, ours, strict=True):
            share = max(0.0, min(b, e) - max(a, s)) / (b - a)
            for channel, amount in phase.budget.items():
                if share > 0 and amount > 0:
                    got = out[target.name].get(channel, 0.0)
                    out[target.name][channel] = got + float(amount) * share
    return out


def check_spend_plan(plan: Mapping[str, Mapping[str, float]], cal: W.Calendar, source: str):
    """Validate ``{phase: {channel: amount}}`` against the calendar; return it as plain dicts.

    Raises
    ------
    ParameterError
        An unknown phase or channel, or an amount that is negative or not finite.
    """
    phases = [p.name for p in cal.phases]
    out: SpendPlan = {p: {} for p in phases}
    for phase, budget in plan.items():
        if phase not in out:
            raise ParameterError(
                f"spend plan {source}: unknown phase {phase!r}; the simulator's phases are "
                f"{', '.join(phases)} (give a channel,spend CSV to split amounts by its rule)"
            )
        for channel, amount in budget.items():
            if channel not in W.PAID_CHANNELS:
                raise ParameterError(
                    f"spend plan {source}: channel {channel!r} (phase {phase}) is not a paid "
                    f"channel of the simulator; paid channels: {', '.join(W.PAID_CHANNELS)}"
                )
            value = float(amount)
            if not np.isfinite(value) or value < 0:
                raise ParameterError(
                    f"spend plan {source}: spend of {channel} in {phase} must be a finite "
                    f"amount >= 0, got {amount!r}"
                )
            if value > 0:
                out[phase][channel] = value
    if not any(out.values()):
        raise ParameterError(f"spend plan {source}: every amount is 0; nothing to spend")
    return out


def _read_csv(path: Path, cal: W.Calendar) -> SpendPlan:
    frame = pd.read_csv(path, dtype={"channel": str, "phase": str})
    missing = [c for c in ("channel", "spend") if c not in frame.columns]
    if missing:
        raise DataError(
            f"spend plan {path}: missing column(s) {', '.join(missing)}; expected "
            "channel,spend or channel,phase,spend"
        )
    spend = pd.to_numeric(frame["spend"], errors="coerce")
    bad = frame.index[spend.isna()]
    if len(bad):
        raise DataError(
            f"spend plan {path}: column spend is not a number in data row(s) "
            f"{', '.join(str(i + 1) for i in bad[:10])}; write amounts such as 1200.50"
        )
    keys = ["phase", "channel"] if "phase" in frame.columns else ["channel"]
    dup = frame.index[frame.duplicated(keys, keep=False)]
    if len(dup):
        raise DataError(
            f"spend plan {path}: data row(s) {', '.join(str(i + 1) for i in dup[:10])} repeat "
            f"the same {' and '.join(keys)}; give each once"
        )
    if "phase" in frame.columns:
        plan: SpendPlan = {}
        for row, amount in zip(frame.itertuples(), spend, strict=True):
            plan.setdefault(row.phase, {})[row.channel] = float(amount)
        return check_spend_plan(plan, cal, str(path))
    amounts = dict(zip(frame["channel"], spend.astype(float), strict=True))
    check_spend_plan({cal.phases[0].name: amounts}, cal, str(path))  # channels and amounts
    return check_spend_plan(_split_by_phase(amounts, cal), cal, str(path))


def _read_yaml(path: Path, cal: W.Calendar) -> SpendPlan:
    from imclab.plan import load_plan

    plan = load_plan(path)
    if any(p.budget for p in plan.phases):
        if {p.name for p in plan.phases} <= {p.name for p in cal.phases}:
            phased = {p.name: dict(p.budget) for p in plan.phases}
        else:
            phased = _by_position(plan, cal)
        return check_spend_plan(phased, cal, str(path))
    amounts = dict(plan.budget.by_channel)
    check_spend_plan({cal.phases[0].name: amounts}, cal, str(path))
    return check_spend_plan(_split_by_phase(amounts, cal), cal, str(path))


def read_spend_plan(path: str | Path, cal: W.Calendar | None = None) -> SpendPlan:
    """Read a spend plan file (CSV or plan YAML; rules in the module text).

    Parameters
    ----------
    path
        ``.csv`` (``channel[,phase],spend``) or ``.yaml``/``.yml`` (a campaign plan).
    cal
        The simulated calendar (its phases); default the sample's.

    Returns
    -------
    SpendPlan
        ``{phase: {channel: amount}}`` for every phase of ``cal``.
    """
    cal = cal or W.Calendar()
    path = Path(path)
    if not path.is_file():
        raise DataError(f"spend plan {path}: no such file")
    if path.suffix.lower() == ".csv":
        return _read_csv(path, cal)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _read_yaml(path, cal)
    raise DataError(
        f"spend plan {path}: expected a .csv (channel[,phase],spend) or a plan .yaml file"
    )
