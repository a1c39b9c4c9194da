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
# # 03 Channel attribution: which touchpoints earned the conversions?
#
# In the SOSTAC cycle this is the **Control** question for the *Tactics*: every customer
# journey crosses several touchpoints (search, social, EDM, TV, content, ...) before a
# purchase, and the budget decision depends on how the credit for each conversion is shared
# between them. This notebook builds the journeys from the touchpoint log, runs every
# attribution model in common use side by side (rule-based, Markov chain, Shapley value) and
# a causal model that follows every customer day by day (additive hazard), checks them against
# the incrementality the geo holdout measured, recommends one from that evidence, turns the
# credits into cost per acquisition (CPA) and return on ad spend (ROAS) per channel, and —
# because the sample world is simulated and its true incremental effects are known — scores
# each model and the recommendation against the truth.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan
data_dir: str = "../data/sample"  # brand-world tables
report_dir: str = ""  # where to write report files (empty: nowhere)
lookback_days: int = 0  # touches older than this before a conversion are ignored (0: plan's)
interactions: list = ["impression", "click", "open", "visit"]  # touch kinds that count
collapse_repeats: bool = False  # merge consecutive touches of one channel in a journey
markov_order: int = 1  # order of the Markov chain (1-4)
half_life_days: float = 7.0  # time-decay model: a touch's weight halves every this many days
position_weights: list = [0.4, 0.2, 0.4]  # position-based model: first, middle, last weights
bootstrap_samples: int = 100  # resamples for the Markov, Shapley and hazard intervals
navigational_channels: list = []  # channels that capture demand, not create it (empty: the plan's)
mmm_contributions_file: str = ""  # channel,contribution CSV of a marketing-mix model (empty: none)
persona_file: str = ""  # customer_id,persona CSV to split results by persona (empty: none)
engine: str = "duckdb"  # where the tables are read and journeys built: duckdb, or spark

# %% [markdown]
# Derived values: the campaign plan (its `channel_groups` map channels to groups), the
# validated tables, the simulator's ground truth (absent for real data) and, when a persona
# file is given, each customer's persona.

# %%
import matplotlib.pyplot as plt
import pandas as pd

import imclab.attribution as attr
from imclab.plan import load_plan
from imclab.plotting import attribution as plots
from imclab.report.headlines import record_headlines
from imclab.report.sections import find_gaps
from imclab.report.tables import facts, present
from imclab.simulate import load_truth
from imclab.warehouse import open_world

plan = load_plan(campaign_file)
settings = plan.resolved_settings(
    lookback_days=lookback_days, navigational_channels=navigational_channels
)
lookback_days = settings.lookback_days
world = open_world(data_dir, engine, tables=["touchpoints", "conversions", "spend", "customers"])
find_gaps(world, plan).require("03_channel_attribution")  # stops here on a world without orders
truth = load_truth(data_dir)
groups = dict(settings.channel_groups)
navigational = list(settings.navigational_channels)
campaign_window = (plan.start, plan.end)
mmm = attr.read_mmm(mmm_contributions_file)
personas = (
    pd.read_csv(persona_file).rename(columns={"persona": "segment"}) if persona_file else None
)
setup = {
    "campaign": plan.name,
    "lookback_days": lookback_days,
    "channel_groups": groups,
    "ground_truth": truth is not None,
    "persona_split": personas is not None,
    "navigational_channels": ", ".join(navigational) or "(none)",
    "holdout_regions": ", ".join(plan.holdout_regions) or "(none)",
    "mmm_contributions": mmm is not None,
}
facts(setup)

# %% [markdown]
# ## 1. Customer journeys
# Each conversion's journey is the customer's touches in the `lookback_days` before it and
# after their previous order (a touch credits one conversion only). Touches after a
# customer's last order form a non-converting journey (its last `lookback_days` of touches),
# which the Markov model needs to learn how often each path fails. The table counts
# everything that went in or was left out; conversions with no touch in the window are kept
# as the path `(no touch)` and reported as their own row by every model.

# %%
journey_settings = {
    "lookback_days": lookback_days,
    "interactions": interactions,
    "collapse_repeats": collapse_repeats,
    "channel_groups": groups,
    "half_life_days": half_life_days,
    "segments": personas,
}
# the journeys are built where the tables live (DuckDB, or Spark at warehouse scale); only
# the unique paths and the counts come back
journeys = attr.build_journeys(
    None, world.tables["touchpoints"], world.tables["conversions"], **journey_settings
)
present(journeys.report, digits=3)

