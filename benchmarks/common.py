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


def _dir_bytes(folder: Path) -> int:
    total = 0
    for f in folder.rglob("*"):
        try:
            total += f.stat().st_size if f.is_file() else 0
        except OSError:  # a spill file removed while we looked
            pass
    return total


def run_measured(args: list[str], spill: Path | None = None) -> dict:
    """Run a child process; sample the resident memory of its whole tree every 0.2 s.

    Returns ``returncode``, ``stdout``, ``stderr``, ``seconds`` (wall clock), ``peak_rss``
    (bytes: the child, its database threads and any JVM it starts) and ``peak_spill`` (bytes
    in ``spill`` when given).
    """
    import psutil

    # files, not pipes: a chatty child (a JVM's log) would block on a full pipe while we wait
    out_file, err_file = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=out_file, stderr=err_file, text=True)
    root = psutil.Process(proc.pid)
    peak = spilled = 0
    while proc.poll() is None:
        if spill is not None:
            spilled = max(spilled, _dir_bytes(spill))
        try:
            rss = 0
            for p in [root, *root.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak = max(peak, rss)
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.2)
    proc.wait()
    out_file.seek(0)
    err_file.seek(0)
    out, err = out_file.read(), err_file.read()
    out_file.close()
    err_file.close()
    return {
        "returncode": proc.returncode,
        "stdout": out,
        "stderr": err,
        "seconds": time.perf_counter() - t0,
        "peak_rss": peak,
        "peak_spill": spilled,
    }
