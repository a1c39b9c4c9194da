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
# # 01 Situation analysis: where does the brand stand before the campaign?
#
# The **S** of SOSTAC. Before objectives, strategy and tactics, the planning team needs an
# honest picture of the starting point: how sales are moving, how the brand's funnel compares
# with the competitors' (and where it leaks), how customers travel from first touch to repeat
# purchase, what each channel delivers today, and what that means as strengths and
# weaknesses. The notebook ends with a SMART check of the campaign plan's objectives against
# the data, so unsound targets are caught before money is spent.
#
# Every table below comes from a pure function in `imclab.situation` or `imclab.kpis`
# (tested), and every figure from `imclab.plotting.situation`.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan
data_dir: str = "../data/sample"  # brand-world tables
report_dir: str = ""  # where to write report files (empty: nowhere)
analysis_start: str = ""  # first day of the analysis window (empty: first day of the data)
analysis_end: str = ""  # last day of the analysis window (empty: last day of the data)
competitors: list = []  # competitor brands to compare (empty: the competitors of the plan)
baseline_start: str = ""  # first day of the comparison baseline (empty: the plan's)
baseline_end: str = ""  # last day of the baseline (empty: the plan's)
persona_file: str = ""  # customer_id,persona CSV to split the journey by persona (empty: none)
lookback_days: int = 0  # an order counts for a channel touched this many days before (0: plan)
min_respondents: int = 30  # fewest survey respondents per brand and wave for an interval
engine: str = "duckdb"  # where the event tables are aggregated: duckdb, or spark (warehouse)

# %% [markdown]
# Derived values: the plan, the validated tables, the windows and the brands compared.
# The baseline period defaults to everything before the campaign start: the "before"
# against which the post-campaign review will judge the campaign. With `engine="spark"` the
# event tables stay in Spark and every table below is aggregated there.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import imclab.situation as sit
from imclab.kpis import kpi_table
from imclab.plan import load_plan
from imclab.plotting import situation as plots
from imclab.report.headlines import record_headlines
from imclab.report.sections import find_gaps, skipped
from imclab.report.tables import facts, present
from imclab.warehouse import open_world

pd.set_option("display.max_colwidth", None)
plan = load_plan(campaign_file)
settings = plan.resolved_settings(
    baseline_start=baseline_start, baseline_end=baseline_end, lookback_days=lookback_days
)
world = open_world(data_dir, engine)
tables = world.tables
orders = tables["conversions"]
gaps = find_gaps(world, plan)  # inputs this world lacks: each section below says so
start, end = sit.analysis_window(world.report, analysis_start, analysis_end)
base_start = pd.Timestamp(settings.baseline_start)
base_end = pd.Timestamp(settings.baseline_end)
survey = tables.get("survey")
brands = [plan.brand, *(competitors or plan.competitors)]
personas = pd.read_csv(persona_file) if persona_file else None
setup = {
    "campaign": f"{plan.title} ({plan.start} .. {plan.end})",
    "analysis window": f"{start.date()} .. {end.date()}",
    "baseline period": f"{base_start.date()} .. {base_end.date()}",
    "brands": ", ".join(brands),
    "persona split": persona_file or "none",
}
facts(setup)

# %% [markdown]
# ## 1. Market and sales
# Daily revenue split by STL (seasonal-trend decomposition with LOESS, robust fit) into a
# **trend**, a **weekly seasonality** and a remainder. Look at the trend's direction before
# the campaign (the organic momentum the campaign rides on) and at the weekday pattern
# (when to schedule sends and bursts).

# %%
decomposition = seasonality = growth = sales = None
if gaps.orders:
    display(gaps.note("orders"))
else:
    decomposition = sit.sales_decomposition(orders, start, end, "revenue")
    plots.plot_sales_trend(decomposition)
    plt.show()

# %% [markdown]
# Weekday effect relative to the trend: +0.05 means that weekday sells 5 % above trend.

# %%
if decomposition is not None:
    seasonality = sit.weekly_seasonality(decomposition)
    plots.plot_weekly_seasonality(seasonality)
    plt.show()

# %% [markdown]
# Weekly orders and revenue with week-over-week growth (partial weeks at the window's edges
# get no growth figure), then the summary figures the SWOT and SMART checks use.

# %%
growth = None if gaps.orders else sit.sales_growth(orders, start, end, "W")
present(growth, digits=3) if growth is not None else None

# %%
sales = None if growth is None else sit.sales_summary(decomposition, growth)
present(sales, digits=3) if sales is not None else None

