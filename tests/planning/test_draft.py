"""The drafted next-campaign plan: it validates, its objectives pass SMART, scenarios order."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from imclab.errors import ParameterError
from imclab.mmm import PosteriorCurves
from imclab.plan import load_plan
from imclab.planning import (
    compare_scenarios,
    measure_campaign,
    media_orders,
    next_dates,
    phase_schedule,
    phase_split,
    plan_next_campaign,
    probability_of_reaching,
    same_mix,
    write_plan,
)
from imclab.warehouse import open_world

BUDGET = 16_000.0  # the small world's campaign spent about 15,000


def random_curves(daily_spend: pd.Series, n_draws=120, seed=0) -> PosteriorCurves:
    """Posterior-like draws sized to a world: half-saturation at 1.5-3x each channel's
    daily campaign spend, up to about 0.2-0.6 orders a day per channel."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, (ch, s) in enumerate(daily_spend.items()):
        for d in range(n_draws):
            half = float(s) * (1.5 + 0.5 * (i % 3)) * rng.uniform(0.8, 1.2)
            rows.append(
                {"channel": ch, "draw": d, "ceiling": rng.gamma(16, 0.01 * (2 + i % 4)),
                 "lam_per_unit": np.log(3) / half, "mean_daily_spend": float(s),
                 "max_daily_spend": 3 * float(s)}
            )  # fmt: skip
    return PosteriorCurves(pd.DataFrame(rows))


@pytest.fixture(scope="session")
def world(small_world, repo_root):
    plan = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    tables = open_world(small_world, "duckdb", as_of="2025-07-31 23:59:59").tables
    actual = measure_campaign(plan, tables).campaign_spend
    return plan, tables, random_curves(actual / plan.days), float(actual.sum())


@pytest.fixture(scope="session")
def drafted(world):
    plan, tables, curves, spent = world
    return plan_next_campaign(plan, tables, curves, gap_weeks=2, next_budget=BUDGET)


def test_draft_validates_and_passes_smart(drafted, world, tmp_path):
    plan = world[0]
    loaded = load_plan(write_plan(drafted.plan, tmp_path / "next.yaml"))
    assert loaded.name == f"{plan.name}_next"
    assert loaded.budget.total == pytest.approx(BUDGET, abs=0.01)
    assert loaded.start == plan.end + dt.timedelta(days=15)
    assert loaded.days == plan.days
    assert [p.name for p in loaded.phases] == [p.name for p in plan.phases]
    assert loaded.phases[0].start == loaded.start and loaded.phases[-1].end == loaded.end
    assert loaded.notebook_params["01_situation_analysis"] == {
        "baseline_start": str(plan.start), "baseline_end": str(plan.end)
    }  # fmt: skip
    assert {o.kpi for o in loaded.objectives} == {"conversions", "revenue", "roas", "cpa"}
    smart = drafted.smart
    assert len(smart) == 5 * len(loaded.objectives)
    assert not (smart["status"] == "fail").any(), smart[smart["status"] == "fail"]
    # no persona labels: only Relevant may warn (no persona to tie the objectives to)
    assert set(smart.loc[smart["status"] == "warn", "letter"]) <= {"R"}
    assert drafted.notes and "persona" in drafted.notes[0]


def test_split_keeps_the_bounds_rule_and_the_total(drafted):
    a = drafted.split.allocation
    assert a["recommended_spend"].sum() == pytest.approx(BUDGET, abs=0.01)
    assert (a["recommended_spend"] >= a["lower"] - 0.01).all()
    assert (a["recommended_spend"] <= a["upper"] + 0.01).all()
    share = a["actual_spend"] / a["actual_spend"].sum() * BUDGET
    np.testing.assert_allclose(a["lower"], (0.5 * share).round(2), atol=0.011)
    np.testing.assert_allclose(a["upper"], (2.0 * share).round(2), atol=0.011)


