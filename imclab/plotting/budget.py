"""Budget figures: response curves with their bands, and the recommended split; each returns Axes.

- :func:`plot_response_curves` (curves with uncertainty bands; actual and recommended daily
  spend marked; from ``PosteriorCurves.curve_frame`` / ``ResponseCurves.curve_frame`` and
  ``BudgetPlan.allocation``)
- :func:`plot_allocation` (recommended vs actual budget per channel)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imclab.plotting._common import channel_label, get_ax

__all__ = ["plot_allocation", "plot_response_curves"]


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
    ax = get_ax(ax, (9, 5))
    palette = dict(zip(curves["channel"].unique(), sns.color_palette(n_colors=12), strict=False))
    for channel, g in curves.groupby("channel", sort=True):
        color = palette[channel]
        ax.plot(g["spend"], g["conversions"], color=color, label=channel_label(channel))
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
    long["channel"] = long["channel"].map(channel_label)
    ax = get_ax(ax)
    sns.barplot(data=long, x="spend", y="channel", hue="allocation", ax=ax)
    ax.set_xlabel("budget")
    ax.set_ylabel("")
    ax.set_title("Recommended vs actual allocation (same total budget)")
    return ax
