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
# # 04 Marketing-mix model: what did each channel's money cause?
#
# Attribution (notebook 03) shares out the orders that followed a touch; it cannot tell
# which of them would have happened anyway. A **marketing-mix model** explains the daily
# orders themselves: a baseline (level, trend, weekday) plus, for each paid channel, a
# carry-over (geometric adstock) and diminishing returns (logistic saturation) of its daily
# spend. Fitted with PyMC-Marketing's Bayesian `MMM`, every figure comes with a 90 %
# highest-density interval (HDI). The geo holdout's measured campaign lift then calibrates
# the model, and the budget optimiser works on its posterior response curves; the review
# (notebook 05) uses those curves for next campaign's budget.
#
# **What it can resolve at the sample's size.** The sample world has about 24 orders a day
# and its channels' spend rises and falls together with the campaign's phases. That is
# enough to say how many orders the media caused in total and what the campaign as a whole
# added (the holdout pins it down), but not, from the daily series alone, how that total
# splits between the channels: alone, every channel's ROAS interval reached down to about
# zero. The split therefore comes from the customer-level attribution (notebook 03's
# additive-hazard model), added to the model as a measurement of each channel's share.
# Measured against the simulator's truth on four worlds of 5,000 to 20,000 customers
# (`benchmarks/README.md`, one of them kept unseen while the method was chosen): the ROAS
# below, the model's total split by those shares, contains the true ROAS for every channel
# on all four, its intervals are 0.85-1.06 times the true ROAS wide (2.1-2.9 times with the
# daily data alone) and its posterior means rank the channels with Spearman 0.89-0.94. What
# the daily orders cannot give is the *shape* of each channel's curve (where it saturates),
# which is what a budget split works on: on the model's own curves the split captured -2 to
# 41 % of the gain available there. So the budget uses each channel's **delivery curve**
# instead, fitted from the logs (how many touches a day of the campaign's spend bought),
# times its orders per touch (the same total and split as the ROAS): 85-92 % of the
# available gain captured on the four worlds, and the gain's interval covers the true gain
# on all of them.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan
data_dir: str = "../data/sample"  # brand-world tables
report_dir: str = ""  # where to write report files (empty: nowhere)
adstock_days: int = 14  # longest carry-over of a day's spend, in days
draws: int = 500  # posterior draws kept per chain
tune: int = 1000  # sampler tuning steps per chain
chains: int = 2  # sampler chains (run in parallel)
target_accept: float = 0.9  # sampler acceptance target (raise it if there are divergences)
seed: int = 1  # random seed of the sampler, the calibration and the predictive check
attribution_shares: bool = True  # split the media's total by the hazard attribution's shares
share_bootstrap: int = 30  # customer resamples for the attribution shares' errors
next_budget: float = 0.0  # media budget of the next campaign to split (0: the plan's)
bound_multiples: list = []  # each channel within [low, high] x its scaled share (empty: plan's)
engine: str = "duckdb"  # where the event tables are aggregated: duckdb, or spark (warehouse)

# %% [markdown]
# Derived values: the plan, the validated tables, the simulator's ground truth when the
# data is simulated, and the model input: one row per day with orders, revenue, total spend
# per paid channel (always-on and campaign) and the controls (trend, weekday).

# %%
import matplotlib.pyplot as plt
import pandas as pd

from imclab import mmm
from imclab.errors import ImclabError
from imclab.plan import load_plan
from imclab.plotting import budget as value_plots
from imclab.plotting import mmm as mmm_plots
from imclab.report.headlines import record_headlines
from imclab.report.sections import find_gaps
from imclab.report.tables import facts, present
from imclab.review import budget, experiments
from imclab.simulate import load_truth
from imclab.warehouse import open_world

