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
# # 02 Persona clustering: who is the audience?
#
# IMC starts from the audience. This notebook segments the customer base into **personas**
# the planning team can defend: formed from what customers are and do (profile, channel
# mix, engagement, value), with the number of personas chosen on evidence, checked for
# stability, described in marketing words, and matched to the **target personas** of the
# campaign plan. The persona of every customer is written to the report folder so the
# attribution and review notebooks can split their results by persona.
#
# Computation lives in `imclab.personas` (tested); figures in `imclab.plotting.personas`.

# %% tags=["parameters"]
campaign_file: str = "../campaigns/spring_launch.yaml"  # campaign plan
data_dir: str = "../data/sample"  # brand-world tables
report_dir: str = ""  # where to write report files (empty: nowhere)
as_of: str = ""  # analysis date for recency and tenure (empty: the latest event in the data)
k: int = 0  # number of personas (0: the largest k in k_min..k_max whose personas all reproduce)
k_min: int = 2  # smallest number of personas tried
k_max: int = 8  # largest number of personas tried
method: str = "gmm"  # final clustering: gmm, kmeans, minibatch (millions) or agglomerative
n_bootstrap: int = 5  # bootstrap resamples per k for the stability check
sample_size: int = 2000  # customers in the evaluation sample and in each resample
stability_threshold: float = 0.75  # personas with a lower mean Jaccard are flagged unreliable
random_state: int = 0  # seed of every random step
engine: str = "duckdb"  # where the features are derived: duckdb, or spark (warehouse)

# %% [markdown]
# Derived values: the plan, the validated tables (rows that break the data dictionary are
# quarantined by the loader, see notebook 00) and the customer feature table, derived in
# one SQL query over customers, touchpoints and orders, run where the tables live (DuckDB,
# or Spark with `engine="spark"`: only the per-customer features come back).

# %%
import matplotlib.pyplot as plt
import pandas as pd

from imclab.personas import (
    Personas,
    derive_features,
    match_target_personas,
    persona_cards,
    persona_labels,
    persona_profiles,
)
from imclab.plan import load_plan
from imclab.plotting import personas as plots
from imclab.report.headlines import record_headlines
from imclab.report.tables import facts, present
from imclab.simulate import load_truth
from imclab.warehouse import open_world

pd.set_option("display.max_colwidth", None)
pd.set_option("display.width", 200)
plan = load_plan(campaign_file)
world = open_world(data_dir, engine, tables=["customers", "touchpoints", "conversions"])
features = derive_features(world.tables, as_of=as_of or None)
setup = {
    "campaign": f"{plan.title} ({plan.start} .. {plan.end})",
    "customers": len(features),
    "touches used": world.report.tables["touchpoints"].rows_loaded,
    "orders used": world.report.tables["conversions"].rows_loaded,
    "rows quarantined by the loader": int(
        world.report.to_frame().set_index("table")["rows_quarantined"].sum()
    ),
    "k": k or f"chosen in {k_min}..{k_max}",
    "method": method,
}
facts(setup)

# %% [markdown]
# ## 1. The customer features
# One row per customer. **Profile**: age, session length, pages per visit, discount usage
# (price sensitivity), loyalty and newsletter membership, and the categorical gender, city
# tier, device and income band. **Channel mix**: share of the customer's touches in each
# channel (smoothed towards the overall mix, so a customer seen twice is not "100 %
# social"). **Engagement**: clicks, EDM opens and site visits per touch, touches per week.
# **Value (RFM)**: days since the last order, orders, revenue, average order value.
# **Tenure**: days since signup. Look at the ranges: the AOV is missing for customers who
# never ordered (imputed with the median inside the pipeline).

# %%
features.describe().T[["count", "mean", "std", "min", "50%", "max"]].round(3).fillna("–")

