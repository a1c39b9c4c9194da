"""Benchmark: load and validate a 1M-customer world (issue: walking skeleton, section 8).

Target on the 2-core / 24 GiB machine: under 60 s and under 4 GiB peak memory.
Run: ``.venv/bin/python benchmarks/bench_load.py [N_CUSTOMERS] [--replicate N_TOUCHPOINTS]``
(default 1,000,000 customers). ``--replicate`` loads about that many touchpoints stacked by
DuckDB from copies of the cached 20,000-customer world with offset ids
(``bench_integration.replicated_world``: ``--replicate 21700000`` gives 1M customers and
21.7M touchpoints without simulating them). Wall-clock and CPU seconds (all threads) of the
load, and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import peak_rss_gib, timed, world  # noqa: E402

from imclab.data import load_world  # noqa: E402


def main(n_customers: int = 1_000_000, replicate: int | None = None) -> dict:
    """Generate (once) and load a world; return the measured figures."""
    if replicate:
        from bench_integration import replicated_world

        folder = replicated_world(replicate)
    else:
        folder = world(n_customers)
    results: dict = {"folder": folder.name, "load_avg_1min": round(os.getloadavg()[0], 1)}
    rss_before = peak_rss_gib()
    cpu = time.process_time()
    with timed("load_and_validate_s", results):
        w = load_world(folder, as_of="2026-01-01")
    results["load_and_validate_cpu_s"] = round(time.process_time() - cpu, 1)
    report = w.report.to_frame()
    results["rows_read"] = {
        row["table"]: int(row["rows_read"]) for _, row in report.iterrows() if row["rows_read"]
    }
    results["rows_quarantined"] = int(report["rows_quarantined"].sum())
    results["peak_rss_gib"] = round(peak_rss_gib(), 2)
    results["peak_rss_before_load_gib"] = round(rss_before, 2)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--replicate", type=int, default=None, help="touchpoints to stack")
    args = parser.parse_args()
    print(json.dumps(main(args.customers, args.replicate), indent=2))
