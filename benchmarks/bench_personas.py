"""Benchmark: persona clustering of a 1M-customer world (issue: persona clustering).

Feature derivation in DuckDB straight from the Parquet tables, then the ``Personas``
estimator for k in 2..10: k chosen by bootstrap stability on a 10,000-customer sample
(exact KMeans on samples), the final MiniBatchKMeans fit on every customer, per-persona
Jaccard stability on 10,000-customer resamples. Target on the 2-core machine: under 120 s
and under 4 GiB peak memory.
Run: ``.venv/bin/python benchmarks/bench_personas.py [N_CUSTOMERS]`` (default 1,000,000).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402
from common import peak_rss_gib, timed, world  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from imclab.personas import Personas, derive_features  # noqa: E402
from imclab.simulate import load_truth  # noqa: E402


def main(n_customers: int = 1_000_000) -> dict:
    """Generate (once) a world, derive features and fit the personas; return the figures."""
    folder = world(n_customers)
    results: dict = {"customers": n_customers}
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '2GB'")
    for table in ("customers", "touchpoints", "conversions"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / (table + '.parquet')}')"
        )
    with timed("features_s", results):
        features = derive_features(con)
    con.close()
    model = Personas(
        k_range=(2, 10),
        method="minibatch",
        compare_methods=("kmeans",),
        sample_size=10_000,
        n_bootstrap=3,
        n_init=3,
        random_state=0,
    )
    with timed("fit_k2_10_with_stability_s", results):
        model.fit(features)
    results["total_s"] = round(results["features_s"] + results["fit_k2_10_with_stability_s"], 2)
    results["k"] = int(model.k_)
    results["reason"] = model.choice_reason_
    truth = load_truth(folder)
    if truth is not None and "personas" in truth:
        true = features[["customer_id"]].merge(truth["personas"], on="customer_id", how="left")
        results["ari_true_personas"] = round(
            float(adjusted_rand_score(true["persona"], model.labels_)), 3
        )
    results["stability_by_k"] = model.selection_.set_index("k")["stability"].round(3).to_dict()
    results["unreliable_personas"] = int(model.stability_["unreliable"].sum())
    results["peak_rss_gib"] = round(peak_rss_gib(), 2)
    return results


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(main(n), indent=2))
