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
# # 06 Channel integration: do the channels work together?
#
# The central claim of *integrated* marketing communications is that channels reinforce one
# another: the message reaches the same people through several routes, and the journey flows
# from first contact to repeat purchase. The other notebooks measure each channel on its own;
# this one measures how they work together, with uncertainty: who is reached by which
# channels together (overlap and incremental reach), how response grows with the number of
# touches (reach and frequency), whether joint exposure is worth more than the sum of its
# parts (synergy), how journeys flow and where the plan's funnel leaks, and whether
# customers come back (cohort retention against the CLV model's expectation). Where the data
# is simulated with the integration truth, every estimate is checked against it.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan
data_dir: str = "../data/sample"  # brand-world tables
report_dir: str = ""  # where to write report files (empty: nowhere)
engine: str = "duckdb"  # where the tables are read and reduced: duckdb, or spark
persona_file: str = ""  # customer_id,persona CSV to split results by persona (empty: none)
interactions: list = ["impression", "click", "open", "visit"]  # touch kinds that count
navigational_channels: list = []  # left out of synergy and reach (empty: the plan's)
max_frequency: int = 6  # touch counts from this up are pooled ("6+")
flow_steps: int = 4  # touches per journey shown in the flow chart
retention_months: int = 6  # months since the first order shown in the retention curves
min_customers: int = 30  # fewest customers behind an estimate (fewer: no estimate)

# %% [markdown]
# Derived values: the plan (its dates are the window; its `funnel` the funnel steps), the
# validated tables, the simulator's ground truth (absent for real data), the persona labels
# when given, and each customer's touches per channel and orders in the window. That
# customer table stays in the engine: every section below brings back only counts.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from imclab.config import CHANNELS
from imclab.integration import exposure as ex
from imclab.integration import flow, reach, retention, synergy
from imclab.plan import load_plan
from imclab.plotting import integration as plots
from imclab.report.sections import find_gaps
from imclab.report.tables import facts, present
from imclab.simulate import load_truth
from imclab.warehouse import open_world

plan = load_plan(campaign_file)
world = open_world(data_dir, engine, tables=["customers", "touchpoints", "conversions", "spend"])
find_gaps(world, plan).require("06_channel_integration")  # stops here without campaign orders
truth = load_truth(data_dir) or {}
personas = pd.read_csv(persona_file) if persona_file else None
navigational = list(plan.resolved_settings(navigational_channels=navigational_channels)
                    .navigational_channels)  # fmt: skip
channels = [c for c in CHANNELS if c not in navigational]
window = {"start": plan.start, "end": plan.end}
exposure = ex.customer_exposure(
    world.customers, world.touchpoints, world.conversions, **window,
    channels=channels, interactions=interactions, persona_labels=personas,
)  # fmt: skip
freq = ex.frequency_cells(exposure, channels, max_frequency)  # the one query of sections 1-3
cells = ex.exposure_cells(freq, channels)
setup = {
    "campaign": plan.name,
    "window": f"{plan.start} .. {plan.end}",
    "channels": ", ".join(channels),
    "customers": int(cells["customers"].sum()),
    "persona split": persona_file or "none",
    "integration truth": "exposure" in truth,
}
facts(setup)

# %% [markdown]
# ## 1. Overlap and incremental reach
# Customers reached in the campaign window by exactly each combination of channels (an UpSet
# chart: the bars are the combinations, largest first; the dots below say which channels make
# each up). A six-way Venn diagram cannot be read; this can.

# %%
overlap = reach.channel_overlap(cells, channels, top=15)
plots.plot_upset(overlap, channels)
plt.show()

# %% [markdown]
# Each channel's reach split into the customers only it reaches (its **incremental reach**:
# lost if the channel were dropped) and those other channels reach too (**duplication**). A
# channel with high duplication mostly repeats the message to people who already hear it;
# that is frequency, not reach.

# %%
reached = reach.incremental_reach(cells, channels)
present(reached, percent=r"share", digits=3)

# %%
plots.plot_incremental_reach(reached)
plt.show()

# %% [markdown]
# ## 2. Reach and frequency
# Per channel: reach, average frequency among the reached and the share reached three times
# or more.

# %%
present(reach.frequency_summary(freq), digits=3)

