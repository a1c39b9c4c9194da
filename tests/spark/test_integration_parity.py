"""Channel integration (notebook 06): Spark and DuckDB equal the pandas path on the sample."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import load_world
from imclab.engine import world_tables
from imclab.integration.exposure import customer_exposure, exposure_cells, frequency_cells
from imclab.integration.flow import journey_flow, plan_funnel
from imclab.integration.retention import retention_curves
from imclab.plan import DEFAULT_FUNNEL

pytestmark = [pytest.mark.spark, pytest.mark.slow]

START, END = "2025-03-03", "2025-05-25"
KINDS = ["impression", "click", "open", "visit"]
CHANNELS = ["paid_search", "seo", "social", "edm", "display", "content", "affiliate", "tv"]


def test_spark_and_duckdb_equal_the_pandas_tables(engines, sample_parquet, sample_dir):
    world = load_world(sample_dir)
    labels = world.table("customers")[["customer_id", "city_tier"]].iloc[::2]  # half unlabelled
    labels = labels.rename(columns={"city_tier": "persona"}).astype(str)
    sources = {"pandas": world.tables}
    sources.update({name: world_tables(con, sample_parquet) for name, con in engines.items()})
    out = {}
    for name, t in sources.items():
        tp, cv = t["touchpoints"], t["conversions"]
        expo = customer_exposure(t["customers"], tp, cv, START, END, channels=CHANNELS,
                                 interactions=KINDS, persona_labels=labels)  # fmt: skip
        out[name] = {
            "cells": exposure_cells(frequency_cells(expo, CHANNELS, 6), CHANNELS),
            "freq": frequency_cells(expo, CHANNELS, 6),
            "flow": journey_flow(tp, cv, START, END, channels=CHANNELS, interactions=KINDS),
            "funnel": plan_funnel(
                tp, cv, START, END, steps=DEFAULT_FUNNEL, persona_labels=labels
            ),  # fmt: skip
            "retention": retention_curves(
                cv, tp, by="acquisition_month", observation_end="2025-06-30"
            ),
            # the first touch by an arg-min over (time, event id): Spark's min_by on a struct
            "retention_touch": retention_curves(
                cv, tp, by="first_touch_channel", observation_end="2025-06-30"
            ),
        }
    assert out["pandas"]["cells"]["customers"].sum() > 1000
    for engine in ("duckdb", "spark"):
        for key, expected in out["pandas"].items():
            close = {"check_dtype": False, "check_exact": False, "rtol": 1e-9}
            pd.testing.assert_frame_equal(out[engine][key], expected, **close, obj=key)
