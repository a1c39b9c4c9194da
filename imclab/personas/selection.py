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

__all__ = ["choose_k", "selection_metrics"]

#: Customers the silhouette is computed on (it is quadratic in the number of rows).
SILHOUETTE_SIZE: int = 5000
#: Stability differences smaller than this are ties (broken by the silhouette).
STABILITY_TIE: float = 0.01


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
    """Pick the most reproducible k (highest mean bootstrap ARI); ties go to the silhouette.

    Validity indices of the weighted mixed-type space are often flat or monotone in k (BIC
    keeps falling when features are not Gaussian, Calinski-Harabasz favours few clusters),
    whereas the right number of segments is the one that comes back when the data are
    resampled (Ben-Hur et al. 2002; Lange et al. 2004).

    Parameters
    ----------
    stability
        ``k, stability`` (mean bootstrap ARI per k).
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
    table = stability.dropna().sort_values("k", ignore_index=True)
    if table.empty:
        raise ValueError("no stability measured: cannot choose k")
    sil = selection.loc[selection["method"] == method].set_index("k")["silhouette"]
    best = table["stability"].max()
    tied = table.loc[table["stability"] >= best - STABILITY_TIE, "k"].tolist()
    if len(tied) > 1 and sil.reindex(tied).notna().any():
        k = int(sil.reindex(tied).idxmax())
    else:
        k = int(table.loc[table["stability"].idxmax(), "k"])
    value = float(table.set_index("k").loc[k, "stability"])
    others = table.loc[table["k"] != k]
    reason = f"k={k}: the most reproducible segmentation (mean bootstrap ARI {value:.2f}"
    if not others.empty:
        runner = others.loc[others["stability"].idxmax()]
        reason += f"; next best k={int(runner['k'])} at {runner['stability']:.2f}"
    reason += ")"
    if k in sil.index and pd.notna(sil.get(k)):
        reason += f"; silhouette {sil[k]:.3f}"
        if len(tied) > 1:
            reason += f" (best among the tied k={', '.join(map(str, tied))})"
    return k, reason
