"""Model runner, ground-truth scoring, bootstrap intervals and persona split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import (
    NO_TOUCH,
    bootstrap_shares,
    build_journeys,
    by_segment,
    compare_with_truth,
    paths_from_strings,
    run_models,
    score_models,
    true_shares,
)
from imclab.data.load import load_world
from imclab.errors import ParameterError
from imclab.simulate import load_truth


@pytest.fixture
def paths() -> pd.DataFrame:
    return paths_from_strings(
        ["a > b", "a", "b", "c > a", "c", NO_TOUCH],
        conversions=[30, 10, 20, 15, 0, 4],
        nulls=[20, 40, 30, 10, 50, 0],
        value=[300, 100, 200, 150, 0, 40],
    )


def test_run_models_stacks_every_model(paths):
    res = run_models(paths, markov_order=[1, 2])
    expected = ["first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
                "position_based", "markov_1", "markov_2", "shapley"]  # fmt: skip
    assert list(pd.unique(res["model"])) == expected
    chan = res[res["channel"] != NO_TOUCH]
    np.testing.assert_allclose(chan.groupby("model")["conversions"].sum(), 75)
    np.testing.assert_allclose(chan.groupby("model")["share"].sum(), 1)
    assert (res["conversions"] >= 0).all()
    assert (res[res["channel"] == NO_TOUCH]["conversions"] == 4).all()


def test_scores_a_perfect_and_a_reversed_model():
    truth = pd.DataFrame({
        "channel": ["a", "b", "c", "(baseline)"],
        "true_conversions": [60.0, 30.0, 10.0, 500.0],
    })  # fmt: skip
    results = pd.DataFrame({
        "channel": ["a", "b", "c", "a", "b", "c", NO_TOUCH],
        "model": ["good"] * 3 + ["bad"] * 3 + ["bad"],
        "conversions": [6, 3, 1, 1, 3, 6, 2],
        "value": 0.0,
        "share": [0.6, 0.3, 0.1, 0.1, 0.3, 0.6, np.nan],
    })  # fmt: skip
    assert true_shares(truth).to_dict() == pytest.approx({"a": 0.6, "b": 0.3, "c": 0.1})
    s = score_models(results, truth).set_index("model")
    assert s.loc["good", "mae"] == pytest.approx(0) and s.loc["good", "spearman"] == 1
    assert s.loc["bad", "mae"] == pytest.approx(1 / 3) and s.loc["bad", "spearman"] == -1
    assert s.loc["good", "rank"] == 1
    grouped = true_shares(truth, {"b": "bc", "c": "bc"})
    assert grouped.to_dict() == pytest.approx({"a": 0.6, "bc": 0.4})


def test_channel_missing_from_a_model_counts_as_zero_share():
    truth = pd.DataFrame({"channel": ["a", "tv"], "true_conversions": [50.0, 50.0]})
    res = pd.DataFrame({"channel": ["a"], "model": ["m"], "conversions": [1.0], "value": [0.0],
                        "share": [1.0]})  # fmt: skip
    cmp = compare_with_truth(res, truth).set_index("channel")
    assert cmp.loc["tv", "share"] == 0 and cmp.loc["tv", "error"] == -0.5


def test_bootstrap_is_deterministic_and_brackets_the_estimate(paths):
    a = bootstrap_shares(paths, n_boot=60, seed=1)
    b = bootstrap_shares(paths, n_boot=60, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["model"]) == {"markov_1", "shapley"}
    assert (a["lo"] <= a["share"] + 1e-12).all() and (a["share"] <= a["hi"] + 1e-12).all()
    assert (a["se"] > 0).all()
    np.testing.assert_allclose(a.groupby("model")["share"].sum(), 1)
    c = bootstrap_shares(paths, n_boot=60, seed=2)
    assert not np.allclose(a["lo"], c["lo"])
    with pytest.raises(ParameterError, match="n_boot"):
        bootstrap_shares(paths, n_boot=2)


def test_bootstrap_with_a_channel_only_on_journeys_that_never_converted(paths):
    """A channel whose journeys never converted (TV with no order in the campaign) gets no
    Shapley credit, instead of failing the bootstrap; Markov still sees it lead to ``a``."""
    never = pd.concat(
        [paths, paths_from_strings(["tv", "tv > a"], conversions=[0, 0], nulls=[25, 5])],
        ignore_index=True,
    )
    ci = bootstrap_shares(never, n_boot=20, seed=1).set_index(["model", "channel"])
    assert ci.loc[("markov_1", "tv"), "lo"] <= ci.loc[("markov_1", "tv"), "share"]
    assert "tv" not in ci.loc["shapley"].index
    np.testing.assert_allclose(ci.groupby(level="model")["share"].sum(), 1)


def test_sample_world_truth_scoring(sample_dir):
    w = load_world(sample_dir, tables=["touchpoints", "conversions"])
    tp, cv = w.tables["touchpoints"], w.tables["conversions"]
    truth = load_truth(sample_dir)
    j = build_journeys(
        None, tp, cv, segments=truth["personas"].rename(columns={"persona": "segment"})
    )
    res = run_models(j.paths)
    scores = score_models(res, truth["channels"]).set_index("model")
    # Navigational direct visits: last touch over-credits direct and is worst by far.
    last = res[(res["model"] == "last_touch")].set_index("channel")
    assert last.loc["direct", "share"] > 0.3
    assert scores["mae"].idxmax() == "last_touch"
    assert (scores["mae"] < 0.2).all() and (scores["mae"] > 0).all()
    per = by_segment(j.paths, run_models)
    assert set(per["segment"]) == set(truth["personas"]["persona"])
    total = per[per["model"] == "linear"]["conversions"].sum()
    assert total == pytest.approx(len(cv))


def test_navigational_channels_are_left_out_of_the_truth_too():
    truth = pd.DataFrame(
        {"channel": ["a", "b", "direct", "(baseline)"], "true_conversions": [60.0, 20.0, 20.0, 9.0]}
    )
    assert true_shares(truth, exclude=["direct"]).to_dict() == pytest.approx({"a": 0.75, "b": 0.25})
    res = pd.DataFrame({"channel": ["a", "b"], "model": "m", "conversions": [3.0, 1.0],
                        "value": 0.0, "share": [0.75, 0.25]})  # fmt: skip
    assert score_models(res, truth, exclude=["direct"])["mae"].iloc[0] == pytest.approx(0)
    # kept in the truth, direct's 20 % would count against a model told to ignore it
    assert score_models(res, truth)["mae"].iloc[0] > 0.1
