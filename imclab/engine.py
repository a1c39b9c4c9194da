"""Query engines: one Ibis backend factory for DuckDB (default) and Spark, and table access.

The heavy steps (table contracts, journey/path aggregation, KPIs, persona features) are
Ibis expressions; :func:`connect` gives the backend that runs them and
:func:`read_table` / :func:`world_tables` point them at Parquet/CSV files or at tables of a
warehouse or lake catalog (``catalog.database.table``).

Spark configuration
-------------------
:func:`connect` ("spark") reuses the active SparkSession when there is one (a notebook on a
cluster, ``spark-submit``); otherwise it builds one with ``SparkSession.builder``, which reads
the usual Spark configuration: ``SPARK_REMOTE`` (Spark Connect), ``$SPARK_CONF_DIR`` or
``$SPARK_HOME/conf/spark-defaults.conf`` (``spark.master``, catalogs, memory) and
``PYSPARK_SUBMIT_ARGS``. When none of them names a master, ``IMCLAB_SPARK_MASTER`` or
``local[*]`` is used. The session time zone is set to UTC so naive timestamps mean the same
on both engines.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from imclab.errors import DataError, ParameterError

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "TABLES",
    "connect",
    "engine_name",
    "locate_table",
    "quiet",
    "read_table",
    "to_ibis",
    "world_tables",
]

#: Engines a campaign plan (``engine:``) or ``imclab run --engine`` may name.
ENGINES: tuple[str, ...] = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
#: The tables of a brand world (data dictionary order).
TABLES: tuple[str, ...] = (
    "customers", "touchpoints", "conversions", "spend", "survey", "ab_tests", "creatives",
)  # fmt: skip

_SPARK_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",  # no progress bars in notebook outputs
}


def quiet(func: Callable) -> Callable:
    """Run ``func`` without ibis 12's notice about duckdb 2.0's renamed Arrow fetch method."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*fetch_arrow_table", category=DeprecationWarning
            )
            return func(*args, **kwargs)

    return wrapper


def to_ibis(table: Any, name: str = "table", columns: Sequence[str] | None = None) -> ir.Table:
    """Return ``table`` as an Ibis table: the one entry point of every engine-side reduction.

    An Ibis table (DuckDB, Spark or any backend, e.g. from :func:`world_tables`) is returned
    as is; a pandas DataFrame becomes an in-memory table that DuckDB runs (or the engine of
    the other tables in the same expression). Each reduction is therefore written once, in
    Ibis, and the pandas tables of :func:`imclab.data.load_world` and the warehouse tables of
    :func:`imclab.warehouse.open_world` go through the same code.

    Parameters
    ----------
    table
        An Ibis table or a pandas DataFrame.
    name
        What to call the table in error messages (``touchpoints``).
    columns
        Columns the caller needs; only these are handed to the database (all when None).

    Returns
    -------
    ibis.expr.types.Table

    Raises
    ------
    DataError
        A needed column is missing (the message names the table and the columns found).
    ParameterError
        ``table`` is neither an Ibis table nor a DataFrame.
    """
    import pandas as pd

    if isinstance(table, ir.Table):
        t = table
    elif isinstance(table, pd.DataFrame):
        keep = list(table.columns) if columns is None else [c for c in columns if c in table]
        frame = table[keep].copy()
        for c in frame.columns:
            # categoricals (as the loader returns them) become plain strings for the database
            if isinstance(frame[c].dtype, pd.CategoricalDtype):
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
        t = ibis.memtable(frame.reset_index(drop=True))
    else:
        raise ParameterError(
            f"{name}: expected an Ibis table or a pandas DataFrame, found {type(table).__name__}"
        )
    missing = [c for c in (columns or ()) if c not in t.columns]
    if missing:
        raise DataError(
            f"{name}: missing column(s) {', '.join(missing)} (found {', '.join(t.columns)})"
        )
    return t


def _check_engine(engine: str) -> str:
    name = (engine or DEFAULT_ENGINE).strip().lower()
    if name not in ENGINES:
        raise ParameterError(f"engine: expected one of {', '.join(ENGINES)}, found {engine!r}")
    return name


def _spark_master_configured() -> bool:
    """Whether the usual Spark configuration already names a master (or Spark Connect)."""
    if os.environ.get("SPARK_REMOTE") or "--master" in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        return True
    dirs = [os.environ.get("SPARK_CONF_DIR")]
    if os.environ.get("SPARK_HOME"):
        dirs.append(str(Path(os.environ["SPARK_HOME"]) / "conf"))
    for folder in filter(None, dirs):
        conf = Path(folder) / "spark-defaults.conf"
        if conf.is_file():
            for line in conf.read_text(errors="replace").splitlines():
                if line.strip().startswith(("spark.master", "spark.remote")):
                    return True
    return False