def test_forecast_is_the_draft_s_own_phasing(drafted, world):
    curves = world[2]
    schedule = phase_schedule(drafted.plan["phases"], drafted.start, drafted.end)
    by_phase = schedule.sum()  # the draft's phases spend its budget
    want = pd.Series(drafted.plan["budget"]["by_channel"])
    pd.testing.assert_series_equal(by_phase[want.index], want, atol=1e-6, check_names=False)
    np.testing.assert_allclose(
        drafted.draws["media_orders"],
        media_orders(curves, schedule, drafted.baseline.always_on),
        rtol=1e-12,
    )
    # the campaign's own anchor is its spend table's daily campaign spend
    own = drafted.baseline.schedule
    assert len(own) == drafted.baseline.days
    pd.testing.assert_series_equal(
        own.sum()[drafted.baseline.campaign_spend.index],
        drafted.baseline.campaign_spend,
        check_names=False,
    )
    # concave curves: the phased draft brings fewer orders than its money spent evenly
    even = media_orders(curves, schedule.mean().to_frame().T.loc[[0] * len(schedule)]
                        .reset_index(drop=True), drafted.baseline.always_on)  # fmt: skip
    assert (drafted.draws["media_orders"].to_numpy() < even).all()
    # scenarios phased like the draft give the draft's forecast for the draft's split
    out, _ = compare_scenarios(curves, drafted.baseline, [drafted.budget], drafted.days,
                               drafted.objectives, phasing=drafted.phasing)  # fmt: skip
    got = out.set_index("kpi").loc["media_orders", "expected"]
    assert got == pytest.approx(drafted.draws["media_orders"].mean(), rel=1e-9)


def test_objectives_probabilities_are_the_draws_share(drafted):
    o = drafted.objectives.set_index("kpi")
    for kpi, row in o.iterrows():
        v = drafted.draws[kpi].to_numpy()
        higher = kpi in ("conversions", "revenue", "roas")
        share = np.mean(v >= row["target"]) if higher else np.mean(v <= row["target"])
        assert row["probability"] == pytest.approx(share)
        assert row["probability"] == probability_of_reaching(v, row["target"], kpi)
        # target better than the baseline by the 2 % stretch, or at the wanted 70 %
        better = row["target"] / row["baseline"] - 1
        assert (better if higher else -better) >= 0.02 - 1e-9 or row["probability"] >= 0.7
        assert row["lower"] <= row["expected"] <= row["upper"]


def test_target_at_the_wanted_probability_when_the_budget_supports_it(world):
    plan, tables, curves, spent = world
    nc = plan_next_campaign(plan, tables, curves, gap_weeks=0, next_budget=2 * spent)
    o = nc.objectives.set_index("kpi")
    # twice the money: orders and revenue grow past the 2 % stretch at 70 %
    for kpi in ("conversions", "revenue"):
        assert o.loc[kpi, "probability"] >= 0.7
        assert o.loc[kpi, "target"] > 1.02 * o.loc[kpi, "baseline"]


def test_persona_labels_tie_orders_and_revenue(world):
    plan, tables, curves, _ = world
    customers = tables["customers"]
    customers = customers if isinstance(customers, pd.DataFrame) else customers.to_pandas()
    names = [p.name for p in plan.target_personas]
    rng = np.random.default_rng(1)
    labels = pd.DataFrame(
        {"customer_id": customers["customer_id"],
         "persona": rng.choice(names, size=len(customers), p=[0.7, 0.3])}
    )  # fmt: skip
    nc = plan_next_campaign(plan, tables, curves, persona_labels=labels)
    o = nc.objectives.set_index("kpi")
    assert o.loc["conversions", "persona"] == names[0]  # the persona with most orders
    assert 0.5 < o.loc["conversions", "share"] < 0.9
    assert pd.isna(o.loc["roas", "persona"])
    smart = nc.smart.set_index(["objective", "letter"])["status"]
    assert smart[("next_conversions", "R")] == "pass"
    assert smart[("next_conversions", "M")] == "pass"
    assert not (nc.smart["status"] == "fail").any()


def test_scenarios_more_budget_more_outcome_with_diminishing_returns(drafted, world):
    curves = world[2]
    out, reach = compare_scenarios(
        curves, drafted.baseline, [8_000, 16_000, 24_000, 32_000], drafted.days,
        drafted.objectives,
    )  # fmt: skip
    media = out[out["kpi"] == "media_orders"]["expected"].to_numpy()
    orders = out[out["kpi"] == "conversions"]["expected"].to_numpy()
    assert (np.diff(media) > 0).all() and (np.diff(orders) > 0).all()
    assert (np.diff(np.diff(media)) < 0).all()  # each extra 8,000 buys less
    roas = out[out["kpi"] == "roas"]["expected"].to_numpy()
    assert (np.diff(roas) < 0).all()
    assert (out["lower"] <= out["expected"]).all() and (out["expected"] <= out["upper"]).all()
    assert (np.diff(reach["next_conversions"]) >= 0).all()
    assert (np.diff(reach["next_cpa"]) <= 0).all()


