"""Figures for customer value, budget reallocation and message consistency; each returns Axes.

Public functions
----------------
- :func:`plot_clv_distribution` (histogram of CLV per buyer, mean and median marked)
- :func:`plot_clv_by_segment` (mean CLV per persona / first-touch channel, from
  ``imclab.review.clv.clv_by_segment``)
- :func:`plot_response_curves` (fitted curves with bootstrap bands; actual and recommended
  daily spend marked; from ``ResponseCurves.curve_frame`` and ``BudgetPlan.allocation``)
- :func:`plot_allocation` (recommended vs actual budget per channel)
- :func:`plot_consistency` (creative similarity heatmap: creatives x core message/pillars)
- :func:`plot_channel_consistency` (mean score per channel with the threshold line)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imclab.config import CHANNEL_LABELS

__all__ = [
    "plot_allocation",
    "plot_channel_consistency",
    "plot_clv_by_segment",
    "plot_clv_distribution",
    "plot_consistency",
    "plot_response_curves",
]


def _ax(ax: plt.Axes | None, size: tuple[float, float] = (8, 4.5)) -> plt.Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=size)
    return ax


def _label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def plot_clv_distribution(
    customers: pd.DataFrame, ax: plt.Axes | None = None, bins: int = 40
) -> plt.Axes:
    """Histogram of CLV per buyer with the mean and median as vertical lines.

    Parameters
    ----------
    customers
        ``CLVResult.customers`` (column ``clv``).
    ax
        Axes to draw on (a new figure when None).
    bins
        Histogram bins.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    sns.histplot(x=customers["clv"].to_numpy(), bins=bins, color="#4c72b0", ax=ax)
    mean, median = float(customers["clv"].mean()), float(customers["clv"].median())
    ax.axvline(mean, color="#c44e52", linestyle="--", label=f"mean {mean:,.1f}")
    ax.axvline(median, color="#55a868", linestyle=":", label=f"median {median:,.1f}")
    ax.set_xlabel("customer lifetime value (discounted, horizon)")
    ax.set_ylabel("buyers")
    ax.set_title("CLV per buyer")
    ax.legend()
    return ax


