"""Figures of the persona notebook; each takes data (+ optional Axes), returns the Axes."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imclab.personas.selection import PERSONA_JACCARD
from imclab.plotting._common import get_ax

__all__ = [
    "plot_k_selection",
    "plot_persona_heatmap",
    "plot_projection",
    "plot_stability",
    "plot_target_match",
]

_INDICES = (
    ("silhouette", "Silhouette (higher is better)"),
    ("calinski_harabasz", "Calinski-Harabasz (higher)"),
    ("davies_bouldin", "Davies-Bouldin (lower)"),
    ("bic", "BIC, Gaussian mixture (lower)"),
    ("stability", "Bootstrap stability, ARI (higher)"),
    ("min_jaccard", "Least reproducible persona, Jaccard (higher)"),
)


def plot_k_selection(
    selection: pd.DataFrame, chosen_k: int | None = None, axes: np.ndarray | None = None
) -> np.ndarray:
    """Plot validity indices against k, one panel per index, one line per method.

    Parameters
    ----------
    selection
        ``Personas.selection_``: ``method, k`` and the index columns.
    chosen_k
        Marked with a dashed vertical line in every panel.
    axes
        Six Axes to draw on (a new 1 x 6 figure when None).

    Returns
    -------
    numpy.ndarray
        The Axes, one per index (empty panels say "not computed").
    """
    if axes is None:
        _, axes = plt.subplots(1, len(_INDICES), figsize=(21, 3.6))
    axes = np.asarray(axes).ravel()
    for ax, (col, title) in zip(axes, _INDICES, strict=False):
        data = selection.dropna(subset=[col]) if col in selection else selection.iloc[:0]
        if data.empty:
            ax.text(0.5, 0.5, "not computed", ha="center", va="center", transform=ax.transAxes)
        else:
            sns.lineplot(
                data=data, x="k", y=col, hue="method", marker="o", ax=ax, legend=col == "silhouette"
            )
        if col == "min_jaccard" and not data.empty:
            ax.axhline(PERSONA_JACCARD, color="firebrick", linestyle=":", linewidth=1)
        if chosen_k is not None:
            ax.axvline(chosen_k, color="grey", linestyle="--", linewidth=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("k (personas)")
        ax.set_ylabel("")
    plt.tight_layout()
    return axes


def plot_persona_heatmap(
    profiles: pd.DataFrame,
    names: Mapping[int, str] | None = None,
    top: int = 20,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Heatmap of standardised differences (persona x trait), the most distinctive traits.

    Parameters
    ----------
    profiles
        :func:`~imclab.personas.cards.persona_profiles` output.
    names
        ``{persona id: name}`` for the row labels.
    top
        Traits shown: those with the largest absolute difference in any persona.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (12, 0.6 * len(profiles) + 2.5))
    strength = profiles.abs().max().sort_values(ascending=False, kind="mergesort")
    data = profiles[strength.index[:top]]
    if names is not None:
        data = data.rename(index=lambda p: f"{p}: {names.get(int(p), p)}")
    sns.heatmap(
        data,
        cmap="RdBu_r",
        center=0,
        vmin=-2,
        vmax=2,
        annot=True,
        fmt=".1f",
        annot_kws={"fontsize": 7},
        cbar_kws={"label": "sd vs all customers"},
        ax=ax,
    )
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    return ax


def plot_projection(
    projection: pd.DataFrame,
    names: Mapping[int, str] | None = None,
    max_points: int = 3000,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Scatter of the 2-D PCA projection coloured by persona.

    Parameters
    ----------
    projection
        ``Personas.projection`` output (``pc1, pc2, persona``).
    names
        ``{persona id: name}`` for the legend.
    max_points
        Rows drawn (an evenly spaced subset when larger).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (8, 6))
    data = projection
    if len(data) > max_points:
        data = data.iloc[np.linspace(0, len(data) - 1, max_points).astype(int)]
    hue = (
        data["persona"].map(lambda p: f"{p}: {names.get(int(p), p)}") if names else data["persona"]
    )
    sns.scatterplot(
        x=data["pc1"],
        y=data["pc2"],
        hue=hue,
        s=8,
        alpha=0.6,
        linewidth=0,
        hue_order=sorted(hue.unique()),
        ax=ax,
    )
    ratio = projection.attrs.get("explained_variance_ratio")
    if ratio:
        ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    ax.legend(title="persona", fontsize=8, markerscale=2)
    return ax


def plot_stability(
    stability: pd.DataFrame,
    threshold: float,
    names: Mapping[int, str] | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Bars of mean bootstrap Jaccard per persona with the reliability threshold.

    Parameters
    ----------
    stability
        ``Personas.stability_`` (``cluster, jaccard_mean, unreliable``).
    threshold
        Drawn as a dashed line; bars below it are red.
    names
        ``{persona id: name}`` for the labels.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (8, 0.5 * len(stability) + 1.5))
    labels = [f"{c}: {names.get(int(c), c)}" if names else str(c) for c in stability["cluster"]]
    colours = ["#c44e52" if u else "#55a868" for u in stability["unreliable"]]
    ax.barh(labels, stability["jaccard_mean"], color=colours)
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("mean bootstrap Jaccard (clusterboot)")
    return ax


def plot_target_match(match: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Heatmap of plan target personas (rows) against found personas (columns), by score.

    Parameters
    ----------
    match
        :func:`~imclab.personas.cards.match_target_personas` output.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (9, 0.7 * match["target"].nunique() + 2))
    data = match.assign(col=match["persona"].astype(str) + ": " + match["name"]).pivot(
        index="target", columns="col", values="score"
    )
    sns.heatmap(
        data,
        cmap="Greens",
        vmin=0,
        vmax=1,
        annot=True,
        fmt=".2f",
        ax=ax,
        cbar_kws={"label": "trait match score"},
    )
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=30)
    return ax
