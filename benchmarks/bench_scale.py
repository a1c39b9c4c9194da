"""Benchmark: path aggregation on 1M, 10M and 50M touchpoints, DuckDB versus Spark local.

Inputs are Parquet files built from the cached 1M-customer world (``common.world``,
21.7M touchpoints): a size below it keeps a prefix of the customers (all of their touches
and orders), a size above it stacks copies of the world with offset ids (``C0000001`` ->
``C0000001_r1`` in copy 1, same for event and order ids) and keeps a prefix of the
customers of the last copy. Every customer therefore keeps a complete, realistic journey
history; the replicated worlds are built by DuckDB (``COPY ... TO parquet``) in seconds.

Each engine and size runs in a fresh child process (``imclab.attribution.build_journeys``
with the default settings, reading the Parquet files): wall-clock time and the peak resident
memory of the whole process tree (the Python process, DuckDB inside it; for Spark also the
JVM child), sampled with psutil every 0.2 s.

DuckDB: 2 threads, ``memory_limit`` 6 GB, ``temp_directory`` under benchmarks/data (it spills
there beyond the limit). Spark: ``local[2]``, driver memory 8 GB, 16 shuffle partitions.

Run: ``.venv/bin/python benchmarks/bench_scale.py [SIZES...] [--engines duckdb,spark]
[--duckdb-memory 6GB]`` (default sizes 1000000 10000000 50000000). The bytes in the spill
folder are sampled too (``peak_spill_gib``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DATA, run_measured, world  # noqa: E402

SOURCE_CUSTOMERS = 1_000_000
DUCKDB_MEMORY = "6GB"
SPARK_DRIVER_MEMORY = "8g"


def scaled_world(n_touchpoints: int) -> Path:
    """Return a folder with touchpoints/conversions Parquet of about ``n_touchpoints`` rows."""
    import duckdb

    src = world(SOURCE_CUSTOMERS)
    out = BENCH_DATA / f"scale_{n_touchpoints}_{src.name.rsplit('_', 1)[-1]}"
    if (out / "conversions.parquet").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 2, "memory_limit": DUCKDB_MEMORY})
    con.execute("SET enable_progress_bar = false")
    tp, cv = src / "touchpoints.parquet", src / "conversions.parquet"
    con.execute(
        f"CREATE TEMP TABLE per_customer AS SELECT customer_id, count(*) AS n "
        f"FROM '{tp}' GROUP BY customer_id"
    )
    total = con.execute("SELECT sum(n) FROM per_customer").fetchone()[0]
    copies = max(1, math.ceil(n_touchpoints / total))
    need_last = n_touchpoints - (copies - 1) * total
    # customers of the last copy in id order until the running touch count reaches the target
    cutoff = con.execute(
        "SELECT min(customer_id) FROM (SELECT customer_id, sum(n) OVER (ORDER BY customer_id) "
        f"AS cum FROM per_customer) WHERE cum >= {need_last}"
    ).fetchone()[0]

    def _copy(path: Path, key: str, cols: str) -> str:
        parts = []
        for k in range(copies):
            suffix = "" if k == 0 else f"_r{k}"
            where = f"WHERE customer_id <= '{cutoff}'" if k == copies - 1 else ""
            parts.append(
                f"SELECT {key} || '{suffix}' AS {key}, customer_id || '{suffix}' AS customer_id, "
                f"{cols} FROM '{path}' {where}"
            )
        return " UNION ALL ".join(parts)

    for name, path, key, cols in (
        ("touchpoints", tp, "event_id", "timestamp, channel, campaign, interaction, cost"),
        ("conversions", cv, "order_id", "timestamp, revenue"),
    ):
        con.execute(
            f"COPY ({_copy(path, key, cols)}) TO '{out / (name + '.tmp')}' "
            "(FORMAT parquet, ROW_GROUP_SIZE 500000)"
        )
        (out / f"{name}.tmp").rename(out / f"{name}.parquet")
    return out


CHILD = r"""
import json, sys, time
folder, engine, spill, duck_mem = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
from imclab.engine import connect, world_tables
from imclab.attribution import build_journeys
if engine == "spark":
    con = connect("spark", master="local[2]", config={
        "spark.driver.memory": "SPARK_MEM", "spark.sql.shuffle.partitions": "16",
        "spark.ui.enabled": "false", "spark.sql.adaptive.enabled": "true",
        "spark.local.dir": spill})
    con._session.sparkContext.setLogLevel("ERROR")
else:
    con = connect("duckdb", threads=2, memory_limit=duck_mem, temp_directory=spill)
tabs = world_tables(con, folder, names=("touchpoints", "conversions"))
t0 = time.perf_counter()
j = build_journeys(con, tabs["touchpoints"], tabs["conversions"])
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": round(seconds, 1), "touches_in_file": j.count("touches in the file"),
                  "unique_paths": j.count("unique paths"),
                  "journeys": int(j.paths["conversions"].sum() + j.paths["nulls"].sum())}))
""".replace("SPARK_MEM", SPARK_DRIVER_MEMORY)


def run_one(folder: Path, engine: str, duckdb_memory: str = DUCKDB_MEMORY) -> dict:
    """Run path aggregation in a child process; return its figures and peak tree memory."""
    spill = BENCH_DATA / f"spill_{engine}"
    spill.mkdir(exist_ok=True)
    run = run_measured(
        [sys.executable, "-c", CHILD, str(folder), engine, str(spill), duckdb_memory], spill
    )
    if run["returncode"] != 0:
        return {"engine": engine, "error": f"exit code {run['returncode']}"}
    res = json.loads(run["stdout"].strip().splitlines()[-1])
    res.update(
        engine=engine,
        process_s=round(run["seconds"], 1),
        peak_rss_gib=round(run["peak_rss"] / 1024**3, 2),
        peak_spill_gib=round(run["peak_spill"] / 1024**3, 2),
    )
    if engine == "duckdb":
        res["duckdb_memory_limit"] = duckdb_memory
    return res


def main(sizes: list[int], engines: list[str], duckdb_memory: str = DUCKDB_MEMORY) -> list[dict]:
    """Build the inputs once, then time every engine on every size."""
    import os

    rows = []
    for size in sizes:
        folder = scaled_world(size)
        for engine in engines:
            res = {"target_touchpoints": size, **run_one(folder, engine, duckdb_memory)}
            res["load_avg_1min"] = round(os.getloadavg()[0], 1)
            print(json.dumps(res), flush=True)
            rows.append(res)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 10_000_000, 50_000_000])
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--duckdb-memory", default=DUCKDB_MEMORY, help="DuckDB memory_limit")
    args = parser.parse_args()
    main(args.sizes, args.engines.split(","), args.duckdb_memory)
