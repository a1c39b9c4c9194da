"""The recommendation follows the evidence; its truth check says whether it was right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import (
    check_recommendation,
    evidence_table,
    mmm_comparison,
    read_mmm,
    recommend,
)
from imclab.attribution.recommendation import FALLBACK
from imclab.errors import DataError


def _results(shares: dict[str, dict[str, float]]) -> pd.DataFrame:
    rows = [
        {"channel": c, "model": m, "conversions": s * 100, "value": s * 1000, "share": s}
        for m, by in shares.items()
        for c, s in by.items()
    ]
    return pd.DataFrame(rows)


RESULTS = _results(
    {
        "last_non_direct": {"a": 0.5, "b": 0.3, "c": 0.2},
        "markov_1": {"a": 0.2, "b": 0.3, "c": 0.5},
        "additive_hazard": {"a": 0.6, "b": 0.3, "c": 0.1},
    }
)
INTERVALS = pd.DataFrame(
    {
        "model": ["markov_1"] * 3 + ["additive_hazard"] * 3,
        "channel": list("abc") * 2,
        "lo": [0.1, 0.2, 0.4, 0.55, 0.25, 0.05],
        "hi": [0.3, 0.4, 0.6, 0.65, 0.35, 0.15],
    }
)


def _evidence(cf=(1000.0, 900.0, 1100.0), holdout=(1050.0, 850.0, 1250.0), gain=0.3, mmm=None):
    return evidence_table(
        RESULTS,
        counterfactual={"additive_hazard": cf},
        touched_campaign_conversions=2500.0,
        holdout=holdout,
        heldout_gain={"additive_hazard": gain},
        intervals=INTERVALS,
        mmm=mmm,
    )


def test_evidence_table_checks_each_model_against_the_holdout():
    ev = _evidence().set_index("model")
    assert ev.loc["additive_hazard", "holdout_ok"]
    # path models imply every touched conversion: outside the holdout interval
    assert not ev.loc["markov_1", "holdout_ok"]
    assert ev.loc["markov_1", "implied_campaign_conversions"] == 2500.0
    assert ev.loc["markov_1", "mean_interval"] == pytest.approx(0.2)
    assert np.isnan(ev.loc["last_non_direct", "mean_interval"])


def test_a_model_with_evidence_is_recommended():
    rec = recommend(_evidence())
    assert rec.model == "additive_hazard"
    assert any("agree with the holdout" in r for r in rec.reasons)


def test_a_model_that_disagrees_with_the_holdout_is_not_recommended():
    rec = recommend(_evidence(cf=(3000.0, 2900.0, 3100.0)))
    assert rec.model == FALLBACK
    assert any("disagree with the holdout" in r for r in rec.reasons)
    # ... nor one whose exposures do not predict conversion on unseen customers
    assert recommend(_evidence(gain=-0.01)).model == FALLBACK


def test_without_a_holdout_the_prediction_and_stability_decide():
    rec = recommend(_evidence(holdout=None))
    assert rec.model == "additive_hazard"
    assert any("no holdout" in r for r in rec.reasons)


def test_the_mmm_breaks_the_tie_between_path_models():
    mmm = pd.Series({"a": 0.15, "b": 0.35, "c": 0.5})
    rec = recommend(_evidence(gain=-0.1, mmm=mmm))
    assert rec.model == "markov_1"  # same ranking as the MMM
    assert rec.evidence.set_index("model").loc["markov_1", "mmm_spearman"] == pytest.approx(1.0)


def test_check_recommendation_against_the_truth():
    scores = pd.DataFrame(
        {"model": ["markov_1", "additive_hazard"], "mae": [0.01, 0.03], "spearman": [0.9, 0.5]}
    )
    rec = recommend(_evidence())
    check = check_recommendation(rec, scores).iloc[0]
    assert check["truth_best"] == "markov_1" and not check["right"]
    assert check["mae"] == 0.03


def test_read_mmm(tmp_path):
    assert read_mmm("") is None
    with pytest.raises(DataError, match=r"absent.csv: no such file .*leave it empty"):
        read_mmm(tmp_path / "absent.csv")
    f = tmp_path / "mmm.csv"
    f.write_text("channel,contribution\na,30\nb,10\nb,10\n")
    assert read_mmm(f).to_dict() == pytest.approx({"a": 0.6, "b": 0.4})
    f.write_text("channel,credit\na,1\n")
    with pytest.raises(DataError, match="mmm.csv: missing column.*contribution"):
        read_mmm(f)


def test_mmm_comparison_puts_the_mmm_beside_every_model():
    table = mmm_comparison(RESULTS, pd.Series({"a": 0.5, "d": 0.5}))
    assert list(table.index) == ["a", "b", "c", "d"]
    assert list(table.columns) == ["last_non_direct", "markov_1", "additive_hazard", "mmm"]
    assert table.loc["d", "markov_1"] == 0.0 and table.loc["b", "mmm"] == 0.0
    assert table["mmm"].sum() == pytest.approx(1.0)


def test_assess_recommends_from_the_evidence_on_a_simulated_world(small_world):
    """The notebook's entry point on a world of another seed and size than the sample."""
    import imclab.attribution as attr
    from imclab.data.load import load_world
    from imclab.plan import load_plan
    from imclab.simulate import load_truth

    plan = load_plan("campaigns/spring_launch.yaml")
    w = load_world(small_world)
    nav = ["direct"]
    j = attr.build_journeys(None, w.touchpoints, w.conversions)
    paths = attr.drop_navigational(j.paths, nav, collapse_repeats=False).paths
    results = attr.run_models(paths)
    ci = attr.bootstrap_shares(paths, n_boot=10)
    window = (plan.start, plan.end)
    panel = attr.build_panel(
        w.touchpoints, w.conversions, w.customers, interactions=["impression", "click", "open",
        "visit"], navigational_channels=nav, campaign=plan.name, campaign_window=window,
        holdout_regions=plan.holdout_regions,
    )  # fmt: skip
    a = attr.assess(
        results, ci, panel, customers=w.customers, conversions=w.conversions,
        holdout_regions=plan.holdout_regions, campaign_window=window, mmm=None, n_boot=10,
    )  # fmt: skip
    ev = a.evidence.set_index("model")
    assert ev.loc["additive_hazard", "counterfactual"]
    assert ev["holdout_ok"].notna().all()  # the plan has a holdout: every model is checked
    assert set(a.results["model"]) == set(results["model"]) | {"additive_hazard"}
    scores = attr.score_models(a.results, load_truth(small_world)["channels"], exclude=nav)
    check = attr.check_recommendation(a.recommendation, scores).iloc[0]
    assert check["recommended"] == a.recommendation.model
    assert check["right"] == (check["mae"] <= check["truth_best_mae"] + 0.005)
    # 1,200 customers only: the evidence still points to the model closest to the truth
    assert a.recommendation.model == "additive_hazard" and check["right"]
    assert check["spearman"] >= 0.8
