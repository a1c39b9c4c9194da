"""Heuristic models on hand-made paths with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import (
    NO_TOUCH,
    first_touch,
    last_non_direct,
    last_touch,
    linear,
    paths_from_strings,
    position_based,
    time_decay,
)
from imclab.errors import ParameterError


@pytest.fixture
def paths() -> pd.DataFrame:
    return paths_from_strings(
        ["a > b > c", "b", "c > a", "a > a", NO_TOUCH],
        conversions=[2, 1, 1, 0, 3],
        nulls=[0, 0, 0, 3, 0],
        value=[100, 10, 20, 0, 33],
    )


def _credits(res: pd.DataFrame, col: str = "conversions") -> dict[str, float]:
    return res.set_index("channel")[col].round(9).to_dict()


def test_first_and_last_touch(paths):
    assert _credits(first_touch(paths)) == {"a": 2, "b": 1, "c": 1, NO_TOUCH: 3}
    assert _credits(last_touch(paths)) == {"a": 1, "b": 1, "c": 2, NO_TOUCH: 3}
    assert _credits(last_touch(paths), "value") == {"a": 20, "b": 10, "c": 100, NO_TOUCH: 33}


def test_linear_splits_per_touch(paths):
    got = _credits(linear(paths))
    assert got["a"] == pytest.approx(7 / 6)
    assert got["b"] == pytest.approx(5 / 3)
    assert got["c"] == pytest.approx(7 / 6)
    assert _credits(linear(paths), "value")["a"] == pytest.approx(100 / 3 + 10)


def test_position_based_u_shape(paths):
    got = _credits(position_based(paths, (0.4, 0.2, 0.4)))
    assert got["a"] == pytest.approx(1.3)
    assert got["b"] == pytest.approx(1.4)
    assert got["c"] == pytest.approx(1.3)
    # All weight on the first touch = first touch.
    first = _credits(position_based(paths, (1.0, 0.0, 0.0)))
    assert first == _credits(first_touch(paths))
    with pytest.raises(ParameterError, match="summing to 1"):
        position_based(paths, (0.5, 0.5, 0.5))


def test_last_non_direct():
    p = paths_from_strings(["a > direct", "direct", "direct > b > direct"], conversions=[1, 2, 4])
    assert _credits(last_non_direct(p)) == {"a": 1, "b": 4, "direct": 2}
    assert _credits(last_touch(p)) == {"a": 0, "b": 0, "direct": 7}


def test_time_decay_uses_stored_weights():
    p = paths_from_strings(["a > b"], conversions=[3], value=[30])
    p.at[0, "decay"] = (1.0, 2.0)
    p.at[0, "decay_value"] = (10.0, 20.0)
    got = time_decay(p).set_index("channel")
    assert got.loc["a", "conversions"] == 1 and got.loc["b", "conversions"] == 2
    assert got.loc["b", "value"] == 20


def test_every_heuristic_is_non_negative_and_sums_to_attributed(paths):
    for f in (first_touch, last_touch, last_non_direct, linear, time_decay, position_based):
        res = f(paths)
        chan = res[res["channel"] != NO_TOUCH]
        assert (res["conversions"] >= 0).all()
        assert chan["conversions"].sum() == pytest.approx(4)
        assert chan["value"].sum() == pytest.approx(130)
        assert chan["share"].sum() == pytest.approx(1)
        nt = res[res["channel"] == NO_TOUCH].iloc[0]
        assert nt["conversions"] == 3 and nt["value"] == 33 and np.isnan(nt["share"])
        assert list(res.columns) == ["channel", "model", "conversions", "value", "share"]
