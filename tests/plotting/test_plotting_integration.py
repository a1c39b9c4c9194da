"""Channel-integration figures: bars, cells, lines and labels on the returned Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from imclab.integration.flow import NO_ORDER, ORDERED  # noqa: E402
from imclab.plotting import integration as plots  # noqa: E402

CH = ["paid_search", "social", "edm"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_synergy_matrix_annotates_estimated_pairs_and_frames_significant_ones():
    pairs = pd.DataFrame(
        {
            "channel_a": ["paid_search", "paid_search", "social"],
            "channel_b": ["social", "edm", "edm"],
            "estimate": [0.2, -0.01, np.nan],
            "ci_low": [0.1, -0.1, np.nan],
            "ci_high": [0.3, 0.08, np.nan],
        }
    )
    ax = plots.plot_synergy_matrix(pairs, CH)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 2 and "+0.200" in texts[0] and "[+0.10, +0.30]" in texts[0]
    framed = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(framed) == 1  # only the pair whose interval excludes 0
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "Paid search"


def test_upset_bars_and_dots():
    overlap = pd.DataFrame(
        {
            "combination": ["paid_search + social", "edm", "(other)"],
            "channels": [2, 1, 0], "customers": [50, 30, 5], "share": [0.6, 0.35, 0.05],
            "paid_search": [1, 0, 0], "social": [1, 0, 0], "edm": [0, 1, 0],
        }
    )  # fmt: skip
    bars, matrix = plots.plot_upset(overlap, CH)
    assert [p.get_height() for p in bars.patches] == [50, 30]  # "(other)" not drawn
    assert len(matrix.lines) == 1  # one connector for the two-channel combination


def test_incremental_reach_stacks_exclusive_and_duplicated():
    reach = pd.DataFrame(
        {"channel": [*CH, "(any channel)"], "reach": [100, 80, 40, 150],
         "incremental_reach": [20, 10, 5, np.nan]}
    )  # fmt: skip
    ax = plots.plot_incremental_reach(reach)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [5, 10, 20, 35, 70, 80]  # reversed order: exclusive, then duplicated


def test_frequency_response_one_panel_per_channel_with_truth():
    rows = [(c, k, 0.05 * k, 0.05 * k - 0.02, 0.05 * k + 0.02, 0.04 * k)
            for c in CH for k in range(4)]  # fmt: skip
    columns = ["channel", "touches", "incremental_orders", "incremental_low",
               "incremental_high", "true_incremental"]  # fmt: skip
    rf = pd.DataFrame(rows, columns=columns)
    axes = plots.plot_frequency_response(rf, CH, cap=3)
    assert len(axes) == 3 and axes[1].get_title() == "Paid social"
    assert len(axes[0].collections) == 2  # the band and the truth crosses
    assert [t.get_text() for t in axes[0].get_xticklabels()][-1] == "3+"


def test_journey_flow_nodes_sized_by_customers():
    links = pd.DataFrame(
        {"step": [0, 0, 1], "source": ["social", "edm", "edm"],
         "target": ["edm", NO_ORDER, ORDERED], "customers": [6, 4, 6]}
    )  # fmt: skip
    ax = plots.plot_journey_flow(links, CH)
    nodes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert sorted(p.get_height() for p in nodes) == [4, 4, 6, 6, 6]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["touch 1", "touch 2", "outcome"]


def test_plan_funnel_bars_and_persona_lines():
    funnel = pd.DataFrame(
        {"persona": ["all"] * 2 + ["p1"] * 2, "step": [1, 2, 1, 2], "name": ["a", "b"] * 2,
         "customers": [10, 4, 5, 1], "share_of_first": [1, 0.4, 1, 0.2],
         "drop_off": [np.nan, 0.6, np.nan, 0.8]}
    )  # fmt: skip
    ax = plots.plot_plan_funnel(funnel)
    assert [p.get_height() for p in ax.patches] == [1, 0.4]
    assert len(ax.lines) == 1 and "-60%" in ax.texts[1].get_text()


def test_retention_lines_and_model_overlay():
    curves = pd.DataFrame(
        {"cohort": ["2025-01"] * 2 + ["2025-02"] * 2, "month": [1, 2, 1, 2],
         "repeat_orders": [0.1, 0.3, 0.12, 0.25]}
    )  # fmt: skip
    expected = pd.DataFrame({"month": [1, 2], "expected_repeat_orders": [0.2, 0.35]})
    ax = plots.plot_retention(curves, expected)
    assert len(ax.lines) == 3 and ax.lines[-1].get_linestyle() == "--"
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "BG/NBD expectation"
