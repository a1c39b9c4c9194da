"""Figures of the data-audit notebook; each takes an audit table (+ optional Axes), returns Axes."""

from __future__ import annotations

from datetime import date

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter

from imclab.errors import ParameterError
from imclab.plotting._common import get_ax

LOADED_COLOR = "#4c72b0"
QUARANTINED_COLOR = "#dd8452"


def plot_rows_per_table(rows: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Stacked bars per table: share of rows loaded vs quarantined, labelled with counts.

    Parameters
    ----------
    rows
        From :func:`imclab.data.audit.rows_per_table` (absent tables are left out).
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per table for the quarantined share (drawn first, full length) and one for
        the loaded share on top of it.
    """
    data = rows[rows["rows_read"] > 0].copy()
    ax = get_ax(ax, (8, 0.45 * len(data) + 1.5))
    data["total"] = 1.0
    data["loaded"] = data["rows_loaded"] / data["rows_read"]
    sns.barplot(
        data=data, x="total", y="table", color=QUARANTINED_COLOR, label="quarantined", ax=ax
    )
    sns.barplot(data=data, x="loaded", y="table", color=LOADED_COLOR, label="loaded", ax=ax)
    for i, row in enumerate(data.itertuples(index=False)):
        ax.text(
            1.01,
            i,
            f"{row.rows_loaded:,} loaded / {row.rows_quarantined:,} quarantined",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of rows read")
    ax.set_ylabel("")
    ax.set_title("Rows per table: loaded vs quarantined")
    # Below the axis: inside, the legend covers the bars of the last tables.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 / max(len(data), 1) - 0.12),
              ncol=2, frameon=False)  # fmt: skip
    return ax


def plot_date_coverage(
    coverage: pd.DataFrame,
    ax: plt.Axes | None = None,
    window: tuple[str | date | pd.Timestamp, str | date | pd.Timestamp] | None = None,
) -> plt.Axes:
    """Timeline per table from its first to its last date, with the days without rows.

    Parameters
    ----------
    coverage
        From :func:`imclab.data.audit.date_coverage`.
    ax
        Axes to draw on.
    window
        Optional ``(start, end)`` of the campaign, shaded for reference.

    Returns
    -------
    matplotlib.axes.Axes
        One horizontal segment per table (a ``LineCollection``) and its two end points.
    """
    ax = get_ax(ax, (9, 0.45 * len(coverage) + 1.5))
    tables = list(coverage["table"])
    positions = range(len(tables))
    ax.hlines(
        y=list(positions), xmin=coverage["first"], xmax=coverage["last"], color=LOADED_COLOR, lw=4
    )
    ends = coverage.melt(id_vars="table", value_vars=["first", "last"], value_name="date")
    ends["y"] = ends["table"].map({t: i for i, t in enumerate(tables)})
    sns.scatterplot(data=ends, x="date", y="y", color=LOADED_COLOR, s=30, ax=ax, legend=False)
    for i, row in enumerate(coverage.itertuples(index=False)):
        ax.annotate(
            f"{row.days:,} day{'s' if row.days != 1 else ''}, "
            f"{row.days_without_rows:,} without rows",
            xy=(row.last, i),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    if window is not None:
        start, end = (pd.Timestamp(w) for w in window)
        ax.axvspan(start, end, color="grey", alpha=0.15, label="campaign")
        ax.legend(loc="lower left")
    ax.set_yticks(list(positions), tables)
    ax.set_ylim(len(tables) - 0.5, -0.5)
    ax.set_xlabel("date")
    ax.set_ylabel("")
    ax.set_title("Date coverage per table")
    return ax


def plot_identity_match(identity: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bars of the share of rows whose ``customer_id`` joins to a known customer.

    Parameters
    ----------
    identity
        From :func:`imclab.data.audit.identity_match`.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per table, annotated with matched / rows.
    """
    ax = get_ax(ax, (7, 0.5 * len(identity) + 1.5))
    sns.barplot(data=identity, x="match_rate", y="table", color=LOADED_COLOR, ax=ax)
    for i, row in enumerate(identity.itertuples(index=False)):
        ax.text(
            min(row.match_rate, 1.0) + 0.01,
            i,
            f"{row.match_rate:.1%} ({row.matched:,} of {row.rows:,})",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, 1.25)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("rows matched to a known customer")
    ax.set_ylabel("")
    ax.set_title("Identity match rate (data silos)")
    return ax


def plot_weekly_events(
    weekly: pd.DataFrame, ax: plt.Axes | None = None, kind: str = "lines"
) -> plt.Axes:
    """Weekly rows per channel, as lines or as a channel x week heatmap.

    Parameters
    ----------
    weekly
        From :func:`imclab.data.audit.weekly_events`.
    ax
        Axes to draw on.
    kind
        ``"lines"`` (one line per channel) or ``"heatmap"`` (empty weeks stand out).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if kind not in ("lines", "heatmap"):
        raise ParameterError(f"kind={kind!r}: expected 'lines' or 'heatmap'")
    data = weekly.copy()
    data["channel"] = data["channel"].astype(str)
    channels = list(dict.fromkeys(data["channel"]))
    if kind == "lines":
        ax = get_ax(ax, (10, 4.5))
        sns.lineplot(
            data=data, x="week", y="events", hue="channel", hue_order=channels, marker="o",
            markersize=3, ax=ax,
        )  # fmt: skip
        ax.set_ylabel("rows per week")
        ax.legend(title="channel", bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
    else:
        ax = get_ax(ax, (10, 0.4 * len(channels) + 1.8))
        matrix = data.pivot(index="channel", columns="week", values="events").loc[channels]
        matrix.columns = [f"{w:%m-%d}" for w in matrix.columns]
        sns.heatmap(matrix, cmap="Blues", cbar_kws={"label": "rows per week"}, ax=ax)
        ax.set_ylabel("")
    ax.set_xlabel("week starting")
    ax.set_title("Weekly rows per channel")
    return ax