# %% [markdown]
# ### Share of voice and share of market
# Share of voice compares the brand's media weight with the competitors'. The data has
# competitor media only if `spend.csv` carries a `brand` column; otherwise the table says so
# and shows **share of mind** (each brand's share of aided awareness in the baseline survey
# waves) instead. Share of market is proxied by each brand's share of purchase intenders.

# %%
voice = market = None
no_shares = skipped("survey") if survey is None else gaps.first("competitors")
if no_shares is not None:
    display(no_shares)
else:
    voice = sit.share_of_voice(tables["spend"], survey, brands, base_start, base_end)
    plots.plot_shares(voice)
    plt.show()

# %%
present(voice, digits=3) if voice is not None else None

# %%
market = None if no_shares else sit.share_of_market(survey, brands, base_start, base_end)
present(market, digits=3) if market is not None else None

# %% [markdown]
# ## 2. Brand funnel (survey)
# Awareness -> consideration -> preference -> purchase intent -> loyalty for the brand and
# each competitor, pooled over the baseline waves, with 95 % Wilson intervals. `share` is of
# all respondents; `conversion` is of the previous stage (loyalty: promoters among aware
# respondents who answered the NPS question; its row also carries the NPS).

# %%
funnel = leaks = waves = None
funnel_warnings = pd.DataFrame(columns=["group", "brand", "stage", "warning"])
if survey is None:
    display(skipped("survey"))
else:
    funnel = sit.brand_funnel(
        survey, brands, base_start, base_end, pooled=True, min_respondents=min_respondents
    )
    if funnel.empty:  # no wave in the baseline period: nothing to compare
        display(skipped("survey_waves", start=f"{base_start:%Y-%m-%d}", end=f"{base_end:%Y-%m-%d}"))
        funnel = None
    else:
        plots.plot_brand_funnel(funnel)
        plt.show()

# %%
columns = ["brand", "stage", "respondents", "reached", "share", "share_low", "share_high"]
columns += ["conversion", "conversion_low", "conversion_high", "nps", "warning"]
present(funnel[columns], digits=3) if funnel is not None else None

# %% [markdown]
# **Where the brand leaks.** Each stage's conversion against the best competitor's, with a
# two-proportion z-test. The biggest leak is the stage with the lowest index (brand / best
# competitor): the first place to aim the campaign's message.

# %%
if funnel is not None and gaps.competitors:
    display(gaps.note("competitors"))
elif funnel is not None:
    leaks = sit.funnel_leaks(funnel, plan.brand)
    plots.plot_funnel_leaks(leaks)
    plt.show()

# %%
present(leaks, digits=3) if leaks is not None else None

# %% [markdown]
# Every survey wave separately (pre and post): warnings flag brands missing from a wave or
# too few respondents for an interval. They are shown, never dropped.

# %%
if survey is not None:
    waves = sit.brand_funnel(survey, brands, min_respondents=min_respondents)
    wave_view = waves.pivot_table(
        index=["group", "brand"], columns="stage", values="share", sort=False
    )
    display(wave_view.round(3))

# %%
if survey is not None:
    funnel_warnings = pd.concat([funnel, waves]).loc[lambda f: f["warning"] != ""]
funnel_warnings[["group", "brand", "stage", "warning"]].drop_duplicates().reset_index(drop=True)

# %% [markdown]
# ## 3. Customer journey (event log)
# AIDA-style stages from behaviour in the baseline period: **exposed** (any touch),
# **engaged** (click or EDM open), **visited** (site visit), **converted** (an order),
# **repeat** (a second order). A customer counts at every stage up to the deepest one
# reached after the first touch, so each row is a share of the stage before it.

# %%
journey = (
    None if gaps.orders else sit.journey_funnel(tables["touchpoints"], orders, base_start, base_end)
)
present(journey, digits=3) if journey is not None else gaps.note("orders")

# %% [markdown]
# Per channel (the cohort is the customers touched on that channel). Channels whose line
# drops fastest between *exposed* and *visited* reach people who do not act.

# %%
if journey is not None:
    by_channel = sit.journey_funnel(
        tables["touchpoints"], orders, base_start, base_end, by="channel"
    )
    plots.plot_journey_funnel(by_channel)
    plt.show()

# %%
present(
    by_channel.pivot_table(index="channel", columns="stage", values="conversion", sort=False),
    digits=3,
) if journey is not None else None

