"""Persona features derived on Spark equal those derived on DuckDB (the sample world)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.engine import world_tables
from imclab.personas.features import TABLE_NAMES, derive_features

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_derive_features_on_spark_equals_duckdb(engines, sample_parquet, spark_session):
    # as_of=None: the analysis date comes from the data (the latest touch or order)
    duck = derive_features(world_tables(engines["duckdb"], sample_parquet, names=TABLE_NAMES))
    spark = derive_features(world_tables(engines["spark"], sample_parquet, names=TABLE_NAMES))
    assert len(duck) == 5000 and duck["customer_id"].is_unique
    # same columns, dtypes and row order; text and integer columns exactly equal
    pd.testing.assert_index_equal(spark.columns, duck.columns)
    pd.testing.assert_series_equal(spark.dtypes, duck.dtypes)
    exact = [c for c in duck.columns if duck[c].dtype.kind not in "f"]
    pd.testing.assert_frame_equal(spark[exact], duck[exact], check_exact=True)
    assert duck["recency_days"].between(0, 400).all() and duck["tenure_days"].min() >= 0
    floats = [c for c in duck.columns if duck[c].dtype.kind == "f"]
    np.testing.assert_allclose(spark[floats], duck[floats], rtol=1e-9, atol=1e-9)
    assert spark["aov"].isna().sum() == (spark["converted"] == 0).sum() > 0
    # the temporary views the query read are gone from the Spark session
    left = [t.name for t in spark_session.catalog.listTables()]
    assert not [n for n in left if n.startswith("_imclab_features")]