def _spark_session(master: str | None, config: Mapping[str, Any]):
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        for key, value in {**_SPARK_DEFAULTS, **config}.items():
            try:
                active.conf.set(key, str(value))
            except Exception:  # noqa: BLE001 - static settings of a running session stay
                pass
        return active
    builder = SparkSession.builder.appName("imclab")
    master = master or os.environ.get("IMCLAB_SPARK_MASTER")
    if not master and not _spark_master_configured():
        master = "local[*]"
    settings = dict(_SPARK_DEFAULTS)
    if master:
        builder = builder.master(master)
        local = re.fullmatch(r"local\[(\d+|\*)(?:,\s*\d+)?\]|local", master.strip())
        if local:  # one machine: a shuffle partition per core, not Spark's cluster default 200
            cores = local.group(1) if local.lastindex else "1"
            settings["spark.sql.shuffle.partitions"] = (
                str(os.cpu_count() or 1) if cores in (None, "*") else cores
            )
    for key, value in {**settings, **config}.items():
        builder = builder.config(key, str(value))
    return builder.getOrCreate()


def connect(
    engine: str = DEFAULT_ENGINE,
    *,
    session=None,
    master: str | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    database: str | Path = ":memory:",
    config: Mapping[str, Any] | None = None,
) -> ibis.BaseBackend:
    """Return an Ibis backend for ``engine`` ("duckdb" or "spark").

    Parameters
    ----------
    engine
        ``"duckdb"`` (default: in-process, spills to ``temp_directory`` beyond
        ``memory_limit``) or ``"spark"`` (PySpark).
    session
        Spark only: an existing ``SparkSession`` to use (tests share one).
    master
        Spark only: master URL (``local[2]``, ``spark://host:7077``, ``yarn``); default: the
        Spark configuration, then ``IMCLAB_SPARK_MASTER``, then ``local[*]``.
    threads, memory_limit, temp_directory, database
        DuckDB only: worker threads, memory limit (e.g. ``"8GB"``), spill folder, database
        file (default in memory).
    config
        Extra settings: Spark configuration keys (``spark.sql.shuffle.partitions``...) or
        DuckDB settings.

    Returns
    -------
    ibis.BaseBackend
        The backend; pass it to :func:`imclab.warehouse.open_world` or
        :func:`imclab.attribution.build_journeys`.
    """
    name = _check_engine(engine)
    config = dict(config or {})
    if name == "spark":
        if session is None:
            try:
                session = _spark_session(master, config)
            except ImportError as exc:  # the report install (core.lock) leaves PySpark out
                raise ParameterError(
                    "engine spark needs PySpark, which the report install leaves out (491 MB): "
                    "pip install -r requirements/spark.lock (make test installs it), or use "
                    "engine duckdb"
                ) from exc
        else:
            # timestamps without zone must mean the same on both engines
            session.conf.set("spark.sql.session.timeZone", "UTC")
        return ibis.pyspark.connect(session)
    kwargs: dict[str, Any] = dict(config)
    if threads:
        kwargs["threads"] = int(threads)
    if memory_limit:
        kwargs["memory_limit"] = str(memory_limit)
    if temp_directory:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        kwargs["temp_directory"] = str(temp_directory)
    con = ibis.duckdb.connect(str(database), **kwargs)
    con.raw_sql("SET enable_progress_bar = false")
    return con


def engine_name(con: ibis.BaseBackend) -> str:
    """Return ``"duckdb"`` or ``"spark"`` for a backend made by :func:`connect`."""
    return "spark" if con.name == "pyspark" else con.name


def _file_format(path: Path) -> str | None:
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return "parquet"
    if suffixes.endswith((".csv", ".csv.gz")):
        return "csv"
    if path.is_dir() and any(path.glob("*.parquet")):
        return "parquet"  # a folder of Parquet part files (Spark / Hive layout)
    return None


