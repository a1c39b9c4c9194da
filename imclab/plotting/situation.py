"""Figures of the situation-analysis notebook; each takes data (+ optional Axes), returns Axes."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imclab.config import FUNNEL_STAGES, JOURNEY_STAGES
from imclab.plotting._common import channel_label, get_ax

STATUS_COLOURS: dict[str, str] = {"pass": "#55a868", "warn": "#dd8452", "fail": "#c44e52"}


def plot_sales_trend(decomposition: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Daily sales with the STL trend (from ``sales_decomposition``).

    Parameters
    ----------
    decomposition
        ``date, observed, trend`` columns.
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (9, 4))
    sns.lineplot(data=decomposition, x="date", y="observed", ax=ax, color="#9db4d6",
                 linewidth=1, label="daily")  # fmt: skip
    sns.lineplot(data=decomposition, x="date", y="trend", ax=ax, color="#1f4e8c",
                 linewidth=2.2, label="STL trend")  # fmt: skip
    ax.set_xlabel("")
    ax.set_ylabel("sales per day")
    ax.set_title("Sales over time and their trend")
    ax.tick_params(axis="x", labelrotation=30)
    return ax


def plot_weekly_seasonality(seasonality: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Weekday effect relative to the trend (from ``weekly_seasonality``).

    Parameters
    ----------
    seasonality
        ``weekday, relative`` columns.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (7, 3.5))
    data = seasonality.assign(pct=100 * seasonality["relative"])
    colours = ["#55a868" if v >= 0 else "#c44e52" for v in data["pct"]]
    sns.barplot(data=data, x="weekday", y="pct", hue="weekday", palette=colours,
                legend=False, ax=ax)  # fmt: skip
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("")
    ax.set_ylabel("% vs trend")
    ax.set_title("Weekly seasonality (STL)")
    return ax


def plot_shares(shares: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar chart of brand shares (share of voice, mind or market).

    Parameters
    ----------
    shares
        ``brand, share, source`` columns (``share_of_voice`` / ``share_of_market``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (7, 3.5))
    data = shares.assign(pct=100 * shares["share"].astype(float))
    sns.barplot(data=data, x="pct", y="brand", hue="brand", legend=False, ax=ax)
    ax.set_xlabel("share (%)")
    ax.set_ylabel("")
    source = str(shares["source"].iloc[0]) if len(shares) else ""
    ax.set_title(textwrap.shorten(source, 70) or "Share")
    return ax


def plot_brand_funnel(
    funnel: pd.DataFrame, group: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Stage shares per brand with 95 % Wilson intervals (from ``brand_funnel``).

    Parameters
    ----------
    funnel
        ``brand_funnel`` output.
    group
        The wave group to show (default: the first).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        One bar group per stage, one bar per brand.
    """
    ax = get_ax(ax, (9, 4.5))
    group = group if group is not None else str(funnel["group"].iloc[0])
    data = funnel.loc[funnel["group"] == group].copy()
    data["pct"] = 100 * data["share"].astype(float)
    brands = list(dict.fromkeys(data["brand"]))
    stages = list(FUNNEL_STAGES)
    sns.barplot(data=data, x="stage", y="pct", hue="brand", order=stages, hue_order=brands,
                ax=ax)  # fmt: skip
    width = 0.8 / max(len(brands), 1)
    for b, brand in enumerate(brands):
        part = data.loc[data["brand"] == brand].set_index("stage").reindex(stages)
        x = np.arange(len(stages)) - 0.4 + width * (b + 0.5)
        y = part["pct"].to_numpy(dtype=float)
        lo = y - 100 * part["share_low"].to_numpy(dtype=float)
        hi = 100 * part["share_high"].to_numpy(dtype=float) - y
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(x[ok], y[ok], yerr=np.vstack([lo[ok], hi[ok]]), fmt="none", ecolor="black",
                    capsize=2, linewidth=0.8)  # fmt: skip
    ax.set_xlabel("")
    ax.set_ylabel("% of respondents")
    ax.set_title(f"Brand funnel, waves {group} (bars: 95% Wilson intervals)")
    return ax


