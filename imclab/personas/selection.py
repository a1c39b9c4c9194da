"""Choosing the number of personas: validity indices per method and k, and the stability rule.

Indices are computed on one fixed sample of customers (the same for every method and k) so
they are comparable and affordable on large bases: silhouette (higher is better),
Calinski-Harabasz (higher), Davies-Bouldin (lower) and, for Gaussian mixtures, BIC (lower).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

__all__ = ["PERSONA_JACCARD", "choose_k", "selection_metrics"]

#: Customers the silhouette is computed on (it is quadratic in the number of rows).
SILHOUETTE_SIZE: int = 5000
#: Stability differences smaller than this are ties (broken by the silhouette).
STABILITY_TIE: float = 0.01
#: Mean bootstrap Jaccard every persona of a k must reach for k to count as reproducible
#: (Hennig 2007: 0.75 stable, 0.85 highly stable).
PERSONA_JACCARD: float = 0.85


def selection_metrics(
    Z: np.ndarray,
    ks: list[int],
    methods: tuple[str, ...],
    sample: np.ndarray,
    random_state: int = 0,
    n_init: int = 3,
    fitted: dict | None = None,
) -> pd.DataFrame:
    """Compute validity indices of each method for each k, fitted on a fixed sample.

    Parameters
    ----------
    Z
        Preprocessed feature matrix.
    ks
        Numbers of clusters to try.
    methods
        Method names of :data:`imclab.personas.model.METHODS`.
    sample
        Row indices of the evaluation sample (fits and indices use only these rows).
    random_state, n_init
        Seed and restarts of each fit.
    fitted
        ``{(method, k): (model, labels on the sample)}`` fits already made (reused).

    Returns
    -------
    pandas.DataFrame
        ``method, k, silhouette, calinski_harabasz, davies_bouldin, bic`` (BIC only for
        ``gmm``), sorted by method then k.
    """
    from imclab.personas.model import fit_labels, make_clusterer

    Zs = Z[sample]
    rows = []
    for method in methods:
        for k in ks:
            if fitted is not None and (method, k) in fitted:
                model, labels = fitted[(method, k)]
            else:
                model, labels = fit_labels(make_clusterer(method, k, random_state, n_init), Zs)
            row = {
                "method": method,
                "k": k,
                "silhouette": np.nan,
                "calinski_harabasz": np.nan,
                "davies_bouldin": np.nan,
                "bic": np.nan,
            }
            if len(np.unique(labels)) > 1:
                row["silhouette"] = float(
                    silhouette_score(
                        Zs,
                        labels,
                        sample_size=min(len(Zs), SILHOUETTE_SIZE),
                        random_state=random_state,
                    )
                )
                row["calinski_harabasz"] = float(calinski_harabasz_score(Zs, labels))
                row["davies_bouldin"] = float(davies_bouldin_score(Zs, labels))
            if method == "gmm":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    row["bic"] = float(model.bic(Zs))
            rows.append(row)
    columns = ["method", "k", "silhouette", "calinski_harabasz", "davies_bouldin", "bic"]
    return pd.DataFrame(rows, columns=columns).sort_values(["method", "k"], ignore_index=True)


def choose_k(stability: pd.DataFrame, selection: pd.DataFrame, method: str) -> tuple[int, str]:
    """Pick the largest k whose every persona reproduces; else the most reproducible k.

    Validity indices of the weighted mixed-type space are often flat or monotone in k (BIC
    keeps falling when features are not Gaussian, Calinski-Harabasz favours few clusters),
    whereas the right number of segments is the one that comes back when the data are
    resampled (Ben-Hur et al. 2002; Lange et al. 2004). Mean stability alone also rewards
    a coarse split (k = 2 often reproduces perfectly) and punishes the right k for one bad
    refit, so the rule looks at every persona (Hennig 2007: mean bootstrap Jaccard of at
    least 0.85 = highly stable) and takes the *largest* k at which none dissolves, as the
    prediction-strength rule does (Tibshirani and Walther 2005). When no k qualifies, the
    k with the highest mean bootstrap ARI is taken (ties within :data:`STABILITY_TIE` go
    to the silhouette).

    Parameters
    ----------
    stability
        ``k, stability`` (mean bootstrap ARI per k) and optionally ``min_jaccard`` (the
        lowest mean bootstrap Jaccard of the k personas).
    selection
        Output of :func:`selection_metrics` (for the silhouette tie-break and the reason).
    method
        The final method (whose silhouette breaks ties).

    Returns
    -------
    k : int
    reason : str
        One sentence for the analyst.
    """
    table = stability.dropna(subset=["stability"]).sort_values("k", ignore_index=True)
    if table.empty:
        raise ValueError("no stability measured: cannot choose k")
    by_k = table.set_index("k")
    if "min_jaccard" in table:
        stable = table.loc[table["min_jaccard"] >= PERSONA_JACCARD, "k"].tolist()
        if stable:
            k = int(max(stable))
            reason = (
                f"k={k}: the largest number of personas that all reproduce (every persona's "
                f"mean bootstrap Jaccard >= {PERSONA_JACCARD:.2f}, lowest "
                f"{by_k.loc[k, 'min_jaccard']:.2f}; mean bootstrap ARI "
                f"{by_k.loc[k, 'stability']:.2f})"
            )
            larger = table.loc[table["k"] > k]
            if not larger.empty:
                worst = larger.loc[larger["min_jaccard"].idxmax()]
                reason += (
                    f"; with more personas at least one dissolves (best: k={int(worst['k'])}, "
                    f"lowest Jaccard {worst['min_jaccard']:.2f})"
                )
            return k, reason
    sil = selection.loc[selection["method"] == method].set_index("k")["silhouette"]
    best = table["stability"].max()
    tied = table.loc[table["stability"] >= best - STABILITY_TIE, "k"].tolist()
    if len(tied) > 1 and sil.reindex(tied).notna().any():
        k = int(sil.reindex(tied).idxmax())
    else:
        k = int(table.loc[table["stability"].idxmax(), "k"])
    value = float(by_k.loc[k, "stability"])
    others = table.loc[table["k"] != k]
    reason = f"k={k}: the most reproducible segmentation (mean bootstrap ARI {value:.2f}"
    if not others.empty:
        runner = others.loc[others["stability"].idxmax()]
        reason += f"; next best k={int(runner['k'])} at {runner['stability']:.2f}"
    reason += ")"
    if "min_jaccard" in table:
        reason += f"; no k has every persona at Jaccard >= {PERSONA_JACCARD:.2f}"
    if k in sil.index and pd.notna(sil.get(k)):
        reason += f"; silhouette {sil[k]:.3f}"
        if len(tied) > 1:
            reason += f" (best among the tied k={', '.join(map(str, tied))})"
    return k, reason