# %% [markdown]
# ## 2. How many personas?
# **Mixed data.** Numeric features are standardised (counts and money on a log scale),
# categorical ones one-hot encoded, and each feature *group* is divided by the square root
# of its largest eigenvalue (the weighting of multiple factor analysis), so the nine
# channel shares or the four RFM measures do not outvote age or device just by being many
# columns. We chose this over **k-prototypes** (`kmodes`: needs a hand-set weight between
# numeric and categorical distance, cannot assign unseen levels, slow on millions) and
# **Gower distance** (needs an n x n matrix: fine for a few thousand customers, not for a
# million). All three clustering methods below work in this one space.
#
# **The method.** Customers of one persona vary together (heavy users click, open and visit
# more; newsletter subscribers see more e-mail), so personas are elongated clouds of one
# shape rather than spheres. The default, a **Gaussian mixture with one covariance shared by
# all personas**, measures distance in that shape; KMeans assumes spheres and cuts across
# them (on simulated worlds: ARI about 0.97 against 0.82, see `benchmarks/README.md`).
#
# **Choosing k.** Three methods (the Gaussian mixture; KMeans; Ward agglomerative
# clustering, on a sample) are scored for every k on the same evaluation sample by the
# classic validity indices. They rarely agree on mixed marketing data (Calinski-Harabasz
# favours few clusters, BIC keeps falling when features are not Gaussian), so the rule is
# **reproducibility**: the mixture is refitted on bootstrap resamples for every k, and the
# chosen k is the **largest one at which every persona comes back** (its best-matching
# refitted persona overlaps it with a mean Jaccard of at least 0.85). A smaller k such as 2
# often reproduces too, but merges personas; at a larger k some persona dissolves. If no k
# qualifies, the k with the highest mean adjusted Rand index between runs is taken. Set `k`
# to override.

# %%
model = Personas(
    k=k or None,
    k_range=(k_min, k_max),
    method=method,
    sample_size=sample_size,
    n_bootstrap=n_bootstrap,
    stability_threshold=stability_threshold,
    random_state=random_state,
).fit(features)
print(f"Chosen number of personas: {model.k_}")
print(f"Reason: {model.choice_reason_}")
print("Data notes:", "; ".join(model.notes_) or "none (no column dropped or pooled)")

# %% [markdown]
# The indices per method and k (dashed line: the chosen k). Silhouette and Davies-Bouldin
# describe how separated the personas are, Calinski-Harabasz the ratio of between- to
# within-persona spread, BIC the fit of the mixture; the last two panels show the
# reproducibility the choice is based on (mean bootstrap ARI, and the Jaccard of the least
# reproducible persona, with the 0.85 line).

# %%
plots.plot_k_selection(model.selection_, model.k_)
plt.show()

# %%
present(model.selection_, digits=3)

# %% [markdown]
# ## 3. Are the personas stable?
# Each bootstrap refit is compared with the final personas: the **ARI** per run (1 =
# identical segmentation) and, per persona, the best **Jaccard** overlap with a refitted
# persona, averaged over runs (Hennig's clusterboot). Personas below the threshold (dashed)
# are flagged **unreliable**: describe them with care and do not build a campaign on them.

# %%
names = persona_labels(features, model.labels_)
present(model.stability_runs_, digits=3)

# %%
plots.plot_stability(model.stability_, stability_threshold, names)
plt.show()

# %% [markdown]
# ## 4. Recovery of the true personas (simulated worlds only)
# The sample world was simulated from five hidden personas. The adjusted Rand index between
# found and true personas measures how well an analyst with these features would recover
# them (1 = perfect, 0 = chance); the cross-table shows which true personas merge or split.
# Real data has no ground truth and this section then says so.

# %%
truth = load_truth(data_dir)
if truth is not None and "personas" in truth:
    from sklearn.metrics import adjusted_rand_score

    true = features[["customer_id"]].merge(truth["personas"], on="customer_id", how="left")
    recovery_ari = round(float(adjusted_rand_score(true["persona"], model.labels_)), 3)
    print(f"ARI against the true personas: {recovery_ari}")
    recovery = pd.crosstab(true["persona"], pd.Series(model.labels_, name="found persona"))
