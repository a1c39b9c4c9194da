"""Bootstrap stability of a clustering: ARI between runs and per-cluster Jaccard (clusterboot).

Hennig (2007), "Cluster-wise assessment of cluster stability": refit on bootstrap resamples,
and for every original cluster take the best Jaccard overlap with a cluster of the refit,
on the resampled points. Mean Jaccard below ~0.6 means the cluster does not reproduce
("dissolved"), above ~0.75 it is stable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

__all__ = ["DEFAULT_THRESHOLD", "bootstrap_stability", "jaccard_best_match"]

#: Mean Jaccard below which a cluster is flagged unreliable (Hennig: 0.75 = stable).
DEFAULT_THRESHOLD: float = 0.75


def jaccard_best_match(reference: np.ndarray, other: np.ndarray) -> dict[int, float]:
    """Best Jaccard overlap of each reference cluster with any cluster of ``other``.

    Parameters
    ----------
    reference, other
        Two labelings of the same points.

    Returns
    -------
    dict
        ``{reference cluster: max Jaccard}``.
    """
    table = pd.crosstab(reference, other)
    inter = table.to_numpy(dtype=float)
    ref_sizes = inter.sum(axis=1, keepdims=True)
    other_sizes = inter.sum(axis=0, keepdims=True)
    jac = inter / (ref_sizes + other_sizes - inter)
    return {int(c): float(v) for c, v in zip(table.index, jac.max(axis=1), strict=True)}


def bootstrap_stability(
    Z: np.ndarray,
    reference: np.ndarray,
    fit_predict: Callable[[np.ndarray, int], np.ndarray],
    n_bootstrap: int = 10,
    sample_size: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    random_state: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refit on bootstrap resamples and compare with the reference labels.

    Parameters
    ----------
    Z
        Preprocessed feature matrix (one row per customer).
    reference
        The labels of the clustering under test, one per row of ``Z``.
    fit_predict
        ``fit_predict(Z_boot, seed) -> labels`` refits the method (same k) on a resample.
    n_bootstrap
        Number of resamples.
    sample_size
        Points drawn (with replacement) per resample; default ``len(Z)`` (the classic
        bootstrap). Smaller values make stability affordable on millions of customers.
    threshold
        Clusters whose mean Jaccard is below this are flagged ``unreliable``.
    random_state
        Seed of the resampling.

    Returns
    -------
    runs : pandas.DataFrame
        One row per resample: ``run``, ``ari`` (reference vs refit on the resampled points).
    clusters : pandas.DataFrame
        One row per reference cluster: ``cluster``, ``jaccard_mean``, ``jaccard_min``,
        ``dissolved`` (runs with Jaccard < 0.5), ``unreliable`` (mean < threshold).
    """
    rng = np.random.default_rng(random_state)
    n = len(Z)
    size = n if sample_size is None else min(int(sample_size), n)
    clusters = np.unique(reference)
    rows, jac_rows = [], []
    for run in range(n_bootstrap):
        idx = np.unique(rng.choice(n, size=size, replace=True))
        labels = fit_predict(Z[idx], int(rng.integers(2**31 - 1)))
        ref = reference[idx]
        rows.append({"run": run, "ari": float(adjusted_rand_score(ref, labels))})
        best = jaccard_best_match(ref, labels)
        jac_rows.append([best.get(int(c), 0.0) for c in clusters])
    jac = np.asarray(jac_rows).reshape(n_bootstrap, len(clusters))
    table = pd.DataFrame(
        {
            "cluster": clusters.astype(int),
            "jaccard_mean": jac.mean(axis=0),
            "jaccard_min": jac.min(axis=0),
            "dissolved": (jac < 0.5).sum(axis=0),
        }
    )
    table["unreliable"] = table["jaccard_mean"] < threshold
    return pd.DataFrame(rows), table
