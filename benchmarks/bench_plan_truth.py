"""Benchmark: the planner's forecast against the simulated outcome of its own recommendation.

On a simulated world: fit the marketing-mix model as notebook 04 does (the hazard
attribution's channel shares, the model, the geo holdout's calibration; fewer draws), let the
planner (:func:`imclab.planning.plan_next_campaign`) split a budget equal to what the world's
campaign spent, write its draft plan, and simulate the *same* world (same seed, size and
calendar) with that draft as the spend plan (``imclab simulate --spend-plan``). Then compare

- **predicted**: the planner's campaign-caused orders within the campaign's days,
  ``media_orders`` of :func:`imclab.planning.outcome_draws` (orders the campaign's phased
  spend causes on the curves of its own spend, the carry-over after the last day left out,
  per posterior draw), its mean and 90 % interval (5th and 95th percentiles of the draws);
- **simulated**: the true campaign-caused orders in the campaign window of the re-simulated
  world, ``holdout.campaign_incremental_conversions_in_window`` of ``truth/truth.json``
  (orders minus the orders of the same customers and random numbers without the campaign's
  touches): the same definition as the prediction's. The whole-period figure
  (``campaign_incremental_conversions``, which adds the carry-over after the window) is
  shown beside it.

The same pair is reported for the campaign as it ran (the planner's ``media_orders`` of the
campaign's own daily spend against the original world's truth), which separates the error
of the curves' level from that of their shape. With ``decompose`` (the benchmark, not the
test) both splits are also simulated spent evenly over the campaign's days (each phase its
share of the days) and valued with the simulator's true response curves at an even daily
spend (``true_response``), which shows what the phasing and the window's carry-over cost in
the world, beside what the curves get wrong.

Run: ``.venv/bin/python benchmarks/bench_plan_truth.py [--draws N]`` (prints the Markdown
table of ``benchmarks/README.md``: the sample and one unseen seed).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "campaigns" / "spring_launch.yaml"


def fit_curves(folder: Path, draws: int = 250, tune: int = 300, seed: int = 1):
    """The curves notebook 04 hands over (the campaign's own delivery, calibrated; fewer draws)."""
    from imclab import mmm
    from imclab.plan import load_plan
    from imclab.review import experiments
    from imclab.warehouse import open_world

    plan = load_plan(PLAN)
    tables = open_world(folder, "duckdb").tables
    data = mmm.build_input(tables["spend"], tables["conversions"], campaign=plan.name)
    shares = mmm.measure_shares(tables, plan, data.channels, n_boot=30)
    model = mmm.MarketingMix(
        l_max=14, draws=draws, tune=tune, chains=2, target_accept=0.9, random_state=seed
    ).fit(data, shares=shares)
    did = experiments.holdout_did(
        tables["customers"], tables["conversions"], plan.holdout_regions, plan.start, plan.end
    )
    cal = mmm.calibrate(model, plan.start, plan.end, did.incremental_conversions, random_state=seed)
    delivery, _ = mmm.fit_delivery(
        tables["touchpoints"], tables["spend"], data.channels, plan.name, random_state=seed
    )
    return mmm.PosteriorCurves.from_delivery(
        model, delivery, cal.draws, shares=shares, random_state=seed
    )


def plan_and_simulate(
    folder: Path,
    seed: int,
    n_customers: int,
    curves,
    out: Path,
    faults: bool = False,
    decompose: bool = False,
) -> dict:
    """Plan the world's budget on ``curves``, re-simulate the world with the draft's spend.

    Returns predicted (mean, 5 %, 95 % of ``media_orders``) and simulated campaign-caused
    orders, for the recommended split and for the campaign's actual split.
    """
    import numpy as np

    from imclab import planning
    from imclab.plan import load_plan
    from imclab.simulate import load_truth, read_spend_plan, simulate_world
    from imclab.warehouse import open_world

    plan = load_plan(PLAN)
    tables = open_world(folder, "duckdb").tables
    spent = float(planning.measure_campaign(plan, tables).campaign_spend.sum())
    nc = planning.plan_next_campaign(plan, tables, curves, next_budget=round(spent, 2))
    draft = planning.write_plan(nc.plan, out / "next_campaign.yaml")
    again = simulate_world(
        out / "world", seed=seed, n_customers=n_customers, faults=faults,
        spend_plan=read_spend_plan(draft),
    )  # fmt: skip
    # the campaign as it ran: its own daily spend (the baseline's schedule)
    now = planning.outcome_draws(curves, nc.baseline, nc.baseline.schedule, plan.days)

    def interval(draws) -> list[float]:
        v = np.asarray(draws, dtype=float)
        return [float(v.mean()), float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95))]

    def caused(doc: dict) -> dict:
        h = doc["holdout"]
        return {
            "in_window": h["campaign_incremental_conversions_in_window"],
            "whole_period": h["campaign_incremental_conversions"],
        }

    result = {
        "budget": nc.budget,
        "split": {k: round(v, 2) for k, v in nc.plan["budget"]["by_channel"].items()},
        "actual_split": nc.baseline.campaign_spend.round(2).to_dict(),
        "recommended": {
            "predicted": interval(nc.draws["media_orders"]),
            "simulated": caused(load_truth(again)),
        },
        "actual": {
            "predicted": interval(now["media_orders"]),
            "simulated": caused(load_truth(folder)),
        },
    }
    if decompose:
        import pandas as pd

        from imclab.mmm import PosteriorCurves
        from imclab.simulate import true_response
        from imclab.simulate import world as W

        # the forecast step by step: steady state (carry-over after the window counted) and
        # even spend (the planner's old assumptions), then phased, then in the window only
        steady = PosteriorCurves(curves.draws_.drop(columns=["carryover", "carryover_days"],
                                                    errors="ignore"))  # fmt: skip
        schedules = {
            "actual": nc.baseline.schedule,
            "recommended": nc.phasing(nc.plan["budget"]["by_channel"]),
        }
        for which, sched in schedules.items():
            even = pd.DataFrame([sched.mean()] * len(sched)).reset_index(drop=True)
            result[which]["forecast_steps"] = {
                "even_steady_state": interval(
                    planning.media_orders(steady, even, nc.baseline.always_on)
                ),
                "phased_steady_state": interval(
                    planning.media_orders(steady, sched, nc.baseline.always_on)
                ),
                "phased_in_window": interval(
                    planning.media_orders(curves, sched, nc.baseline.always_on)
                ),
            }

        truth = load_truth(folder)
        treated = truth["holdout"]["treated_customers"]
        cal = W.Calendar()
        days = np.array([(p.end - p.start).days + 1 for p in cal.phases], dtype=float)
        splits = {
            "actual": nc.baseline.campaign_spend,
            "recommended": nc.plan["budget"]["by_channel"],
        }
        for which, alloc in splits.items():
            even = {
                p.name: {c: float(v) * d / days.sum() for c, v in alloc.items() if v > 0}
                for p, d in zip(cal.phases, days, strict=True)
            }
            world = simulate_world(
                out / f"{which}_even", seed=seed, n_customers=n_customers, faults=faults,
                spend_plan=even,
            )  # fmt: skip
            result[which]["simulated_even"] = caused(load_truth(world))
            result[which]["true_curves_even"] = float(
                sum(
                    plan.days * true_response(truth, c, float(v) / plan.days, treated)[()]
                    for c, v in alloc.items()
                    if v > 0
                )
            )
    return result