else:
    recovery_ari = None
    recovery = pd.DataFrame({"note": ["no ground truth in this data folder"]})
recovery

# %% [markdown]
# ## 5. Persona cards
# One row per persona: size and share of the base, an automatic **name** from its strongest
# traits, the traits that set it apart (standardised difference versus all customers, in
# standard deviations), the channels it is over-represented in (lift of its channel share
# over the average customer's), and what it is worth: share of customers who ordered,
# average order value, revenue and share of all revenue.

# %%
cards = persona_cards(features, model.labels_, model.stability_)
present(cards, digits=3)

# %% [markdown]
# ### Browse the persona cards (JupyterLab)
# One card at a time, with previous/next buttons, in `make lab`; reports show a one-line note.

# %%
from imclab import interactive

interactive.explore(interactive.persona_browser, cards.round(3), name_column="name")

# %% [markdown]
# The profile heatmap: red traits are above the customer average, blue below (in standard
# deviations; categorical levels as shares). Read a row to describe a persona, a column to
# see which persona owns a trait.

# %%
plots.plot_persona_heatmap(persona_profiles(features, model.labels_), names, top=22)
plt.show()

# %% [markdown]
# A 2-D map of the customers (the first two principal components of the weighted feature
# space), coloured by persona: compact, separate colours mean distinct personas; overlap
# means customers in between.

# %%
plots.plot_projection(model.projection(features, model.labels_), names)
plt.show()

# %% [markdown]
# ## 6. Do we reach the plan's target personas?
# Each target persona of the campaign plan is described by traits (`age: "18-29"`,
# `device: mobile`, `discount_usage_rate: high` = top third of the base). The score of a
# found persona is the average share of its customers meeting each trait; `lift` compares
# it with the whole base. The best match (`best`) is the persona the campaign's messages
# and channels should be checked against; a low best score means the plan targets people
# the brand barely has.

# %%
match = match_target_personas(plan.target_personas, features, model.labels_, names)
present(match, digits=3)

# %%
plots.plot_target_match(match)
plt.show()

# %% [markdown]
# ## 7. Hand-off to the other notebooks
# The persona of every customer goes to `personas.csv` in the report folder (columns
# `customer_id`, `persona` = the persona name, `persona_id`, and `target` = the plan's
# persona this persona matches best, if any); the attribution and review notebooks split
# their results by it when the runner passes the file, and the scorecard measures a persona
# objective of the plan on the persona that matches it. `predict` assigns
# new customers to the same personas (checked here on the training customers).

# %%
labels = pd.DataFrame(
    {
        "customer_id": features["customer_id"],
        "persona": [names[p] for p in model.labels_],
        "persona_id": model.labels_,
    }
)
largest = cards.sort_values("customers", ascending=False, kind="mergesort").iloc[0]
best = match[match["best"]]
labels["target"] = labels["persona"].map(dict(zip(best["name"], best["target"], strict=True)))
headlines = {
    "k": int(model.k_),
    "k_reason": model.choice_reason_,
    "largest_persona": f"{largest['name']} ({largest['share']:.0%})",
    "unreliable_personas": int(model.stability_["unreliable"].sum()),
    "target_match": {r.target: f"{r.name} (score {r.score:.2f})" for r in best.itertuples()},
}
if recovery_ari is not None:
    headlines["ari_true_personas"] = recovery_ari
if report_dir:
    from pathlib import Path

    Path(report_dir).mkdir(parents=True, exist_ok=True)
    labels.to_csv(Path(report_dir) / "personas.csv", index=False)
record_headlines(report_dir, "personas", headlines)
agreement = (model.predict(features) == model.labels_).mean()
summary = {
    "personas.csv": f"{len(labels)} customers" if report_dir else "not written (no report_dir)",
    "predict agrees with the fitted labels": f"{agreement:.1%}",
    **headlines,
}
facts(summary)
