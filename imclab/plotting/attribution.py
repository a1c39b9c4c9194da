"""Figures of the channel-attribution notebook; each takes data (+ optional Axes), returns Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imclab.attribution.journeys import NO_TOUCH
from imclab.plotting._common import get_ax


def plot_top_paths(top: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar chart of the most frequent converting paths (from ``top_paths``).

    Parameters
    ----------
    top
        ``path`` and ``conversions`` columns.
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (8, 0.35 * len(top) + 1.2))
    sns.barplot(data=top, x="conversions", y="path", color="#4c72b0", ax=ax)
    ax.set_xlabel("conversions")
    ax.set_ylabel("")
    ax.set_title("Top converting paths")
    return ax


def plot_path_lengths(lengths: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Journeys by number of touches, converting vs not (from ``path_length_distribution``).

    Parameters
    ----------
    lengths
        ``length``, ``conversions``, ``nulls``.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    long = lengths.melt(id_vars="length", value_vars=["conversions", "nulls"],
                        var_name="journey", value_name="journeys")  # fmt: skip
    long["journey"] = long["journey"].map({"conversions": "converted", "nulls": "did not convert"})
    sns.barplot(data=long, x="length", y="journeys", hue="journey", ax=ax)
    ax.set_xlabel("touches in the journey (0 = no touch)")
    ax.set_title("Path length distribution")
    return ax


def plot_transition_matrix(matrix: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Heatmap of transition probabilities (rows: from, columns: to).

    Parameters
    ----------
    matrix
        Square-ish frame from ``transition_matrix`` (order 1 is readable).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (9, 7))
    sns.heatmap(matrix, annot=matrix.shape[0] <= 12, fmt=".2f", cmap="Blues", vmin=0, vmax=1,
                cbar_kws={"label": "transition probability"}, ax=ax)  # fmt: skip
    ax.set_title("Markov transition matrix")
    return ax


def plot_removal_effects(effects: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar chart of removal effects (share of conversions lost without each channel).

    Parameters
    ----------
    effects
        ``channel`` and ``removal_effect`` (from ``removal_effects``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    data = effects.sort_values(["removal_effect", "channel"], ascending=[False, True])
    sns.barplot(data=data, x="removal_effect", y="channel", color="#55a868", ax=ax)
    ax.set_xlabel("removal effect (share of conversion probability lost)")
    ax.set_ylabel("")
    ax.set_title("Markov removal effects")
    return ax


def plot_model_comparison(
    results: pd.DataFrame, truth: pd.Series | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Draw grouped bars of channel shares by model, with the true shares as black markers.

    Parameters
    ----------
    results
        Stacked tidy results (``channel, model, share``); the ``(no touch)`` row is left out.
    truth
        Optional true shares indexed by channel.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (11, 5))
    data = results[results["channel"] != NO_TOUCH]
    order = sorted(data["channel"].unique())
    sns.barplot(data=data, x="channel", y="share", hue="model", order=order, ax=ax)
    if truth is not None:
        t = truth.reindex(order)
        ax.scatter(np.arange(len(order)), t.to_numpy(), marker="D", color="black", s=40,
                   zorder=5, label="true share")  # fmt: skip
    ax.legend(ncol=3, fontsize=8)
    ax.set_ylabel("share of touch-attributed conversions")
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=30)
    ax.set_title("Channel shares by attribution model")
    return ax


def plot_cost_per_channel(
    costs: pd.DataFrame, metric: str = "cpa", ax: plt.Axes | None = None
) -> plt.Axes:
    """Heatmap of CPA or ROAS, models x paid channels (inf/NaN cells left blank).

    Parameters
    ----------
    costs
        From ``cost_per_channel``.
    metric
        ``"cpa"`` or ``"roas"``.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (9, 5))
    paid = costs[costs["spend"] > 0]
    table = paid.pivot(index="model", columns="channel", values=metric)
    table = table.reindex(pd.unique(paid["model"])).replace([np.inf, -np.inf], np.nan)
    label = "CPA (spend per conversion)" if metric == "cpa" else "ROAS (value per unit spend)"
    sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis_r" if metric == "cpa" else "viridis",
                cbar_kws={"label": label}, ax=ax)  # fmt: skip
    ax.set_title(f"{metric.upper()} per channel per model")
    ax.set_xlabel("")
    ax.set_ylabel("")
    return ax


