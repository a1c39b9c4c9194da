"""Tests of the SQL feature derivation: known values on hand-made tables, invariants on a world."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot

from imclab.config import CHANNELS
from imclab.errors import DataError
from imclab.personas.features import (
    FEATURE_GROUPS,
    customer_features,
    derive_features,
    feature_sql,
)


def _customers(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(1, n + 1)],
            "signup_date": pd.to_datetime(["2024-01-01", "2025-01-31", "2023-06-30"][:n]),
            "age": [25, 40, 61][:n],
            "gender": ["female", "male", "other"][:n],
            "region": ["north", "west", "east"][:n],
            "city_tier": ["tier1", "tier2", "tier3"][:n],
            "device": ["mobile", "desktop", "tablet"][:n],
            "income_band": ["low", "high", "middle"][:n],
            "loyalty_member": [True, False, True][:n],
            "newsletter_opt_in": [False, True, True][:n],
            "avg_session_minutes": [4.0, 6.0, 5.0][:n],
            "pages_per_visit": [3.0, 5.0, 3.5][:n],
            "discount_usage_rate": [0.6, 0.1, 0.3][:n],
        }
    )


@pytest.fixture
def tiny():
    """Three customers: C1 two social touches and one order, C2 an EDM open, C3 nothing."""
    touches = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2"],
            "timestamp": pd.to_datetime(
                ["2025-01-10 10:00", "2025-02-10 10:00", "2025-03-01 09:00"]
            ),
            "channel": ["social", "social", "edm"],
            "interaction": ["click", "impression", "open"],
        }
    )
    orders = pd.DataFrame(
        {
            "customer_id": ["C1", "C1"],
            "timestamp": pd.to_datetime(["2025-01-20 12:00", "2025-03-21 12:00"]),
            "revenue": [40.0, 60.0],
        }
    )
    return _customers(), touches, orders


def test_known_values_on_hand_made_tables(tiny):
    customers, touches, orders = tiny
    f = customer_features(customers, touches, orders, as_of="2025-03-31", prior_touches=0)
    assert list(f["customer_id"]) == ["C1", "C2", "C3"]
    c1 = f.set_index("customer_id").loc["C1"]
    assert c1["frequency"] == 2
    assert c1["monetary"] == pytest.approx(100.0)
    assert c1["aov"] == pytest.approx(50.0)
    assert c1["recency_days"] == 10  # calendar days: 2025-03-21 -> 2025-03-31
    assert c1["tenure_days"] == 455  # 2024-01-01 -> 2025-03-31
    assert c1["share_social"] == pytest.approx(1.0)
    assert c1["click_rate"] == pytest.approx(0.5)
    assert c1["loyalty_member"] == 1.0 and c1["newsletter_opt_in"] == 0.0
    c3 = f.set_index("customer_id").loc["C3"]
    # no order: recency counts from the first event of the window (2025-01-10)
    assert c3["frequency"] == 0 and c3["monetary"] == 0 and np.isnan(c3["aov"])
    assert c3["recency_days"] == 80
    assert c3["n_touches"] == 0 and c3["converted"] == 0


def test_smoothing_pulls_shares_towards_overall_mix(tiny):
    customers, touches, orders = tiny
    f = customer_features(customers, touches, orders, as_of="2025-03-31", prior_touches=3)
    c1 = f.set_index("customer_id").loc["C1"]
    overall_social = 2 / 3
    assert c1["share_social"] == pytest.approx((2 + 3 * overall_social) / (2 + 3))
    # a customer without touches gets exactly the overall mix
    c3 = f.set_index("customer_id").loc["C3"]
    assert c3["share_social"] == pytest.approx(overall_social)
    assert c3["share_edm"] == pytest.approx(1 / 3)


def test_world_invariants(small_world):
    from imclab.data.load import load_world

    world = load_world(small_world, tables=["customers", "touchpoints", "conversions"])
    f = derive_features(world.duckdb())
    customers = world.customers
    assert len(f) == len(customers) and f["customer_id"].is_unique
    shares = f[[f"share_{c}" for c in CHANNELS]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0, atol=1e-9)
    orders = world.conversions.groupby("customer_id")["revenue"].agg(["size", "sum"])
    joined = f.set_index("customer_id").join(orders).fillna({"size": 0, "sum": 0.0})
    np.testing.assert_array_equal(joined["frequency"], joined["size"])
    np.testing.assert_allclose(joined["monetary"], joined["sum"], atol=1e-6)
    assert int(f["n_touches"].sum()) == len(world.touchpoints)
    for group, cols in FEATURE_GROUPS.items():
        assert set(cols) <= set(f.columns), group


def test_sql_transpiles_to_spark():
    sql = feature_sql(as_of="2025-06-30", dialect="spark")
    assert "DATEDIFF" in sql.upper()
    sqlglot.parse_one(sql, read="spark")  # valid Spark SQL


def test_missing_column_names_table_and_column(tiny):
    customers, touches, orders = tiny
    with pytest.raises(DataError, match=r"table 'conversions': missing column\(s\) revenue"):
        customer_features(customers, touches, orders.drop(columns="revenue"))


def test_missing_table_is_named():
    con = duckdb.connect()
    with pytest.raises(DataError, match="table 'customers' is not registered"):
        derive_features(con)
