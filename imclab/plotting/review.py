"""Figures of the post-campaign review; each takes data (+ optional Axes) and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imclab.config import CHANNELS
from imclab.plotting._common import channel_label, get_ax

__all__ = [
    "STATUS_COLOURS",
    "plot_ab_readout",
    "plot_budget_vs_actual",
    "plot_channel_roi",
    "plot_did",
    "plot_gantt",
    "plot_scorecard",
    "plot_survey_lift",
]

STATUS_COLOURS: dict[str, str] = {
    "met": "#55a868",
    "on track": "#8172b3",
    "at risk": "#dd8452",
    "missed": "#c44e52",
    "no data": "#b0b0b0",
}


def plot_scorecard(scorecard: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar per objective: share of the planned change achieved, coloured by status.

    Parameters
    ----------
    scorecard
        :func:`imclab.review.scorecard.scorecard` (``id, progress, status``).
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per objective (objectives without data get an empty bar and "no data").
    """
    ax = get_ax(ax, (8, 0.5 * len(scorecard) + 1.5))
    y = np.arange(len(scorecard))
    progress = scorecard["progress"].fillna(0.0).to_numpy()
    colours = [STATUS_COLOURS.get(s, "#b0b0b0") for s in scorecard["status"]]
    ax.barh(y, progress, color=colours)
    ax.axvline(1.0, color="black", lw=1, ls="--")
    ax.axvline(0.0, color="grey", lw=0.8)
    for yi, p, status in zip(y, progress, scorecard["status"], strict=True):
        ax.annotate(status, (max(p, 0), yi), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=9)  # fmt: skip
    ax.set_yticks(y, scorecard["id"])
    ax.invert_yaxis()
    # Room right of the longest bar (or the target line) for its status label.
    right = max(1.0, float(progress.max(initial=0.0)))
    ax.set_xlim(min(0.0, float(progress.min(initial=0.0))) - 0.05, right * 1.3)
    ax.set_xlabel("share of the planned change achieved (1 = target)")
    ax.set_title("Objectives: progress from baseline to target")
    return ax


