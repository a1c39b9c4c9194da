"""Tests of the SQL feature derivation: known values on hand-made tables, invariants on a world,
the same frame from a DuckDB connection, pandas tables and Ibis tables, and the Spark SQL text.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
import sqlglot.expressions as sge

from imclab.config import CHANNELS
from imclab.engine import connect, to_ibis, world_tables
from imclab.errors import DataError, ParameterError
from imclab.personas.features import (
    FEATURE_GROUPS,
    TABLE_NAMES,
    derive_features,
    feature_sql,
)


def _features(customers, touchpoints, conversions, **kwargs):
    """The feature table from three separate tables (a mapping, as an analyst would pass)."""
    tables = {"customers": customers, "touchpoints": touchpoints, "conversions": conversions}
    return derive_features(tables, **kwargs)


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
    f = _features(customers, touches, orders, as_of="2025-03-31", prior_touches=0)
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
    f = _features(customers, touches, orders, as_of="2025-03-31", prior_touches=3)
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
        _features(customers, touches, orders.drop(columns="revenue"))


def test_missing_table_is_named():
    con = duckdb.connect()
    with pytest.raises(DataError, match="table 'customers' is not registered"):
        derive_features(con)


# --- one derivation, every input form -----------------------------------------------------------


@pytest.fixture(scope="module")
def small_loaded(small_world):
    from imclab.data.load import load_world

    return load_world(small_world, tables=list(TABLE_NAMES))


@pytest.fixture(scope="module")
def small_parquet(small_loaded, tmp_path_factory):
    """The loaded small world as Parquet files (typed columns, no categoricals)."""
    out = tmp_path_factory.mktemp("features_parquet")
    for name in TABLE_NAMES:
        frame = small_loaded.table(name).copy()
        for col in frame.columns:
            if str(frame[col].dtype) in ("category", "string"):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        frame.to_parquet(out / f"{name}.parquet")
    return out


@pytest.mark.parametrize("as_of", [None, "2025-07-01"])
def test_pandas_tables_give_exactly_the_connection_frame(small_loaded, as_of):
    want = derive_features(small_loaded.duckdb(), as_of=as_of)
    assert list(want.columns)[:2] == ["customer_id", "age"] and len(want) == 1200
    assert want["converted"].dtype == "int32" and want["tenure_days"].dtype == "int64"
    got = derive_features(small_loaded.tables, as_of=as_of)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # a world object (load_world, open_world) is read through its attributes
    pd.testing.assert_frame_equal(derive_features(small_loaded, as_of=as_of), want,
                                  check_exact=True)  # fmt: skip


def test_ibis_duckdb_tables_give_the_same_frame(small_loaded, small_parquet):
    want = derive_features(small_loaded.duckdb(), as_of="2025-07-01")
    con = connect("duckdb", threads=1)
    tabs = world_tables(con, small_parquet, names=TABLE_NAMES)
    got = derive_features(tabs, as_of="2025-07-01")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # the temporary views the query read are dropped again
    left = con.raw_sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    assert not [v for (v,) in left if v.startswith("_imclab_features")]
    # an in-memory Ibis table mixed with DuckDB tables runs on that DuckDB
    mixed = {**tabs, "customers": to_ibis(small_loaded.customers, "customers")}
    pd.testing.assert_frame_equal(derive_features(mixed, as_of="2025-07-01"), want,
                                  check_exact=True)  # fmt: skip


def test_features_take_ibis_tables_too(tiny):
    customers, touches, orders = tiny
    want = _features(customers, touches, orders, as_of="2025-03-31")
    got = _features(
        to_ibis(customers, "customers"), to_ibis(touches, "touchpoints"), orders,
        as_of="2025-03-31",
    )  # fmt: skip
    pd.testing.assert_frame_equal(got, want, check_exact=True)


# --- the SQL text ---------------------------------------------------------------------------------


def test_spark_sql_has_no_decimal_literal_and_counts_calendar_days():
    sql = feature_sql(as_of="2025-06-30", dialect="spark")
    tree = sqlglot.parse_one(sql, read="spark")
    decimals = [
        lit for lit in tree.find_all(sge.Literal) if not lit.is_string and "." in str(lit.this)
    ]
    assert decimals, "the query has fractional constants (1.0, 7.0, prior touches)"
    for lit in decimals:  # every one is pinned to DOUBLE: no DECIMAL(p, s) arithmetic on Spark
        assert isinstance(lit.parent, sge.Cast), lit.parent.sql("spark")
        assert lit.parent.to.is_type("double"), lit.parent.sql("spark")
    diffs = list(tree.find_all(sge.DateDiff))
    assert len(diffs) == 4  # touches per week, recency (two branches), tenure
    for diff in diffs:  # dates on both sides: calendar days as DuckDB counts them
        for arg in (diff.this, diff.expression):
            # sqlglot reads Spark's DATEDIFF arguments as "to date" of what was written
            arg = arg.this if isinstance(arg, sge.TsOrDsToDate) else arg
            assert isinstance(arg, sge.Cast) and arg.to.is_type("date"), diff.sql("spark")
    # DuckDB keeps the query as written (its results are the reference)
    duck = feature_sql(as_of="2025-06-30")
    assert "AS DOUBLE) AS DOUBLE" not in duck and "THEN 1.0 ELSE 0.0" in duck


def test_spark_sql_means_what_the_duckdb_sql_means(tiny):
    # the Spark text read back into DuckDB gives the same table on the hand-made tables
    customers, touches, orders = tiny
    con = duckdb.connect()
    for name, frame in zip(TABLE_NAMES, tiny, strict=True):
        con.register(name, frame)
    spark_sql = feature_sql(as_of="2025-03-31", prior_touches=2, dialect="spark")
    back = sqlglot.transpile(spark_sql, read="spark", write="duckdb")[0]
    got = con.sql(back).df()
    want = con.sql(feature_sql(as_of="2025-03-31", prior_touches=2)).df()
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=1e-12)
    assert got.set_index("customer_id").loc["C1", "recency_days"] == 10


def test_feature_sql_reads_named_tables():
    sql = feature_sql(tables={"touchpoints": "lake.web.events"}, dialect="spark")
    tree = sqlglot.parse_one(sql, read="spark")
    froms = {".".join(filter(None, (t.catalog, t.db, t.name))) for t in tree.find_all(sge.Table)}
    assert {"lake.web.events", "customers", "conversions"} <= froms
    assert "touchpoints" not in froms
    with pytest.raises(ParameterError, match=r"tables.touchpoints: expected a name"):
        feature_sql(tables={"touchpoints": "events; DROP TABLE x"})
    with pytest.raises(ParameterError, match="unknown table 'orders'"):
        feature_sql(tables={"orders": "x"})


def test_unreadable_as_of_is_refused():
    with pytest.raises(ParameterError, match="as_of: expected a date"):
        feature_sql(as_of="the end of June")


# --- errors name the fault --------------------------------------------------------------------


def test_missing_table_in_mapping_is_named(tiny):
    customers, touches, _ = tiny
    with pytest.raises(DataError, match=r"'conversions' missing from the tables given"):
        derive_features({"customers": customers, "touchpoints": touches})


def test_missing_column_of_an_ibis_table_is_named(tiny):
    customers, touches, orders = tiny
    tabs = {
        "customers": to_ibis(customers, "customers"),
        "touchpoints": to_ibis(touches.drop(columns="interaction"), "touchpoints"),
        "conversions": to_ibis(orders, "conversions"),
    }
    with pytest.raises(DataError, match=r"table 'touchpoints': missing column\(s\) interaction"):
        derive_features(tabs)


def test_wrong_kind_of_table_is_named(tiny):
    customers, touches, orders = tiny
    with pytest.raises(ParameterError, match="table 'touchpoints': expected an Ibis table"):
        derive_features({"customers": customers, "touchpoints": [1, 2], "conversions": orders})
    with pytest.raises(ParameterError, match="expected a DuckDB connection, a mapping"):
        derive_features("data/sample")


def test_tables_on_two_engines_are_refused(tiny, small_parquet):
    customers, _, orders = tiny
    a = world_tables(connect("duckdb", threads=1), small_parquet, names=TABLE_NAMES)
    b = world_tables(connect("duckdb", threads=1), small_parquet, names=TABLE_NAMES)
    with pytest.raises(ParameterError, match="different engines"):
        derive_features({**a, "conversions": b["conversions"]})


def test_empty_customers_is_an_error(tiny):
    customers, touches, orders = tiny
    with pytest.raises(DataError, match="'customers' has no rows"):
        derive_features(
            {"customers": customers.iloc[:0], "touchpoints": touches, "conversions": orders}
        )