def plot_clv_by_segment(
    segments: pd.DataFrame, segment: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Horizontal bars of mean CLV per segment, annotated with the number of buyers.

    Parameters
    ----------
    segments
        Output of ``clv_by_segment`` / ``clv_by_persona`` / ``clv_by_first_touch``.
    segment
        Segment column (default: the first column).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    segment = segment or segments.columns[0]
    data = segments.sort_values("mean_clv", ascending=False)
    labels = [_label(str(s)) for s in data[segment]]
    ax = _ax(ax, (8, 0.45 * len(data) + 1.5))
    sns.barplot(x=data["mean_clv"].to_numpy(), y=labels, color="#4c72b0", ax=ax)
    for i, n in enumerate(data["buyers"]):
        ax.text(float(data["mean_clv"].iloc[i]), i, f"  n={int(n):,}", va="center", fontsize=8)
    ax.set_xlabel("mean CLV per buyer")
    ax.set_ylabel("")
    ax.set_title(f"CLV by {segment.replace('_', ' ')}")
    return ax


def plot_response_curves(
    curves: pd.DataFrame, allocation: pd.DataFrame | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Fitted response curves (conversions per day vs daily spend) with bootstrap bands.

    Parameters
    ----------
    curves
        ``ResponseCurves.curve_frame()``: ``channel``, ``spend``, ``conversions``, ``lower``,
        ``upper``.
    allocation
        ``BudgetPlan.allocation``: marks each channel's actual daily spend (circle) and
        recommended daily spend (triangle) on its curve.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax, (9, 5))
    palette = dict(zip(curves["channel"].unique(), sns.color_palette(n_colors=12), strict=False))
    for channel, g in curves.groupby("channel", sort=True):
        color = palette[channel]
        ax.plot(g["spend"], g["conversions"], color=color, label=_label(channel))
        ax.fill_between(g["spend"], g["lower"], g["upper"], color=color, alpha=0.18, lw=0)
        if allocation is None:
            continue
        row = allocation[allocation["channel"] == channel]
        if row.empty:
            continue
        r = row.iloc[0]
        for spend, marker in ((r["actual_daily_spend"], "o"), (r["recommended_daily_spend"], "^")):
            y = np.interp(spend, g["spend"], g["conversions"])
            ax.plot([spend], [y], marker=marker, color=color, markersize=8, ls="none",
                    markeredgecolor="black")  # fmt: skip
    ax.set_xlabel("spend per day")
    ax.set_ylabel("conversions per day (incl. carry-over)")
    ax.set_title("Response curves (band: bootstrap interval; o actual, ^ recommended)")
    ax.legend(fontsize=8)
    return ax


def plot_allocation(allocation: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Draw grouped bars: the actual mix (at the same total) vs the recommended spend.

    Parameters
    ----------
    allocation
        ``BudgetPlan.allocation`` (``channel``, ``actual_at_budget``, ``recommended_spend``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    long = allocation.melt(
        id_vars="channel",
        value_vars=["actual_at_budget", "recommended_spend"],
        var_name="allocation",
        value_name="spend",
    )
    long["allocation"] = long["allocation"].map(
        {"actual_at_budget": "actual mix", "recommended_spend": "recommended"}
    )
    long["channel"] = long["channel"].map(_label)
    ax = _ax(ax)
    sns.barplot(data=long, x="spend", y="channel", hue="allocation", ax=ax)
    ax.set_xlabel("budget")
    ax.set_ylabel("")
    ax.set_title("Recommended vs actual allocation (same total budget)")
    return ax


def plot_consistency(
    similarity: pd.DataFrame, ax: plt.Axes | None = None, threshold: float | None = None
) -> plt.Axes:
    """Heatmap of each creative's similarity to the core message and each pillar.

    Parameters
    ----------
    similarity
        ``creative_similarity`` / ``ConsistencyResult.creatives``.
    ax
        Axes to draw on.
    threshold
        Shown in the title when given.

    Returns
    -------
    matplotlib.axes.Axes
    """
    cols = ["core_message", *[c for c in similarity.columns if c.startswith("pillar_")]]
    cols = [c for c in cols if c != "pillar_mean"] + ["score"]
    ax = _ax(ax, (8, 0.45 * max(len(similarity), 1) + 1.8))
    if similarity.empty:
        ax.text(0.5, 0.5, "no creatives to score", ha="center", va="center")
        ax.set_axis_off()
        return ax
    table = similarity.set_index(
        similarity["channel"].map(_label) + " / " + similarity["creative_id"].astype(str)
        + " (" + similarity["language"].astype(str) + ")"
    )[cols].astype(float)  # fmt: skip
    sns.heatmap(table, vmin=0, vmax=1, cmap="RdYlGn", annot=True, fmt=".2f", cbar=True, ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    extra = f" (off-message below {threshold:.2f})" if threshold is not None else ""
    ax.set_title("Creative similarity to the message house" + extra)
    return ax


def plot_channel_consistency(
    channels: pd.DataFrame, threshold: float, ax: plt.Axes | None = None
) -> plt.Axes:
    """Bars of each channel's mean similarity score with the off-message threshold line.

    Parameters
    ----------
    channels
        ``channel_consistency`` / ``ConsistencyResult.channels``.
    threshold
        The off-message threshold (dashed line).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax, (8, 0.45 * max(len(channels), 1) + 1.5))
    data = channels.sort_values("mean_score")
    colors = ["#c44e52" if off else "#55a868" for off in data["off_message"].astype(bool)]
    ax.barh([_label(c) for c in data["channel"]], data["mean_score"].astype(float), color=colors)
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean similarity to the message house")
    ax.set_title("Message consistency by channel (red: off-message)")
    ax.legend()
    return ax
