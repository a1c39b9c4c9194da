"""The simulator: byte-for-byte determinism, table invariants and ground truth."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pandas as pd
import pytest

from imclab.errors import ParameterError
from imclab.simulate import load_truth, simulate_world, true_response
from imclab.simulate import world as W


def _clean(folder, table):
    """A table of a world without the deliberately broken rows listed in truth/faults.csv."""
    frame = pd.read_csv(folder / f"{table}.csv", dtype={"timestamp": str})
    faults = folder / "truth" / "faults.csv"
    if faults.exists():
        rows = pd.read_csv(faults).query("table == @table")["row"]
        frame = frame.drop(index=rows - 1)
    return frame


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_sample_regenerates_byte_for_byte(sample_dir, regenerated_sample):
    out = regenerated_sample  # seed 20250301, 5,000 customers, faults (`imclab simulate`)
    assert _files(out) == _files(sample_dir)
    for rel in _files(sample_dir):
        assert filecmp.cmp(sample_dir / rel, out / rel, shallow=False), f"{rel} differs"


def test_other_seed_gives_other_world(small_world, tmp_path):
    other = simulate_world(tmp_path / "other", seed=8, n_customers=1200, chunk_size=500)
    a = pd.read_csv(small_world / "conversions.csv")
    b = pd.read_csv(other / "conversions.csv")
    assert not a.equals(b)


def test_tables_keys_and_chunking(small_world):
    cust = pd.read_csv(small_world / "customers.csv")
    touch = pd.read_csv(small_world / "touchpoints.csv")
    conv = pd.read_csv(small_world / "conversions.csv")
    assert len(cust) == 1200 and cust["customer_id"].is_unique
    assert cust["customer_id"].iloc[-1] == "C001200"
    assert touch["event_id"].is_unique and conv["order_id"].is_unique
    assert set(touch["customer_id"]) <= set(cust["customer_id"])
    assert set(conv["customer_id"]) <= set(cust["customer_id"])
    assert set(touch["channel"]) == set(W.CHANNELS)
    assert (touch["cost"] >= 0).all() and (conv["revenue"] > 0).all()
    unpaid = touch["channel"].isin(["seo", "content", "direct"])
    assert (touch.loc[unpaid, "cost"] == 0).all()
    assert (touch.loc[unpaid, "campaign"] == "organic").all()
    # orders only after signup
    signup = conv.merge(cust[["customer_id", "signup_date"]], on="customer_id")
    assert (signup["timestamp"].str[:10] >= signup["signup_date"]).all()


def test_holdout_region_gets_no_campaign_touches(small_world):
    cust = pd.read_csv(small_world / "customers.csv")
    touch = pd.read_csv(small_world / "touchpoints.csv").merge(cust, on="customer_id")
    in_holdout = touch["region"].isin(W.HOLDOUT_REGIONS)
    assert (touch.loc[in_holdout, "campaign"] != W.CAMPAIGN).all()
    assert (touch.loc[~in_holdout, "campaign"] == W.CAMPAIGN).sum() > 1000


def test_spend_matches_touch_costs_in_a_single_chunk_world(sample_dir):
    spend = _clean(sample_dir, "spend")
    touch = _clean(sample_dir, "touchpoints")
    touch["date"] = touch["timestamp"].str[:10]
    cost = touch.groupby(["date", "channel", "campaign"])["cost"].sum()
    merged = spend.set_index(["date", "channel", "campaign"])["spend"].to_frame().join(cost)
    with_touches = merged.dropna()
    assert len(with_touches) > 0.95 * len(merged)
    np.testing.assert_allclose(with_touches["cost"], with_touches["spend"], atol=0.05)
    planned = {c: sum(p.budget.get(c, 0) for p in W.PLAN_PHASES) for c in W.DELIVERY}
    actual = spend[spend["campaign"] == W.CAMPAIGN].groupby("channel")["spend"].sum()
    for channel, budget in planned.items():
        assert actual[channel] == pytest.approx(budget * W.DELIVERY[channel], abs=1.0)


def test_truth_decomposes_every_conversion(small_world):
    truth = load_truth(small_world)
    ch = truth["channels"].set_index("channel")
    n_conv = len(pd.read_csv(small_world / "conversions.csv"))
    assert ch["true_conversions"].sum() == pytest.approx(n_conv, abs=0.01)
    assert truth["totals"]["conversions"] == n_conv
    shares = ch.drop(index="(baseline)")["true_share"]
    assert shares.sum() == pytest.approx(1.0, abs=1e-5)
    assert (shares > 0).all()
    # the counterfactual removal effect tells the same story as the hazard shares
    drop = ch.drop(index="(baseline)")
    assert np.corrcoef(drop["true_conversions"], drop["removal_conversions"])[0, 1] > 0.95
    # direct visits are mostly navigational: they cause little
    assert shares["direct"] < 0.05
    personas = truth["personas"]
    assert personas["persona"].nunique() == len(W.PERSONAS)
    assert truth["holdout"]["campaign_incremental_conversions_in_window"] > 0
    assert truth["off_message_channels"] == ["affiliate"]


def test_survey_funnel_is_nested_and_ab_counts_are_consistent(sample_dir):
    survey = pd.read_csv(sample_dir / "survey.csv")
    for upper, lower in (("aware", "consider"), ("consider", "prefer"), ("prefer", "intent")):
        assert (survey[lower] <= survey[upper]).all()
    assert survey.loc[survey["aware"] == 0, "nps"].isna().all()
    assert survey["nps"].dropna().between(0, 10).all()
    assert set(survey["brand"]) == {W.BRAND, *W.COMPETITORS}
    pre = survey[(survey["brand"] == "Lumina") & (survey["period"] == "pre")]["aware"].mean()
    post = survey[(survey["brand"] == "Lumina") & (survey["period"] == "post")]["aware"].mean()
    assert post > pre  # the true campaign lift on awareness is +9 points
    ab = pd.read_csv(sample_dir / "ab_tests.csv")
    assert (ab["opens"] <= ab["sends"]).all() and (ab["clicks"] <= ab["opens"]).all()
    assert (ab["conversions"] <= ab["clicks"]).all()


def test_parquet_world_holds_the_same_tables(tmp_path):
    a = simulate_world(tmp_path / "csv", seed=3, n_customers=300)
    b = simulate_world(tmp_path / "pq", seed=3, n_customers=300, fmt="parquet")
    for name in ("customers", "touchpoints", "conversions", "spend"):
        left = pd.read_csv(a / f"{name}.csv")
        right = pd.read_parquet(b / f"{name}.parquet")
        pd.testing.assert_frame_equal(left, right.astype(left.dtypes.to_dict()), check_dtype=False)


def test_true_response_is_increasing_and_saturating(sample_dir):
    truth = load_truth(sample_dir)
    spend = np.array([0.0, 50, 100, 200, 400, 800, 1600])
    y = true_response(truth, "social", spend, 4000)
    assert y[0] == 0
    assert (np.diff(y) > 0).all()
    gains = np.diff(y) / np.diff(spend)
    assert (np.diff(gains) < 0).all()  # diminishing returns


def test_truth_json_is_plain_json(sample_dir):
    doc = json.loads((sample_dir / "truth" / "truth.json").read_text(encoding="utf-8"))
    assert doc["seed"] == 20250301 and doc["n_customers"] == 5000
    assert {p["name"] for p in doc["spec"]["personas"]} == {p.name for p in W.PERSONAS}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 10}, "customers must be at least 100"),
        ({"fmt": "xlsx"}, "format must be 'csv' or 'parquet'"),
        ({"chunk_size": 5}, "chunk_size must be at least 100"),
    ],
)
def test_bad_parameters_are_named(tmp_path, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        simulate_world(tmp_path, **kwargs)


def test_sample_faults_are_exactly_what_the_loader_quarantines(sample_dir):
    from imclab.data import load_world

    world = load_world(sample_dir)
    faults = pd.read_csv(sample_dir / "truth" / "faults.csv")
    got = world.quarantine.assign(table=world.quarantine["file"].str.removesuffix(".csv"))
    assert sorted(zip(got["table"], got["row"], got["column"], strict=True)) == sorted(
        zip(faults["table"], faults["row"], faults["column"], strict=True)
    )


def test_faults_are_extra_rows_only(tmp_path):
    clean = simulate_world(tmp_path / "clean", seed=5, n_customers=400)
    dirty = simulate_world(tmp_path / "dirty", seed=5, n_customers=400, faults=True)
    for table in ("touchpoints", "conversions", "spend"):
        a = _clean(clean, table).reset_index(drop=True)
        b = _clean(dirty, table).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert not (clean / "truth" / "faults.csv").exists()


def test_calendar_default_is_the_sample_and_moves_with_a_plan():
    from datetime import date, timedelta

    assert W.calendar() == W.Calendar()
    cal = W.calendar("autumn", date(2025, 9, 1), date(2025, 10, 12))  # 42 days, half the sample
    assert (cal.campaign, cal.campaign_start, cal.campaign_end) == (
        "autumn",
        date(2025, 9, 1),
        date(2025, 10, 12),
    )
    assert cal.period_start == date(2025, 9, 1) - (W.CAMPAIGN_START - W.PERIOD_START)
    assert cal.period_end == date(2025, 10, 12) + (W.PERIOD_END - W.CAMPAIGN_END)
    # phases tile the campaign in order, as the plan's phases did
    assert cal.phases[0].start == cal.campaign_start and cal.phases[-1].end == cal.campaign_end
    for before, after in zip(cal.phases, cal.phases[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)
    assert [p.budget for p in cal.phases] == [p.budget for p in W.PLAN_PHASES]
    ab = cal.ab_test
    assert cal.campaign_start <= ab["start_date"] <= ab["end_date"] <= cal.campaign_end
    assert ab["test_id"] == "edm_subject_2025_09"  # named after its month, not the sample's
    assert [kind for _, _, kind in cal.survey_waves] == ["pre", "pre", "post"]
    assert all(d < cal.campaign_start for _, d, k in cal.survey_waves if k == "pre")
    assert all(d > cal.campaign_end for _, d, k in cal.survey_waves if k == "post")
    with pytest.raises(ParameterError, match="lasts 10 days; the simulator needs at least 14"):
        W.calendar("short", date(2025, 9, 1), date(2025, 9, 10))


def test_simulate_follows_a_plan_s_campaign_and_dates(tmp_path):
    from datetime import date

    from imclab.cli import main
    from imclab.config import REPO_ROOT

    plan = tmp_path / "autumn.yaml"
    sample_plan = REPO_ROOT / "campaigns" / "spring_launch.yaml"
    text = sample_plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("name: spring_launch", "name: autumn_push"), encoding="utf-8")
    out = tmp_path / "world"
    args = ["--seed", "4", "--customers", "300", "--plan", str(plan), "--start", "2025-09-01",
            "--end", "2025-11-23", "--out", str(out)]  # fmt: skip
    assert main(["simulate", *args]) == 0
    spend = pd.read_csv(out / "spend.csv", parse_dates=["date"])
    campaign = spend[~spend["campaign"].isin(["always_on"])]
    assert set(campaign["campaign"]) == {"autumn_push"}
    assert campaign["date"].min() >= pd.Timestamp("2025-09-01")
    assert campaign["date"].max() <= pd.Timestamp("2025-11-23")
    touches = pd.read_csv(out / "touchpoints.csv", usecols=["timestamp", "campaign"])
    tagged = pd.to_datetime(touches.loc[touches["campaign"] == "autumn_push", "timestamp"])
    assert len(tagged) and tagged.min() >= pd.Timestamp("2025-09-01")
    assert set(pd.read_csv(out / "creatives.csv")["campaign"]) == {"autumn_push"}
    ab = pd.read_csv(out / "ab_tests.csv", parse_dates=["start_date", "end_date"])
    assert ab["start_date"].min() >= pd.Timestamp("2025-09-01")
    spec = load_truth(out)["spec"]
    assert (spec["campaign"], spec["campaign_start"], spec["campaign_end"]) == (
        "autumn_push",
        "2025-09-01",
        "2025-11-23",
    )
    history = W.CAMPAIGN_START - W.PERIOD_START
    assert spec["period_start"] == (date(2025, 9, 1) - history).isoformat()