@quiet
def read_table(con: ibis.BaseBackend, source: str | Path) -> ir.Table:
    """Point at one table: a Parquet/CSV file or folder, or a catalog name.

    Parameters
    ----------
    con
        Backend from :func:`connect`.
    source
        ``path/to/table.parquet``, ``path/to/folder_of_parquet_parts/``, ``path/table.csv``,
        any URL the engine reads (``s3://...``, ``abfss://...``, ``gs://...`` ending in
        ``.parquet`` or ``.csv``), or a catalog name ``table``, ``database.table`` or
        ``catalog.database.table`` (Hive metastore, Unity/Glue/Iceberg catalogs configured
        in Spark; attached databases in DuckDB).

    Returns
    -------
    ibis.expr.types.Table
        A lazy table expression (nothing is read until a query runs).

    Raises
    ------
    DataError
        The file does not exist or the catalog has no such table.
    """
    text = str(source)
    is_url = "://" in text
    path = Path(text)
    fmt = _file_format(path) if not is_url else _file_format(Path(text.split("://", 1)[1]))
    if fmt is None and (is_url or os.sep in text or path.exists()):
        raise DataError(
            f"{text}: expected a .parquet or .csv file, a folder of Parquet files, or a "
            f"catalog name such as database.table"
        )
    if fmt is not None:
        if not is_url and not path.exists():
            raise DataError(f"{text}: file not found")
        target = text if is_url else str(path.resolve())
        if fmt == "parquet":
            return con.read_parquet(target)
        if con.name == "pyspark":
            return con.read_csv(target, header=True, inferSchema=False)
        # cells as text, typed by the queries (as the loader does): same input on both engines
        return con.read_csv(target, all_varchar=True)
    parts = text.split(".")
    name = parts[-1]
    database = tuple(parts[:-1]) if len(parts) > 2 else (parts[0] if len(parts) == 2 else None)
    try:
        return con.table(name, database=database)
    except Exception as exc:  # noqa: BLE001 - engines raise different "not found" errors
        raise DataError(f"table '{text}' not found in the {engine_name(con)} catalog") from exc


def locate_table(
    source: str | Path, name: str, tables: Mapping[str, str] | None = None
) -> str | Path | None:
    """Return where table ``name`` of a brand world is: the one rule every reader uses.

    The loader (:func:`imclab.data.load_world`), the column mapping
    (:func:`imclab.data.mapping.source_file`) and the engines (:func:`world_tables`) all ask
    this function. An override in ``tables`` first; in a folder, ``<name>.parquet``,
    ``<name>.csv`` or a folder ``<name>/`` of Parquet part files (None when the folder has
    none of them); in a lake folder URL, ``<url>/<name>.parquet``; otherwise the catalog
    name ``<source>.<name>``.

    Raises
    ------
    DataError
        A folder holds the table twice (e.g. ``spend.csv`` and ``spend.parquet``): which one
        is meant is ambiguous, so neither is read.
    """
    if tables and name in tables:
        return tables[name]
    folder = Path(str(source))
    if "://" not in str(source) and folder.is_dir():
        found = [
            candidate
            for candidate in (folder / f"{name}.csv", folder / f"{name}.parquet", folder / name)
            if candidate.exists() and _file_format(candidate) is not None
        ]
        if len(found) > 1:
            raise DataError(
                f"{folder}: both {found[0].name} and {found[1].name} exist; keep one of them "
                f"so the '{name}' table is unambiguous"
            )
        return found[0] if found else None
    if "://" in str(source):  # a lake folder: s3://bucket/world/<table>.parquet
        return f"{str(source).rstrip('/')}/{name}.parquet"
    return f"{source}.{name}"  # a catalog database: lake.marketing.<table>


@quiet
def world_tables(
    con: ibis.BaseBackend,
    source: str | Path,
    tables: Mapping[str, str] | None = None,
    names: tuple[str, ...] = TABLES,
) -> dict[str, ir.Table]:
    """Point at the tables of a brand world.

    Parameters
    ----------
    con
        Backend from :func:`connect`.
    source
        A folder holding ``<table>.parquet`` or ``<table>.csv`` files (one per table), a
        lake folder URL (``s3://bucket/world`` -> ``s3://bucket/world/<table>.parquet``), or
        a catalog database (``sales_db`` or ``lake.marketing``) whose tables carry the data
        dictionary names.
    tables
        Optional per-table overrides: ``{"touchpoints": "lake.web.events_2025", ...}``
        (anything :func:`read_table` accepts).
    names
        The tables wanted; tables a folder does not hold are left out.

    Returns
    -------
    dict
        Table name -> Ibis table.
    """
    out: dict[str, ir.Table] = {}
    overrides = dict(tables or {})
    for name in names:
        target = locate_table(source, name, overrides)
        if target is None:  # a folder without this table
            continue
        if isinstance(target, Path) or name in overrides:
            out[name] = read_table(con, target)
            continue
        try:
            out[name] = read_table(con, target)
        except Exception:  # noqa: BLE001 - a table the source does not hold is left out
            continue
    if not out:
        raise DataError(
            f"{source}: no brand-world table found (expected some of {', '.join(names)} as "
            f".parquet/.csv files or catalog tables)"
        )
    return out
