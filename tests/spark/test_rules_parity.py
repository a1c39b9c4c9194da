"""One rule set on Spark too: the hostile world refused and kept as the file loader does."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import load_world
from imclab.warehouse import open_world
from tests.data.test_rules_parity import (
    AS_OF,
    lines_of,
    rows_of,
    without_row_numbers,
    write_hostile,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_spark_refuses_and_keeps_what_the_loader_does(engines, tmp_path):
    folder = write_hostile(tmp_path)
    loaded = load_world(folder, as_of=AS_OF)
    spark = open_world(folder, engines["spark"], as_of=AS_OF, examples=1000)
    for name in ("customers", "touchpoints", "conversions", "spend"):
        pd.testing.assert_frame_equal(
            rows_of(spark.tables[name]), rows_of(loaded.tables[name]), check_dtype=False, obj=name
        )
    assert lines_of(spark.quarantine) == lines_of(loaded.quarantine)
    for name, rep in loaded.report.tables.items():
        other = spark.report.tables[name]
        assert (other.rows_quarantined, other.faults) == (rep.rows_quarantined, rep.faults), name
    # one report builder: the loader's messages, counted in Spark (a table has no row numbers)
    assert spark.report.messages == [without_row_numbers(m) for m in loaded.report.messages]
