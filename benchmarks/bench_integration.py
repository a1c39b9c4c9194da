"""Benchmark: notebook 06's channel-integration sections on a ~10M-touchpoint world (DuckDB).

The sections of ``notebooks/06_channel_integration``: per-customer exposure cells (overlap,
incremental reach, synergy), frequency cells and the reach-and-frequency model, the synergy
fit, the journey flow, the plan's default funnel, the retention curves by acquisition month
and by first-touch channel, and the BG/NBD overlay (RFM summary in the engine + a PyMC-
Marketing MAP fit). Anchor: the situation notebook's ``journey_funnel(by="channel")`` on the
same world, a reduction of the same kind. Each engine runs in a fresh child process
(``open_world`` first, timed apart); only aggregates come back.

Input: the cached 500,000-customer world (``common.world``, Parquet, ~10.8M touchpoints), or
with ``--replicate N`` about N touchpoints stacked by DuckDB from copies of the 20,000-customer
world with offset ids (``C000001`` -> ``C000001_r1`` in copy 1; customers keep complete
histories), read without validation (``world_tables``): simulating 10M touchpoints takes
half an hour or more on the shared machine. DuckDB: 2 threads, ``memory_limit`` 6 GB.

Run: ``.venv/bin/python benchmarks/bench_integration.py [--customers N | --replicate N]
[--engines duckdb]``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DATA, run_measured, world  # noqa: E402

CHILD = r"""
import json, sys, time
from pathlib import Path
folder, engine, spill = sys.argv[1], sys.argv[2], sys.argv[3]
from imclab.config import CHANNELS
from imclab.engine import connect
from imclab.integration import exposure as ex
from imclab.integration import flow, reach, retention, synergy
from imclab.plan import DEFAULT_FUNNEL
from imclab.situation import journey_funnel
from imclab.engine import world_tables
from imclab.warehouse import open_world
if engine == "spark":
    con = connect("spark", master="local[2]", config={
        "spark.driver.memory": "8g", "spark.ui.enabled": "false", "spark.local.dir": spill})
    con._session.sparkContext.setLogLevel("ERROR")
else:
    con = connect("duckdb", threads=2, memory_limit="6GB", temp_directory=spill)
steps, cpu = {}, {}
def cpu_now():  # CPU seconds of this process (all its threads) and of its finished children
    import resource
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
def timed(name, fn):
    t, c = time.perf_counter(), cpu_now()
    out = fn()
    steps[name], cpu[name] = time.perf_counter() - t, cpu_now() - c
    return out
class Raw:  # a replicated world: its tables as they are (open_world's checks not timed)
    def __init__(self, tables):
        self.__dict__.update(tables)
if (Path(folder) / "REPLICATED").exists():
    w = timed("open_world", lambda: Raw(world_tables(con, folder)))
    touchpoints = int(w.touchpoints.count().execute())
else:
    w = timed("open_world", lambda: open_world(folder, con, as_of="2025-06-30 23:59:59"))
    touchpoints = w.report.tables["touchpoints"].rows_loaded
start, end = "2025-03-03", "2025-05-25"
kinds = ["impression", "click", "open", "visit"]
channels = [c for c in CHANNELS if c != "direct"]
timed("anchor_journey_funnel", lambda: journey_funnel(w.touchpoints, w.conversions, start, end,
      by="channel"))
expo = ex.customer_exposure(w.customers, w.touchpoints, w.conversions, start, end,
                            channels=channels, interactions=kinds)
freq = timed("frequency_cells", lambda: ex.frequency_cells(expo, channels, 6))
cells = timed("exposure_cells", lambda: ex.exposure_cells(freq, channels))
timed("overlap_reach", lambda: (reach.channel_overlap(cells, channels),
                                reach.incremental_reach(cells, channels)))
pairs = timed("synergy_fit", lambda: synergy.channel_synergy(cells, channels))
rf = timed("reach_frequency_fit", lambda: reach.reach_frequency(freq, channels))
links = timed("journey_flow", lambda: flow.journey_flow(w.touchpoints, w.conversions, start, end,
              channels=CHANNELS, interactions=kinds, steps=4))
funnel = timed("plan_funnel", lambda: flow.plan_funnel(w.touchpoints, w.conversions, start, end,
               steps=DEFAULT_FUNNEL))
