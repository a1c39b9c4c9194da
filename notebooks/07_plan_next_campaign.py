# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: imclab
#     language: python
#     name: imclab
# ---

# %% [markdown]
# # 07 Plan the next campaign: objectives, budget split and scenarios from the evidence
#
# The review says what this campaign achieved; the marketing-mix model (notebook 04) says
# what each channel's money causes, with its posterior uncertainty. This notebook closes the
# SOSTAC loop: it proposes the **Objectives** of the next campaign as SMART targets that the
# given budget reaches with a stated probability, the **Strategy and Tactics** as a channel
# split (the budget optimiser on the posterior response curves) and a phase split (this
# plan's phases scaled to the new dates), compares budget scenarios, and writes a draft plan
# (`next_campaign.yaml` in the report folder) that `imclab validate` accepts.
#
# **How the forecast works** (`imclab.planning`). The next campaign's orders and revenue are
# this campaign's measured ones (scaled to the new length) plus what the *change* of budget
# adds under each posterior draw of the response curves; ROAS and CPA divide by all media
# spend (the budget plus the always-on spend that keeps running), as the SMART baseline does.
# The money is valued day by day as it will be spent (each phase's budget over its days, and
# this campaign's as its spend table shows), and only the orders that fall within the
# campaign's dates count: the effect carried past the last day (how long it lasts is measured
# by the customer-level attribution in notebook 04) is not the campaign's.
# A target "at 70 %" is reached in 70 % of the posterior draws. The intervals are the model's
# uncertainty about what the budget does; the week-to-week noise of the orders that media
# did not cause is not in them.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # this campaign's plan
data_dir: str = "../data/sample"  # brand-world tables
report_dir: str = ""  # where to write the draft plan and headlines (empty: nowhere)
engine: str = "duckdb"  # where the event tables are aggregated: duckdb, or spark (warehouse)
persona_file: str = ""  # customer_id,persona CSV to tie objectives to a persona (empty: none)
mmm_file: str = ""  # posterior response curves (04_marketing_mix writes them; empty: none)
next_start: str = ""  # first day of the next campaign (empty: gap_weeks after this one ends)
next_end: str = ""  # last day of the next campaign (empty: as many days as this campaign)
gap_weeks: int = 4  # weeks between this campaign's end and the next start (empty next_start)
next_budget: float = 0.0  # media budget of the next campaign (0: this plan's budget total)
scenarios: list = []  # budget totals or {channel: amount} splits to compare (empty: none)
target_probability: float = 0.7  # probability of reaching each proposed target
bound_multiples: list = []  # each channel within [low, high] x its scaled share (empty: plan's)
next_name: str = ""  # name of the draft plan (empty: this plan's name + "_next")

# %% [markdown]
# Derived values: this plan, the tables, the next campaign's dates (rule: it starts
# `gap_weeks` weeks after the day after this campaign ends and lasts as many days, unless
# `next_start`/`next_end` are given) and what this campaign measured: the anchor of the
# forecast.

# %%
import pandas as pd

from imclab import planning
from imclab.mmm import PosteriorCurves
from imclab.plan import load_plan
from imclab.report.headlines import record_headlines
from imclab.report.sections import find_gaps
from imclab.report.tables import facts, present
from imclab.warehouse import open_world

pd.set_option("display.max_colwidth", None)
plan = load_plan(campaign_file)
world = open_world(data_dir, engine)
gaps = find_gaps(world, plan)
gaps.require("07_plan_next_campaign")  # stops here when the world cannot feed the plan
tables = world.tables
personas = pd.read_csv(persona_file) if persona_file else None
start, end = planning.next_dates(plan, next_start, next_end, gap_weeks)
settings = plan.resolved_settings(next_budget=next_budget, bound_multiples=bound_multiples)
budget_total = settings.next_budget
bound_multiples = list(settings.bound_multiples)
measured = planning.measure_campaign(plan, tables)
pd.DataFrame(
    {
        "this campaign": [f"{plan.start} .. {plan.end}", plan.days, measured.orders,
                          measured.revenue, measured.campaign_spend.sum()],
        "next campaign": [f"{start} .. {end}", (end - start).days + 1, None, None, budget_total],
    },
    index=["dates", "days", "orders", "revenue", "campaign media spend (next: budget)"],
)  # fmt: skip

