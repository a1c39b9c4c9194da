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
# # 00 Data audit: can we trust the single customer view?
#
# Integrated marketing communications only works on a **single customer view** (单一客户视图):
# every touchpoint, order and survey answer tied to one known customer. Before any analysis
# of the campaign, this notebook checks the data the rest of the report stands on: how many
# rows each table has and how many were refused (quarantined, with the reason), which dates
# they cover, what is missing or duplicated, and how much of the data sits in **silos** that
# cannot be joined to a known customer. Nothing is dropped silently: every refused row is
# listed in `quarantine.csv` in the report folder.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan (YAML)
data_dir: str = "../data/sample"  # folder with the brand-world tables
report_dir: str = ""  # where to write report files (empty: nowhere)
as_of: str = ""  # rows after this are "in the future" (empty: end of the review date)
review_date: str = ""  # the run's as-of day (empty: the plan's settings.review_date)
strict: bool = False  # stop on the first bad row instead of quarantining it
engine: str = "duckdb"  # where the tables are read and checked: duckdb, or spark (warehouse)

# %% [markdown]
# Derived values: the campaign plan, the moment after which a row counts as "in the future"
# (by default the end of the plan's measurement window, so re-running gives the same answer),
# and the validated tables. With `engine="spark"` the event tables stay in Spark: the same
# table contracts are checked there and only counts and example rows come back.

# %%
import matplotlib.pyplot as plt

from imclab.data import audit, write_quarantine
from imclab.plan import load_plan
from imclab.plotting import audit as plots
from imclab.report.headlines import record_headlines
from imclab.report.tables import facts, present
from imclab.warehouse import open_world

plan = load_plan(campaign_file)
settings = plan.resolved_settings(review_date=review_date)
cutoff = as_of or f"{settings.review_date.isoformat()} 23:59:59"
world = open_world(data_dir, engine, strict=strict, as_of=cutoff)
print(f"{plan.title}: {plan.start} to {plan.end}; rows after {cutoff} count as in the future")

# %% [markdown]
# ## Rows per table
# Rows read from each file, loaded after validation, and quarantined. A quarantined share
# above a fraction of a percent usually means a broken export or tracking change; look at the
# reasons below before reading any result.

# %%
rows = audit.rows_per_table(world)
present(rows, digits=5)

# %%
plots.plot_rows_per_table(rows)
plt.show()

# %% [markdown]
# ## Date coverage
# First and last date of each table and the days without a single row. The campaign window is
# shaded: the event tables must cover it completely, and a pre-campaign period is needed as the
# baseline. Survey waves and tests are dated events, so gaps there are expected.

# %%
coverage = audit.date_coverage(world)
coverage

# %%
plots.plot_date_coverage(coverage, window=(plan.start, plan.end))
plt.show()

# %% [markdown]
# ## Quarantined rows and why
# Each refused row is kept in `quarantine.csv` with its file, row number, column, value and
# reason, so it can be fixed at the source and re-loaded. (On a warehouse engine a table has
# no row numbers: the counts are exact and `quarantine.csv` holds example rows.)

# %%
reasons = audit.quarantine_reasons(world)
if report_dir:
    write_quarantine(world, report_dir)
reasons

# %%
world.quarantine.head(20)

# %% [markdown]
# ## Missing values and duplicates
# Missing values in optional columns are allowed (an NPS score is only asked of respondents
# who know the brand; a survey respondent is often not a known customer). Duplicate keys are
# quarantined, keeping the first occurrence; exact duplicates with different ids are suspected
# double records (a tag fired twice), kept but counted here.

# %%
missing = audit.missing_values(world)
present(missing[(missing["missing_loaded"] > 0) | (missing["missing_quarantined"] > 0)], digits=4)

# %%
audit.duplicates(world)

# %% [markdown]
# ## Data silos: identity match rate
# Share of touchpoints, orders and survey answers that join to a known customer. Touchpoints
# and orders must match almost completely for attribution to work; survey panels are usually
# anonymous, and the matched share limits how far brand metrics can be split by persona.

# %%
identity = audit.identity_match(world)
present(identity, digits=4)

# %%
plots.plot_identity_match(identity)
plt.show()

# %% [markdown]
# ## Touchpoints per channel and week
# A channel that drops to zero for a week while its spend continues points to a tracking gap,
# not a change in behaviour. Look for the campaign's phases: teaser (social, display, TV),
# launch (all channels) and sustain (search, social, EDM, affiliate).

# %%
weekly = audit.weekly_events(world)
plots.plot_weekly_events(weekly, kind="heatmap")
plt.show()

# %% [markdown]
# ## Headline numbers for the report index

# %%
headlines = {
    "rows_read": int(rows["rows_read"].sum()),
    "rows_quarantined": int(rows["rows_quarantined"].sum()),
    "quarantine_by_table": {
        r.table: int(r.rows_quarantined) for r in rows.itertuples() if r.rows_quarantined
    },
    "touchpoint_match_rate": round(
        float(identity.set_index("table").loc["touchpoints", "match_rate"]), 4
    ),
    "survey_match_rate": (
        round(float(identity.set_index("table").loc["survey", "match_rate"]), 4)
        if "survey" in set(identity["table"])
        else None
    ),
    "missing_optional_tables": world.report.missing_optional,
}
record_headlines(report_dir, "data_audit", headlines)
facts(headlines)
