"""Tests of imclab.review.lessons: which findings are generated, their order and evidence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from imclab.errors import ParameterError
from imclab.report.headlines import read_headlines, record_headlines
from imclab.review.experiments import DidResult
from imclab.review.lessons import (
    LESSON_COLUMNS,
    incremental_return,
    lessons_learned,
    review_headlines,
)


def _did(estimate, low, high, weeks=12.0):
    means = pd.DataFrame(
        {"pre": [0.02, 0.02], "post": [0.02 + estimate, 0.02], "change": [estimate, 0.0]},
        index=["treated", "holdout"],
    )
    return DidResult(estimate, low, high, 0.001, 0.01, weeks, 100, 25, means, "HC1")


SCORECARD = pd.DataFrame(
    {
        "id": ["rev", "cac", "open", "aware"],
        "kpi": ["revenue", "cac", "open_rate", "awareness"],
        "label": ["Revenue", "CAC", "Email open rate", "Aided awareness"],
        "unit": ["currency", "currency", "share", "share"],
        "baseline": [100.0, 60.0, 0.2, 0.3],
        "target": [250.0, 40.0, 0.24, 0.38],
        "actual": [175.0, 36.0, np.nan, 0.33],
        "progress": [0.5, 1.2, np.nan, 0.375],
        "status": ["missed", "met", "no data", "at risk"],
        "deadline": pd.to_datetime(["2025-05-25"] * 4),
        "note": ["", "", "touchpoints.csv has no EDM sends", ""],
    }
)  # fmt: skip


def test_missed_objective_says_by_how_much():
    lessons = lessons_learned(scorecard=SCORECARD)
    assert list(lessons.columns) == LESSON_COLUMNS
    missed = lessons.iloc[0]
    assert missed["severity"] == "high" and missed["evidence"] == "Scorecard: objective rev"
    assert "reached 175.00 against a target of 250.00" in missed["finding"]
    assert "50% of the planned change" in missed["finding"]
    text = " | ".join(lessons["finding"])
    assert "Objective open cannot be scored: touchpoints.csv has no EDM sends" in text
    assert "Objective aware at risk: Aided awareness is 33.0%" in text
    assert "cac" not in text  # met objectives are not lessons


def test_a_change_that_rounds_to_nothing_has_no_sign():
    flat = SCORECARD.iloc[[0]].assign(progress=-0.001)
    (finding,) = lessons_learned(scorecard=flat)["finding"]
    assert "; 0% of the planned change" in finding and "-0%" not in finding


def test_channel_roi_below_threshold_and_rising_cost():
    roi = pd.DataFrame(
        {"channel": ["social", "tv", "edm", "display"], "cost": [100.0, 200.0, 50.0, 0.0],
         "revenue": [500.0, 150.0, 80.0, 0.0], "roi": [4.0, -0.25, 0.6, np.nan]}
    )  # fmt: skip
    trend = pd.DataFrame(
        {"channel": ["social", "social", "edm", "edm"], "phase": ["launch", "sustain"] * 2,
         "cost_per_conversion": [10.0, 15.0, 5.0, 5.0], "rising": [True, True, False, False]}
    )  # fmt: skip
    # default threshold 0 (break-even): only the channel that lost money is flagged
    lessons = lessons_learned(channel_roi=roi, cost_trend=trend)
    by_text = dict(zip(lessons["finding"], lessons["severity"], strict=True))
    lost = (
        "TV / offline returned an ROI of -0.25 (it lost money: its attributed revenue is below "
        "its cost): 150 attributed revenue on 200 spend"
    )
    assert by_text[lost] == "high"
    assert not any("EDM (email) returned" in t for t in by_text)  # made money: not flagged
    stricter = lessons_learned(channel_roi=roi, roi_threshold=1.0)
    texts = dict(zip(stricter["finding"], stricter["severity"], strict=True))
    edm = (
        "EDM (email) returned an ROI of 0.60 (below the threshold of 1, though above "
        "break-even): 80 attributed revenue on 50 spend"
    )
    assert texts[edm] == "medium"
    rose = "Paid social: cost per attributed conversion rose from 10.00 (launch) to 15.00"
    assert by_text[rose + " (sustain)"] == "medium"  # noqa: E501
    assert by_text["Display / programmatic had a budget but no campaign spend"] == "low"
    assert not any("Paid social returned" in t for t in by_text)
    assert list(lessons["severity"]) == sorted(
        lessons["severity"], key=["high", "medium", "low"].index
    )


def test_tests_survey_holdout_consistency_and_quality():
    ab = pd.DataFrame(
        {"test_id": ["t"] * 2, "metric": ["open_rate", "conversion_rate"], "variant": "B",
         "control": "A", "abs_lift": [0.01, -0.02], "p_value": [0.3, 0.7],
         "warning": ["", "too small: fewer than 10 conversions"]}
    )  # fmt: skip
    survey = pd.DataFrame({"stage": ["awareness"], "significant": [False], "warning": [""]})
    consistency = pd.DataFrame({"channel": ["affiliate", "edm"], "similarity": [0.05, 0.6],
                                "off_message": [True, False]})  # fmt: skip
    validation = pd.DataFrame({"table": ["touchpoints", "spend"], "rows_read": [1000, 10],
                               "rows_quarantined": [30, 0]})  # fmt: skip
    lessons = lessons_learned(
        ab_readout=ab, survey_lift=survey, did=_did(0.001, -0.002, 0.004),
        placebo=_did(0.01, 0.005, 0.015), consistency=consistency, validation=validation,
    )  # fmt: skip
    text = lessons.set_index("area")["finding"]
    assert "no significant incremental effect" in " ".join(text.loc[["incrementality"]])
    assert "placebo" in " ".join(text.loc[["incrementality"]])
    assert "conversion rate (B vs A, lift -2.00%, p = 0.70): too small" in " ".join(
        text.loc[["experiments"]]
    )
    assert "No significant pre/post change in awareness" in " ".join(text.loc[["experiments"]])
    assert text.loc["brand consistency"] == "Affiliate creative is off-message (similarity 0.05)"
    assert text.loc["data quality"].startswith("touchpoints: 30 of 1,000 rows quarantined")
    assert len(lessons) == 6


def test_missing_survey_wave_becomes_a_lesson():
    survey = pd.DataFrame(
        {"stage": ["awareness", "nps"], "significant": [False, False],
         "warning": ["survey: no post-campaign wave, so no lift can be measured"] * 2}
    )  # fmt: skip
    lessons = lessons_learned(survey_lift=survey)
    reason = "survey: no post-campaign wave, so no lift can be measured"
    assert lessons["finding"].tolist() == [f"Brand survey lift not measurable: {reason}"]


def test_nothing_to_report_is_an_empty_table():
    lessons = lessons_learned()
    assert lessons.empty and list(lessons.columns) == LESSON_COLUMNS


def test_headlines_round_trip(tmp_path):
    lessons = lessons_learned(scorecard=SCORECARD)
    values = review_headlines(
        SCORECARD, {"roi": 1.23456, "roas": 2.23456, "cac": float("nan"), "spend": 400.0},
        _did(0.02, 0.01, 0.03), lessons,
    )  # fmt: skip
    assert values["objectives_met"] == 1 and values["objectives_total"] == 4
    assert values["roi"] == 1.2346 and values["cac"] is None
    assert values["conversions"] is None  # the totals carry no order count here: never a NaN
    lift = values["incremental_lift"]
    assert lift["estimate"] == pytest.approx(0.24) and lift["ci_low"] == pytest.approx(0.12)
    assert values["lessons"][0].startswith("[high] Objective rev missed")
    # every objective's outcome, for the run history (later baselines come from it)
    assert values["objectives"][0] == {
        "id": "rev", "kpi": "revenue", "actual": 175.0, "target": 250.0, "status": "missed"
    }  # fmt: skip
    assert values["objectives"][2]["actual"] is None  # no data: never a NaN
    record_headlines(tmp_path, "review", values)
    stored = read_headlines(tmp_path)["review"]
    assert stored == json.loads(json.dumps(values))
    assert review_headlines(SCORECARD, {}, None, lessons)["incremental_lift"] is None
    # a campaign without spend in the data (no rows of it): no incremental figure at all
    for spend in (0.0, float("nan")):
        empty = review_headlines(SCORECARD, {"spend": spend}, _did(0.02, 0.01, 0.03), lessons)
        assert empty["incremental_lift"] is None and empty["incremental_roas"] is None


def test_incremental_roi_counts_only_the_revenue_the_holdout_says_the_campaign_caused():
    # 0.02 extra conversions per treated customer per week x 12 weeks x 100 treated customers
    # = 24 incremental conversions (CI 12 to 36), worth 50 each, for 400 of campaign media
    did = _did(0.02, 0.01, 0.03)
    ret = incremental_return(did, 400.0, 50.0)
    assert ret.loc["incremental conversions"].tolist() == pytest.approx([24.0, 12.0, 36.0])
    assert ret.loc["incremental revenue"].tolist() == pytest.approx([1200.0, 600.0, 1800.0])
    assert ret.loc["incremental ROAS"].tolist() == pytest.approx([3.0, 1.5, 4.5])
    assert ret.loc["incremental ROI"].tolist() == pytest.approx([2.0, 0.5, 3.5])
    assert ret.attrs["level"] == pytest.approx(0.95)
    with pytest.raises(ParameterError, match="spend must be a positive amount"):
        incremental_return(did, 0.0, 50.0)
    # the headline: all revenue 5,000 from 100 orders (AOV 50) over 400 of campaign media
    totals = {"roi": 11.5, "roas": 12.5, "cac": 4.0, "spend": 400.0, "revenue": 5000.0,
              "conversions": 100.0}  # fmt: skip
    values = review_headlines(SCORECARD, totals, did, lessons_learned())
    assert values["roas"] == 12.5  # all revenue / campaign media, organic orders included
    assert values["conversions"] == 100.0  # the campaign period's orders, for the run history
    inc = values["incremental_roas"]
    assert (inc["estimate"], inc["ci_low"], inc["ci_high"]) == pytest.approx((3.0, 1.5, 4.5))
    assert inc["level"] == 0.95 and "AOV 50.00" in inc["unit"] and "400.00" in inc["unit"]
    roi = values["incremental_roi"]
    assert (roi["estimate"], roi["ci_low"], roi["ci_high"]) == pytest.approx((2.0, 0.5, 3.5))
    # an explicit value per conversion; no holdout or no spend: no incremental return
    other = review_headlines(SCORECARD, totals, did, lessons_learned(), value_per_conversion=20.0)
    assert other["incremental_roas"]["estimate"] == pytest.approx(24 * 20 / 400)
    assert review_headlines(SCORECARD, totals, None, lessons_learned())["incremental_roi"] is None
    assert (
        review_headlines(SCORECARD, {"roi": 1.0}, did, lessons_learned())["incremental_roas"]
        is None
    )