def plot_budget_vs_actual(budget: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Draw grouped bars of planned budget and actual spend per channel.

    Parameters
    ----------
    budget
        :func:`imclab.review.plan_vs_actual.budget_vs_actual` with ``by="channel"`` (the
        ``total`` row is left out).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    rows = budget.loc[budget["channel"] != "total"]
    long = rows.melt(id_vars="channel", value_vars=["planned", "actual"], var_name="",
                     value_name="amount")  # fmt: skip
    long["channel"] = long["channel"].map(channel_label)
    sns.barplot(data=long, x="amount", y="channel", hue="", ax=ax)
    ax.set_xlabel("media spend")
    ax.set_ylabel("")
    ax.set_title("Budget: planned vs actual by channel")
    return ax


def plot_gantt(planned: pd.DataFrame, actual: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Gantt chart: the plan's phases per channel (light) against the weeks it ran (dark).

    Parameters
    ----------
    planned
        :func:`imclab.review.plan_vs_actual.planned_spans` (``phase, channel, start, end``).
    actual
        :func:`imclab.review.plan_vs_actual.activity_spans` (``channel, start, end``).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        One row per channel; planned bars in the upper half of the row, actual below.
    """
    present = set(planned["channel"]) | set(actual["channel"])
    channels = [c for c in CHANNELS if c in present] + sorted(present - set(CHANNELS))
    ax = get_ax(ax, (10, 0.55 * len(channels) + 1.5))
    day = pd.Timedelta(days=1)
    for i, channel in enumerate(channels):
        plan_rows = planned.loc[planned["channel"] == channel]
        spans = [
            (mdates(s), (e - s + day).days)
            for s, e in zip(plan_rows["start"], plan_rows["end"], strict=True)
        ]
        ax.broken_barh(spans, (i - 0.4, 0.4), facecolors="#a1c9f4", edgecolor="white",
                       label="planned" if i == 0 else None)  # fmt: skip
        act = actual.loc[actual["channel"] == channel]
        spans = [(mdates(s), (e - s + day).days) for s, e in zip(act["start"], act["end"],
                                                                strict=True)]  # fmt: skip
        ax.broken_barh(spans, (i, 0.4), facecolors="#1f4e79", edgecolor="white",
                       label="ran" if i == 0 else None)  # fmt: skip
    phases = planned.drop_duplicates("phase")
    for phase in phases.itertuples(index=False):
        ax.axvline(mdates(phase.start), color="grey", lw=0.8, ls=":")
        ax.annotate(phase.phase, (mdates(phase.start), -0.6), xytext=(2, 0),
                    textcoords="offset points", fontsize=9, va="bottom")  # fmt: skip
    ax.set_yticks(range(len(channels)), [channel_label(c) for c in channels])
    ax.set_ylim(len(channels) - 0.4, -0.8)
    ax.xaxis_date()
    ax.set_title("Plan phases (light) vs weeks each channel ran (dark)")
    ax.legend(loc="lower right")
    return ax


def mdates(value: pd.Timestamp) -> float:
    """Return a timestamp as a matplotlib date number (days since the epoch)."""
    return float((pd.Timestamp(value) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1))


def plot_survey_lift(lift: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Pre/post share per funnel stage with the lift's 95 % interval.

    Parameters
    ----------
    lift
        :func:`imclab.review.experiments.survey_lift` (the ``nps`` row is left out: it has
        another scale).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        Bars of the pre and post shares per stage; the interval of the post share is
        drawn as post - lift + CI of the lift.
    """
    ax = get_ax(ax)
    rows = lift.loc[lift["stage"] != "nps"].reset_index(drop=True)
    y = np.arange(len(rows))
    ax.barh(y - 0.2, rows["pre"].fillna(0), height=0.4, color="#a1c9f4", label="pre")
    ax.barh(y + 0.2, rows["post"].fillna(0), height=0.4, color="#1f4e79", label="post")
    err = np.vstack(
        [(rows["lift"] - rows["ci_low"]).fillna(0), (rows["ci_high"] - rows["lift"]).fillna(0)]
    )
    ax.errorbar(rows["post"].fillna(0), y + 0.2, xerr=err, fmt="none", ecolor="black",
                capsize=3)  # fmt: skip
    ax.set_yticks(y, [s.replace("_", " ") for s in rows["stage"]])
    ax.invert_yaxis()
    ax.set_xlabel("share of respondents (error bar: 95% CI of the lift)")
    ax.set_title("Brand funnel before and after the campaign")
    ax.legend()
    return ax


def plot_ab_readout(ab: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Relative lift of each variant over control per metric, with its 95 % interval.

    Parameters
    ----------
    ab
        :func:`imclab.review.experiments.ab_readout`.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        One point per test, metric and variant; the interval is the absolute-lift CI
        divided by the control rate.
    """
    rows = ab.dropna(subset=["rate_control"]).reset_index(drop=True)
    ax = get_ax(ax, (8, 0.5 * len(rows) + 1.5))
    base = rows["rate_control"].where(rows["rate_control"] > 0)
    rel = rows["rel_lift"]
    low, high = rows["ci_low"] / base, rows["ci_high"] / base
    y = np.arange(len(rows))
    ax.errorbar(rel, y, xerr=np.vstack([rel - low, high - rel]), fmt="o", capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    labels = [f"{r.test_id}\n{r.metric.replace('_', ' ')} ({r.variant} vs {r.control})"
              for r in rows.itertuples(index=False)]  # fmt: skip
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:+.0%}"))
    ax.set_xlabel("relative lift over control (95% CI)")
    ax.set_title("A/B tests")
    return ax


def plot_did(
    weekly: pd.DataFrame,
    start: object,
    end: object,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Weekly conversions per customer in treated and holdout regions, campaign window shaded.

    Parameters
    ----------
    weekly
        :func:`imclab.review.experiments.weekly_outcome`.
    start, end
        The campaign window.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (treated, holdout).
    """
    ax = get_ax(ax)
    sns.lineplot(data=weekly, x="week", y="per_customer", hue="group",
                 hue_order=["treated", "holdout"], marker="o", ax=ax)  # fmt: skip
    ax.axvspan(pd.Timestamp(start), pd.Timestamp(end), color="grey", alpha=0.15, label="campaign")
    ax.set_xlabel("week")
    ax.set_ylabel("conversions per customer")
    ax.set_title("Geo holdout: treated vs holdout regions")
    ax.legend()
    return ax


def plot_channel_roi(
    roi: pd.DataFrame, threshold: float = 1.0, ax: plt.Axes | None = None
) -> plt.Axes:
    """ROI = (revenue - cost) / cost per paid channel, with the review's threshold line.

    Parameters
    ----------
    roi
        :func:`imclab.review.plan_vs_actual.channel_roi`.
    threshold
        ROI below which a channel is flagged (drawn as a dashed line).
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per channel with a finite ROI, red below the threshold.
    """
    ax = get_ax(ax)
    rows = roi.loc[np.isfinite(roi["roi"].astype(float))]
    colours = ["#c44e52" if v < threshold else "#55a868" for v in rows["roi"]]
    ax.barh([channel_label(c) for c in rows["channel"]], rows["roi"], color=colours)
    ax.axvline(threshold, color="black", ls="--", lw=1)
    ax.axvline(0, color="grey", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("ROI = (attributed revenue - cost) / cost")
    ax.set_title("Return on investment by channel")
    return ax
