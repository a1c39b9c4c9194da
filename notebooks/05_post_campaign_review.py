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
# # 04 Post-campaign review: did it work, what did it cost, what did we learn?
#
# The **Control** step of SOSTAC closes the loop of the campaign plan: every SMART objective
# is scored against its target, the money is traced from plan to spend, the lift is put to
# the test (brand survey before and after, A/B tests, a geo holdout that stayed dark), the
# customers won are valued, and the next campaign's budget is re-split where the response
# curves say it works hardest. The findings come first, each with the table or figure that
# shows it; the sections below are the evidence.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan
data_dir: str = "../data/sample"  # brand-world tables
report_dir: str = ""  # where to write report files (empty: nowhere)
review_date: str = ""  # review day, objectives due later are "on track" (empty: the plan's)
baseline_start: str = ""  # first day of the pre-campaign period (empty: the plan's)
baseline_end: str = ""  # last day of the pre-campaign period (empty: the plan's)
lookback_days: int = 0  # orders credit touches this many days before them (0: the plan's)
attribution_model: str = "markov"  # model crediting conversions to channels for ROI by channel
roi_threshold: float = 0.0  # flag channels whose ROI, (revenue - cost) / cost, is below this
next_budget: float = 0.0  # media budget of the next campaign to allocate (0: the plan's)
channel_bounds: dict = {}  # next campaign's {channel: [lower, upper]} spend limits
bound_multiples: list = []  # without channel_bounds: [low, high] x scaled actual (empty: plan's)
persona_file: str = ""  # customer_id,persona CSV to split results by persona (empty: none)
mmm_file: str = ""  # response curves of the marketing-mix model (04_marketing_mix writes them)
clv_model: str = "bg_nbd"  # CLV purchase model: bg_nbd, or pareto_nbd (slower)
engine: str = "duckdb"  # where the event tables are aggregated: duckdb, or spark (warehouse)

# %% [markdown]
# Derived values: the plan, the validated tables as of the review date (later events are
# quarantined as "in the future"), the simulator's ground truth when the data is simulated
# and, when given, each customer's persona. With `engine="spark"` the event tables stay in
# Spark: every table below is aggregated there and only the results come back.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from imclab.errors import ImclabError
from imclab.mmm import PosteriorCurves
from imclab.plan import load_plan
from imclab.plotting import review as plots
from imclab.report.headlines import record_headlines
from imclab.report.sections import find_gaps, skipped
from imclab.report.tables import facts, present
from imclab.review import budget, clv, consistency, experiments, lessons, scorecard
from imclab.review import plan_vs_actual as pva
from imclab.simulate import load_truth
from imclab.warehouse import open_world

plan = load_plan(campaign_file)
settings = plan.resolved_settings(
    review_date=review_date,
    baseline_start=baseline_start,
    baseline_end=baseline_end,
    lookback_days=lookback_days,
    next_budget=next_budget,
    bound_multiples=bound_multiples,
)
review_date = settings.review_date.isoformat()
world = open_world(data_dir, engine, as_of=f"{review_date} 23:59:59")
tables = world.tables
gaps = find_gaps(world, plan)  # inputs this world lacks: the sections below say so
truth = load_truth(data_dir)
personas = pd.read_csv(persona_file) if persona_file else None
pd.set_option("display.max_colwidth", None)  # findings and notes are sentences: show them whole
pre_start = pd.Timestamp(settings.baseline_start)
pre_end = pd.Timestamp(settings.baseline_end)
facts(
    {
        "campaign": plan.name,
        "window": f"{plan.start} to {plan.end}",
        "review_date": review_date,
        "pre_period": f"{pre_start:%Y-%m-%d} to {pre_end:%Y-%m-%d}",
        "holdout_regions": list(plan.holdout_regions),
        "ground_truth": truth is not None,
        "persona_split": personas is not None,
    }
)

# %% [markdown]
# The review's tables, computed once: the scorecard, money against plan, channel return
# (credit from the `attribution_model`, per campaign and per phase), the experiments, the
# holdout comparison and its placebo, and the brand-consistency check of the creatives.

