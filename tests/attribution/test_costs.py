"""CPA/ROAS join: values, channels with spend but no credit, unpaid channels, periods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import NO_TOUCH, cost_per_channel, paths_from_strings, run_models
from imclab.attribution.costs import NOTE_NO_CREDIT, NOTE_UNPAID
from imclab.attribution.heuristics import last_touch


@pytest.fixture
def spend() -> pd.DataFrame:
    return pd.DataFrame({
        "date": pd.to_datetime(["2025-03-01", "2025-03-02", "2025-04-01", "2025-03-01"]),
        "channel": ["social", "social", "social", "tv"],
        "campaign": ["spring_launch", "always_on", "spring_launch", "spring_launch"],
        "spend": [100.0, 50.0, 25.0, 400.0],
    })  # fmt: skip


def test_cpa_roas_and_spend_without_touches(spend):
    p = paths_from_strings(["social", "seo > social", NO_TOUCH], conversions=[3, 2, 1],
                           value=[90, 60, 10])  # fmt: skip
    costs = cost_per_channel(last_touch(p), spend).set_index("channel")
    assert costs.loc["social", "spend"] == 175
    assert costs.loc["social", "cpa"] == pytest.approx(35)
    assert costs.loc["social", "roas"] == pytest.approx(150 / 175)
    # TV has spend but no touch: shown with zero credit, infinite CPA and a note.
    assert costs.loc["tv", "conversions"] == 0 and np.isinf(costs.loc["tv", "cpa"])
    assert costs.loc["tv", "roas"] == 0 and costs.loc["tv", "note"] == NOTE_NO_CREDIT
    assert costs.loc["seo", "note"] == NOTE_UNPAID and np.isnan(costs.loc["seo", "cpa"])
    assert costs.loc[NO_TOUCH, "conversions"] == 1


def test_period_campaign_and_groups(spend):
    p = paths_from_strings(["social"], conversions=[5], value=[50])
    res = run_models(p)
    c = cost_per_channel(res, spend, start="2025-03-01", end="2025-03-31", campaign="spring_launch")
    social = c[(c["channel"] == "social")]
    assert (social["spend"] == 100).all() and len(social) == res["model"].nunique()
    g = cost_per_channel(res, spend, channel_groups={"social": "paid", "tv": "paid"})
    assert set(g["channel"]) == {"paid", "social"}
    assert g.loc[g["channel"] == "paid", "spend"].iloc[0] == 575
