"""Tests of the k-selection indices and the stability rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs

from imclab.personas.selection import PERSONA_JACCARD, choose_k, selection_metrics


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


def test_choose_k_takes_the_largest_k_whose_every_persona_reproduces():
    # k=2 is the most reproducible split, but k=5 also keeps every persona (Jaccard >= 0.85)
    # and k=6 has one that dissolves: the answer is 5, not the coarser 2 nor the noisier 6.
    stability = pd.DataFrame(
        {
            "k": [2, 3, 4, 5, 6, 7],
            "stability": [1.00, 0.64, 0.84, 0.96, 0.93, 0.84],
            "min_jaccard": [1.00, 0.70, 0.81, 0.91, 0.54, 0.56],
        }
    )
    selection = pd.DataFrame({"method": "gmm", "k": range(2, 8), "silhouette": 0.1})
    k, reason = choose_k(stability, selection, "gmm")
    assert k == 5
    assert reason.startswith("k=5: the largest number of personas that all reproduce")
    assert "lowest 0.91" in reason and "best: k=7, lowest Jaccard 0.56" in reason
    # exactly at the threshold counts; just below does not
    at = stability.assign(min_jaccard=[1.0, 0.7, 0.81, 0.8, PERSONA_JACCARD, 0.5])
    assert choose_k(at, selection, "gmm")[0] == 6
    below = at.assign(min_jaccard=at["min_jaccard"].replace(PERSONA_JACCARD, 0.849))
    assert choose_k(below, selection, "gmm")[0] == 2


def test_choose_k_falls_back_to_the_most_stable_k_when_no_k_reproduces():
    stability = pd.DataFrame(
        {"k": [2, 3, 4], "stability": [0.5, 0.8, 0.6], "min_jaccard": [0.6, 0.7, 0.4]}
    )
    selection = pd.DataFrame({"method": "gmm", "k": [2, 3, 4], "silhouette": [0.2, 0.1, 0.3]})
    k, reason = choose_k(stability, selection, "gmm")
    assert k == 3
    assert reason.startswith("k=3: the most reproducible segmentation (mean bootstrap ARI 0.80")
    assert "no k has every persona at Jaccard >= 0.85" in reason
