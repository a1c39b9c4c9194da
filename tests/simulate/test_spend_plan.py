"""The simulator's spend plan: the campaign spends the given amounts, everything else stays."""

from __future__ import annotations

import filecmp
import json

import pandas as pd
import pytest

from imclab.errors import DataError, ParameterError
from imclab.simulate import load_truth, read_spend_plan, simulate_world
from imclab.simulate import world as W

PLAN = {
    "teaser": {"social": 900.0, "tv": 2500.0},
    "launch": {"paid_search": 1500.0, "social": 800.0, "tv": 1200.0, "edm": 300.0},
    "sustain": {"paid_search": 2000.0, "affiliate": 700.0},
}


def _campaign_spend(folder) -> pd.DataFrame:
    spend = pd.read_csv(folder / "spend.csv", parse_dates=["date"])
    spend = spend[spend["campaign"] != "always_on"].copy()
    phase = pd.Series("", index=spend.index)
    for p in W.Calendar().phases:
        inside = spend["date"].between(pd.Timestamp(p.start), pd.Timestamp(p.end))
        phase[inside] = p.name
    return spend.assign(phase=phase).groupby(["phase", "channel"])["spend"].sum()


@pytest.fixture(scope="session")
def planned(tmp_path_factory):
    """The small world's seed and size with PLAN as the campaign's spend."""
    csv = tmp_path_factory.mktemp("plan") / "plan.csv"
    rows = [(c, p, v) for p, b in PLAN.items() for c, v in b.items()]
    pd.DataFrame(rows, columns=["channel", "phase", "spend"]).to_csv(csv, index=False)
    out = tmp_path_factory.mktemp("planned")
    return simulate_world(
        out, seed=7, n_customers=1200, chunk_size=500, spend_plan=read_spend_plan(csv)
    )


def test_campaign_spends_the_plan_and_nothing_else_changes(planned, small_world):
    got = _campaign_spend(planned)
    want = pd.Series({(p, c): v for p, b in PLAN.items() for c, v in b.items()})
    pd.testing.assert_series_equal(
        got.sort_index(), want.sort_index(), check_names=False, atol=1e-6
    )
    assert filecmp.cmp(planned / "customers.csv", small_world / "customers.csv", shallow=False)
    spend = pd.read_csv(planned / "spend.csv")
    base = pd.read_csv(small_world / "spend.csv")
    on = ["date", "channel", "spend"]
    pd.testing.assert_frame_equal(
        spend.loc[spend["campaign"] == "always_on", on].reset_index(drop=True),
        base.loc[base["campaign"] == "always_on", on].reset_index(drop=True),
    )
    doc = json.loads((planned / "truth" / "truth.json").read_text(encoding="utf-8"))
    assert doc["spend_plan"] == PLAN
    assert "spend_plan" not in load_truth(small_world)


def test_truth_follows_the_spend(planned, small_world, tmp_path):
    """Less campaign money causes fewer orders; none causes none (same customers, same seed)."""
    half = {p: {c: v / 2 for c, v in b.items()} for p, b in PLAN.items()}
    low = simulate_world(tmp_path / "half", seed=7, n_customers=1200, chunk_size=500,
                         spend_plan=half)  # fmt: skip
    caused = [load_truth(w)["holdout"]["campaign_incremental_conversions"] for w in (planned, low)]
    assert caused[0] > caused[1] > 0
    none = simulate_world(tmp_path / "none", seed=7, n_customers=1200, chunk_size=500,
                          spend_plan={"launch": {"tv": 0.01}})  # fmt: skip
    touches = pd.read_csv(none / "touchpoints.csv", usecols=["campaign", "channel"])
    campaign = touches[touches["campaign"] == "spring_launch"]
    assert set(campaign["channel"]) <= {"tv"}
    assert load_truth(none)["holdout"]["campaign_incremental_conversions"] < caused[1]


def test_channel_totals_split_by_the_simulator_s_phase_budgets(tmp_path):
    csv = tmp_path / "totals.csv"
    csv.write_text("channel,spend\ntv,9000\naffiliate,1000\ndisplay,0\n", encoding="utf-8")
    plan = read_spend_plan(csv)
    reference = {p.name: p.budget for p in W.PLAN_PHASES}
    tv = sum(b.get("tv", 0) for b in reference.values())
    assert plan["teaser"] == {"tv": pytest.approx(9000 * reference["teaser"]["tv"] / tv)}
    assert plan["launch"]["tv"] == pytest.approx(9000 * reference["launch"]["tv"] / tv)
    aff = sum(b.get("affiliate", 0) for b in reference.values())
    assert plan["sustain"]["affiliate"] == pytest.approx(
        1000 * reference["sustain"]["affiliate"] / aff
    )
    assert sum(v for b in plan.values() for v in b.values()) == pytest.approx(10_000)
    assert not any("display" in b for b in plan.values())


