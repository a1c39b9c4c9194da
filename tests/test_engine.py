"""Engine factory and table access: DuckDB backend, files, folders, catalog names, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.engine import ENGINES, connect, engine_name, read_table, world_tables
from imclab.errors import DataError, ParameterError
from imclab.warehouse import open_world


def test_connect_duckdb_with_spill_settings(tmp_path):
    con = connect("duckdb", threads=1, memory_limit="512MB", temp_directory=tmp_path / "spill")
    assert engine_name(con) == "duckdb"
    settings = dict(
        con.raw_sql(
            "SELECT name, value FROM duckdb_settings() "
            "WHERE name IN ('threads', 'memory_limit', 'temp_directory')"
        ).fetchall()
    )
    assert settings["threads"] == "1"
    assert settings["temp_directory"].endswith("spill")
    assert (tmp_path / "spill").is_dir()
    assert settings["memory_limit"].startswith(("488", "512"))  # 512MB as DuckDB reports it


def test_unknown_engine_names_the_choices():
    assert ENGINES == ("duckdb", "spark")
    with pytest.raises(ParameterError, match="expected one of duckdb, spark, found 'postgres'"):
        connect("postgres")


def test_read_parquet_csv_and_catalog_name(tmp_path):
    frame = pd.DataFrame({"customer_id": ["C1", "C2"], "revenue": [1.5, 2.0]})
    frame.to_parquet(tmp_path / "orders.parquet")
    frame.to_csv(tmp_path / "orders.csv", index=False)
    con = connect()
    pq = read_table(con, tmp_path / "orders.parquet").execute()
    assert pq["revenue"].sum() == 3.5
    csv = read_table(con, tmp_path / "orders.csv").execute()
    assert csv["revenue"].tolist() == ["1.5", "2.0"]  # CSV cells stay text: typed by queries
    con.raw_sql("CREATE SCHEMA lake")
    con.raw_sql("CREATE TABLE lake.orders AS SELECT 'C9' AS customer_id, 4.0 AS revenue")
    got = read_table(con, "lake.orders").execute()
    assert got["customer_id"].tolist() == ["C9"]


def test_read_table_errors_name_the_source(tmp_path):
    con = connect()
    with pytest.raises(DataError, match="missing.parquet: file not found"):
        read_table(con, tmp_path / "missing.parquet")
    with pytest.raises(DataError, match="table 'lake.nope' not found in the duckdb catalog"):
        read_table(con, "lake.nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="expected a .parquet or .csv file"):
        read_table(con, tmp_path / "notes.txt")


def test_world_tables_from_folder_refuse_a_table_twice_and_take_overrides(tmp_path):
    pd.DataFrame({"customer_id": ["P1", "P2"]}).to_parquet(tmp_path / "customers.parquet")
    other = tmp_path / "elsewhere.parquet"
    pd.DataFrame({"order_id": ["O1"]}).to_parquet(other)
    con = connect()
    tabs = world_tables(con, tmp_path, tables={"conversions": str(other)})
    assert sorted(tabs) == ["conversions", "customers"]
    assert tabs["customers"].count().execute() == 2
    assert tabs["conversions"].execute()["order_id"].tolist() == ["O1"]
    # csv + parquet side by side: ambiguous for every reader (one rule: locate_table)
    pd.DataFrame({"customer_id": ["C1"]}).to_csv(tmp_path / "customers.csv", index=False)
    with pytest.raises(DataError, match="both customers.csv and customers.parquet exist"):
        world_tables(con, tmp_path)
    with pytest.raises(DataError, match="both customers.csv and customers.parquet exist"):
        open_world(tmp_path, lazy=True)
    with pytest.raises(DataError, match="no brand-world table found"):
        world_tables(con, tmp_path / "empty_dir_does_not_exist")


def test_world_tables_from_a_catalog_database():
    con = connect()
    con.raw_sql("CREATE SCHEMA crm")
    con.raw_sql("CREATE TABLE crm.customers AS SELECT 'C1' AS customer_id")
    tabs = world_tables(con, "crm")
    assert list(tabs) == ["customers"]
    assert tabs["customers"].execute()["customer_id"].tolist() == ["C1"]


def test_plan_and_cli_offer_exactly_the_engines_connect_accepts():
    import typing

    from imclab.cli import build_parser
    from imclab.plan import CampaignPlan

    assert typing.get_args(CampaignPlan.model_fields["engine"].annotation) == ENGINES
    assert CampaignPlan.model_fields["engine"].default == "duckdb"
    args = build_parser().parse_args(["run", "campaigns/spring_launch.yaml", "--engine", "spark"])
    assert args.engine == "spark"


def test_spark_without_pyspark_says_what_to_install(monkeypatch):
    import sys

    from imclab.engine import connect
    from imclab.errors import ParameterError

    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if the spark extra were not installed
    with pytest.raises(ParameterError, match=r"requirements/spark.lock"):
        connect("spark")
