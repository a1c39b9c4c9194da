"""Tests of imclab.plotting.review: what each figure draws (bars, lines, labels), not pixels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from imclab.plotting.review import (
    STATUS_COLOURS,
    plot_ab_readout,
    plot_budget_vs_actual,
    plot_channel_roi,
    plot_did,
    plot_gantt,
    plot_scorecard,
    plot_survey_lift,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_scorecard_bars_coloured_by_status():
    card = pd.DataFrame({"id": ["a", "b", "c"], "progress": [1.2, 0.4, np.nan],
                         "status": ["met", "missed", "no data"]})  # fmt: skip
    ax = plot_scorecard(card)
    bars = ax.patches
    assert len(bars) == 3
    assert [b.get_width() for b in bars] == [1.2, 0.4, 0.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert bars[1].get_facecolor() == to_rgba(STATUS_COLOURS["missed"])
    assert [t.get_text() for t in ax.texts] == ["met", "missed", "no data"]


def test_scorecard_status_labels_stay_inside_the_axes():
    card = pd.DataFrame({"id": ["a", "b"], "progress": [3.4, -0.6], "status": ["met", "missed"]})
    ax = plot_scorecard(card)
    fig = ax.figure
    fig.canvas.draw()
    box = ax.get_window_extent()
    for text in ax.texts:
        extent = text.get_window_extent()
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()


def test_budget_bars_leave_out_total():
    budget = pd.DataFrame({"channel": ["social", "tv", "total"], "planned": [10.0, 20.0, 30.0],
                           "actual": [12.0, 0.0, 12.0]})  # fmt: skip
    ax = plot_budget_vs_actual(budget)
    widths = sorted(bar.get_width() for bars in ax.containers for bar in bars)
    assert widths == [0.0, 10.0, 12.0, 20.0]  # planned and actual of two channels, no total
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Paid social", "TV / offline"]


def test_gantt_rows_and_spans():
    planned = pd.DataFrame(
        {"phase": ["teaser", "launch", "launch"], "channel": ["tv", "tv", "seo"],
         "start": pd.to_datetime(["2025-03-03", "2025-03-24", "2025-03-24"]),
         "end": pd.to_datetime(["2025-03-23", "2025-04-27", "2025-04-27"])}
    )  # fmt: skip
    actual = pd.DataFrame({"channel": ["tv"], "start": pd.to_datetime(["2025-03-03"]),
                           "end": pd.to_datetime(["2025-04-27"]), "weeks": [8]})  # fmt: skip
    ax = plot_gantt(planned, actual)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["SEO", "TV / offline"]
    collections = ax.collections  # planned and actual bars per channel
    assert len(collections) == 4
    tv_actual = collections[3].get_paths()
    assert len(tv_actual) == 1  # one merged span
    assert [t.get_text() for t in ax.texts] == ["teaser", "launch"]


def test_survey_lift_bars_and_error_bars():
    lift = pd.DataFrame(
        {"stage": ["awareness", "consideration", "nps"], "pre": [0.3, 0.15, 10.0],
         "post": [0.39, 0.2, 15.0], "lift": [0.09, 0.05, 5.0], "ci_low": [0.05, 0.01, -5.0],
         "ci_high": [0.13, 0.09, 15.0]}
    )  # fmt: skip
    ax = plot_survey_lift(lift)
    assert len(ax.patches) == 4  # two stages x pre/post; NPS left out
    assert [t.get_text() for t in ax.get_yticklabels()] == ["awareness", "consideration"]


def test_ab_readout_points_skip_empty_arms():
    ab = pd.DataFrame(
        {"test_id": ["t", "t"], "metric": ["open_rate", "click_rate"], "variant": "B",
         "control": "A", "rate_control": [0.2, np.nan], "rel_lift": [0.1, np.nan],
         "ci_low": [-0.01, np.nan], "ci_high": [0.05, np.nan]}
    )  # fmt: skip
    ax = plot_ab_readout(ab)
    assert len(ax.get_yticks()) == 1
    x = ax.lines[0].get_xdata()
    assert list(x) == pytest.approx([0.1])


def test_did_two_lines_and_campaign_window():
    weeks = pd.date_range("2025-01-06", periods=4, freq="7D")
    weekly = pd.DataFrame(
        {
            "week": np.repeat(weeks, 2),
            "group": ["treated", "holdout"] * 4,
            "per_customer": [0.02, 0.02, 0.02, 0.02, 0.05, 0.02, 0.05, 0.02],
        }
    )
    ax = plot_did(weekly, "2025-01-20", "2025-02-02")
    assert len([ln for ln in ax.lines if len(ln.get_xdata()) == 4]) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["treated", "holdout"]


def test_channel_roi_bars_red_below_threshold():
    roi = pd.DataFrame({"channel": ["social", "tv", "edm"], "roi": [2.0, -0.2, np.nan]})
    ax = plot_channel_roi(roi)
    assert len(ax.patches) == 2
    assert ax.patches[1].get_facecolor() == to_rgba("#c44e52")
    assert ax.patches[0].get_facecolor() == to_rgba("#55a868")