ret = timed("retention_curves", lambda: [retention.retention_curves(
    w.conversions, w.touchpoints, by=by, observation_end="2025-06-19")
    for by in ("acquisition_month", "first_touch_channel")])
exp = timed("bgnbd_overlay", lambda: retention.expected_repeat_orders(
    w.conversions, observation_end="2025-06-19"))
skip = ("open_world", "anchor_journey_funnel")
sections = sum(v for k, v in steps.items() if k not in skip)
sections_cpu = sum(v for k, v in cpu.items() if k not in skip)
print(json.dumps({
    "touchpoints": touchpoints,
    "customers_in_cells": int(cells["customers"].sum()),
    "cells": len(cells), "frequency_cells": len(freq), "flow_links": len(links),
    "pairs_estimated": int(pairs["estimate"].notna().sum()),
    "funnel_reached": int(funnel["customers"].iloc[0]),
    **{f"{k}_s": round(v, 1) for k, v in steps.items()},
    "sections_s": round(sections, 1),
    "sections_without_bgnbd_s": round(sections - steps["bgnbd_overlay"], 1),
    **{f"{k}_cpu_s": round(v, 1) for k, v in cpu.items()},
    "sections_cpu_s": round(sections_cpu, 1),
    "sections_without_bgnbd_cpu_s": round(sections_cpu - cpu["bgnbd_overlay"], 1),
}))
"""


def run_one(folder: Path, engine: str) -> dict:
    """Run the sections in a child process; return its figures and the peak tree memory."""
    spill = BENCH_DATA / f"spill_{engine}"
    spill.mkdir(exist_ok=True)
    run = run_measured([sys.executable, "-c", CHILD, str(folder), engine, str(spill)])
    if run["returncode"] != 0:
        return {"engine": engine, "error": run["stderr"].strip().splitlines()[-3:]}
    res = json.loads(run["stdout"].strip().splitlines()[-1])
    res.update(
        engine=engine,
        process_s=round(run["seconds"], 1),
        peak_rss_gib=round(run["peak_rss"] / 1024**3, 2),
    )
    return res


def replicated_world(n_touchpoints: int, source_customers: int = 20_000) -> Path:
    """Return a folder of about ``n_touchpoints`` touches stacked from copies of a world."""
    import duckdb

    src = world(source_customers)
    out = BENCH_DATA / f"integration_{n_touchpoints}_{src.name}"
    if (out / "REPLICATED").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 2, "memory_limit": "6GB"})
    con.execute("SET enable_progress_bar = false")
    total = con.execute(f"SELECT count(*) FROM '{src / 'touchpoints.parquet'}'").fetchone()[0]
    copies = max(1, math.ceil(n_touchpoints / total))
    tables = {
        "customers": ("customer_id", None),
        "touchpoints": ("customer_id", "event_id"),
        "conversions": ("customer_id", "order_id"),
    }
    for name, (cid, key) in tables.items():
        path = src / f"{name}.parquet"
        parts = []
        for k in range(copies):
            suffix = "" if k == 0 else f"_r{k}"
            ids = f"{cid} || '{suffix}' AS {cid}" + (
                f", {key} || '{suffix}' AS {key}" if key else ""
            )
            parts.append(f"SELECT * REPLACE ({ids}) FROM '{path}'")
        con.execute(
            f"COPY ({' UNION ALL '.join(parts)}) TO '{out / (name + '.parquet')}' "
            "(FORMAT parquet, ROW_GROUP_SIZE 500000)"
        )
    for name in ("spend", "survey", "ab_tests", "creatives"):
        shutil.copy(src / f"{name}.parquet", out / f"{name}.parquet")
    (out / "REPLICATED").write_text(f"{copies} copies of {src.name}\n", encoding="utf-8")
    return out


def main(n_customers: int, engines: list[str], replicate: int | None = None) -> list[dict]:
    """Time every engine on the cached world of ``n_customers`` (or a replicated one)."""
    import os

    folder = replicated_world(replicate) if replicate else world(n_customers)
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
    parser.add_argument("--engines", default="duckdb")
    parser.add_argument("--replicate", type=int, default=None, help="touchpoints to stack")
    args = parser.parse_args()
    main(args.customers, args.engines.split(","), args.replicate)
