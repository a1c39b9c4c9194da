"""Figures of the channel-integration notebook; each takes data (+ optional Axes), returns Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from imclab.integration.flow import NO_ORDER, ORDERED
from imclab.plotting._common import channel_label, get_ax

_PALETTE = plt.get_cmap("tab10")
_OUTCOME_COLOURS = {ORDERED: "#55a868", NO_ORDER: "#b0b0b0"}


def plot_synergy_matrix(
    synergy: pd.DataFrame, channels: list[str], ax: plt.Axes | None = None
) -> plt.Axes:
    """Pair matrix of synergy estimates with their intervals (from ``channel_synergy``).

    Each cell below the diagonal shows the extra orders per customer reached by both
    channels, coloured by the estimate, with the interval under it; pairs whose interval
    excludes zero are framed. Pairs without an estimate are left grey.

    Returns
    -------
    matplotlib.axes.Axes
    """
    k = len(channels)
    ax = get_ax(ax, (1.05 * k + 2, 0.9 * k + 1))
    grid = np.full((k, k), np.nan)
    est = synergy.dropna(subset=["estimate"])
    for _, row in est.iterrows():
        i, j = channels.index(row["channel_b"]), channels.index(row["channel_a"])
        grid[i, j] = row["estimate"]
    limit = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_facecolor("#f2f2f2")
    for _, row in est.iterrows():
        i, j = channels.index(row["channel_b"]), channels.index(row["channel_a"])
        text = f"{row['estimate']:+.3f}\n[{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"
        dark = abs(row["estimate"]) > 0.6 * limit
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "k")
        if row["ci_low"] > 0 or row["ci_high"] < 0:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2, ec="black"))
    labels = [channel_label(c) for c in channels]
    ax.set_xticks(range(k), labels, rotation=40, ha="right")
    ax.set_yticks(range(k), labels)
    ax.figure.colorbar(image, ax=ax, label="extra orders per customer reached by both")
    ax.set_title("Channel synergy: joint exposure beyond the sum of the single effects")
    return ax


def plot_upset(overlap: pd.DataFrame, channels: list[str], axes=None) -> np.ndarray:
    """UpSet chart of channel combinations (from ``channel_overlap``).

    Bars give the customers reached by exactly each combination (largest first); the dot
    matrix below shows which channels make it up.

    Returns
    -------
    numpy.ndarray
        The bar Axes and the matrix Axes.
    """
    rows = overlap[overlap["combination"] != "(other)"]
    if axes is None:
        fig, axes = plt.subplots(
            2, 1, figsize=(max(7, 0.55 * len(rows) + 2), 6), sharex=True,
            gridspec_kw={"height_ratios": [3, 2]},
        )  # fmt: skip
    bars, matrix = axes
    x = np.arange(len(rows))
    bars.bar(x, rows["customers"], color="#4c72b0")
    for xi, n in zip(x, rows["customers"], strict=True):
        bars.text(xi, n, f"{n:,}", ha="center", va="bottom", fontsize=7)
    bars.set_ylabel("customers reached by exactly\nthis combination")
    bars.set_title("Who is reached by which channels together (UpSet)")
    for yi, _ in enumerate(channels):
        matrix.scatter(x, np.full(len(x), yi), color="#dddddd", s=30, zorder=1)
    for xi, (_, row) in zip(x, rows.iterrows(), strict=True):
        on = [yi for yi, c in enumerate(channels) if row[c]]
        matrix.scatter([xi] * len(on), on, color="#222222", s=30, zorder=2)
        if len(on) > 1:
            matrix.plot([xi, xi], [min(on), max(on)], color="#222222", lw=1.5, zorder=2)
    matrix.set_yticks(range(len(channels)), [channel_label(c) for c in channels])
    matrix.set_xticks([])
    matrix.invert_yaxis()
    return np.asarray(axes)


def plot_incremental_reach(reach: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Each channel's reach split into customers only it reaches and duplicated ones.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (8, 4))
    rows = reach[reach["channel"] != "(any channel)"].iloc[::-1]
    y = np.arange(len(rows))
    only = rows["incremental_reach"].to_numpy(float)
    dup = rows["reach"].to_numpy(float) - only
    ax.barh(y, only, color="#dd8452", label="reached only by this channel")
    ax.barh(y, dup, left=only, color="#9db4d6", label="also reached by another channel")
    ax.set_yticks(y, [channel_label(c) for c in rows["channel"]])
    ax.set_xlabel("customers reached in the window")
    ax.set_title("Reach, incremental reach and duplication per channel")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_frequency_response(
    rf: pd.DataFrame, channels: list[str], axes=None, *, cap: int | None = None
) -> np.ndarray:
    """Incremental orders per customer by touch count, one panel per channel.

    Bands are the intervals of ``reach_frequency``; when ``rf`` has a ``true_incremental``
    column (the simulator's truth) it is drawn as black crosses.

    Returns
    -------
    numpy.ndarray
        The Axes, one per channel.
    """
    n = len(channels)
    cols = min(4, n)
    if axes is None:
        fig, axes = plt.subplots(
            -(-n // cols), cols, figsize=(3.2 * cols, 2.8 * -(-n // cols)), squeeze=False,
            sharey=True, layout="constrained",
        )  # fmt: skip
    flat = np.asarray(axes).ravel()
    for ax, channel in zip(flat, channels, strict=False):
        part = rf[rf["channel"] == channel]
        ax.fill_between(part["touches"], part["incremental_low"], part["incremental_high"],
                        color="#9db4d6", alpha=0.6, lw=0)  # fmt: skip
        ax.plot(part["touches"], part["incremental_orders"], marker="o", color="#1f4e8c",
                label="estimate")  # fmt: skip
        if "true_incremental" in part:
            ax.scatter(part["touches"], part["true_incremental"], marker="x", color="black",
                       zorder=3, label="simulator truth")  # fmt: skip
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(channel_label(channel), fontsize=10)
        if cap is not None:
            ticks = list(range(0, cap + 1))
            ax.set_xticks(ticks, [*map(str, ticks[:-1]), f"{cap}+"])
    for ax in flat[n:]:
        ax.set_visible(False)
    flat[0].set_ylabel("incremental orders\nper customer")
    flat[0].legend(fontsize=7, loc="upper left")
    flat[0].figure.supxlabel("touches of the channel in the window")
    return flat[:n]


def plot_journey_flow(
    links: pd.DataFrame, channels: list[str], ax: plt.Axes | None = None
) -> plt.Axes:
    """Alluvial (Sankey-style) chart of the first touches of journeys (``journey_flow``).

    Columns are touch 1, 2, ...; a node's height is the customers at that channel and
    step; bands show how many go on to each next channel, or end with an order or without.

    Returns
    -------
    matplotlib.axes.Axes
    """
    n_cols = int(links["step"].max()) + 2 if len(links) else 1
    ax = get_ax(ax, (2.6 * n_cols + 1, 6))
    order = [*channels, ORDERED, NO_ORDER]
    colour = {c: _PALETTE(i % 10) for i, c in enumerate(channels)} | _OUTCOME_COLOURS
    total = links[links["step"] == 0]["customers"].sum() or 1
    gap = 0.02 * total
    width = 0.18
    nodes: dict[tuple[int, str], list[float]] = {}  # (col, label) -> [bottom, height]
    for col in range(n_cols):
        out = links[links["step"] == col].groupby("source")["customers"].sum()
        inc = links[links["step"] == col - 1].groupby("target")["customers"].sum()
        size = out.add(inc, fill_value=0) if col == 0 else inc.combine(out, max, fill_value=0)
        y = 0.0
        for label in sorted(size.index, key=order.index):
            nodes[(col, label)] = [y, float(size[label])]
            y += float(size[label]) + gap
    out_fill = {k: v[0] for k, v in nodes.items()}
    in_fill = {k: v[0] for k, v in nodes.items()}
    curve = np.linspace(0, 1, 30)
    smooth = 3 * curve**2 - 2 * curve**3
    for _, link in links.iterrows():
        s, src, dst, w = int(link["step"]), link["source"], link["target"], link["customers"]
        y0 = out_fill[(s, src)]
        y1 = in_fill[(s + 1, dst)]
        out_fill[(s, src)] += w
        in_fill[(s + 1, dst)] += w
        xs = s + width / 2 + curve * (1 - width)
        low = y0 + (y1 - y0) * smooth
        ax.fill_between(xs, low, low + w, color=colour[src], alpha=0.35, lw=0)
    for (col, label), (bottom, height) in nodes.items():
        ax.add_patch(Rectangle((col - width / 2, bottom), width, height, color=colour[label]))
        if height > 0.03 * total:
            text = f"{channel_label(label)}\n{int(height):,}"
            ink = "white" if label in channels else "black"
            ax.text(col, bottom + height / 2, text, ha="center", va="center", fontsize=7, color=ink)
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(0, max((b + h for b, h in nodes.values()), default=1) * 1.02)
    ax.invert_yaxis()
    ax.set_xticks(range(n_cols), [f"touch {c + 1}" for c in range(n_cols - 1)] + ["outcome"])
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title("Journey flow: the first touches of each customer's journey in the window")
    return ax


def plot_plan_funnel(funnel: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Draw the plan's funnel: share of the first step reaching each step, per persona.

    The ``all`` funnel is drawn as bars labelled with the drop-off from the previous step;
    personas (when present) as lines.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (9, 4.5))
    overall = funnel[funnel["persona"] == "all"]
    x = np.arange(len(overall))
    ax.bar(x, overall["share_of_first"], color="#c8d6ea", label="all customers")
    for xi, (_, row) in zip(x, overall.iterrows(), strict=True):
        text = f"{row['customers']:,}"
        if pd.notna(row["drop_off"]):
            text += f"\n-{row['drop_off']:.0%}"
        ax.text(xi, row["share_of_first"], text, ha="center", va="bottom", fontsize=8)
    for i, (persona, part) in enumerate(funnel[funnel["persona"] != "all"].groupby("persona")):
        ax.plot(x, part["share_of_first"], marker="o", color=_PALETTE(i % 10), label=persona)
    ax.set_xticks(x, overall["name"])
    ax.set_ylabel("share of the first step")
    ax.set_ylim(0, 1.15)
    ax.set_title("The plan's funnel: customers reaching each step (bars: drop-off)")
    ax.legend(fontsize=8, loc="upper right")
    return ax


def plot_retention(
    curves: pd.DataFrame, expected: pd.DataFrame | None = None, ax: plt.Axes | None = None,
    *, title: str = "",
) -> plt.Axes:  # fmt: skip
    """Cumulative repeat orders per customer by months since the first order, per cohort.

    ``expected`` (``month, expected_repeat_orders``), the CLV model's expectation for a new
    customer, is drawn as a dashed black line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, (8, 4.5))
    for i, (cohort, part) in enumerate(curves.groupby("cohort", sort=True)):
        ax.plot(part["month"], part["repeat_orders"], marker="o", color=_PALETTE(i % 10),
                label=channel_label(cohort))  # fmt: skip
    if expected is not None:
        ax.plot(expected["month"], expected["expected_repeat_orders"], ls="--", color="black",
                lw=2, label="BG/NBD expectation")  # fmt: skip
    ax.set_xlabel("months since the first order")
    ax.set_ylabel("repeat orders per customer\n(cumulative)")
    ax.set_title(title or "Repeat purchases by cohort")
    ax.legend(fontsize=7, ncol=2)
    return ax
