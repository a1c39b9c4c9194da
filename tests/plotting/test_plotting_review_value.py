"""Tests of imclab.plotting.review_value: what each figure draws, asserted on the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from imclab.plotting.review_value import (
    plot_allocation,
    plot_channel_consistency,
    plot_clv_by_segment,
    plot_clv_distribution,
    plot_consistency,
    plot_response_curves,
)
from imclab.review import budget as B
from imclab.review.consistency import message_consistency


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def plan():
    params = pd.DataFrame(
        {"channel": ["edm", "tv"], "beta": [5.0, 9.0], "K": [20.0, 320.0], "alpha": [1.5, 1.3],
         "max_daily_spend": [60.0, 600.0]}
    )  # fmt: skip
    curves = B.ResponseCurves.from_params(params)
    plan = B.optimize_budget(curves, 20_000.0, 84, actual={"edm": 1800.0, "tv": 18_200.0})
    return curves, plan


def test_clv_distribution_marks_mean_and_median():
    customers = pd.DataFrame({"clv": [10.0, 20.0, 30.0, 100.0]})
    ax = plot_clv_distribution(customers, bins=4)
    assert len(ax.patches) == 4
    xs = sorted(line.get_xdata()[0] for line in ax.get_lines())
    assert xs == pytest.approx([25.0, 40.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mean 40.0", "median 25.0"]


def test_clv_by_segment_bars_sorted_with_counts():
    seg = pd.DataFrame(
        {"first_touch_channel": ["tv", "edm", "(no touch)"], "buyers": [9, 194, 30],
         "mean_clv": [40.0, 80.0, 20.0]}
    )  # fmt: skip
    ax = plot_clv_by_segment(seg)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [80.0, 40.0, 20.0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["EDM (email)", "TV / offline", "(no touch)"]
    assert "n=194" in [t.get_text().strip() for t in ax.texts]
    assert ax.get_title() == "CLV by first touch channel"


def test_response_curves_draw_bands_and_marks(plan):
    curves, result = plan
    frame = curves.curve_frame(n_points=30)
    ax = plot_response_curves(frame, result.allocation)
    lines = ax.get_lines()
    # one curve + an actual (o) and a recommended (^) marker per channel
    assert len(lines) == 6
    markers = sorted(line.get_marker() for line in lines if line.get_marker() in ("o", "^"))
    assert markers == ["^", "^", "o", "o"]
    assert len(ax.collections) == 2  # one band per channel
    tv_mark = [ln for ln in lines if ln.get_marker() == "o"][1]
    alloc = result.allocation.set_index("channel")
    assert tv_mark.get_xdata()[0] == pytest.approx(alloc.loc["tv", "actual_daily_spend"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["EDM (email)", "TV / offline"]


def test_allocation_bars_pair_actual_and_recommended(plan):
    _, result = plan
    ax = plot_allocation(result.allocation)
    bars = [p.get_width() for p in ax.patches if p.get_width() > 0 or p.get_height() > 0]
    alloc = result.allocation
    expected = [*alloc["actual_at_budget"], *alloc["recommended_spend"]]
    assert sorted(np.round(bars, 2)) == sorted(np.round(expected, 2))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["actual mix", "recommended"]


@pytest.fixture(scope="module")
def consistency(repo_root, sample_dir):
    from imclab.plan import load_plan

    house = load_plan(repo_root / "campaigns" / "spring_launch.yaml").message_house
    return message_consistency(pd.read_csv(sample_dir / "creatives.csv"), house)


def test_consistency_heatmap_has_a_row_per_creative(consistency):
    ax = plot_consistency(consistency.creatives, threshold=consistency.threshold)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert len(rows) == len(consistency.creatives)
    assert "Affiliate / CR008 (en)" in rows
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert cols == ["core_message", "pillar_1", "pillar_2", "pillar_3", "score"]
    assert len(ax.texts) == len(rows) * len(cols)  # annotated cells


def test_consistency_heatmap_of_nothing_says_so():
    ax = plot_consistency(pd.DataFrame(columns=["creative_id", "channel", "language", "score"]))
    assert ax.texts[0].get_text() == "no creatives to score"


def test_channel_consistency_colours_off_message_red(consistency):
    ax = plot_channel_consistency(consistency.channels, consistency.threshold)
    assert len(ax.patches) == len(consistency.channels)
    red = [p for p in ax.patches if p.get_facecolor()[0] > 0.7 and p.get_facecolor()[1] < 0.4]
    assert len(red) == 1  # affiliate
    assert ax.get_yticklabels()[0].get_text() == "Affiliate"
    assert ax.get_lines()[0].get_xdata()[0] == pytest.approx(consistency.threshold)