# %% [markdown]
# ### Navigational channels
# Some touches capture demand rather than create it: a customer who has decided to buy types
# the shop's address (`direct`) or searches the brand name minutes before ordering. Counting
# them as persuasion hands them the credit for the decision they followed. The plan lists
# such channels (`navigational_channels`, default `direct`; add brand search or organic if
# yours behave so). They are removed from every journey once, so every model treats them as
# non-channels: Markov passes through them, Shapley does not count them as players, the
# rules skip them (as last non-direct skips `direct`). A conversion whose only touches were
# navigational becomes `(no touch)`. The table counts what the transformation changed.

# %%
navigational_paths = attr.drop_navigational(
    journeys.paths, navigational, collapse_repeats=collapse_repeats
)
paths = navigational_paths.paths
present(navigational_paths.report)

# %% [markdown]
# ## 2. Top paths
# The most frequent converting paths (navigational touches removed), with how many journeys
# on the same path did not convert. Single-touch paths dominate: most buyers were touched by
# one channel in the lookback window, so most of the arbitration is between few channels.

# %%
top = attr.top_paths(paths, n=15)
present(top, digits=3)

# %%
plots.plot_top_paths(top)
plt.show()

# %% [markdown]
# ## 3. Path length
# Longer journeys convert more often (more touches, more pressure), but most journeys are
# short: attribution mostly arbitrates between two or three touches.

# %%
plots.plot_path_lengths(attr.path_length_distribution(paths))
plt.show()

# %% [markdown]
# ## 4. Markov chain: transitions and removal effects
# The first-order transition matrix: from each channel (row), the probability of the next
# step (column), ending in `(conversion)` or `(null)`. The removal effect of a channel is the
# share of conversion probability lost if that channel disappeared from every journey,
# computed exactly from the absorbing chain (order `markov_order`).

# %%
plots.plot_transition_matrix(attr.transition_matrix(paths, order=1))
plt.show()

# %%
effects = attr.removal_effects(paths, order=markov_order)
present(effects, digits=3)

# %%
plots.plot_removal_effects(effects)
plt.show()

# %% [markdown]
# ## 5. All models side by side
# Shares of the touch-attributed conversions per channel (each column sums to 1). First and
# last touch give everything to one end of the journey; linear, time decay and
# position-based spread it by rule; Markov uses removal effects; Shapley splits each
# conversion over the coalition of channels that touched it (Zhao et al., 2018).

# %%
results = attr.run_models(
    paths,
    markov_order=markov_order,
    position_weights=tuple(position_weights),
)
shares = results[results["channel"] != attr.NO_TOUCH]
present(
    shares.pivot(index="channel", columns="model", values="share")[
        list(pd.unique(results["model"]))
    ],
    digits=3,
)

# %% [markdown]
# The same models with the navigational channels kept as channels (`before`) and removed
# (`after`): the credit they held moves to the channels that brought the customer to the
# decision.

# %%
results_with_navigational = attr.run_models(
    journeys.paths, markov_order=markov_order, position_weights=tuple(position_weights)
)
present(attr.shares_before_after(results_with_navigational, results), digits=3)

# %% [markdown]
# ### Explore interactively (JupyterLab)
# In `make lab` this shows sliders for the lookback window, the time-decay half-life, the
# touches counted, the Markov order and the position-based weights, and recomputes every
# model's channel shares as you move them. Reports and nbval show a one-line note instead.

# %%
from imclab import interactive

interactive.explore(
    interactive.attribution_explorer,
    world.touchpoints,
    world.conversions,
    lookback_days=lookback_days,
    half_life_days=half_life_days,
    interactions=interactions,
    markov_order=markov_order,
    position_weights=tuple(position_weights),
    channel_groups=groups,
    navigational_channels=navigational,
)

# %% [markdown]
# The black diamonds are the true shares of touch-caused conversions (simulated world only).

# %%
plots.plot_model_comparison(
    results, attr.true_shares(truth["channels"], groups, navigational) if truth else None
)
plt.show()

# %% [markdown]
# The ordered Shapley value keeps the position at which each channel entered the journey
# (1 = it opened the journey): channels that open journeys work at the awareness stage,
# channels that enter late close the sale.

# %%
plots.plot_ordered_shapley(attr.ordered_shapley(paths))
plt.show()

# %% [markdown]
# ## 6. How sure are the Markov and Shapley shares?
# Percentile intervals from resampling the journeys (`bootstrap_samples` times, fixed seed).
# Intervals that overlap mean the data cannot rank those channels.

# %%
ci = attr.bootstrap_shares(paths, n_boot=bootstrap_samples, markov_order=markov_order)
present(ci, digits=3)

