"""Shared helpers for the benchmarks: cached generated worlds and time/memory measurement."""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BENCH_DATA = Path(__file__).resolve().parent / "data"


def world(n_customers: int, fmt: str = "parquet", seed: int = 1) -> Path:
    """Return the folder of a generated world of ``n_customers``, generating it once."""
    from imclab.simulate import simulate_world

    folder = BENCH_DATA / f"world_{n_customers}_{fmt}_{seed}"
    done = folder / ".complete"
    if not done.exists():
        t0 = time.perf_counter()
        simulate_world(folder, seed=seed, n_customers=n_customers, fmt=fmt, chunk_size=20_000)
        done.write_text("ok\n")
        print(f"generated {folder.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return folder


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, in GiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


@contextmanager
def timed(label: str, results: dict):
    """Record the wall-clock seconds of the block under ``results[label]``."""
    t0 = time.perf_counter()
    yield
    results[label] = round(time.perf_counter() - t0, 2)
