"""Shared helpers for the benchmarks: cached generated worlds and time/memory measurement."""

from __future__ import annotations

import hashlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

BENCH_DATA = Path(__file__).resolve().parent / "data"
BENCH_DATA.mkdir(exist_ok=True)


def _simulator_version() -> str:
    """Short hash of the simulator's source, so a cached world is never stale."""
    import imclab.simulate.generate as gen
    import imclab.simulate.world as spec

    digest = hashlib.sha256()
    for module in (gen, spec):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:10]


def world(n_customers: int, fmt: str = "parquet", seed: int = 1) -> Path:
    """Return the folder of a generated world of ``n_customers``, generating it once.

    The world is written to a temporary folder and renamed into place when complete, so
    two benchmarks asking at once never read a half-written world (at worst both generate).
    """
    folder = BENCH_DATA / f"world_{n_customers}_{fmt}_{seed}_{_simulator_version()}"
    if not folder.exists():
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=BENCH_DATA))
        t0 = time.perf_counter()
        # in a child process, so the generator's memory never counts in a benchmark's peak
        code = (
            "from imclab.simulate import simulate_world; "
            f"simulate_world({str(tmp)!r}, seed={seed}, n_customers={n_customers}, "
            f"fmt={fmt!r}, chunk_size=20_000)"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
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