# %%
card = scorecard.scorecard(plan, tables, review_date, persona_labels=personas)
totals = scorecard.campaign_totals(plan, tables)
budget_table = pva.budget_vs_actual(plan, tables["spend"], by="channel")
credit = pva.attributed_credit(
    tables["touchpoints"],
    tables["conversions"],
    attribution_model,
    plan.start,
    plan.end,
    lookback_days=settings.lookback_days,
)
# without orders every channel would "return" -100 %: no ROI is computed from no data
roi = None if gaps.orders else pva.channel_roi(plan, tables["spend"], credit)
trend = None
if not gaps.orders:
    trend = pva.channel_cost_trend(
        plan, tables["spend"], tables["touchpoints"], tables["conversions"], model=attribution_model
    )
lift = ab = None
if tables.get("survey") is not None:
    lift = experiments.survey_lift(tables["survey"], brand=plan.brand)
if tables.get("ab_tests") is not None:
    ab = experiments.ab_readout(tables["ab_tests"])
did = placebo = message = None
# the holdout and the budget measure this campaign: without its orders or spend, nothing
no_campaign = gaps.first("orders", "campaign_orders", "campaign_spend")
no_holdout = skipped("holdout_regions") if not plan.holdout_regions else no_campaign
if no_holdout is None:
    did = experiments.holdout_did(
        tables["customers"], tables["conversions"], plan.holdout_regions, plan.start, plan.end
    )
    placebo = experiments.placebo_did(
        tables["customers"], tables["conversions"], plan.holdout_regions, pre_start, pre_end
    )
if tables.get("creatives") is not None:
    message = consistency.message_consistency(tables["creatives"], plan.message_house)
findings = lessons.lessons_learned(
    scorecard=card,
    channel_roi=roi,
    cost_trend=trend,
    ab_readout=ab,
    survey_lift=lift,
    did=did,
    placebo=placebo,
    consistency=None if message is None else message.channels,
    validation=world.report.to_frame(),
    budget=budget_table,
    roi_threshold=roi_threshold,
)
headlines = lessons.review_headlines(card, totals, did, findings)
record_headlines(report_dir, "review", headlines)
facts({k: v for k, v in headlines.items() if k not in ("lessons", "objectives")})

# %% [markdown]
# ## Lessons learned
# Most severe first. *high*: an objective missed, a channel losing money, an effect that
# cannot be shown; *medium*: something to fix before the next campaign; *low*: worth knowing.
# The `evidence` column names the table or figure below that shows each finding.

# %%
present(findings)

# %% [markdown]
# ## 1. Scorecard
# Every SMART objective of the plan, measured from the campaign start to its deadline (or to
# the review date, if that comes first). `progress` is the share of the planned change from
# baseline to target achieved (1 = target reached; it reads the same way for lower-is-better
# KPIs such as CAC); `pct_of_target` is actual / target (target / actual when lower is better).
# Objectives past their deadline are *met* or *missed*; before it, *on track* or *at risk*
# against a straight-line pace. *no data* gives the reason in `note`.

# %%
present(card[["id", "label", "baseline", "target", "actual", "progress", "pct_of_target",
              "status", "deadline", "note"]], digits=3)  # fmt: skip

# %%
plots.plot_scorecard(card)
plt.show()

# %% [markdown]
# ### KPI tiers
# The whole KPI catalogue, before and during the campaign: **brand** (the survey funnel),
# **engagement**, **conversion** and **value** (ROI = (revenue - cost) / cost). Behavioural
# KPIs compare two windows of the same length N = min(days of data before the campaign,
# campaign days): the last N days before the launch against the campaign's first N days
# (on the sample, 61 of its 84 days; the first table gives the two windows), because rates
# such as the repeat-purchase and conversion rates grow with the window's length and only
# equal windows compare like for like. Media KPIs (CTR, CAC, CPA, ROI, ROAS) count all media
# spend, always-on and campaign, in both columns so the change is not a change of cost basis
# (the scorecard above scores the campaign on its own spend, over the whole campaign).

