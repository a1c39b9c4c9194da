"""open_world on Spark: the same validation report, exclusions and audit tables as DuckDB."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import audit
from imclab.warehouse import open_world

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = "2025-06-30"


def test_spark_world_reports_and_audits_like_duckdb(engines, sample_dir):
    duck = open_world(sample_dir, engines["duckdb"], as_of=AS_OF)
    spark = open_world(sample_dir, engines["spark"], as_of=AS_OF)
    assert spark.engine == "spark" and duck.engine == "duckdb"
    pd.testing.assert_frame_equal(spark.report.to_frame(), duck.report.to_frame())
    assert spark.report.messages == duck.report.messages
    pd.testing.assert_frame_equal(spark.excluded, duck.excluded)
    pd.testing.assert_frame_equal(spark.quarantine, duck.quarantine)
    for name in ("spend", "survey", "ab_tests", "creatives"):  # collected with loader dtypes
        pd.testing.assert_frame_equal(spark.tables[name], duck.tables[name])
    for name in ("date_coverage", "missing_values", "duplicates", "identity_match"):
        pd.testing.assert_frame_equal(getattr(audit, name)(spark), getattr(audit, name)(duck))
    pd.testing.assert_frame_equal(audit.weekly_events(spark), audit.weekly_events(duck))