def test_plan_yaml_gives_its_phase_budgets_unscaled(repo_root):
    from imclab.plan import load_plan

    path = repo_root / "campaigns" / "spring_launch.yaml"
    plan = read_spend_plan(path)
    assert plan == {p.name: dict(p.budget) for p in load_plan(path).phases}


def test_plan_yaml_with_its_own_phase_names_keeps_its_phasing_by_position(repo_root, tmp_path):
    """Before, a plan phased 'awareness' / 'conversion' was refused as an unknown phase."""
    import yaml

    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text("utf-8"))
    start, end = pd.Timestamp(plan["start"]), pd.Timestamp(plan["end"])
    days = (end - start).days + 1  # two phases: the first and the second half of the campaign
    half = start + pd.Timedelta(days=days // 2 - 1)
    plan["phases"] = [
        {"name": "awareness", "start": f"{start:%Y-%m-%d}", "end": f"{half:%Y-%m-%d}",
         "channels": ["tv", "social"], "budget": {"tv": 8000.0, "social": 2000.0}},
        {"name": "conversion", "start": f"{half + pd.Timedelta(days=1):%Y-%m-%d}",
         "end": f"{end:%Y-%m-%d}", "channels": ["paid_search"], "budget": {"paid_search": 6000.0}},
    ]  # fmt: skip
    plan["budget"] = {
        "total": 16000,
        "by_channel": {"tv": 8000, "social": 2000, "paid_search": 6000},
    }
    plan["objectives"] = [o for o in plan["objectives"] if o.get("channel") != "edm"]
    path = tmp_path / "own_phases.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    got = read_spend_plan(path)
    cal = W.Calendar()
    assert list(got) == [p.name for p in cal.phases]
    totals = pd.DataFrame(got).fillna(0.0).sum(axis=1)
    assert totals.to_dict() == pytest.approx(
        {"tv": 8000.0, "social": 2000.0, "paid_search": 6000.0}
    )
    # by day: the simulated campaign's first half spends the awareness money, the second half
    # the conversion money, each evenly over its days
    cal_days = (cal.phases[-1].end - cal.phases[0].start).days + 1
    for p in cal.phases:
        offset = (p.start - cal.phases[0].start).days
        length = (p.end - p.start).days + 1
        first = max(0.0, min(offset + length, cal_days / 2) - offset) / (cal_days / 2)
        second = max(0.0, offset + length - max(offset, cal_days / 2)) / (cal_days / 2)
        assert got[p.name].get("tv", 0.0) == pytest.approx(8000.0 * first, rel=0.1, abs=1)
        assert got[p.name].get("paid_search", 0.0) == pytest.approx(6000.0 * second, rel=0.1, abs=1)


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("channel,phase,spend\ntv,autumn,10\n", ParameterError, "unknown phase 'autumn'"),
        ("channel,spend\nseo,10\n", ParameterError, "'seo' .* not a paid channel"),
        ("channel,spend\ntv,-5\n", ParameterError, "spend of tv .* >= 0"),
        ("channel,spend\ntv,1\nsocial,lots\n", DataError, r"not a number in data row\(s\) 2"),
        ("channel,amount\ntv,1\n", DataError, "missing column.*spend"),
        ("channel,spend\ntv,1\ntv,2\n", DataError, r"row\(s\) 1, 2 repeat the same channel"),
        ("channel,spend\ntv,0\n", ParameterError, "every amount is 0"),
    ],
)
def test_bad_spend_plans_are_named(tmp_path, text, error, message):
    path = tmp_path / "plan.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=message):
        read_spend_plan(path)


def test_cli_takes_a_spend_plan_with_a_plan_s_dates(tmp_path, repo_root, capsys):
    from imclab.cli import main

    csv = tmp_path / "plan.csv"
    csv.write_text("channel,spend\npaid_search,3000\n", encoding="utf-8")
    out = tmp_path / "world"
    args = ["simulate", "--seed", "4", "--customers", "300", "--start", "2025-09-01",
            "--end", "2025-11-23", "--spend-plan", str(csv), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    spend = pd.read_csv(out / "spend.csv", parse_dates=["date"])
    campaign = spend[spend["campaign"] != "always_on"]
    assert set(campaign["channel"]) == {"paid_search"}
    assert campaign["spend"].sum() == pytest.approx(3000, abs=1e-6)
    assert campaign["date"].min() >= pd.Timestamp("2025-09-01")
    bad = tmp_path / "plan.txt"
    bad.write_text("x", encoding="utf-8")
    assert main([*args[:-4], "--spend-plan", str(bad), "--out", str(out)]) == 2
    assert "expected a .csv" in capsys.readouterr().err