# %%
tiers = scorecard.kpi_tiers(plan, tables, review_date)
present(pd.DataFrame(tiers.attrs["windows"], index=["first day", "last day"]))

# %%
present(tiers.drop(columns="note"), digits=3)

# %% [markdown]
# ## 2. Planned versus actual
# The media budget of the plan against the campaign's spend, by channel and by phase;
# `variance` is actual minus planned.

# %%
present(budget_table, digits=2)

# %%
present(pva.budget_vs_actual(plan, tables["spend"], by="phase_total"), digits=2)

# %%
plots.plot_budget_vs_actual(budget_table)
plt.show()

# %% [markdown]
# The Gantt chart puts the plan's phases (light bars: the channels each phase lists) against
# the weeks each channel actually ran (dark bars: weeks with campaign spend or
# campaign-tagged touches). Unpaid channels (SEO, content) are planned but run as organic
# touches, so they show no dark bar.

# %%
activity = pva.channel_activity(plan, tables["spend"], tables["touchpoints"])
plots.plot_gantt(pva.planned_spans(plan), pva.activity_spans(activity))
plt.show()

# %% [markdown]
# ### Return by channel
# Attributed revenue (from the `attribution_model`) against each paid channel's campaign
# spend. Attributed revenue includes orders that would have happened anyway, so this ROI
# ranks channels rather than measuring incrementality (section 4 does that).

# %%
present(roi, digits=2) if roi is not None else gaps.note("orders")

# %%
if roi is not None:
    plots.plot_channel_roi(roi, threshold=roi_threshold)
    plt.show()

# %% [markdown]
# Cost per attributed conversion phase by phase: a channel whose cost climbs from its first
# to its last phase (by more than 10 %) is flagged `rising` (saturation or creative wear-out).

# %%
present(trend, digits=2) if trend is not None else gaps.note("orders")

# %% [markdown]
# ## 3. Experiments
# ### Brand funnel: survey before and after
# Each funnel stage's share of respondents in the pre-campaign waves against the
# post-campaign wave, with a two-proportion z-test and the 95 % interval of the lift (NPS:
# Welch interval of the difference).

# %%
present(lift.drop(columns="warning"), digits=3) if lift is not None else skipped("survey")

# %%
if lift is not None:
    plots.plot_survey_lift(lift)
    plt.show()

# %% [markdown]
# ### A/B tests
# Per test and metric: the rate of each arm (click rate per open, conversion rate per click,
# conversions per send end to end), absolute and relative lift, its 95 % interval and
# p-value, the power the test had for the observed lift and the sample per arm 80 % power
# would have needed. `warning` flags underpowered and too-small tests: a non-significant
# result there is "we could not tell", not "no difference".

# %%
(
    present(ab.drop(columns=["test_id", "channel"]), digits=3)
    if ab is not None
    else skipped("ab_tests")
)

# %%
if ab is not None:
    plots.plot_ab_readout(ab)
    plt.show()

# %% [markdown]
# ## 4. Incrementality: geo holdout
# The campaign stayed dark in the holdout regions. Difference in differences compares each
# customer's conversions per week before and during the campaign in treated and holdout
# regions (OLS, standard errors clustered by customer): the treated change minus the holdout
# change is the campaign's incremental effect, shown per customer per week, per treated
# customer over the window, and in total conversions.

# %%
present(did.means, digits=4) if did is not None else no_holdout

# %%
present(did.summary(), digits=4) if did is not None else None

# %% [markdown]
# The placebo runs the same comparison on the pre-campaign period split in two halves, when
# nothing was switched on: its interval should cover zero. When the data is simulated, the
# true effect (same random numbers with the campaign removed) is shown for comparison.

# %%
check = {}
if did is not None:
    check["placebo per customer per week"] = [placebo.estimate, placebo.ci_low, placebo.ci_high]
    check["estimate per treated customer in window"] = list(did.per_customer_in_window)
    if truth is not None:
        check["true effect per treated customer in window"] = [
            truth["holdout"]["att_conversions_per_treated_customer_in_window"]
        ] * 3
