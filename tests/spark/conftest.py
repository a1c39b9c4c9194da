"""One local SparkSession for the whole test session, and the sample world as Parquet."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark_session():
    """A ``local[2]`` SparkSession shared by every Spark test (UI off, 2 shuffle partitions)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("imclab-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engines(spark_session):
    """``{"duckdb": backend, "spark": backend}`` from :func:`imclab.engine.connect`."""
    from imclab.engine import connect

    return {
        "duckdb": connect("duckdb", threads=2),
        "spark": connect("spark", session=spark_session),
    }


@pytest.fixture(scope="session")
def sample_parquet(sample_dir, tmp_path_factory):
    """The sample world read through the loader (faulty rows quarantined), saved as Parquet."""
    from imclab.data import load_world

    world = load_world(sample_dir)
    out = tmp_path_factory.mktemp("sample_parquet")
    for name in ("customers", "touchpoints", "conversions", "spend"):
        frame = world.table(name).copy()
        for col in frame.columns:
            if str(frame[col].dtype) in ("category", "string"):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        # microsecond timestamps: Spark does not read Parquet TIMESTAMP(NANOS)
        frame.to_parquet(
            out / f"{name}.parquet", coerce_timestamps="us", allow_truncated_timestamps=True
        )
    return out