# %% [markdown]
# The response to exposure: incremental orders per customer at each touch count, relative to
# customers the channel did not touch, controlling for the other channels' reach and for the
# strata (persona, orders before the campaign). The band is the 95 % interval; where the curve
# flattens (the `marginal_orders` column falls to zero), extra touches stop paying: that is the
# effective frequency. When the data is simulated with the integration truth, the crosses are
# the orders each channel truly caused at that count.

# %%
rf = reach.reach_frequency(freq, channels)
if "exposure" in truth:
    rf = reach.check_against_truth(rf, truth["exposure"], max_frequency)
plots.plot_frequency_response(rf, channels, cap=max_frequency)
plt.show()

# %%
checked = ["true_incremental", "covered"] if "covered" in rf else []
shown = ["channel", "touches", "customers", "conversion_rate", "conversion_low",
         "conversion_high", "incremental_orders", "incremental_low", "incremental_high",
         "marginal_orders", *checked]  # fmt: skip
present(rf[shown], percent=r"^conversion", digits=3)

# %% [markdown]
# ## 3. Synergy
# Is being reached by two channels worth more than the sum of each alone? A customer-level
# model of orders in the window on each channel's reach, every pair's joint reach and the
# strata; a pair's coefficient is the extra orders per customer reached by both beyond the
# two single effects, with a 95 % interval. Framed cells have intervals that exclude zero:
# with 28 pairs, one or two are expected by chance alone, so read them as leads to test
# (a geo or holdout experiment that varies both channels), not as proof.

# %%
pairs = synergy.channel_synergy(cells, channels, min_customers=min_customers)
plots.plot_synergy_matrix(pairs, channels)
plt.show()

# %%
if "synergy" in truth:
    pairs = pairs.merge(
        truth["synergy"][["channel_a", "channel_b", "extra_orders_per_customer"]],
        on=["channel_a", "channel_b"], how="left",
    ).rename(columns={"extra_orders_per_customer": "true_extra_orders"})  # fmt: skip
present(pairs.sort_values("p_value", kind="mergesort").head(10), digits=4)

# %% [markdown]
# ## 4. Journey flow
# The first touches of each customer's journey in the window (consecutive touches of the same
# channel merged), and whether it ends in an order. Wide bands are the common routes; the
# last column shows how each route ends.

# %%
links = flow.journey_flow(
    world.touchpoints, world.conversions, **window,
    channels=[*channels, *navigational], interactions=interactions, steps=flow_steps,
)  # fmt: skip
plots.plot_journey_flow(links, [*channels, *navigational])
plt.show()

# %% [markdown]
# ## 5. The plan's funnel
# The steps the plan declares (`funnel:` in the campaign YAML; by default reached, engaged,
# visited, ordered, ordered again). A customer reaches a step with their next matching event
# after the previous step's, so the funnel never widens; `drop_off` is the share lost at each
# step, with the interval of the step conversion. Per persona when a persona file is given.

# %%
funnel = flow.plan_funnel(
    world.touchpoints, world.conversions, **window, steps=plan.funnel_steps,
    persona_labels=personas,
)  # fmt: skip
plots.plot_plan_funnel(funnel)
plt.show()

# %%
present(funnel, percent=r"share|conversion|drop_off", digits=3)

# %% [markdown]
# ## 6. Cohort retention
# Repeat orders per customer, cumulated by months since the first order, for each
# acquisition month and each first-touch channel; every point uses only the customers observed
# for that long. "First order" is the first in the data: for customers who bought before the
# data starts, the first cohort mixes new and returning buyers. The dashed line is the BG/NBD
# model's expectation for a new customer (the model behind the review's customer lifetime
# value): cohorts above it come back more than the model assumes.

# %%
until = {"observation_end": plan.measurement_end}
expected = retention.expected_repeat_orders(world.conversions, **until, months=retention_months)
by_month = retention.retention_curves(
    world.conversions, world.touchpoints, by="acquisition_month", **until,
    months=retention_months, min_customers=min_customers,
)  # fmt: skip
plots.plot_retention(by_month, expected, title="Repeat purchases by acquisition month")
plt.show()

# %%
by_channel = retention.retention_curves(
    world.conversions, world.touchpoints, by="first_touch_channel", **until,
    months=retention_months, min_customers=min_customers,
)  # fmt: skip
plots.plot_retention(by_channel, expected, title="Repeat purchases by first-touch channel")
plt.show()

# %%
present(by_channel.pivot(index="cohort", columns="month", values="repeat_orders"), digits=3)
