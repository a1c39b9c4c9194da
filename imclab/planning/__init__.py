"""Plan the next campaign from evidence: SMART objectives, channel and phase split, scenarios.

The Objectives, Strategy and Tactics of SOSTAC after the review (issue 18): this campaign's
measured KPIs are the baseline, the marketing-mix model's posterior response curves
(:class:`imclab.mmm.PosteriorCurves`, ``mmm_curves.csv``) say what a budget can do, and
:func:`plan_next_campaign` writes a draft plan that ``imclab validate`` accepts.

- :mod:`imclab.planning.forecast`: posterior draws of the next campaign's orders, revenue,
  ROAS and CPA under a budget split; probability of reaching a target; target at a probability.
- :mod:`imclab.planning.draft`: dates, channel split (the optimiser), phase split, proposed
  objectives, the draft plan and its SMART check; budget scenarios.
"""

from imclab.planning.draft import (
    OBJECTIVE_COLUMNS,
    NextCampaign,
    channel_split,
    compare_scenarios,
    draft_plan,
    next_dates,
    phase_schedule,
    phase_split,
    plan_next_campaign,
    propose_objectives,
    same_mix,
    write_plan,
)
from imclab.planning.forecast import (
    FORECAST_KPIS,
    CampaignBaseline,
    measure_campaign,
    media_orders,
    outcome_draws,
    probability_of_reaching,
    target_at_probability,
)

__all__ = [
    "FORECAST_KPIS",
    "OBJECTIVE_COLUMNS",
    "CampaignBaseline",
    "NextCampaign",
    "channel_split",
    "compare_scenarios",
    "draft_plan",
    "measure_campaign",
    "media_orders",
    "next_dates",
    "outcome_draws",
    "phase_schedule",
    "phase_split",
    "plan_next_campaign",
    "probability_of_reaching",
    "propose_objectives",
    "same_mix",
    "target_at_probability",
    "write_plan",
]
