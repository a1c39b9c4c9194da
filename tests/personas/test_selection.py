"""Tests of the k-selection indices and the stability rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs

from imclab.personas.selection import choose_k, selection_metrics


def test_indices_point_at_the_true_k_on_blobs():
    Z, _ = make_blobs(400, centers=3, cluster_std=0.6, random_state=1)
    table = selection_metrics(Z, [2, 3, 4, 5], ("kmeans", "gmm"), np.arange(400), n_init=2)
    km = table[table["method"] == "kmeans"].set_index("k")
    assert km["silhouette"].idxmax() == 3
    assert km["davies_bouldin"].idxmin() == 3
    assert km["calinski_harabasz"].idxmax() == 3
    assert km["bic"].isna().all()
    assert table.loc[table["method"] == "gmm", "bic"].notna().all()


def test_choose_k_takes_the_most_stable_and_breaks_ties_by_silhouette():
    stability = pd.DataFrame({"k": [2, 3, 4, 5], "stability": [0.70, 0.95, 0.955, 0.60]})
    selection = pd.DataFrame(
        {"method": "kmeans", "k": [2, 3, 4, 5], "silhouette": [0.2, 0.4, 0.3, 0.1]}
    )
    k, reason = choose_k(stability, selection, "kmeans")
    assert k == 3  # 0.95 ties with 0.955 (within 0.01); silhouette 0.4 > 0.3
    assert reason.startswith("k=3: the most reproducible")
    assert "tied k=3, 4" in reason
    clear = stability.assign(stability=[0.5, 0.6, 0.97, 0.8])
    k, reason = choose_k(clear, selection, "kmeans")
    assert k == 4 and "next best k=5 at 0.80" in reason