present(pd.DataFrame(check, index=["estimate", "ci_low", "ci_high"]).T, digits=4) if check else None

# %% [markdown]
# What the campaign's money bought: the holdout's incremental conversions (per treated
# customer in the window x treated customers) valued at the campaign window's average order
# value, over the campaign's media spend, with the interval carried through. This is the
# incremental ROAS/ROI; the catalogue ROI and ROAS of the headlines and the scorecard divide
# ALL revenue in the window, organic orders included, by the campaign spend.

# %%
if did is not None and totals["conversions"] > 0:
    aov = totals["revenue"] / totals["conversions"]
    display(present(lessons.incremental_return(did, totals["spend"], aov), digits=3))
    weekly = experiments.weekly_outcome(
        tables["customers"], tables["conversions"], plan.holdout_regions
    )
    plots.plot_did(weekly, plan.start, plan.end)
    plt.show()

# %% [markdown]
# ## Customer value (CLV)
# How often each buyer will buy again (BG/NBD; Pareto/NBD with `clv_model`) and at what order
# value (Gamma-Gamma), fitted with PyMC-Marketing on the order history up to the review date
# (`imclab.review.clv`): expected revenue per buyer over the next 12 months, and how it differs
# by the channel of each customer's first touch. `priors` says how the model was fitted: flat
# priors give the maximum likelihood of the papers; when the purchase histories are too short
# or too uniform for that (the fit runs off to infinite parameters), PyMC-Marketing's weakly
# informative priors keep it finite.

# %%
value, clv_skipped = None, gaps.note("orders") if gaps.orders else None
if not gaps.orders:
    try:
        value = clv.customer_lifetime_value(
            tables["conversions"],
            observation_end=review_date,
            customers=tables["customers"],
            transaction_model=clv_model,
        )
    except ImclabError as err:  # e.g. purchase histories too short for BG/NBD
        reason = str(err).rstrip(".")
        clv_skipped = f"Customer value is not estimated, so this section is skipped: {reason}."
pd.Series(value.notes) if value is not None else clv_skipped

# %%
if value is not None:
    display(present(clv.clv_by_first_touch(value, tables["touchpoints"]), digits=2))

# %% [markdown]
# By persona, when `persona_file` gives each customer's persona (buyers it does not cover are
# `(unknown)`):

# %%
(
    None
    if value is None
    else present(clv.clv_by_persona(value, personas), digits=2)
    if personas is not None
    else "no persona_file: give a customer_id,persona CSV to split CLV by persona"
)

# %% [markdown]
# Does the model foresee what customers do? The same model, fitted only on the orders up to the
# campaign's end, predicts each buyer's repeat purchases from then to the review date, against
# the purchases they made (by their number of repeat purchases before). A `ratio` well above 1
# means buying slowed down after the campaign: the model assumes each customer keeps the rate
# seen so far, so read the CLV above as an upper bound.

# %%
(
    None
    if value is None
    else present(
        clv.holdout_check(
            tables["conversions"], plan.end, review_date, transaction_model=clv_model
        ),
        digits=3,
    )
    if pd.Timestamp(review_date) > pd.Timestamp(plan.end)
    else "the review date is not after the campaign's end: no later orders to check against"
)

# %% [markdown]
# ## Where next campaign's money should go
# Per-channel response curves and the split of `next_budget` that maximises expected
# conversion value within `channel_bounds` (by default each channel between
# `bound_multiples` times its actual spend), against the campaign's actual mix at the same
# total. The curves are the marketing-mix model's posterior (notebook 04, calibrated by the
# holdout; `mmm_file`): incremental orders, and the gain's interval is a posterior interval.
# Without them the section falls back to curves fitted to *attributed credit* (Hill
# saturation with adstock, `imclab.review.budget`), which is not incrementality; with them,
# the credit curves' split is shown only as a labelled comparison.
# Always-on media keeps running beside the campaign (`base_daily_spend`, shown below), and
# conversions are **incremental to always-on**: the marketing-mix curves are of the
# campaign's own spend (the touches it buys add to always-on's), so the budget starts at
# zero on them; the attributed-credit curves are of total spend, so there the budget is
# added on top of the always-on spend per day (`budget.curve_base`). `marginal_roi` is the
# return on the next euro at the campaign's actual spend per day (on top of that base).