# %%
plots.plot_bootstrap_intervals(ci)
plt.show()

# %% [markdown]
# ## 7. A causal model: additive hazard (survival attribution)
# The path models above see only the journeys: they share out every touched conversion and
# cannot say how many would have happened anyway. The additive-hazard model (Zhang, Wei and
# Ren 2014; Ji and Wang 2017) follows **every customer, converting or not, day by day**. A
# customer's chance of ordering on a day is an organic baseline (by weekday and month, lower
# in the weeks after a previous order) **plus** what each earlier exposure adds, decaying in
# time (a mix of decay curves with half-lives of 1 to 21 days, fitted per channel and
# interaction kind). A conversion's credit is split in the shares of its fitted hazard: the
# baseline's part is the conversions that would have happened anyway, the channels' parts
# are what they caused. The touches and orders are counted per customer and day where the
# tables live; the fit is a maximum likelihood on that aggregated panel. Intervals come from
# resampling customers (`bootstrap_samples` times, fixed seed).
#
# **Assumptions, and where real data may break them.**
# - *Effects add up and decay exponentially.* Strong synergies between channels or
#   saturation within a customer are not modelled.
# - *No unmeasured confounding.* Exposure must not be targeted at customers who were about
#   to buy anyway. Retargeting, brand search and email to recent visitors follow intent:
#   declare them navigational, or expect them over-credited. Customers more likely to buy
#   for reasons of their own (a higher baseline) who are also easier to reach inflate the
#   channels that reach them.
# - *A touch acts from the next day on.* Same-day touches (clicks in the buying session) are
#   not counted as causes of that day's order.
# - *Every exposure is in the log.* Untracked impressions (TV, outdoor) get no credit unless
#   they are in the touchpoints table; their effect ends up in the baseline.
# - *The customers table lists everyone who could buy*, with their sign-up date (no one is at
#   risk before it).

# %%
panel = attr.build_panel(
    world.tables["touchpoints"],
    world.tables["conversions"],
    world.tables["customers"],
    interactions=interactions,
    navigational_channels=navigational,
    channel_groups=groups,
    campaign=plan.name,
    campaign_window=campaign_window,
    holdout_regions=plan.holdout_regions,
)
present(panel.report)

# %% [markdown]
# The fit, with the share of each channel and its interval:

# %%
assessment = attr.assess(
    results,
    ci,
    panel,
    customers=world.tables["customers"],
    conversions=world.tables["conversions"],
    holdout_regions=plan.holdout_regions,
    campaign_window=campaign_window,
    mmm=mmm,
    n_boot=bootstrap_samples,
)
hazard = assessment.hazard
present(hazard.intervals_, digits=3)

# %% [markdown]
# Conversions the organic baseline explains (would have happened anyway) against those the
# channels caused, and how much the weeks after an order lower the hazard:

# %%
present(
    pd.Series(
        {
            "conversions": float(panel.events["orders"].sum()),
            "baseline (would have happened anyway)": hazard.baseline_conversions_,
            "caused by the channels": float(hazard.credit_["conversions"].sum()),
            **{f"hazard multiplier, previous order {k}": v for k, v in hazard.recency_.items()},
        },
        name="value",
    ),
    digits=3,
)

# %%
plots.plot_bootstrap_intervals(hazard.intervals_)
plt.show()

# %% [markdown]
# ## 8. Reconcile with incrementality
# The geo holdout (regions the campaign left dark, `holdout_regions` in the plan) measures
# how many conversions the campaign added among treated customers in its window (difference
# in differences, as in the review notebook). A model with a baseline implies its own number:
# the hazard its campaign touches added. The path models have no baseline: they credit every
# touched conversion to the channels, so the conversions they imply are all the treated
# customers' window conversions with a touch before them. With a marketing-mix model's
# channel contributions (`mmm_contributions_file`: `channel,contribution`, the orders the
# model credits to each channel, e.g. the `contribution` column of notebook 04's ROAS table)
# each model's ranking is also compared with the MMM's (Spearman).

# %%
did = assessment.holdout
(
    present(did.summary(), digits=3)
    if did is not None
    else "no holdout region in the plan: add holdout_regions to compare with incrementality"
)

# %%
plots.plot_holdout_reconciliation(
    assessment.evidence, did.incremental_conversions
) if did is not None else "no holdout: no figure"
plt.show()

# %%
(
    "no mmm_contributions_file given: pass a channel,contribution CSV (e.g. notebook 04's "
    "contributions) to compare"
    if mmm is None
    else present(attr.mmm_comparison(assessment.results, mmm), digits=3)
)