def plot_funnel_leaks(
    leaks: pd.DataFrame, group: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Brand vs best-competitor stage conversion (from ``funnel_leaks``).

    Parameters
    ----------
    leaks
        ``funnel_leaks`` output.
    group
        The wave group to show (default: the first).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        Gap to the best competitor in points per stage; the biggest leak is highlighted.
    """
    ax = get_ax(ax, (8, 3.8))
    group = group if group is not None else str(leaks["group"].iloc[0])
    data = leaks.loc[leaks["group"] == group].copy()
    data["gap_pts"] = 100 * data["gap_vs_best"].astype(float)
    colours = [
        "#c44e52" if leak else ("#55a868" if gap >= 0 else "#8c8c8c")
        for leak, gap in zip(
            data["biggest_leak"].astype(bool), data["gap_pts"].fillna(0), strict=True
        )
    ]
    sns.barplot(data=data, x="gap_pts", y="stage", hue="stage", palette=colours, legend=False,
                ax=ax)  # fmt: skip
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("brand minus best competitor (percentage points)")
    ax.set_ylabel("")
    ax.set_title(f"Where the brand leaks vs the best competitor (waves {group})")
    return ax


def plot_journey_funnel(journey: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Plot customers at each journey stage, one line per channel or persona.

    Parameters
    ----------
    journey
        ``journey_funnel`` output (``share_of_exposed`` per stage).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (8, 4.5))
    data = journey.copy()
    data["pct"] = 100 * data["share_of_exposed"].astype(float)
    key = next((k for k in ("channel", "persona") if k in data.columns), None)
    if key == "channel":
        data["channel"] = data["channel"].map(channel_label)
    sns.pointplot(data=data, x="stage", y="pct", hue=key, order=list(JOURNEY_STAGES), ax=ax,
                  markersize=4, linewidth=1.5)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("")
    ax.set_ylabel("% of exposed customers (log)")
    ax.set_title("Customer journey funnel")
    if key:
        ax.legend(title="", fontsize=8, loc="lower left")
    return ax


def plot_channel_baseline(
    baseline: pd.DataFrame, metric: str = "cpa", ax: plt.Axes | None = None
) -> plt.Axes:
    """One baseline metric per channel, with its interval when it is a rate.

    Parameters
    ----------
    baseline
        ``channel_baseline`` output.
    metric
        ``ctr``, ``conversion_rate``, ``cpc``, ``cpm``, ``cpa`` or ``roas``.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per channel with a value.
    """
    ax = get_ax(ax, (8, 3.8))
    data = baseline.loc[baseline[metric].notna()].copy()
    data["label"] = data["channel"].map(channel_label)
    sns.barplot(data=data, x=metric, y="label", color="#4c72b0", ax=ax)
    if f"{metric}_low" in data.columns:
        y = np.arange(len(data))
        v = data[metric].to_numpy(dtype=float)
        lo = v - data[f"{metric}_low"].to_numpy(dtype=float)
        hi = data[f"{metric}_high"].to_numpy(dtype=float) - v
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(v[ok], y[ok], xerr=np.vstack([lo[ok], hi[ok]]), fmt="none", ecolor="black",
                    capsize=2, linewidth=0.8)  # fmt: skip
    ax.set_ylabel("")
    ax.set_xlabel(metric.replace("_", " ").upper() if len(metric) <= 4 else metric)
    ax.set_title(f"Channel baseline: {metric.replace('_', ' ')}")
    return ax


def plot_swot(table: pd.DataFrame, ax: plt.Axes | None = None, width: int = 48) -> plt.Axes:
    """Draw the 2x2 SWOT table (from ``swot_table``) as four labelled boxes.

    Parameters
    ----------
    table
        ``swot_table`` output (index Internal/External, columns Helpful/Harmful).
    ax
        Axes to draw on.
    width
        Characters per line before text wraps.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (12, 8))
    titles = {
        ("Internal", "Helpful"): ("Strengths", "#e3f1e6"),
        ("Internal", "Harmful"): ("Weaknesses", "#f6e0e0"),
        ("External", "Helpful"): ("Opportunities", "#e2ebf6"),
        ("External", "Harmful"): ("Threats", "#f8ecdf"),
    }
    for (row, col), (title, colour) in titles.items():
        x = 0.0 if col == "Helpful" else 0.5
        y = 0.5 if row == "Internal" else 0.0
        ax.add_patch(plt.Rectangle((x, y), 0.5, 0.5, facecolor=colour, edgecolor="white"))
        lines = []
        for item in str(table.loc[row, col]).split("\n"):
            lines.extend(textwrap.wrap(item, width, subsequent_indent="  ") or [""])
        ax.text(x + 0.02, y + 0.47, title, fontsize=12, fontweight="bold", va="top")
        ax.text(x + 0.02, y + 0.42, "\n".join(lines), fontsize=7.5, va="top")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    ax.set_title("SWOT (strengths and weaknesses from the data, O/T from the plan)")
    return ax


def plot_smart(matrix: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Colour grid of the SMART check: objectives x letters (from ``smart_matrix``).

    Parameters
    ----------
    matrix
        ``smart_matrix`` output.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    letters = ["S", "M", "A", "R", "T"]
    ax = get_ax(ax, (6, 0.5 * len(matrix) + 1.5))
    codes = matrix[letters].apply(lambda col: col.map({"pass": 0.0, "warn": 1.0, "fail": 2.0}))
    cmap = plt.matplotlib.colors.ListedColormap(
        [STATUS_COLOURS["pass"], STATUS_COLOURS["warn"], STATUS_COLOURS["fail"]]
    )
    sns.heatmap(codes, cmap=cmap, vmin=-0.5, vmax=2.5, cbar=False, annot=matrix[letters],
                fmt="", linewidths=1, linecolor="white", ax=ax)  # fmt: skip
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("SMART check of the objectives")
    return ax
