"""Tests of the bootstrap stability: known Jaccard values, stable vs arbitrary clusterings."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from imclab.personas.stability import bootstrap_stability, jaccard_best_match


def test_jaccard_best_match_known_values():
    ref = np.array([0, 0, 0, 0, 1, 1])
    other = np.array([5, 5, 5, 7, 7, 7])
    best = jaccard_best_match(ref, other)
    assert best[0] == pytest.approx(3 / 4)  # {0,1,2} vs {0,1,2,3}
    assert best[1] == pytest.approx(2 / 3)  # {4,5} vs {3,4,5}


def _kmeans(k):
    return lambda Z, seed: KMeans(k, n_init=3, random_state=seed).fit_predict(Z)


def test_separated_blobs_are_stable():
    Z, _ = make_blobs(600, centers=3, cluster_std=0.5, random_state=0)
    ref = KMeans(3, n_init=3, random_state=0).fit_predict(Z)
    runs, clusters = bootstrap_stability(Z, ref, _kmeans(3), n_bootstrap=4, random_state=1)
    assert len(runs) == 4 and (runs["ari"] > 0.99).all()
    assert (clusters["jaccard_mean"] > 0.99).all()
    assert not clusters["unreliable"].any()


def test_clusters_cut_from_noise_are_flagged():
    Z = np.random.default_rng(0).uniform(size=(600, 6))
    ref = KMeans(6, n_init=1, random_state=0).fit_predict(Z)
    runs, clusters = bootstrap_stability(
        Z, ref, _kmeans(6), n_bootstrap=4, threshold=0.9, random_state=1, sample_size=400
    )
    assert runs["ari"].mean() < 0.9
    assert clusters["unreliable"].any()
    assert set(clusters.columns) == {
        "cluster",
        "jaccard_mean",
        "jaccard_min",
        "dissolved",
        "unreliable",
    }
