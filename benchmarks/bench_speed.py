"""Benchmark (issue 15): every speed row against its anchor, in one run.

Rows: Markov order 1 and 4 against ChannelAttribution's ``markov_model`` with its defaults;
first + last + linear against ChannelAttribution's ``heuristic_models``; ``paths_from_strings``
(goal < 0.1 s, no anchor); ``build_journeys`` against the hand-written DuckDB SQL of
``journeys_sql.py`` (the same paths; without and with the time-decay arrays).

Every measurement runs in a fresh child process that loads its inputs untimed and reports the
wall-clock seconds of the step alone; imclab and its anchor alternate, 3 repeats, min and
median reported, with the 1-minute load average before each pair. Path sets: the unique
paths of ``world(N)`` (``benchmarks/common.py``) built with ``build_journeys`` defaults, and
with clicks, opens and visits only (fewer unique paths), cached as Parquet under
``benchmarks/data``.

Run: ``nice .venv/bin/python benchmarks/bench_speed.py [N_CUSTOMERS] [--rows markov,heuristics,
strings,journeys] [--repeats 3] [--arrow | --uncoded] [--replicate N_TOUCHPOINTS] [--paths N]``
(default 500,000 customers: 10.86M touchpoints; ``--replicate 10000000``: the journeys rows on 10.4M
touchpoints stacked from 24 copies of the 20,000-customer world, as
``bench_integration.py --replicate`` builds). The models' inputs: tuple paths as
``paths_from_strings`` makes them (with the coding it keeps for the models, as
``build_journeys`` and ``drop_navigational`` do), ``--arrow`` Arrow list columns,
``--uncoded`` tuples whose kept coding is forgotten (the model codes them itself).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import BENCH_DATA, run_measured, world  # noqa: E402

PATH_SETS = {"all": None, "cov": ("click", "open", "visit")}


def _path_file(n_customers: int, which: str) -> Path:
    """Unique paths of the world (``all`` interactions or ``cov``: clicks, opens, visits)."""
    f = BENCH_DATA / f"speed_paths_{n_customers}_{which}.parquet"
    if not f.exists():
        import ibis

        from imclab.attribution import build_journeys

        folder = world(n_customers)
        con = ibis.duckdb.connect(threads=2, memory_limit="6GB")
        tp = con.read_parquet(str(folder / "touchpoints.parquet"))
        cv = con.read_parquet(str(folder / "conversions.parquet"))
        kw = {"interactions": PATH_SETS[which]} if PATH_SETS[which] else {}
        paths = build_journeys(con, tp, cv, decay=False, **kw).paths
        tmp = f.with_name(f".{f.name}.{os.getpid()}")  # renamed when complete: never half-read
        paths[["path", "conversions", "nulls", "value"]].to_parquet(tmp)
        tmp.rename(f)
    return f


def _cut_paths(file: str, n: int) -> str:
    """The first ``n`` paths of a path set (its order: ``build_journeys``'), cached beside it."""
    import pandas as pd

    cut = Path(file).with_name(f"{Path(file).stem}_first{n}.parquet")
    if not cut.exists():
        pd.read_parquet(file).head(n).to_parquet(cut)
    return str(cut)


# -- the timed steps (run in a child process) -----------------------------------------------------


def _load_paths(file: str, touched_only: bool, as_arrow: bool = False, uncoded: bool = False):
    import pandas as pd

    from imclab.attribution import _common, paths_from_strings

    raw = pd.read_parquet(file)
    if touched_only:  # ChannelAttribution has no "(no touch)" path
        raw = raw[raw["path"] != "(no touch)"].reset_index(drop=True)
    paths = paths_from_strings(
        raw["path"], raw["conversions"], raw["nulls"], raw["value"], as_arrow=as_arrow
    )
    if uncoded:  # forget the coding the producer kept: the model codes the tuples itself
        _common._SLOTS.clear()
    return raw, paths


_CPU_AT_START = [0.0]


def _start() -> float:
    """Start the clocks (after the inputs are loaded): CPU noted, wall time returned."""
    _CPU_AT_START[0] = time.process_time()
    return time.perf_counter()


def _task(name: str, arg: str) -> float:
    """Run one step; return its wall-clock seconds (inputs loaded before the clock starts)."""
    base = name.removesuffix("_arrow").removesuffix("_uncoded")
    if base in ("markov1", "markov4", "heuristics"):
        # "_arrow": the paths' channels as an Arrow list column instead of tuples;
        # "_uncoded": tuples whose coding the producer kept is forgotten (coded by the model)
        arrow, uncoded = name.endswith("_arrow"), name.endswith("_uncoded")
        raw, paths = _load_paths(arg, touched_only=True, as_arrow=arrow, uncoded=uncoded)
        name = base
        import imclab.attribution as attr

        t0 = _start()
        if name == "heuristics":
            attr.first_touch(paths), attr.last_touch(paths), attr.linear(paths)
        else:
            attr.markov(paths, int(name[-1]))
        return time.perf_counter() - t0
    if name in ("ca_markov1", "ca_markov4", "ca_heuristics"):
        raw, _ = _load_paths(arg, touched_only=True)
        import ChannelAttribution as ca

        t0 = _start()
        if name == "ca_heuristics":
            ca.heuristic_models(raw, "path", "conversions", var_value="value", flg_pro=False)
        else:
            ca.markov_model(
                raw, "path", "conversions", var_value="value", var_null="nulls",
                order=int(name[-1]), verbose=False, flg_pro=False,
            )  # fmt: skip
        return time.perf_counter() - t0
    if name in ("strings", "strings_arrow"):
        import pandas as pd

        from imclab.attribution import paths_from_strings

        raw = pd.read_parquet(arg)
        strings = raw["path"].tolist()
        conv, nulls, value = (raw[c].to_numpy() for c in ("conversions", "nulls", "value"))
        t0 = _start()
        paths_from_strings(strings, conv, nulls, value, as_arrow=name == "strings_arrow")
        return time.perf_counter() - t0
    if name.startswith(("journeys", "sql")):
        import duckdb

        folder = Path(arg)
        tp, cv = str(folder / "touchpoints.parquet"), str(folder / "conversions.parquet")
        decay = name.endswith("_decay")
        con = duckdb.connect(config={"threads": 2, "memory_limit": "6GB"})
        # libraries imported before the clocks start (ibis + imclab: about 1.1 s of CPU)
        if name.startswith("sql"):
            from journeys_sql import sql_paths

            t0 = _start()
            sql_paths(con, tp, cv, decay=decay)
        else:
            import ibis

            from imclab.attribution import build_journeys

            t0 = _start()
            icon = ibis.duckdb.from_connection(con)
            build_journeys(icon, icon.read_parquet(tp), icon.read_parquet(cv), decay=decay)
        return time.perf_counter() - t0
    raise SystemExit(f"unknown task {name}")


# -- the parent: alternate imclab and anchor in fresh processes --------------------------------


def _measure(task: str, arg: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads) of one step in a fresh process."""
    res = run_measured([sys.executable, __file__, "--task", task, "--arg", arg])
    if res["returncode"] != 0:
        raise RuntimeError(f"{task} failed:\n{res['stderr'][-3000:]}")
    lines = res["stdout"].strip().splitlines()
    return float(lines[-1]), float(lines[-2].removeprefix("cpu="))


def _pair(mine: str, anchor: str | None, arg: str, repeats: int) -> dict:
    tasks = [mine, anchor] if anchor else [mine]
    times: dict[str, list[float]] = {t: [] for t in tasks}
    cpus: dict[str, list[float]] = {t: [] for t in tasks}
    loads = []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        for task in tasks:
            wall, cpu = _measure(task, arg)
            times[task].append(wall)
            cpus[task].append(cpu)
    out = {
        t: {"min": min(v), "median": statistics.median(v), "all": v,
            "cpu_min": min(cpus[t]), "cpu_median": statistics.median(cpus[t])}
        for t, v in times.items()
    }  # fmt: skip
    out["load"] = [round(x, 1) for x in loads]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("customers", nargs="?", type=int, default=500_000)
    ap.add_argument("--rows", default="markov,heuristics,strings,journeys")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--arrow", action="store_true", help="model inputs as Arrow list columns")
    ap.add_argument(
        "--paths", type=int, default=None,
        help="strings rows: also on the first N paths of each path set (the issue's goal "
        "names 76k and 178k paths)",
    )  # fmt: skip
    ap.add_argument(
        "--uncoded", action="store_true",
        help="tuple inputs without the coding paths_from_strings keeps (the model codes them)",
    )  # fmt: skip
    ap.add_argument(
        "--replicate", type=int, default=None,
        help="journeys rows on about N touchpoints stacked from copies of the 20,000-customer "
        "world (bench_integration's replicated world) instead of world(N_CUSTOMERS)",
    )  # fmt: skip
    ap.add_argument("--task")
    ap.add_argument("--arg")
    a = ap.parse_args()
    if a.task:
        wall = _task(a.task, a.arg)
        print(f"cpu={time.process_time() - _CPU_AT_START[0]:.6f}")  # all threads of the step
        print(f"{wall:.6f}")
        return
    rows = a.rows.split(",")
    res: dict = {"customers": a.customers, "rows": {}}
    files = {}
    if {"markov", "heuristics", "strings"} & set(rows):  # the path sets (built once)
        import pandas as pd

        files = {w: str(_path_file(a.customers, w)) for w in ("cov", "all")}
        res["unique_paths"] = {
            w: int((pd.read_parquet(f)["path"] != "(no touch)").sum()) for w, f in files.items()
        }
    sfx = "_arrow" if a.arrow else "_uncoded" if a.uncoded else ""
    for w, f in files.items():
        if "markov" in rows:
            for k in ("markov1", "markov4"):
                res["rows"][f"{k}_{w}"] = _pair(k + sfx, "ca_" + k, f, a.repeats)
        if "heuristics" in rows:
            res["rows"][f"heuristics_{w}"] = _pair(
                "heuristics" + sfx, "ca_heuristics", f, a.repeats
            )
        if "strings" in rows:
            res["rows"][f"strings_{w}"] = _pair("strings", "strings_arrow", f, a.repeats)
            if a.paths and a.paths < res["unique_paths"][w]:  # cut to the size the goal names
                cut = _cut_paths(f, a.paths)
                res["rows"][f"strings_{w}_{a.paths}"] = _pair(
                    "strings", "strings_arrow", cut, a.repeats
                )
        print(json.dumps(res, indent=1), file=sys.stderr)
    if "journeys" in rows:
        if a.replicate:
            from bench_integration import replicated_world

            folder = str(replicated_world(a.replicate))
            res["world"] = Path(folder).name
        else:
            folder = str(world(a.customers))
        res["rows"]["journeys"] = _pair("journeys", "sql", folder, a.repeats)
        print(json.dumps(res, indent=1), file=sys.stderr, flush=True)
        res["rows"]["journeys_decay"] = _pair("journeys_decay", "sql_decay", folder, a.repeats)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
