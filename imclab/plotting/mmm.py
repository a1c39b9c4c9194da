"""Figures of the marketing-mix model; each takes data (+ optional Axes) and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from imclab.plotting._common import channel_label, get_ax

__all__ = ["plot_fit", "plot_roas"]


def plot_roas(
    summaries: dict[str, pd.DataFrame],
    truth: pd.Series | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """ROAS per channel with its 90 % HDI, one marker per model version (forest plot).

    Parameters
    ----------
    summaries
        Label -> ``MarketingMix.channel_summary()`` frame (``channel``, ``roas``,
        ``roas_low``, ``roas_high``), e.g. before and after calibration.
    truth
        True ROAS per channel (simulated worlds), drawn as black crosses.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    channels = list(next(iter(summaries.values()))["channel"])
    y = np.arange(len(channels))
    k = len(summaries)
    for i, (label, s) in enumerate(summaries.items()):
        s = s.set_index("channel").reindex(channels)
        off = (i - (k - 1) / 2) * 0.25
        ax.errorbar(
            s["roas"], y + off,
            xerr=[s["roas"] - s["roas_low"], s["roas_high"] - s["roas"]],
            fmt="o", capsize=3, label=label,
        )  # fmt: skip
    if truth is not None:
        t = truth.reindex(channels)
        ax.plot(t.to_numpy(), y, "kx", markersize=9, label="true ROAS (simulator)")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, [channel_label(c) for c in channels])
    ax.invert_yaxis()
    ax.set_xlabel("revenue per unit of spend (ROAS); dashed: break-even")
    ax.set_title("ROAS by channel (90 % highest-density interval)")
    ax.legend(fontsize=8)
    return ax


def plot_fit(ppc: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Observed daily orders against the posterior predictive mean and 90 % band.

    Parameters
    ----------
    ppc
        ``MarketingMix.posterior_predictive()`` (``date``, ``orders``, ``predicted``, ``low``,
        ``high``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (10, 4))
    ax.fill_between(ppc["date"], ppc["low"], ppc["high"], color="C0", alpha=0.2, lw=0,
                    label="90 % predictive band")  # fmt: skip
    ax.plot(ppc["date"], ppc["predicted"], color="C0", label="model (posterior mean)")
    ax.plot(ppc["date"], ppc["orders"], ".", color="black", markersize=4, label="observed")
    ax.set_ylabel("orders per day")
    ax.set_title("Posterior predictive check: daily orders")
    ax.legend(fontsize=8)
    return ax
