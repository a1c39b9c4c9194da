"""Benchmark: load and validate a 1M-customer world (issue: walking skeleton, section 8).

Target on the 2-core / 24 GiB machine: under 60 s and under 4 GiB peak memory.
Run: ``.venv/bin/python benchmarks/bench_load.py [N_CUSTOMERS]`` (default 1,000,000).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import peak_rss_gib, timed, world  # noqa: E402

from imclab.data import load_world  # noqa: E402


def main(n_customers: int = 1_000_000) -> dict:
    """Generate (once) and load a world; return the measured figures."""
    folder = world(n_customers)
    results: dict = {"customers": n_customers}
    rss_before = peak_rss_gib()
    with timed("load_and_validate_s", results):
        w = load_world(folder, as_of="2026-01-01")
    report = w.report.to_frame()
    results["rows_read"] = {
        row["table"]: int(row["rows_read"]) for _, row in report.iterrows() if row["rows_read"]
    }
    results["rows_quarantined"] = int(report["rows_quarantined"].sum())
    results["peak_rss_gib"] = round(peak_rss_gib(), 2)
    results["peak_rss_before_load_gib"] = round(rss_before, 2)
    return results


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(main(n), indent=2))
