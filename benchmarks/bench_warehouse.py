"""Benchmark: a notebook's engine steps on a 10.8M-touchpoint world, DuckDB versus Spark local.

What a notebook run with ``engine=...`` does before any model: open the world in the engine
(:func:`imclab.warehouse.open_world`: read, check every table contract, count and store the
clean event tables), then the situation analysis' heavy reductions on it: the catalogue KPI
table over the baseline weeks (:func:`imclab.kpis.kpi_table`), daily sales
(:func:`imclab.situation.daily_sales`) and the journey funnel by channel
(:func:`imclab.situation.journey_funnel`). Only small results come back to Python.

Input: the cached 500,000-customer world (``common.world``, Parquet, 10.85M touchpoints).
Each engine runs in a fresh child process; wall-clock seconds per step and the peak
resident memory of the process tree (Python, DuckDB inside it; for Spark also the JVM),
sampled with psutil every 0.2 s. DuckDB: 2 threads, ``memory_limit`` 6 GB; Spark:
``local[2]``, driver memory 8 GB.

With ``--replicate N``: about N touchpoints stacked from copies of the cached 20,000-customer
world (``bench_integration.replicated_world``) instead of a simulated world.

Run: ``.venv/bin/python benchmarks/bench_warehouse.py [--customers N | --replicate N]
[--engines duckdb,spark]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DATA, run_measured, world  # noqa: E402

CHILD = r"""
import json, sys, time
folder, engine, spill = sys.argv[1], sys.argv[2], sys.argv[3]
from imclab.engine import connect
from imclab.kpis import kpi_table
from imclab.situation import daily_sales, journey_funnel
from imclab.warehouse import open_world
if engine == "spark":
    con = connect("spark", master="local[2]", config={
        "spark.driver.memory": "8g", "spark.ui.enabled": "false", "spark.local.dir": spill})
    con._session.sparkContext.setLogLevel("ERROR")
else:
    con = connect("duckdb", threads=2, memory_limit="6GB", temp_directory=spill)
steps = {}
t, cpu = time.perf_counter(), time.process_time()
w = open_world(folder, con, as_of="2025-06-30 23:59:59")
steps["open_world"] = time.perf_counter() - t
steps["open_world_cpu"] = time.process_time() - cpu  # all threads of the process (DuckDB's)
t = time.perf_counter()
kpis = kpi_table(w.tables, "2025-01-01", "2025-03-02", brand="Lumina")
steps["kpi_table"] = time.perf_counter() - t
t = time.perf_counter()
sales = daily_sales(w.conversions, "2025-01-01", "2025-06-30")
steps["daily_sales"] = time.perf_counter() - t
t = time.perf_counter()
funnel = journey_funnel(w.touchpoints, w.conversions, "2025-01-01", "2025-03-02", by="channel")
steps["journey_funnel"] = time.perf_counter() - t
print(json.dumps({
    "touchpoints": w.report.tables["touchpoints"].rows_loaded,
    "rows_quarantined": sum(r.rows_quarantined for r in w.report.tables.values()),
    "revenue": round(float(sales["revenue"].sum()), 2),
    "kpis_computed": int(kpis["value"].notna().sum()),
    "funnel_rows": len(funnel),
    **{f"{k}_s": round(v, 1) for k, v in steps.items()},
}))
"""


def run_one(folder: Path, engine: str) -> dict:
    """Run the steps in a child process; return its figures and the peak tree memory."""
    spill = BENCH_DATA / f"spill_{engine}"
    spill.mkdir(exist_ok=True)
    run = run_measured([sys.executable, "-c", CHILD, str(folder), engine, str(spill)])
    if run["returncode"] != 0:
        return {"engine": engine, "error": run["stderr"].strip().splitlines()[-1:]}
    res = json.loads(run["stdout"].strip().splitlines()[-1])
    res.update(
        engine=engine,
        process_s=round(run["seconds"], 1),
        peak_rss_gib=round(run["peak_rss"] / 1024**3, 2),
    )
    return res


def main(n_customers: int, engines: list[str], replicate: int | None = None) -> list[dict]:
    """Time every engine on the cached world of ``n_customers`` (or a replicated one)."""
    import os

    if replicate:
        from bench_integration import replicated_world

        folder = replicated_world(replicate)
    else:
        folder = world(n_customers)
    rows = []
    for engine in engines:
        res = {"customers": n_customers, **run_one(folder, engine)}
        res["load_avg_1min"] = round(os.getloadavg()[0], 1)
        print(json.dumps(res), flush=True)
        rows.append(res)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--replicate", type=int, default=None, help="touchpoints to stack")
    args = parser.parse_args()
    main(args.customers, args.engines.split(","), args.replicate)