def test_fixed_split_scenario_is_evaluated_as_given(drafted, world):
    curves = world[2]
    split = {"tv": 10_000.0, "social": 5_000.0}
    out, reach = compare_scenarios(curves, drafted.baseline, [split], drafted.days,
                                   drafted.objectives)  # fmt: skip
    assert reach["budget"].tolist() == [15_000.0]
    with pytest.raises(ParameterError, match="no response curve"):
        compare_scenarios(curves, drafted.baseline, [{"seo": 1.0}], 10, drafted.objectives)
    with pytest.raises(ParameterError, match="scenarios\\[0\\]"):
        compare_scenarios(curves, drafted.baseline, [-5], 10, drafted.objectives)


def test_next_dates_rule(world):
    plan = world[0]
    assert next_dates(plan) == (
        plan.end + dt.timedelta(days=1),
        plan.end + dt.timedelta(days=plan.days),
    )
    s, e = next_dates(plan, "2026-01-05", "", 0)
    assert (s, e) == (dt.date(2026, 1, 5), dt.date(2026, 1, 5) + dt.timedelta(days=plan.days - 1))
    with pytest.raises(ParameterError, match="not after this campaign's end"):
        next_dates(plan, str(plan.end))
    with pytest.raises(ParameterError, match="before next_start"):
        next_dates(plan, "2026-01-05", "2026-01-01")


def test_phase_split_adds_up_to_the_cent(world):
    plan = world[0]
    start, end = dt.date(2026, 3, 2), dt.date(2026, 3, 29)  # shorter: 28 days
    alloc = {"tv": 1000.01, "social": 333.33, "seo": 0.0, "affiliate": 10.0}
    phases = phase_split(plan, alloc, start, end)
    assert phases[0]["start"] == str(start) and phases[-1]["end"] == str(end)
    for ch in ("tv", "social", "affiliate"):
        total = sum(p["budget"].get(ch, 0.0) for p in phases)
        assert round(total, 2) == alloc[ch]
    days = [(dt.date.fromisoformat(p["end"]) - dt.date.fromisoformat(p["start"])).days + 1
            for p in phases]  # fmt: skip
    assert sum(days) == 28 and min(days) >= 1
    # tv had budget only in teaser and launch in this plan: none in sustain
    assert "tv" not in phases[-1]["budget"]


def test_plan_channels_without_curves_are_named(world):
    plan, tables, curves, spent = world
    some = PosteriorCurves(curves.draws_[curves.draws_["channel"] != "tv"])
    nc = plan_next_campaign(plan, tables, some, next_budget=spent)
    assert any("No response curve for tv" in n for n in nc.notes)
    tv = nc.baseline.campaign_spend["tv"]
    assert nc.plan["budget"]["by_channel"]["tv"] == pytest.approx(tv, abs=0.01)
    assert nc.plan["budget"]["total"] == pytest.approx(spent, abs=0.02)
    assert nc.split.allocation["recommended_spend"].sum() == pytest.approx(spent - tv, abs=0.02)


def test_same_mix_is_this_campaigns_mix_and_the_optimiser_beats_it(drafted, world):
    mix = same_mix(drafted)
    actual = drafted.baseline.campaign_spend
    assert sum(mix.values()) == pytest.approx(BUDGET, abs=0.001)
    for ch, amount in mix.items():
        assert amount == pytest.approx(actual[ch] / actual.sum() * BUDGET, abs=0.01)
    out, _ = compare_scenarios(
        world[2], drafted.baseline, [BUDGET, mix], drafted.days, drafted.objectives
    )
    revenue = out[out["kpi"] == "revenue"]["expected"].to_numpy()
    assert revenue[0] >= revenue[1]  # the optimiser maximises expected revenue


def test_settings_of_this_campaign_s_dates_and_money_do_not_carry_over(world, tmp_path):
    """The sample plan's review_date and baseline_start belong to spring: a draft for the
    autumn must derive its own (before, it carried review_date 2025-06-30 and was refused
    as before its start); settings that are not tied to a campaign carry over."""
    plan, tables, curves, _ = world
    assert plan.settings.review_date is not None and plan.settings.baseline_start is not None
    autumn = plan_next_campaign(
        plan, tables, curves, next_start="2025-10-13", next_budget=BUDGET, name="autumn"
    )
    settings = autumn.plan.get("settings", {})
    assert not {"review_date", "baseline_start", "baseline_end", "next_budget"} & set(settings)
    assert settings["lookback_days"] == plan.settings.lookback_days
    loaded = load_plan(write_plan(autumn.plan, tmp_path / "autumn.yaml"))
    assert pd.Timestamp(loaded.resolved_settings().review_date) > pd.Timestamp(loaded.end)
