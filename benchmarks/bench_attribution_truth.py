"""Benchmark: the recommended attribution model against the simulator's truth (issue 19).

On ``data/sample`` and two simulated worlds the code was not tuned on (seed 7 with 20,000
customers, seed 99 with 10,000), runs notebook 03's pipeline: navigational channels
(``direct``) removed from the paths, every path model, the additive-hazard model, the
evidence and the recommendation; then scores every model against the true shares (direct
left out of the truth as well). Target: the recommended model's Spearman >= 0.8 and
MAE <= 0.02 on all three worlds. Run: ``.venv/bin/python benchmarks/bench_attribution_truth.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import world  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORLDS = (("sample", None, None), ("seed 7, 20k", 7, 20_000), ("seed 99, 10k", 99, 10_000))
NAVIGATIONAL = ["direct"]


def score_world(folder: Path, n_boot: int = 30) -> dict:
    """Run the pipeline on one world; return the truth scores and the recommendation."""
    import imclab.attribution as attr
    from imclab.plan import load_plan
    from imclab.simulate import load_truth
    from imclab.warehouse import open_world

    plan = load_plan(ROOT / "campaigns" / "spring_launch.yaml")
    w = open_world(folder, "duckdb", tables=["touchpoints", "conversions", "customers"])
    t = w.tables
    interactions = ["impression", "click", "open", "visit"]
    journeys = attr.build_journeys(None, t["touchpoints"], t["conversions"])
    before = attr.run_models(journeys.paths)
    nav = attr.drop_navigational(journeys.paths, NAVIGATIONAL, collapse_repeats=False)
    results = attr.run_models(nav.paths)
    ci = attr.bootstrap_shares(nav.paths, n_boot=n_boot)
    window = (plan.start, plan.end)
    panel = attr.build_panel(
        t["touchpoints"], t["conversions"], t["customers"], interactions=interactions,
        navigational_channels=NAVIGATIONAL, campaign=plan.name, campaign_window=window,
        holdout_regions=plan.holdout_regions,
    )  # fmt: skip
    a = attr.assess(
        results, ci, panel, customers=t["customers"], conversions=t["conversions"],
        holdout_regions=plan.holdout_regions, campaign_window=window, mmm=None, n_boot=n_boot,
    )  # fmt: skip
    truth = load_truth(folder)
    scores = attr.score_models(a.results, truth["channels"], exclude=NAVIGATIONAL)
    scores_before = attr.score_models(before, truth["channels"])
    check = attr.check_recommendation(a.recommendation, scores).iloc[0].to_dict()
    return {
        "scores": scores.round(4).to_dict("records"),
        "scores_before": scores_before.round(4).to_dict("records"),
        "check": check,
        "hazard_campaign_conversions": a.hazard.campaign_conversions_,
        "path_models_imply": attr.touched_window_conversions(panel),
        "holdout_incremental": a.holdout.incremental_conversions if a.holdout else None,
        "true_campaign_in_window": truth["holdout"]["campaign_incremental_conversions_in_window"],
    }


def main() -> dict:
    """Score the three worlds; print a markdown table and return the figures."""
    out = {}
    for name, seed, n in WORLDS:
        folder = ROOT / "data" / "sample" if seed is None else world(n, "csv", seed=seed)
        out[name] = score_world(folder)
    print("| world | recommended | MAE | Spearman | right | best rule (MAE / Spearman) |")
    print("|---|---|---|---|---|---|")
    for name, r in out.items():
        c = r["check"]
        rules = [s for s in r["scores"] if s["model"] != "additive_hazard"]
        b = min(rules, key=lambda s: s["mae"])
        print(
            f"| {name} | {c['recommended']} | {c['mae']:.4f} | {c['spearman']:.2f} | "
            f"{c['right']} | {b['model']} {b['mae']:.4f} / {b['spearman']:.2f} |"
        )
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=1, default=str))