def plot_truth_scores(scores: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar chart of each model's mean absolute share error against ground truth.

    Parameters
    ----------
    scores
        From ``score_models`` (``model``, ``mae``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    sns.barplot(data=scores, x="mae", y="model", color="#c44e52", ax=ax)
    ax.set_xlabel("mean absolute error of channel shares (vs true shares)")
    ax.set_ylabel("")
    ax.set_title("How close each model comes to the truth")
    return ax


def plot_bootstrap_intervals(ci: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Point shares with bootstrap intervals, one row per channel, colour per model.

    Parameters
    ----------
    ci
        From ``bootstrap_shares`` (``model, channel, share, lo, hi``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    channels = sorted(ci["channel"].unique())
    models = list(pd.unique(ci["model"]))
    offsets = np.linspace(-0.15, 0.15, len(models)) if len(models) > 1 else [0.0]
    for i, (off, model) in enumerate(zip(offsets, models, strict=True)):
        part = ci[ci["model"] == model].set_index("channel").reindex(channels)
        y = np.arange(len(channels)) + off
        # Lines from lo to hi, not error bars: a percentile interval of few resamples need
        # not contain the point estimate (error bars would then be negative).
        ax.hlines(y, part["lo"], part["hi"], color=f"C{i}", lw=1.5)
        ax.plot(part["share"], y, "o", color=f"C{i}", label=model)
    ax.set_yticks(np.arange(len(channels)), channels)
    ax.invert_yaxis()
    ax.set_xlabel("share (with bootstrap interval)")
    ax.legend()
    ax.set_title("Bootstrap confidence intervals")
    return ax


def plot_ordered_shapley(ordered: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Heatmap of ordered Shapley credit: channel x position it entered the journey.

    Parameters
    ----------
    ordered
        From ``ordered_shapley`` (``channel, position, conversions``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (9, 4.5))
    table = ordered.pivot(index="channel", columns="position", values="conversions").fillna(0.0)
    table = table.loc[:, [c for c in table.columns if c <= 6]]
    sns.heatmap(table, annot=True, fmt=".0f", cmap="Purples",
                cbar_kws={"label": "credited conversions"}, ax=ax)  # fmt: skip
    ax.set_xlabel("position the channel entered the journey (1 = opened it)")
    ax.set_ylabel("")
    ax.set_title("Ordered Shapley: where in the journey each channel works")
    return ax


def plot_holdout_reconciliation(
    evidence: pd.DataFrame, holdout: tuple[float, float, float], ax: plt.Axes | None = None
) -> plt.Axes:
    """Each model's campaign-attributable conversions against the holdout's lift (a band).

    Parameters
    ----------
    evidence
        From ``evidence_table`` (``model, implied_campaign_conversions``).
    holdout
        (estimate, lo, hi) incremental conversions from the holdout.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    data = evidence.dropna(subset=["implied_campaign_conversions"])
    colors = ["#55a868" if c else "#8c8c8c" for c in data["counterfactual"]]
    ax.barh(data["model"], data["implied_campaign_conversions"], color=colors)
    ax.axvspan(holdout[1], holdout[2], color="#c44e52", alpha=0.2, label="holdout interval")
    ax.axvline(holdout[0], color="#c44e52", label="holdout estimate")
    ax.invert_yaxis()
    ax.set_xlabel("campaign-attributable conversions (treated customers, campaign window)")
    ax.legend(fontsize=8)
    ax.set_title("Models against the geo holdout")
    return ax