# %% [markdown]
# ## 9. Which model to use: a recommendation from evidence available on real data
# Evidence that needs no ground truth: does the model separate caused from organic
# conversions (counterfactual), does its campaign-attributable number agree with the
# holdout, does it predict conversion on customers it was not fitted on better than the
# baseline alone (held-out log-likelihood, 2-fold by customer), and are its shares stable
# under resampling (mean bootstrap interval width).

# %%
present(assessment.heldout, digits=4)

# %%
present(assessment.evidence, digits=3)

# %%
recommendation = assessment.recommendation
present(pd.DataFrame({"recommended": recommendation.model, "because": recommendation.reasons}))

# %% [markdown]
# ## 10. Cost per acquisition and return on ad spend
# Each model's credits joined to the media spend of the whole data period (the journeys
# cover every conversion in the data). Unpaid channels (SEO, content, direct) have no CPA;
# a paid channel with spend but no credited conversion would show an infinite CPA and a
# note rather than disappear.

# %%
all_results = assessment.results
costs = attr.cost_per_channel(all_results, world.tables["spend"], channel_groups=groups)
present(
    costs[costs["spend"] > 0].pivot(index="channel", columns="model", values="cpa")[
        list(pd.unique(all_results["model"]))
    ],
    digits=2,
)

# %%
plots.plot_cost_per_channel(costs, "cpa")
plt.show()

# %%
plots.plot_cost_per_channel(costs, "roas")
plt.show()

# %% [markdown]
# ## 11. Was the recommendation right? Scoring against the ground truth
# On a simulated world the true share of touch-caused conversions of every channel is
# known (the navigational channels are left out of the truth too, as out of the models).
# MAE is the mean absolute difference of channel shares (0.05 = five points off per
# channel on average); Spearman is the rank correlation with the true shares (1 = same
# ranking).

# %%
scores = (
    attr.score_models(all_results, truth["channels"], groups, exclude=navigational)
    if truth
    else None
)
(
    present(scores, digits=3)
    if scores is not None
    else "no ground truth in this data folder: scoring skipped"
)

# %%
plots.plot_truth_scores(scores) if scores is not None else "no ground truth: no figure"
plt.show()

# %% [markdown]
# **Reading the scores.** With the navigational visits removed, the path models no longer
# hand the decision to buy to the address the buyer typed (compare the before/after table of
# section 5), but they still rank channels by reach: channels with many cheap impressions
# (display, social) sit on many journeys and collect credit beyond their effect, while SEO,
# content and paid search, whose touches move the purchase hazard most, are under-credited.
# The additive-hazard model also sees the customer-days without an order: a channel that
# reaches many people who then do not buy earns little, and the conversions that would have
# happened anyway stay with the baseline. The table checks the recommendation against the
# truth (`right`: the recommended model is the closest to the truth, within 0.005 MAE).

# %%
check = attr.check_recommendation(recommendation, scores) if scores is not None else None
(
    present(check, digits=4)
    if check is not None
    else "no ground truth: the recommendation cannot be checked"
)

# %%
best = scores.iloc[0] if scores is not None else None
top_markov = (
    results[(results["model"] == f"markov_{markov_order}") & (results["channel"] != attr.NO_TOUCH)]
    .sort_values(["share", "channel"], ascending=[False, True])
    .iloc[0]
)
headlines = {
    "best_model": None if best is None else best["model"],
    "best_model_mae": None if best is None else round(float(best["mae"]), 4),
    "last_touch_mae": None
    if scores is None
    else round(float(scores.set_index("model").loc["last_touch", "mae"]), 4),
    "top_channel_markov": top_markov["channel"],
    "top_channel_markov_share": round(float(top_markov["share"]), 4),
    "recommended_model": recommendation.model,
    "recommended_model_mae": None if check is None else round(float(check["mae"].iloc[0]), 4),
    "recommendation_right": None if check is None else bool(check["right"].iloc[0]),
    "conversions": int(paths["conversions"].sum()),
    "no_touch_conversions": journeys.count("conversions with no touch in the window"),
}
record_headlines(report_dir, "attribution", headlines)
facts(headlines)

# %% [markdown]
# ## 12. By persona
# With a persona file (written by the persona notebook), the shares of every model per
# persona: the same channel can open journeys for one persona and close them for another.

# %%
by_persona = (
    attr.by_segment(paths, attr.run_models, markov_order=markov_order).pivot_table(
        index=["segment", "channel"], columns="model", values="share"
    )
    if personas is not None
    else pd.DataFrame({"note": ["no persona_file given: no persona split"]})
)
present(by_persona, digits=3)
