"""The journey benchmark's anchor (hand-written DuckDB SQL) gives build_journeys' paths."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import build_journeys
from imclab.data.load import load_world


@pytest.fixture(scope="module")
def sql_paths(repo_root):
    sys.path.insert(0, str(repo_root / "benchmarks"))
    try:
        from journeys_sql import sql_paths
    finally:
        sys.path.pop(0)
    return sql_paths


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as strings: the SQL reads the tables as a database would store them."""
    return frame.assign(
        **{c: frame[c].astype(str) for c in frame.columns if frame[c].dtype == "category"}
    )


@pytest.mark.parametrize("world", ["sample", "small"])
def test_hand_sql_gives_the_same_paths(sql_paths, world, sample_dir, small_world):
    import duckdb

    w = load_world(sample_dir if world == "sample" else small_world,
                   tables=["touchpoints", "conversions"])  # fmt: skip
    tp, cv = w.tables["touchpoints"], w.tables["conversions"]
    mine = build_journeys(None, tp, cv).paths
    con = duckdb.connect()
    con.register("tp_df", _plain(tp))
    con.register("cv_df", _plain(cv))
    for decay in (False, True):
        ref = sql_paths(con, "tp_df", "cv_df", decay=decay)
        assert ref["path"].tolist() == mine["path"].tolist()
        for col in ("conversions", "nulls"):
            np.testing.assert_array_equal(ref[col].to_numpy(float), mine[col].to_numpy(float))
        np.testing.assert_allclose(ref["value"], mine["value"], rtol=1e-12)
        if decay:
            for col in ("decay", "decay_value"):
                for a, b in zip(ref[col], mine[col], strict=True):
                    a = () if a is None else tuple(a)
                    assert len(a) == len(b)
                    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
