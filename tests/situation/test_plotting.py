"""Situation figures: assert on the returned Axes (bars, labels), never on pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from imclab.plotting.situation import (
    plot_brand_funnel,
    plot_channel_baseline,
    plot_funnel_leaks,
    plot_journey_funnel,
    plot_sales_trend,
    plot_shares,
    plot_smart,
    plot_swot,
    plot_weekly_seasonality,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_sales_and_seasonality_plots():
    dates = pd.date_range("2025-01-06", periods=14, freq="D")
    dec = pd.DataFrame({"date": dates, "observed": np.arange(14.0), "trend": np.arange(14.0)})
    ax = plot_sales_trend(dec)
    assert len(ax.get_lines()) == 2 and ax.get_title() == "Sales over time and their trend"
    season = pd.DataFrame({"weekday": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                           "relative": [0.1, -0.1, 0, 0, 0, 0, 0.2]})  # fmt: skip
    ax = plot_weekly_seasonality(season)
    assert len(ax.patches) == 7
    assert max(p.get_height() for p in ax.patches) == pytest.approx(20)


def test_brand_funnel_bars_and_error_bars():
    rows = []
    for brand in ("Ours", "Rival"):
        for i, stage in enumerate(["awareness", "consideration", "preference",
                                   "purchase_intent", "loyalty"]):  # fmt: skip
            rows.append({"group": "W1", "brand": brand, "stage": stage, "step": i,
                         "share": 0.5 / (i + 1), "share_low": 0.4 / (i + 1),
                         "share_high": 0.6 / (i + 1)})  # fmt: skip
    ax = plot_brand_funnel(pd.DataFrame(rows))
    bars = [p for p in ax.patches if p.get_height() > 0]
    assert len(bars) == 10
    assert "W1" in ax.get_title()


def test_leaks_shares_journey_baseline_swot_and_smart():
    leaks = pd.DataFrame({"group": ["W1", "W1"], "stage": ["awareness", "consideration"],
                          "gap_vs_best": [-0.3, 0.05], "biggest_leak": [True, False]})  # fmt: skip
    ax = plot_funnel_leaks(leaks)
    assert sorted(round(p.get_width(), 6) for p in ax.patches) == [-30.0, 5.0]
    shares = pd.DataFrame({"brand": ["A", "B"], "share": [0.25, 0.75], "source": ["survey"] * 2})
    assert len(plot_shares(shares).patches) == 2
    stages = ["exposed", "engaged", "visited", "converted", "repeat"]
    journey = pd.DataFrame(
        {"channel": ["seo"] * 5, "stage": stages, "share_of_exposed": [1, 0.5, 0.4, 0.1, 0.01]}
    )
    ax = plot_journey_funnel(journey)
    assert ax.get_yscale() == "log" and ax.get_legend().get_texts()[0].get_text() == "SEO"
    base = pd.DataFrame({"channel": ["seo", "edm"], "conversion_rate": [0.1, np.nan],
                         "conversion_rate_low": [0.05, np.nan],
                         "conversion_rate_high": [0.15, np.nan]})  # fmt: skip
    ax = plot_channel_baseline(base, "conversion_rate")
    assert len(ax.patches) == 1  # channels without a value are not drawn
    table = pd.DataFrame({"Helpful": ["- s", "- o"], "Harmful": ["- w", "- t"]},
                         index=["Internal", "External"])  # fmt: skip
    ax = plot_swot(table)
    texts = [t.get_text() for t in ax.texts]
    assert {"Strengths", "Weaknesses", "Opportunities", "Threats"} <= set(texts)
    matrix = pd.DataFrame({"kpi": ["roas"], "S": ["pass"], "M": ["warn"], "A": ["fail"],
                           "R": ["pass"], "T": ["pass"]}, index=["o1"])  # fmt: skip
    ax = plot_smart(matrix)
    assert [t.get_text() for t in ax.texts] == ["pass", "warn", "fail", "pass", "pass"]
