"""The planner against the truth: its forecast of its own recommendation, simulated.

On a simulated world other than the sample: fit the marketing-mix model as notebook 04 does
(fewer draws), let the planner split the budget the world's campaign spent, simulate the same
world (same seed and size) with the draft plan as the spend plan, and check the planner's 90 %
posterior interval of the campaign-caused orders (``media_orders``: the draft's phased spend,
the orders within the campaign's dates) against the simulator's true campaign-caused orders
in the campaign window (``truth/truth.json``), the same definition. The steps are
``benchmarks/bench_plan_truth.py``'s, whose table for the sample and another seed is in
``benchmarks/README.md``.
"""

from __future__ import annotations

import sys

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

SEED, CUSTOMERS = 17, 5000


@pytest.fixture(scope="session")
def plan_truth(tmp_path_factory, repo_root):
    sys.path.insert(0, str(repo_root / "benchmarks"))
    from bench_plan_truth import fit_curves, plan_and_simulate  # notebook 04's curves

    from imclab.simulate import simulate_world

    root = tmp_path_factory.mktemp("plan_truth")
    world = simulate_world(root / "original", seed=SEED, n_customers=CUSTOMERS)
    curves = fit_curves(world, draws=200, tune=300)
    out = root / "planned"  # next_campaign.yaml and the world re-simulated with it
    out.mkdir()
    return out, plan_and_simulate(world, SEED, CUSTOMERS, curves, out)


def test_the_simulated_world_spends_the_planner_s_split(plan_truth):
    from imclab.plan import load_plan

    out, result = plan_truth
    draft = load_plan(out / "next_campaign.yaml")  # the draft validates
    spend = pd.read_csv(out / "world" / "spend.csv")
    spent = spend[spend["campaign"] == "spring_launch"].groupby("channel")["spend"].sum()
    want = pd.Series(draft.budget.by_channel, dtype=float)
    pd.testing.assert_series_equal(
        spent.reindex(want.index).rename(None), want.rename(None), atol=1e-6, check_names=False
    )
    assert result["budget"] == pytest.approx(sum(result["actual_split"].values()), abs=0.01)


def test_planner_s_interval_contains_the_simulated_outcome_of_its_plan(plan_truth):
    _, result = plan_truth
    mean, low, high = result["recommended"]["predicted"]
    simulated = result["recommended"]["simulated"]["in_window"]
    assert low <= simulated <= high, (
        f"planner: {mean:,.0f} [{low:,.0f}, {high:,.0f}] campaign-caused orders, "
        f"simulated: {simulated:,.0f} ({result})"
    )
