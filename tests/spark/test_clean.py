"""Quarantine in the engine: Spark excludes the same rows and builds the same journeys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.scale import journeys_from_source

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_spark_cleans_and_builds_the_same_journeys_as_duckdb(engines, sample_dir):
    results = {
        name: journeys_from_source(con, sample_dir, as_of="2025-12-31", lookback_days=14)
        for name, con in engines.items()
    }
    (duck, duck_excluded), (spark, spark_excluded) = results["duckdb"], results["spark"]
    pd.testing.assert_frame_equal(spark_excluded, duck_excluded)
    faults = pd.read_csv(sample_dir / "truth" / "faults.csv")
    expected = faults[faults["table"] != "spend"].groupby("table").size().to_dict()
    assert spark_excluded.groupby("table")["rows"].sum().to_dict() == expected
    exact = [c for c in duck.paths.columns if c not in ("value", "decay", "decay_value")]
    pd.testing.assert_frame_equal(spark.paths[exact], duck.paths[exact])
    pd.testing.assert_series_equal(spark.paths["value"], duck.paths["value"], rtol=1e-9)
    for col in ("decay", "decay_value"):
        flat = [np.array([x for row in j.paths[col] for x in row]) for j in (spark, duck)]
        np.testing.assert_allclose(flat[0], flat[1], rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(spark.report, duck.report)
    assert duck.count("touches used") > 0