plan = load_plan(campaign_file)
world = open_world(data_dir, engine)
gaps = find_gaps(world, plan)
gaps.require("04_marketing_mix")  # stops here when the world cannot feed the model
tables = world.tables
truth = load_truth(data_dir)
data = mmm.build_input(tables["spend"], tables["conversions"], campaign=plan.name)
facts(
    {
        "days": data.n_days,
        "window": f"{data.frame['date'].min():%Y-%m-%d} to {data.frame['date'].max():%Y-%m-%d}",
        "orders_per_day": round(float(data.frame["orders"].mean()), 1),
        "channels": data.channels,
        "controls": data.controls,
        "holdout_regions": list(plan.holdout_regions),
    }
)

# %%
gaps.first("channel_spend")  # a planned channel without spend is not modelled

# %% [markdown]
# ## Channel split measured at customer level
# The daily series pins down what the media caused in total, not how it splits: during the
# campaign every channel's spend rises and falls together. The customer-level additive-hazard
# attribution (notebook 03, section 7) follows every customer day by day and measures each
# channel's share of the orders the channels caused, with a customer bootstrap. Its shares,
# renormalised over the paid channels below (channels without spend stay in the baseline),
# enter the model as one more likelihood term on the model's own split, with the bootstrap
# error widened by a quarter of the share for the attribution's own bias, which the
# bootstrap cannot see (`imclab.mmm.priors`). The total stays with the daily orders and the
# holdout. The attribution also says which orders each channel caused, so a channel's ROAS
# values its orders at their own mean value, and `carryover` is how long a channel's effect
# lasts as the attribution measures it (retention per day; the model's adstock is much
# shorter), which the plan (notebook 07) uses to count what falls within a campaign's dates.
# The attribution is refitted here on the same tables (about 20 s on the sample) rather than
# handed over from notebook 03, so this notebook runs on its own. `attribution_shares =
# False` fits the daily data alone.

# %%
shares = None
if attribution_shares:
    try:
        shares = mmm.measure_shares(tables, plan, data.channels, n_boot=share_bootstrap)
    except ImclabError as err:
        print(f"Fitted on the daily data alone: no channel shares could be measured ({err}).")
present(shares.set_index("channel"), digits=3) if shares is not None else None

# %% [markdown]
# ## Fit and convergence
# The sampler (PyMC's NUTS, `chains` chains run in parallel) draws the posterior. Split R-hat
# near 1, a large effective sample size and no divergent transitions mean the draws can be
# trusted; otherwise the line below says what failed and what to change.

# %%
model = mmm.MarketingMix(
    l_max=adstock_days,
    draws=draws,
    tune=tune,
    chains=chains,
    target_accept=target_accept,
    random_state=seed,
).fit(data, shares=shares)
check = model.diagnostics()
print(check.message or "Converged: R-hat, effective sample size and divergences are all fine.")
pd.Series(
    {
        "r_hat_max": round(check.r_hat_max, 2),
        "ess_bulk_min": "at least 200" if check.ess_bulk_min >= 200 else "below 200",
        "divergences": check.divergences,
    }
)

# %% [markdown]
# ## Does the model reproduce the data? (posterior predictive check)
# Observed daily orders against the model's 90 % predictive band. About 90 % of days should
# fall inside it; a pattern of misses (a trend, a season, an event) is something the
# baseline lacks.

# %%
ppc = model.posterior_predictive()
mmm_plots.plot_fit(ppc)
plt.show()
pd.Series({"days_inside_90_band": f"{ppc.attrs['coverage']:.0%}", "r2": round(ppc.attrs["r2"], 1)})

# %% [markdown]
# ## Calibration by the geo holdout
# The holdout regions saw no campaign media, so the difference-in-differences of their orders
# against the treated regions' measures the whole campaign's lift
# (`imclab.review.experiments.holdout_did`). The model makes its own estimate of the same
# thing: orders with the campaign's spend minus orders without it, over the campaign window.
# The measurement is added to the model as one more likelihood term (it weighs the posterior
# draws by how well each agrees with it; `imclab.mmm.calibrate`). Without holdout regions the
# model stays uncalibrated and says so.

