"""Attribution figures: each returns the Axes with the expected bars, labels and cells."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from imclab.attribution import (
    NO_TOUCH,
    bootstrap_shares,
    cost_per_channel,
    ordered_shapley,
    path_length_distribution,
    paths_from_strings,
    removal_effects,
    run_models,
    top_paths,
    transition_matrix,
)
from imclab.plotting import attribution as pa


@pytest.fixture
def paths() -> pd.DataFrame:
    return paths_from_strings(
        ["a > b", "a", "b", "c > a", NO_TOUCH],
        conversions=[30, 10, 20, 15, 4], nulls=[20, 40, 30, 10, 0], value=[300, 100, 200, 150, 40],
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_path_figures(paths):
    ax = pa.plot_top_paths(top_paths(paths, n=3))
    assert len(ax.patches) == 3 and ax.get_title() == "Top converting paths"
    ax = pa.plot_path_lengths(path_length_distribution(paths))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]


def test_markov_figures(paths):
    ax = pa.plot_transition_matrix(transition_matrix(paths))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["(start)", "a", "b", "c"]
    ax = pa.plot_removal_effects(removal_effects(paths))
    assert len(ax.patches) == 3
    assert ax.get_yticklabels()[0].get_text() == "a"  # largest removal effect first


def test_comparison_cost_and_truth_figures(paths):
    res = run_models(paths)
    truth = pd.Series({"a": 0.5, "b": 0.3, "c": 0.2})
    ax = pa.plot_model_comparison(res, truth)
    assert len(ax.collections) == 1  # the truth markers
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    spend = pd.DataFrame({"date": pd.to_datetime(["2025-03-01"] * 2), "channel": ["a", "d"],
                          "campaign": "x", "spend": [100.0, 50.0]})  # fmt: skip
    ax = pa.plot_cost_per_channel(cost_per_channel(res, spend), "cpa")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "d"]
    assert len(ax.get_yticklabels()) == res["model"].nunique()
    scores = pd.DataFrame({"model": ["m1", "m2"], "mae": [0.1, 0.2]})
    assert len(pa.plot_truth_scores(scores).patches) == 2


def test_bootstrap_and_ordered_figures(paths):
    ax = pa.plot_bootstrap_intervals(bootstrap_shares(paths, n_boot=20))
    assert len(ax.get_legend().get_texts()) == 2
    ax = pa.plot_ordered_shapley(ordered_shapley(paths))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2"]


def test_holdout_reconciliation_shows_each_model_and_the_holdout_band():
    evidence = pd.DataFrame(
        {
            "model": ["markov_1", "additive_hazard"],
            "counterfactual": [False, True],
            "implied_campaign_conversions": [2500.0, 1100.0],
        }
    )
    ax = pa.plot_holdout_reconciliation(evidence, (1050.0, 850.0, 1250.0))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["markov_1", "additive_hazard"]
    assert [p.get_width() for p in ax.patches[:2]] == [2500.0, 1100.0]
    assert ax.get_legend() is not None
    plt.close(ax.figure)


def test_bootstrap_interval_that_misses_its_estimate_is_still_drawn():
    ci = pd.DataFrame({"model": ["markov_1"] * 2, "channel": ["a", "b"], "share": [0.6, 0.4],
                       "lo": [0.62, 0.3], "hi": [0.7, 0.38]})  # fmt: skip
    ax = pa.plot_bootstrap_intervals(ci)
    (lines,) = ax.collections
    assert [tuple(seg[:, 0]) for seg in lines.get_segments()] == [(0.62, 0.7), (0.3, 0.38)]
