"""Tests of imclab.plotting.budget: what each figure draws, asserted on the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from imclab.plotting.budget import plot_allocation, plot_response_curves
from imclab.review import budget as B


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