# %%
did = (
    experiments.holdout_did(
        tables["customers"], tables["conversions"], plan.holdout_regions, plan.start, plan.end
    )
    if plan.holdout_regions
    else None
)
calibration = mmm.calibrate(
    model, plan.start, plan.end, did.incremental_conversions if did else None, random_state=seed
)
print(calibration.message)
lift_table = calibration.lift.set_index("source")
if truth is not None:
    lift_table["truth"] = truth["holdout"]["campaign_incremental_conversions_in_window"]
lift_table.round(-1)

# %% [markdown]
# ## ROAS by channel, before and after calibration
# ROAS is the revenue of the orders a channel caused (its contribution, valued at the mean
# value of the orders the attribution credits to the channel, or at the window's mean order
# value without it) per unit of its spend over the whole window. A channel's contribution is
# the media's total from the model (per posterior draw) times a draw of the attribution's
# `measured_share` with its error: the daily orders and the holdout set the total, the
# attribution the split, the same split the budget below rests on (the model's own split,
# which the daily series pulls away from the shares, missed TV's true ROAS on every test
# world; `benchmarks/README.md`). Without the shares it is the model's own split. `share` is
# the channel's part of the media's orders; marginal ROAS (`mroas`) is the return on one
# more unit of daily spend at the current level. Intervals are 90 % HDIs.
# Where the data is simulated, the true ROAS (the revenue the channel's touches truly
# caused per unit of spend) is marked with a cross.

# %%
before = model.channel_summary(random_state=seed)
after = model.channel_summary(draws=calibration.draws, random_state=seed)
true_roas = None
if truth is not None:
    caused = truth["channels"].set_index("channel")["true_revenue"]
    true_roas = caused.reindex(data.channels) / data.spend.sum()
roas_cols = ["channel", "spend", "contribution", "contribution_low", "contribution_high", "share",
             "roas", "roas_low", "roas_high", "mroas", "mroas_low", "mroas_high"]  # fmt: skip
roas_table = after[roas_cols].set_index("channel")
roas_table["roas_before_calibration"] = before.set_index("channel")["roas"]
if shares is not None:
    roas_table.insert(5, "measured_share", shares.set_index("channel")["share"])
roas_table.round({c: 3 if "share" in c else 1 for c in roas_table.columns})

# %%
mmm_plots.plot_roas(
    {"before calibration": before, "after calibration": after}
    if calibration.calibrated
    else {"uncalibrated": before},
    truth=true_roas,
)
plt.show()

# %% [markdown]
# ## Response curves
# How many orders a day each channel brings at a steady daily spend. The shape comes from the
# logs: each day's spend of a channel bought a number of touches (impressions, clicks, opens
# in the touchpoints table), and that **delivery curve** (a saturating Hill curve per
# channel, fitted to the daily touches the campaign bought against the campaign's daily
# spend, with a bootstrap over days; `imclab.mmm.delivery`) says where the channel
# saturates. The curves are of the **campaign's own spend**, the budget being split: the
# always-on spend keeps running and buys its own touches, whose effect adds to the
# campaign's, so nothing sits under these curves (curves of all streams summed, with the
# always-on spend under the budget, did worse against the truth; a campaign with too few
# days of a channel's spend falls back to them, and says so). The level is the orders one
# touch causes: the calibrated media total split by the attribution's shares (as in the ROAS
# table), per touch of any stream in the window. Each posterior draw is paired with a
# bootstrap replicate, so the band carries the uncertainty of the total, the split and the
# shape. Beyond a channel's largest observed day the curve
# is an extrapolation of the fitted shape.