# %%
credit_curves = None
if not gaps.orders:
    credited = budget.daily_credit(
        tables["touchpoints"], tables["conversions"], lookback_days=settings.lookback_days
    )
    daily = budget.response_data(tables["spend"], credited)
    credit_curves = budget.ResponseCurves(n_bootstrap=30, random_state=0).fit(daily)
curves = PosteriorCurves.read_csv(mmm_file) if mmm_file else credit_curves
print(
    "Response curves: marketing-mix model posterior (04_marketing_mix)."
    if mmm_file
    else "Response curves: attributed credit (run 04_marketing_mix first for the model's)."
) if curves is not None else display(gaps.note("orders"))
present(curves.params_, digits=3) if curves is not None else None

# %%
inputs = None  # the campaign's split, days and always-on base: only with its spend and orders
if curves is not None and no_campaign is None:
    inputs = budget.budget_inputs(
        tables["spend"], plan, settings, channels=list(curves.params_["channel"])
    )
present(inputs.base_daily_spend, digits=2) if inputs else None

# %%
allocation = None
if inputs is not None:
    days, always_on = inputs.n_days, inputs.base_daily_spend
    actual = inputs.actual
    aov = totals["revenue"] / totals["conversions"]
    bounds = {k: tuple(v) for k, v in channel_bounds.items()} or inputs.bounds
    allocation = budget.optimize_budget(
        curves,
        inputs.total,
        days,
        actual=actual,
        bounds=bounds,
        value_per_conversion=aov,
        base_daily_spend=always_on,
    )
incremental = {
    "actual_conversions": "actual_conversions_incremental_to_always_on",
    "recommended_conversions": "recommended_conversions_incremental_to_always_on",
}
if allocation is None:
    display(no_campaign)
else:
    display(gaps.first("channel_spend")) if gaps.unspent_channels else None
    display(present(allocation.allocation.rename(columns=incremental), digits=2))

# %%
present(pd.Series(allocation.summary).rename(index=incremental), digits=2) if allocation else None

# %%
comparison = None
if mmm_file and allocation is not None and credit_curves is not None:  # for comparison only
    by_credit = budget.optimize_budget(
        credit_curves,
        inputs.total,
        days,
        actual=actual,
        bounds=bounds,
        value_per_conversion=aov,
        base_daily_spend=always_on.reindex(credit_curves.params_["channel"], fill_value=0.0),
    )
    comparison = present(
        pd.DataFrame(
            {
                "marketing-mix model": allocation.allocation.set_index("channel")[
                    "recommended_spend"
                ],
                "attributed credit (comparison)": by_credit.allocation.set_index("channel")[
                    "recommended_spend"
                ],
            }
        ),
        digits=2,
    )
elif not mmm_file:
    comparison = "No marketing-mix curves given: the split above uses attributed credit."
comparison

# %% [markdown]
# ### Move budget between channels (JupyterLab)
# Start from the recommended split and move money between channels: the table shows the
# conversions the response curves predict, incremental to always-on spend (keep the total
# fixed or not). In
# `make lab` only; reports show a one-line note.

# %%
from imclab import interactive

if allocation is not None:
    interactive.explore(
        interactive.budget_simulator,
        curves,
        allocation.allocation.set_index("channel")["recommended_spend"],
        n_days=days,
        value_per_conversion=aov,
        base_daily_spend=always_on,
    )

# %% [markdown]
# ## Brand consistency
# How close each channel's creative copy stays to the message house (core message and
# pillars), by TF-IDF on character n-grams so Chinese copy is compared too
# (`imclab.review.consistency`). Channels whose mean score falls below the threshold are
# off-message.

# %%
present(message.channels, digits=3) if message is not None else skipped("creatives")