# %% [markdown]
# ## Proposed objectives
# One objective per KPI the curves can forecast (orders, revenue, ROAS, CPA): the baseline is
# this campaign's value scaled to the next campaign's days (measured as the SMART check
# does), the target the most ambitious value reached in `target_probability` of the
# posterior draws at the recommended split, rounded to the safe side. A target must ask for
# at least 2 % more than the baseline; when the budget does not support that at the wanted
# probability, the target is that 2 % and its lower probability is shown.

# %%
curves = PosteriorCurves.read_csv(mmm_file) if mmm_file else None
nc = (
    planning.plan_next_campaign(
        plan,
        tables,
        curves,
        next_start=next_start,
        next_end=next_end,
        gap_weeks=gap_weeks,
        next_budget=next_budget,
        probability=target_probability,
        bound_multiples=bound_multiples,
        persona_labels=personas,
        name=next_name,
    )
    if curves is not None
    else None
)
if nc is None:
    print(
        "No response curves: this section and the ones below need the marketing-mix "
        "model's curves (mmm_file, written by 04_marketing_mix; `imclab run` passes them)."
    )
else:
    for note in nc.notes:
        print(note)
present(nc.objectives.drop(columns="description"), digits=2) if nc else None

# %%
nc.objectives[["id", "description"]] if nc else None

# %% [markdown]
# ## Channel and phase split
# The optimiser's split of the budget on the posterior curves (the revenue the campaign's own
# spend causes, beside the always-on spend that keeps running), each channel within
# `bound_multiples` times its share of this campaign's actual mix scaled to the budget; then
# each channel's money spread over this plan's phases, scaled to the new dates.

# %%
cols = ["channel", "lower", "upper", "actual_at_budget", "recommended_spend", "change",
        "recommended_conversions", "marginal_roas"]  # fmt: skip
present(nc.split.allocation[cols], digits=2) if nc else None

# %%
gaps.first("channel_spend")  # a planned channel without spend gets no curve

# %%
present(pd.DataFrame(nc.plan["phases"]), digits=2) if nc else None

# %% [markdown]
# ## SMART check of the draft
# The check of notebook 01 on the draft's objectives, with this campaign's window as the
# baseline period (the draft asks notebook 01 for it in `notebook_params`). Without persona
# labels matching the plan's target personas, Relevant warns that no objective is tied to
# one.

# %%
nc.smart.pivot(index="objective", columns="letter", values="status")[list("SMART")] if nc else None

# %%
nc.smart.loc[nc.smart["status"] != "pass", ["objective", "letter", "reason"]] if nc else None

# %% [markdown]
# ## Budget scenarios
# Scenario #1 is the proposal (the optimiser's split); #2 is the same budget in this
# campaign's own mix, so the difference between them is what the re-split is expected to
# add. That part rests on the per-channel curves, which the marketing-mix model resolves
# only roughly at the sample's size (notebook 04): read it as a hypothesis. Then each budget
# in `scenarios` (a total, split by the optimiser with the same bounds rule, or a fixed
# `{channel: amount}` split, each phased as the draft is): expected outcome with its 90 %
# posterior interval, and the probability of reaching each proposed objective.

# %%
outcomes, reach = (
    planning.compare_scenarios(
        curves,
        nc.baseline,
        [nc.budget, planning.same_mix(nc), *scenarios],
        nc.days,
        nc.objectives,
        bound_multiples,
        phasing=nc.phasing,
    )
    if nc
    else (None, None)
)
present(
    outcomes.pivot_table(
        index=["budget", "scenario"], columns="kpi", values="expected", sort=False
    ),
    digits=2,
) if nc else None

# %%
present(outcomes, digits=2) if nc else None

# %%
present(reach, digits=2) if nc else None

# %% [markdown]
# ## The draft plan
# Written to `next_campaign.yaml` in the report folder: copy it to `campaigns/`, review the
# message house, SWOT and descriptions, then `imclab validate` and `imclab run` it.

# %%
if nc and report_dir:
    path = planning.write_plan(nc.plan, f"{report_dir}/next_campaign.yaml")
    print(f"Draft plan written to {path}")
headlines = (
    {
        "next_start": str(nc.start),
        "next_end": str(nc.end),
        "next_budget": nc.budget,
        "target_probability": target_probability,
        **{f"{o.id}_target": o.target for o in nc.objectives.itertuples()},
        **{f"{o.id}_probability": o.probability for o in nc.objectives.itertuples()},
        "smart_fails": int((nc.smart["status"] == "fail").sum()),
    }
    if nc
    else {}
)
record_headlines(report_dir, "planning", headlines) if nc else None
facts(headlines)
