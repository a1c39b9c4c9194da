"""Customer-journey funnel from a hand-made event log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.config import CHANNELS, JOURNEY_STAGES
from imclab.errors import DataError, ParameterError
from imclab.situation.journey import UNLABELLED, journey_funnel

T = pd.Timestamp


def _log():
    touches = pd.DataFrame(
        [
            ("A", T("2025-03-01 10:00"), "social", "impression"),  # exposed only
            ("B", T("2025-03-01 10:00"), "social", "click"),  # engaged
            ("C", T("2025-03-01 10:00"), "social", "impression"),
            ("C", T("2025-03-02 10:00"), "seo", "visit"),  # visited
            ("D", T("2025-03-01 10:00"), "social", "impression"),  # converts once
            ("E", T("2025-03-01 10:00"), "edm", "open"),  # converts twice (repeat)
            ("F", T("2025-02-01 10:00"), "social", "click"),  # outside the window
        ],
        columns=["customer_id", "timestamp", "channel", "interaction"],
    )
    orders = pd.DataFrame(
        [
            ("D", T("2025-03-03 10:00")),
            ("E", T("2025-03-03 10:00")),
            ("E", T("2025-03-09 10:00")),
            ("A", T("2025-02-27 10:00")),  # before the window
        ],
        columns=["customer_id", "timestamp"],
    )
    return touches, orders


def test_overall_funnel_counts_each_customer_at_every_stage_up_to_the_deepest():
    touches, orders = _log()
    funnel = journey_funnel(touches, orders, "2025-03-01", "2025-03-31", min_customers=1)
    counts = funnel.set_index("stage")["customers"]
    assert counts.tolist() == [5, 4, 3, 2, 1]  # A..E; engaged B..E; visited C..E; D,E; E
    assert list(counts.index) == list(JOURNEY_STAGES)
    assert funnel["customers"].is_monotonic_decreasing
    conv = funnel.set_index("stage")["conversion"]
    assert np.isnan(conv["exposed"])
    assert conv["converted"] == pytest.approx(2 / 3)
    assert (funnel["conversion_low"].iloc[1:] <= funnel["conversion"].iloc[1:]).all()


def test_per_channel_funnel_only_counts_orders_after_the_first_touch_there():
    touches, orders = _log()
    funnel = journey_funnel(touches, orders, "2025-03-01", "2025-03-31", by="channel",
                            min_customers=1)  # fmt: skip
    social = funnel.loc[funnel["channel"] == "social"].set_index("stage")["customers"]
    assert social.tolist() == [4, 3, 2, 1, 0]  # A B C D; engaged B C D; visited C D; D
    assert funnel["channel"].drop_duplicates().tolist() == ["seo", "social", "edm"]


def test_small_groups_get_a_warning_instead_of_an_interval():
    touches, orders = _log()
    funnel = journey_funnel(touches, orders, "2025-03-01", "2025-03-31", min_customers=30)
    assert funnel["conversion_low"].isna().all()
    assert funnel["warning"].iloc[1].startswith("overall: only 5 customers at exposed")


def test_per_persona_with_unlabelled_customers_kept():
    touches, orders = _log()
    labels = pd.DataFrame({"customer_id": ["A", "B", "E"], "persona": ["p1", "p1", "p2"]})
    funnel = journey_funnel(touches, orders, "2025-03-01", "2025-03-31", by="persona",
                            persona_labels=labels, min_customers=1)  # fmt: skip
    exposed = funnel.loc[funnel["stage"] == "exposed"].set_index("persona")["customers"]
    assert exposed.to_dict() == {UNLABELLED: 2, "p1": 2, "p2": 1}
    assert exposed.sum() == 5  # nobody lost


def test_bad_parameters_and_labels():
    touches, orders = _log()
    with pytest.raises(ParameterError, match="by='region'"):
        journey_funnel(touches, orders, "2025-03-01", "2025-03-31", by="region")
    with pytest.raises(ParameterError, match="needs persona_labels"):
        journey_funnel(touches, orders, "2025-03-01", "2025-03-31", by="persona")
    bad = pd.DataFrame({"customer_id": ["A"], "segment": ["x"]})
    with pytest.raises(DataError, match="missing column.*persona"):
        journey_funnel(touches, orders, "2025-03-01", "2025-03-31", by="persona",
                       persona_labels=bad)  # fmt: skip


@pytest.mark.parametrize("by", [(), "channel", "persona", ("channel", "persona")])
def test_ibis_tables_give_the_same_funnel(by, duckdb_tables):
    touches, orders = _log()
    # a second touch of D after its order, and E's second order on the first touch's day
    touches.loc[len(touches)] = ("D", T("2025-03-04 10:00"), "seo", "visit")
    tables = duckdb_tables(touchpoints=touches, conversions=orders)
    labels = pd.DataFrame({"customer_id": ["A", "C", "E"], "persona": ["p1", "p2", "p2"]})
    kw = {"by": by, "persona_labels": labels, "min_customers": 2}
    expected = journey_funnel(touches, orders, "2025-03-01", "2025-03-31", **kw)
    got = journey_funnel(tables["touchpoints"], tables["conversions"], "2025-03-01",
                         "2025-03-31", **kw)  # fmt: skip
    pd.testing.assert_frame_equal(got, expected)


def test_loader_categoricals_and_late_visits_and_orders():
    touches, orders = _log()
    touches["channel"] = touches["channel"].astype(pd.CategoricalDtype(CHANNELS))
    touches["interaction"] = touches["interaction"].astype("category")
    # B visits before its first social touch: a visit only counts after the first touch
    touches.loc[len(touches)] = ("B", T("2025-03-01 09:00"), "seo", "visit")
    funnel = journey_funnel(touches, orders, "2025-03-01", "2025-03-31", by="channel",
                            min_customers=1)  # fmt: skip
    assert funnel["channel"].drop_duplicates().tolist() == ["seo", "social", "edm"]  # no empty ones
    social = funnel.loc[funnel["channel"] == "social"].set_index("stage")["customers"]
    assert social.tolist() == [4, 3, 2, 1, 0]
    seo = funnel.loc[funnel["channel"] == "seo"].set_index("stage")["customers"]
    assert seo.tolist() == [2, 2, 2, 0, 0]  # B and C visited; neither ordered


@pytest.mark.parametrize("table, column", [("touchpoints", "interaction"),
                                           ("conversions", "timestamp")])  # fmt: skip
def test_missing_event_columns_are_named(table, column, duckdb_tables):
    touches, orders = _log()
    frames = {"touchpoints": touches, "conversions": orders}
    frames[table] = frames[table].drop(columns=column)
    tables = duckdb_tables(**frames)
    for source in (frames, tables):
        with pytest.raises(DataError, match=rf"{table}: missing column\(s\) {column}"):
            journey_funnel(source["touchpoints"], source["conversions"], "2025-03-01",
                           "2025-03-31")  # fmt: skip
