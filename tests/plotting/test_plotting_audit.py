"""Audit figures: bars, lines and labels on the returned Axes (never pixels)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from imclab.errors import ParameterError  # noqa: E402
from imclab.plotting.audit import (  # noqa: E402
    plot_date_coverage,
    plot_identity_match,
    plot_rows_per_table,
    plot_weekly_events,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def labels(ax, axis="y"):
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in ticks]


def test_rows_per_table_stacked_bars():
    rows = pd.DataFrame(
        {
            "table": ["customers", "touchpoints", "survey"],
            "rows_read": [10, 100, 0],
            "rows_loaded": [10, 75, 0],
            "rows_quarantined": [0, 25, 0],
        }
    )
    ax = plot_rows_per_table(rows)
    assert labels(ax) == ["customers", "touchpoints"]  # absent survey left out
    assert len(ax.patches) == 4  # quarantined + loaded bar per table
    widths = sorted(round(p.get_width(), 3) for p in ax.patches)
    assert widths == [0.75, 1.0, 1.0, 1.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["quarantined", "loaded"]
    assert "75 loaded / 25 quarantined" in [t.get_text() for t in ax.texts]


def test_rows_per_table_legend_covers_no_bar():
    tables = ["customers", "touchpoints", "conversions", "spend", "survey", "creatives"]
    rows = pd.DataFrame({"table": tables, "rows_read": [10] * 6, "rows_loaded": [10] * 5 + [7],
                         "rows_quarantined": [0] * 5 + [3]})  # fmt: skip
    ax = plot_rows_per_table(rows)
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    for bar in ax.patches:
        assert not legend.overlaps(bar.get_window_extent())


def test_date_coverage_one_segment_per_table_and_window():
    coverage = pd.DataFrame(
        {
            "table": ["touchpoints", "spend"],
            "first": pd.to_datetime(["2025-01-01", "2025-01-05"]),
            "last": pd.to_datetime(["2025-06-30", "2025-06-01"]),
            "days": [181, 148],
            "days_without_rows": [0, 3],
        }
    )
    _, ax = plt.subplots()
    assert plot_date_coverage(coverage, ax=ax, window=("2025-03-03", "2025-05-25")) is ax
    assert labels(ax) == ["touchpoints", "spend"]
    assert len(ax.collections[0].get_segments()) == 2
    assert "148 days, 3 without rows" in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["campaign"]


def test_identity_match_bars():
    identity = pd.DataFrame(
        {
            "table": ["touchpoints", "conversions", "survey"],
            "rows": [100, 10, 50],
            "matched": [100, 9, 10],
            "match_rate": [1.0, 0.9, 0.2],
        }
    )
    ax = plot_identity_match(identity)
    assert labels(ax) == ["touchpoints", "conversions", "survey"]
    assert [round(p.get_width(), 2) for p in ax.patches] == [1.0, 0.9, 0.2]
    assert "20.0% (10 of 50)" in [t.get_text() for t in ax.texts]


def weekly_frame() -> pd.DataFrame:
    weeks = pd.to_datetime(["2025-03-03", "2025-03-10", "2025-03-17"])
    return pd.DataFrame(
        {
            "week": list(weeks) * 2,
            "channel": pd.Categorical(["seo"] * 3 + ["edm"] * 3, categories=["seo", "edm"]),
            "events": [5, 0, 7, 1, 2, 3],
        }
    )


def test_weekly_events_lines_one_per_channel():
    ax = plot_weekly_events(weekly_frame())
    drawn = [line for line in ax.lines if len(line.get_xdata())]  # not the legend proxies
    assert len(drawn) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["seo", "edm"]
    assert list(drawn[0].get_ydata()) == [5, 0, 7]
    assert list(drawn[1].get_ydata()) == [1, 2, 3]


def test_weekly_events_heatmap():
    ax = plot_weekly_events(weekly_frame(), kind="heatmap")
    assert labels(ax) == ["seo", "edm"]
    assert labels(ax, "x") == ["03-03", "03-10", "03-17"]
    assert ax.collections[0].get_array().reshape(2, 3).tolist() == [[5, 0, 7], [1, 2, 3]]
    with pytest.raises(ParameterError, match="kind='pie'"):
        plot_weekly_events(weekly_frame(), kind="pie")
