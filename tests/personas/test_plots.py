"""Tests of the persona figures (imclab.plotting.personas): structure of the returned Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from imclab.plotting import personas as plots


def test_k_selection_has_one_panel_per_index():
    sel = pd.DataFrame(
        {"method": ["kmeans"] * 3 + ["gmm"] * 3, "k": [2, 3, 4] * 2,
         "silhouette": np.linspace(0.1, 0.3, 6), "calinski_harabasz": 100.0,
         "davies_bouldin": 1.0, "bic": [np.nan] * 3 + [3.0, 2.0, 1.0],
         "stability": [np.nan] * 3 + [0.9, 0.8, 0.7],
         "min_jaccard": [np.nan] * 3 + [0.95, 0.6, 0.5]}
    )  # fmt: skip
    axes = plots.plot_k_selection(sel, chosen_k=3)
    assert len(axes) == 6
    assert [a.get_title().split(" ")[0] for a in axes] == [
        "Silhouette", "Calinski-Harabasz", "Davies-Bouldin", "BIC,", "Bootstrap", "Least"
    ]  # fmt: skip
    assert len(axes[3].get_lines()) >= 1  # BIC only for gmm
    # the reproducibility threshold of the k rule is drawn on the last panel
    assert any(list(line.get_ydata()) == [0.85, 0.85] for line in axes[5].get_lines())
    plt.close("all")


def test_heatmap_projection_stability_match():
    profiles = pd.DataFrame({"age": [-1.0, 1.0], "device=mobile": [0.8, -0.8]}, index=[0, 1])
    ax = plots.plot_persona_heatmap(profiles, {0: "young", 1: "old"}, top=1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0: young", "1: old"]
    assert len(ax.get_xticklabels()) == 1

    proj = pd.DataFrame({"pc1": [0.0, 1.0, 2.0], "pc2": [1.0, 0.0, 1.0], "persona": [0, 1, 1]})
    proj.attrs["explained_variance_ratio"] = [0.3, 0.1]
    ax = plots.plot_projection(proj, {0: "a", 1: "b"})
    assert ax.get_xlabel() == "PC1 (30% of variance)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0: a", "1: b"]

    stab = pd.DataFrame(
        {"cluster": [0, 1], "jaccard_mean": [0.9, 0.5], "unreliable": [False, True]}
    )
    ax = plots.plot_stability(stab, 0.75)
    assert len(ax.patches) == 2

    match = pd.DataFrame({"target": ["t1", "t1"], "persona": [0, 1], "name": ["a", "b"],
                          "score": [0.8, 0.2]})  # fmt: skip
    ax = plots.plot_target_match(match)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0: a", "1: b"]
    plt.close("all")