def table(results: list[tuple[str, dict]]) -> str:
    """The Markdown tables of ``benchmarks/README.md``."""
    out = [
        "| world | split | predicted campaign-caused orders [90 % interval] | simulated "
        "(in window) | simulated (whole period) | inside |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in results:
        for which in ("actual", "recommended"):
            p, s = r[which]["predicted"], r[which]["simulated"]
            inside = p[1] <= s["in_window"] <= p[2]
            out.append(
                f"| {label} | {which} | {p[0]:,.0f} [{p[1]:,.0f}, {p[2]:,.0f}] | "
                f"{s['in_window']:,.0f} | {s['whole_period']:,.0f} | "
                f"{'yes' if inside else 'no'} |"
            )
    out += [
        "",
        "| world | split | predicted | simulated as phased (in window / whole period) | "
        "simulated spent evenly (in window / whole period) | true curves, even spend |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in results:
        for which in ("actual", "recommended"):
            x = r[which]
            if "simulated_even" not in x:
                continue
            p, s, e = x["predicted"], x["simulated"], x["simulated_even"]
            out.append(
                f"| {label} | {which} | {p[0]:,.0f} [{p[1]:,.0f}, {p[2]:,.0f}] | "
                f"{s['in_window']:,.0f} / {s['whole_period']:,.0f} | "
                f"{e['in_window']:,.0f} / {e['whole_period']:,.0f} | "
                f"{x['true_curves_even']:,.0f} |"
            )
    out += [
        "",
        "| world | split | forecast: even spend, steady state | phased, steady state | "
        "phased, in window (the planner's) | simulated in window |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in results:
        for which in ("actual", "recommended"):
            x = r[which]
            if "forecast_steps" not in x:
                continue
            cells = [
                f"{v[0]:,.0f} [{v[1]:,.0f}, {v[2]:,.0f}]" for v in x["forecast_steps"].values()
            ]
            out.append(f"| {label} | {which} | {' | '.join(cells)} | "
                       f"{x['simulated']['in_window']:,.0f} |")  # fmt: skip
    return "\n".join(out)


def main(argv: list[str]) -> None:
    """Run the sample and one unseen seed; print the table and the JSON."""
    from imclab.simulate import simulate_world

    draws = int(argv[argv.index("--draws") + 1]) if "--draws" in argv else 250
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        unseen = simulate_world(tmp / "seed_31", seed=31, n_customers=5000)
        for label, folder, seed, faults in (
            ("sample (seed 20250301, 5,000 customers)", ROOT / "data" / "sample", 20250301, True),
            ("seed 31, 5,000 customers", unseen, 31, False),
        ):
            out = tmp / f"plan_{seed}"
            out.mkdir()
            curves = fit_curves(folder, draws=draws)
            results.append(
                (
                    label,
                    plan_and_simulate(
                        folder, seed, 5000, curves, out, faults=faults, decompose=True
                    ),
                )
            )
            print(json.dumps(results[-1], indent=1), file=sys.stderr)
    print(table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
