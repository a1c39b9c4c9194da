"""Shapley values: hand example, exact = simplified formula, ordered variant, channel limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import ordered_shapley, paths_from_strings, shapley
from imclab.errors import ParameterError


def _simplified(paths):
    """Zhao et al.'s simplified formula, the oracle: each conversion split equally over its set."""
    conv: dict[str, float] = {}
    val: dict[str, float] = {}
    for ch, c, v in zip(paths["channels"], paths["conversions"], paths["value"], strict=True):
        s = set(ch)
        for x in s:
            conv[x] = conv.get(x, 0.0) + c / len(s)
            val[x] = val.get(x, 0.0) + v / len(s)
    return pd.DataFrame({"conversions": conv, "value": val}).rename_axis("channel").sort_index()


def test_hand_example():
    # v(a)=1, v(b)=0, v(ab)=3 -> phi_a = (1 + (3-0))/2 = 2, phi_b = (0 + (3-1))/2 = 1
    p = paths_from_strings(["a > b", "a", "b > b"], conversions=[2, 1, 0], nulls=[0, 0, 5])
    got = shapley(p).set_index("channel")["conversions"]
    assert got["a"] == pytest.approx(2) and got["b"] == pytest.approx(1)


def test_exact_enumeration_equals_simplified_formula():
    rng = np.random.default_rng(5)
    chans = list("abcdefgh")
    strings = [" > ".join(rng.choice(chans, size=rng.integers(1, 6))) for _ in range(60)]
    conv = rng.integers(0, 9, size=60)
    value = conv * rng.uniform(10, 50, size=60)
    p = paths_from_strings(strings, conversions=conv, value=value)
    exact = shapley(p).set_index("channel").sort_index()
    simple = _simplified(p)
    assert list(exact.index) == list(simple.index)
    np.testing.assert_allclose(exact["conversions"], simple["conversions"], rtol=1e-10)
    np.testing.assert_allclose(exact["value"], simple["value"], rtol=1e-10)
    assert exact["conversions"].sum() == pytest.approx(conv.sum())
    assert (exact["conversions"] >= 0).all()


def test_ordered_shapley_sums_to_shapley_and_credits_position():
    p = paths_from_strings(["a > b > a", "b > a", "a"], conversions=[2, 4, 1])
    ordered = ordered_shapley(p)
    by_pos = ordered.set_index(["channel", "position"])["conversions"]
    assert by_pos[("a", 1)] == pytest.approx(1 + 1)  # opened "a > b > a" (2/2) and "a" (1)
    assert by_pos[("a", 2)] == pytest.approx(2)  # second in "b > a" (4/2)
    assert by_pos[("b", 1)] == pytest.approx(2) and by_pos[("b", 2)] == pytest.approx(1)
    total = ordered.groupby("channel")["conversions"].sum()
    plain = shapley(p).set_index("channel")["conversions"]
    np.testing.assert_allclose(total.sort_index(), plain.sort_index())
    assert ordered["share"].sum() == pytest.approx(1)


def test_more_than_15_channels_is_a_clear_error():
    chans = [f"ch{i:02d}" for i in range(16)]
    p = paths_from_strings([" > ".join(chans)], conversions=[1])
    with pytest.raises(ParameterError, match="16 channels.*channel_groups"):
        shapley(p)
    # 15 channels still run exactly.
    p15 = paths_from_strings([" > ".join(chans[:15]), chans[0]], conversions=[15, 1])
    got = shapley(p15).set_index("channel")["conversions"]
    assert got["ch00"] == pytest.approx(2) and got["ch14"] == pytest.approx(1)
