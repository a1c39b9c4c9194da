"""Navigational channels removed from the paths once, for every model."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.attribution import (
    NO_TOUCH,
    drop_navigational,
    markov,
    paths_from_strings,
    run_models,
    shares_before_after,
)
from imclab.errors import ParameterError


@pytest.fixture
def paths() -> pd.DataFrame:
    return paths_from_strings(
        ["a > direct", "a", "direct", "direct > b > direct > b", "b > a", NO_TOUCH],
        conversions=[30, 10, 20, 8, 5, 4],
        nulls=[20, 40, 30, 2, 10, 0],
        value=[300, 100, 200, 80, 50, 40],
    )


def test_navigational_touches_are_removed_and_paths_merged(paths):
    out = drop_navigational(paths, ["direct"], collapse_repeats=False)
    p = out.paths.set_index("path")
    # "a > direct" and "a" become one path with their counts added
    assert p.loc["a", "conversions"] == 40 and p.loc["a", "nulls"] == 60
    assert p.loc["a", "value"] == 400
    assert p.loc["b > b", "conversions"] == 8
    # a journey of only navigational touches: converting -> (no touch), non-converting dropped
    assert p.loc[NO_TOUCH, "conversions"] == 24 and p.loc[NO_TOUCH, "nulls"] == 0
    assert not any("direct" in ch for ch in out.paths["channels"])
    rep = out.report.set_index("item")["count"]
    assert rep["navigational touches removed"] == 50 + 50 + 2 * 10
    assert rep["converting journeys left with no touch"] == 20
    assert rep["non-converting journeys dropped (navigational touches only)"] == 30
    # totals kept: conversions and value are moved, never lost
    assert out.paths["conversions"].sum() == paths["conversions"].sum()
    assert out.paths["value"].sum() == paths["value"].sum()


def test_time_decay_weights_still_sum_to_conversions(paths):
    out = drop_navigational(paths, ["direct"], collapse_repeats=True).paths.set_index("path")
    assert "b" in out.index  # b > direct > b collapses to b again
    for path, row in out.iterrows():
        if path != NO_TOUCH:
            assert sum(row["decay"]) == pytest.approx(row["conversions"])
            assert len(row["decay"]) == len(row["channels"])


def test_every_model_treats_navigational_channels_as_non_channels(paths):
    out = drop_navigational(paths, ["direct"], collapse_repeats=False).paths
    res = run_models(out)
    assert "direct" not in set(res["channel"])
    shares = res[res["channel"] != NO_TOUCH].groupby("model")["share"].sum()
    assert shares.to_numpy() == pytest.approx(1.0)
    # skipped as last non-direct skips direct: last touch now equals last non-direct
    lt = res[res["model"] == "last_touch"].set_index("channel")["share"]
    lnd = res[res["model"] == "last_non_direct"].set_index("channel")["share"]
    pd.testing.assert_series_equal(lt, lnd, check_names=False)
    # Markov before: direct gets a removal effect; after: it is passed through
    assert markov(paths).set_index("channel").loc["direct", "share"] > 0.1


def test_no_navigational_channel_leaves_the_paths_unchanged(paths):
    out = drop_navigational(paths, [], collapse_repeats=False).paths
    key = ["path", "conversions", "nulls", "value"]
    pd.testing.assert_frame_equal(
        out[key].sort_values("path").reset_index(drop=True),
        paths[key].sort_values("path").reset_index(drop=True),
        check_dtype=False,
    )
    with pytest.raises(ParameterError, match="empty channel"):
        drop_navigational(paths, [""], collapse_repeats=False)


def test_shares_before_and_after_side_by_side(paths):
    before = run_models(paths)
    after = run_models(drop_navigational(paths, ["direct"], collapse_repeats=False).paths)
    table = shares_before_after(before, after)
    assert ("markov_1", "before") in table.columns and ("markov_1", "after") in table.columns
    assert table.loc["direct", ("markov_1", "after")] == 0.0
    assert table.loc["direct", ("markov_1", "before")] > 0.0
    assert table[("shapley", "after")].sum() == pytest.approx(1.0)
