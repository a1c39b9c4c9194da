"""Every integration reduction gives the same result on pandas frames and on DuckDB tables,
and only aggregates come back from the database."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from imclab.data import load_world
from imclab.integration.exposure import customer_exposure, exposure_cells, frequency_cells
from imclab.integration.flow import journey_flow, plan_funnel
from imclab.integration.retention import retention_curves
from imclab.plan import DEFAULT_FUNNEL
from imclab.simulate import load_truth

from .conftest import ANALYSED, INTERACTIONS, WINDOW


@pytest.fixture(scope="module")
def both(small_world, duckdb_tables):
    world = load_world(small_world)
    frames = {n: getattr(world, n) for n in ("customers", "touchpoints", "conversions")}
    tables = duckdb_tables(**frames)
    labels = load_truth(small_world)["personas"]
    return frames, tables, labels


def _run(t, labels):
    exposure = customer_exposure(t["customers"], t["touchpoints"], t["conversions"], *WINDOW,
                                 channels=ANALYSED, interactions=INTERACTIONS,
                                 persona_labels=labels)  # fmt: skip
    return {
        "cells": exposure_cells(frequency_cells(exposure, ANALYSED, 5), ANALYSED),
        "freq": frequency_cells(exposure, ANALYSED, 5),
        "flow": journey_flow(t["touchpoints"], t["conversions"], *WINDOW, channels=ANALYSED,
                             interactions=INTERACTIONS, steps=3),  # fmt: skip
        "funnel": plan_funnel(t["touchpoints"], t["conversions"], *WINDOW,
                              steps=DEFAULT_FUNNEL, persona_labels=labels),  # fmt: skip
        "retention": retention_curves(t["conversions"], t["touchpoints"],
                                      by="first_touch_channel", observation_end=WINDOW[1]),
    }  # fmt: skip


def test_duckdb_tables_give_the_pandas_results(both):
    frames, tables, labels = both
    on_pandas = _run(frames, labels)
    tables.returned.clear()
    on_duckdb = _run(tables, labels)
    for name, expected in on_pandas.items():
        got = on_duckdb[name]
        pdt.assert_frame_equal(got, expected, check_dtype=False, obj=name)
    # aggregates only: never a whole event table; the largest result is the frequency cells
    # (channel x touch count x reach pattern x stratum), bounded whatever the world's size
    assert max(tables.returned) < len(frames["touchpoints"]) / 4
    bound = len(ANALYSED) * 6 * 2 ** (len(ANALYSED) - 1) * on_pandas["cells"]["stratum"].nunique()
    assert len(on_pandas["freq"]) <= bound
    assert isinstance(on_pandas["cells"], pd.DataFrame)