# %%
try:
    delivery, note = mmm.fit_delivery(
        tables["touchpoints"], tables["spend"], data.channels, plan.name, random_state=seed
    )
    if note:  # the campaign stream could not be fitted: all streams instead, and why
        print(note)
    curves = mmm.PosteriorCurves.from_delivery(
        model, delivery, calibration.draws, shares=shares, random_state=seed
    )
    delivery_table = delivery.params_.set_index("channel")
except ImclabError as err:  # e.g. a channel without touches in the log
    curves = mmm.PosteriorCurves.from_model(model, calibration.draws)
    delivery_table = None
    print(f"Response curves: the model's own saturation curves; no delivery curves ({err}).")
present(delivery_table, digits=3) if delivery_table is not None else None

# %%
curve_frame = curves.curve_frame()
ax = value_plots.plot_response_curves(curve_frame)
ax.set_title("Response curves (band: 90 % posterior interval)")
plt.show()

# %% [markdown]
# ## Budget on the posterior
# The split of the next budget that maximises the posterior expected revenue, each channel
# within `bound_multiples` times its share of the campaign's actual mix scaled to that budget
# (the bounds scale with the budget). On the campaign's own curves the budget's orders are
# those it causes itself; the always-on spend keeps running beside it (on the model's own
# curves, the fallback, the budget goes on top of it: `budget.curve_base`). The gain's
# interval is a 90 % interval over the posterior draws and delivery replicates. The response
# curves are written to the report folder for the review (notebook 05) and the plan
# (notebook 07).

# %%
settings = plan.resolved_settings(next_budget=next_budget, bound_multiples=bound_multiples)
inputs = budget.budget_inputs(tables["spend"], plan, settings, channels=data.channels)
allocation = budget.optimize_budget(
    curves,
    inputs.total,
    inputs.n_days,
    actual=inputs.actual,
    bounds=inputs.bounds,
    value_per_conversion=data.revenue_per_order,
    base_daily_spend=inputs.base_daily_spend,
)
if report_dir:
    curves.write(report_dir)
allocation.allocation[
    ["channel", "lower", "upper", "actual_at_budget", "recommended_spend", "change",
     "actual_conversions", "recommended_conversions", "marginal_roas"]
].round(0)  # fmt: skip

# %%
value_plots.plot_allocation(allocation.allocation)
plt.show()
pd.Series(allocation.summary)[
    ["total_budget", "actual_conversions", "recommended_conversions", "expected_gain",
     "gain_lower", "gain_upper"]
].round(0)  # fmt: skip

# %% [markdown]
# ## Against the truth (simulated worlds only)
# The simulator knows what each channel truly caused. `inside_hdi` says whether the true ROAS
# lies in the calibrated 90 % HDI; on a world this small, wide intervals that contain the
# truth are the honest answer.

# %%
if true_roas is not None:
    check_truth = after.set_index("channel")[["roas", "roas_low", "roas_high"]].assign(
        true_roas=true_roas
    )
    check_truth["inside_hdi"] = check_truth["true_roas"].between(
        check_truth["roas_low"], check_truth["roas_high"]
    )
    display_truth = check_truth.round(1)
else:
    display_truth = "No ground truth: the data is not simulated."
display_truth

# %% [markdown]
# ## Headline numbers for the report index

# %%
model_lift = calibration.lift.set_index("source").iloc[-1]  # after calibration, if calibrated
top = after.sort_values("roas", ascending=False, kind="mergesort").iloc[0]
headlines = {
    "campaign_lift": round(float(model_lift["lift"])),
    "campaign_lift_low": round(float(model_lift["low"])),
    "campaign_lift_high": round(float(model_lift["high"])),
    "holdout_lift": round(float(did.incremental_conversions[0])) if did else None,
    "calibrated": calibration.calibrated,
    "converged": check.ok,
    "top_roas_channel": f"{top['channel']} ({top['roas']:.2f}, 90 % HDI {top['roas_low']:.2f}"
    f"-{top['roas_high']:.2f})",
}
record_headlines(report_dir, "marketing_mix", headlines)
facts(headlines)
