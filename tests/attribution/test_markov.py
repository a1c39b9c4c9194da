"""Markov attribution: a hand-solved chain, invariants, and the ChannelAttribution cross-check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import (
    NO_TOUCH,
    build_journeys,
    markov,
    paths_from_strings,
    removal_effects,
    transition_matrix,
)
from imclab.data.load import load_world
from imclab.errors import ParameterError


@pytest.fixture
def small() -> pd.DataFrame:
    # start->a 2, start->b 2; a->b 1, a->null 1; b->conv 2, b->null 1.
    # P(conv) = .5*.5*2/3 + .5*2/3 = 1/2; without a: 1/3 (RE 1/3); without b: 0 (RE 1).
    return paths_from_strings(
        ["a > b", "a", "b", NO_TOUCH], conversions=[1, 0, 1, 5], nulls=[0, 1, 1, 0],
        value=[30, 0, 60, 50],
    )  # fmt: skip


def test_removal_effects_by_hand(small):
    re = removal_effects(small).set_index("channel")
    assert re.loc["a", "removal_effect"] == pytest.approx(1 / 3)
    assert re.loc["b", "removal_effect"] == pytest.approx(1.0)
    assert re.loc["a", "p_conversion"] == pytest.approx(0.5)
    assert re.loc["a", "p_conversion_without"] == pytest.approx(1 / 3)
    # Expected value per journey: .5*.5*30 + .5*30 = 22.5; without a: 15 -> RE 1/3.
    assert re.loc["a", "removal_effect_value"] == pytest.approx(1 / 3)


def test_markov_credits(small):
    res = markov(small).set_index("channel")
    assert res.loc["a", "conversions"] == pytest.approx(0.5)
    assert res.loc["b", "conversions"] == pytest.approx(1.5)
    assert res.loc["a", "value"] == pytest.approx(90 * 0.25)
    assert res.loc[NO_TOUCH, "conversions"] == 5 and res.loc[NO_TOUCH, "value"] == 50
    assert res.loc[["a", "b"], "share"].sum() == pytest.approx(1)
    assert res["model"].unique().tolist() == ["markov_1"]


def test_transition_matrix_rows_sum_to_one(small):
    tm = transition_matrix(small)
    np.testing.assert_allclose(tm.sum(axis=1), 1.0)
    assert tm.loc["a", "b"] == pytest.approx(0.5)
    assert tm.loc["b", "(conversion)"] == pytest.approx(2 / 3)


def test_higher_orders_remember_the_path():
    # Order 2 sees that "a" converts only after "c"; order 1 cannot.
    p = paths_from_strings(
        ["c > a", "b > a", "c", "b"], conversions=[4, 0, 0, 0], nulls=[0, 4, 2, 2]
    )
    r1 = markov(p, 1).set_index("channel")["share"]
    r2 = markov(p, 2).set_index("channel")["share"]
    assert r1["b"] > 0  # order 1 credits b through the shared state "a"
    assert r2["b"] == pytest.approx(0.0)
    assert r2["c"] == pytest.approx(0.5) and r2["a"] == pytest.approx(0.5)
    with pytest.raises(ParameterError, match="order"):
        markov(p, 5)


@pytest.fixture(scope="module")
def sample_paths(sample_dir) -> pd.DataFrame:
    w = load_world(sample_dir, tables=["touchpoints", "conversions"])
    tp, cv = w.tables["touchpoints"], w.tables["conversions"]
    paths = build_journeys(None, tp, cv, interactions=("click", "open", "visit")).paths
    return paths[paths["length"] > 0].reset_index(drop=True)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_agrees_with_channelattribution(sample_paths, order):
    from ChannelAttribution import markov_model

    ref = markov_model(
        sample_paths, "path", "conversions", var_value="value", var_null="nulls", order=order,
        sep=">", nsim_start=1e6, seed=11, verbose=False, flg_pro=False,
    )  # fmt: skip
    ref = ref.set_index("channel_name")
    ref_share = ref["total_conversions"] / ref["total_conversions"].sum()
    ref_value = ref["total_conversion_value"] / ref["total_conversion_value"].sum()
    mine = markov(sample_paths, order).set_index("channel")
    assert sorted(ref_share.index) == sorted(mine.index)
    diff = (mine["share"] - ref_share.reindex(mine.index)).abs()
    assert diff.max() < 0.01, diff
    diff_v = (mine["value"] / mine["value"].sum() - ref_value.reindex(mine.index)).abs()
    assert diff_v.max() < 0.01, diff_v
