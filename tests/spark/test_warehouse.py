"""open_world on Spark: the same validation report, exclusions and audit tables as DuckDB."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import audit
from imclab.warehouse import open_world

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def worlds(engines, sample_dir):
    return (
        open_world(sample_dir, engines["duckdb"], as_of=AS_OF),
        open_world(sample_dir, engines["spark"], as_of=AS_OF),
    )


def test_spark_world_reports_and_audits_like_duckdb(worlds):
    duck, spark = worlds
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


def test_a_runs_spark_snapshot_serves_every_notebook_without_validating(worlds, engines, tmp_path):
    from imclab.errors import ParameterError
    from imclab.warehouse import write_snapshot

    _, spark = worlds
    folder = write_snapshot(spark, tmp_path / ".snapshot")
    again = open_world(folder, engines["spark"])
    assert again.engine == "spark"
    pd.testing.assert_frame_equal(again.report.to_frame(), spark.report.to_frame())
    assert again.report.messages == spark.report.messages
    pd.testing.assert_frame_equal(again.excluded, spark.excluded)
    pd.testing.assert_frame_equal(again.quarantine, spark.quarantine)
    for name in ("customers", "touchpoints", "conversions"):
        assert again.tables[name].count().execute() == spark.tables[name].count().execute()
    for name in ("spend", "survey", "ab_tests", "creatives"):
        pd.testing.assert_frame_equal(again.tables[name], spark.tables[name])
    for name in ("date_coverage", "duplicates", "identity_match", "quarantine_reasons"):
        pd.testing.assert_frame_equal(getattr(audit, name)(again), getattr(audit, name)(spark))
    with pytest.raises(ParameterError, match="open it with the same engine"):
        open_world(folder)  # example rows only: not a file world
