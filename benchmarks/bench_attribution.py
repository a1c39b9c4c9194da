"""Benchmark: multi-touch attribution on a 1M-customer world (issue: channel attribution).

Journey building (Ibis on DuckDB, reading the Parquet files) + all heuristics + Markov
order 1 (exact) + Shapley, against ChannelAttribution's ``markov_model`` (Monte Carlo) on the
same paths. Target on the 2-core machine: under 60 s and under 4 GiB peak memory for imclab.
Run: ``.venv/bin/python benchmarks/bench_attribution.py [N_CUSTOMERS]`` (default 1,000,000).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import peak_rss_gib, timed, world  # noqa: E402


def main(n_customers: int = 1_000_000) -> dict:
    """Generate (once) a world, attribute it with imclab and ChannelAttribution; return figures."""
    import ibis
    import pandas as pd

    import imclab.attribution as attr
    from imclab.simulate import load_truth

    folder = world(n_customers)
    res: dict = {"customers": n_customers}
    con = ibis.duckdb.connect(threads=2, memory_limit="3GB")
    tp = con.read_parquet(str(folder / "touchpoints.parquet"))
    cv = con.read_parquet(str(folder / "conversions.parquet"))
    res["touchpoints"] = int(tp.count().execute())
    res["conversions"] = int(cv.count().execute())

    with timed("imclab_total_s", res):
        with timed("journeys_s", res):
            journeys = attr.build_journeys(con, tp, cv)
        paths = journeys.paths
        with timed("heuristics_s", res):
            parts = [
                attr.first_touch(paths),
                attr.last_touch(paths),
                attr.last_non_direct(paths),
                attr.linear(paths),
                attr.time_decay(paths),
                attr.position_based(paths),
            ]
        with timed("markov_1_s", res):
            parts.append(attr.markov(paths, 1))
        with timed("shapley_s", res):
            parts.append(attr.shapley(paths))
    results = pd.concat(parts, ignore_index=True)
    res["unique_paths"] = journeys.count("unique paths")
    res["journeys"] = int(paths["conversions"].sum() + paths["nulls"].sum())
    res["peak_rss_imclab_gib"] = round(peak_rss_gib(), 2)

    from ChannelAttribution import markov_model

    touched = paths[paths["length"] > 0][["path", "conversions", "nulls", "value"]].copy()
    with timed("channelattribution_markov_1_s", res):
        ref = markov_model(
            touched, "path", "conversions", var_value="value", var_null="nulls", order=1,
            sep=">", seed=1, verbose=False, flg_pro=False,
        )  # fmt: skip
    res["speedup_markov_vs_channelattribution"] = round(
        res["channelattribution_markov_1_s"] / res["markov_1_s"], 1
    )
    res["speedup_total_vs_channelattribution_markov"] = round(
        res["channelattribution_markov_1_s"] / res["imclab_total_s"], 2
    )
    ref_res = pd.DataFrame(
        {
            "channel": ref["channel_name"],
            "model": "channelattribution_markov_1",
            "conversions": ref["total_conversions"],
            "value": ref["total_conversion_value"],
        }
    )
    ref_res["share"] = ref_res["conversions"] / ref_res["conversions"].sum()
    mine = results[results["model"] == "markov_1"].set_index("channel")["share"]
    diff = (mine - ref_res.set_index("channel")["share"]).abs().dropna()
    res["markov_max_share_difference_pp"] = round(100 * float(diff.max()), 3)

    truth = load_truth(folder)
    if truth is not None:
        scores = attr.score_models(pd.concat([results, ref_res]), truth["channels"])
        res["truth_scores"] = {
            r.model: {"mae": round(r.mae, 4), "spearman": round(r.spearman, 3)}
            for r in scores.itertuples()
        }
    res["peak_rss_total_gib"] = round(peak_rss_gib(), 2)
    return res


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(main(n), indent=2))