# %% [markdown]
# Per persona, when the persona notebook's labels are given (`persona_file`).

# %%
by_persona = (
    (
        sit.journey_funnel(
            tables["touchpoints"],
            orders,
            base_start,
            base_end,
            by="persona",
            persona_labels=personas,
        )
        if personas is not None
        else pd.DataFrame(
            {"note": ["no persona_file given: run 02_personas and pass its personas.csv"]}
        )
    )
    if journey is not None
    else None
)
present(by_persona, digits=3) if by_persona is not None else None

# %% [markdown]
# ## 4. Channel baseline
# What each channel delivered in the baseline period: CTR, CPC and CPM from the platforms'
# delivery data; conversion rate (touched customers who ordered within `lookback_days`);
# CPA and ROAS from last-touch credit. Rates carry 95 % Wilson intervals so the review can
# tell a real change from noise. Last touch flatters channels next to the order (direct):
# it is a like-for-like baseline, not a causal estimate (see 03_channel_attribution).

# %%
baseline = None if gaps.orders else sit.channel_baseline(
    tables["spend"], tables["touchpoints"], orders, base_start, base_end,
    lookback_days=settings.lookback_days,
)  # fmt: skip
present(baseline, digits=3) if baseline is not None else gaps.note("orders")

# %%
if baseline is not None:
    plots.plot_channel_baseline(baseline, "cpa")
    plt.show()

# %%
if baseline is not None:
    plots.plot_channel_baseline(baseline, "conversion_rate")
    plt.show()

# %% [markdown]
# The catalogue KPIs over the baseline period (`imclab.kpis`, one definition per KPI): the
# "before" figures of the post-campaign scorecard. `note` explains each value or why it
# cannot be computed.

# %%
kpis = kpi_table(tables, base_start, base_end, brand=plan.brand)
present(kpis[["kpi", "label", "value", "n", "note"]], digits=3)

# %% [markdown]
# ## 5. SWOT
# Strengths and weaknesses are derived from the figures above by documented rules (listed
# below), each citing its figure; opportunities and threats are the analyst's, from the
# plan's `swot` section.

# %%
pd.Series(sit.SWOT_RULES, name="rule").to_frame()

# %%
derived = sit.derive_swot(leaks=leaks, baseline=baseline, sales=sales, currency=plan.currency)
swot = sit.merge_swot(derived, plan.swot.opportunities, plan.swot.threats)
present(swot, digits=3)

# %%
plots.plot_swot(sit.swot_table(swot))
plt.show()

# %% [markdown]
# ## 6. SMART check of the objectives
# Each objective's KPI measured in the baseline period (sums scaled to the campaign's
# length), next to the plan's baseline and target.

# %%
objective_base = sit.objective_baselines(
    plan, tables, base_start, base_end, persona_labels=personas
)
present(objective_base, digits=3)

# %% [markdown]
# Specific (a catalogue KPI), Measurable (computable, with a baseline in the data),
# Achievable (the growth the target needs vs how often the weekly history showed it),
# Relevant (a funnel stage and a target persona), Time-bound (deadline in the campaign or
# its measurement window).

# %%
smart = sit.smart_check(plan, tables, base_start, base_end, persona_labels=personas)
matrix = sit.smart_matrix(smart)
plots.plot_smart(matrix)
plt.show()

# %%
present(matrix, digits=3)

# %% [markdown]
# What to fix before the campaign: every letter that did not pass, with the reason.

# %%
sit.smart_warnings(smart)

# %% [markdown]
# ## Headlines
# The figures the report index shows for this section.

# %%
leak = None if leaks is None else sit.biggest_leak(leaks)
cpa_median = None if baseline is None else sit.baseline_cpa_median(baseline)
headlines = {
    "smart_objectives_fully_passed": int((matrix["passed"] == 5).sum()),
    "smart_objectives": int(len(matrix)),
    "smart_letters_failed": int((smart["status"] == "fail").sum()),
    "biggest_funnel_leak": None if leak is None else str(leak["stage"]),
    "biggest_leak_gap_pts": None if leak is None else round(100 * float(leak["gap_vs_best"]), 1),
    "baseline_median_cpa": None if cpa_median is None else round(cpa_median, 2),
    "revenue_trend_change": None
    if sales is None
    else round(float(sales.set_index("figure").loc["trend_change", "value"]), 3),
    "funnel_warnings": int(len(funnel_warnings)),
}
record_headlines(report_dir, "situation", headlines)
facts(headlines)
