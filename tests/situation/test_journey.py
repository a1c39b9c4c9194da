"""Customer-journey funnel from a hand-made event log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.config import JOURNEY_STAGES
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
