"""Brand funnel and leak analysis on hand-made survey waves with known counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.config import FUNNEL_STAGES
from imclab.situation.funnel import FUNNEL_COLUMNS, biggest_leak, brand_funnel, funnel_leaks


def _respondents(
    brand, wave, n, aware, consider, prefer, intent, promoters=0, detractors=0, date="2025-01-20"
):
    """n respondents with nested flags; NPS: promoters 10, detractors 3, other aware 8."""
    rows = []
    for i in range(n):
        a, c, p, t = int(i < aware), int(i < consider), int(i < prefer), int(i < intent)
        nps = pd.NA
        if a:
            nps = 10 if i < promoters else (3 if i < promoters + detractors else 8)
        rows.append((f"{brand}{wave}{i}", wave, pd.Timestamp(date), "pre", brand, a, c, p, t, nps))
    return rows


def _survey(*blocks):
    rows = [r for block in blocks for r in block]
    frame = pd.DataFrame(
        rows,
        columns=[
            "respondent_id",
            "wave",
            "fieldwork_date",
            "period",
            "brand",
            "aware",
            "consider",
            "prefer",
            "intent",
            "nps",
        ],
    )
    frame["nps"] = frame["nps"].astype("Int64")
    frame["customer_id"] = None
    return frame


BRANDS = ["Ours", "Rival", "Other"]


@pytest.fixture
def survey():
    return _survey(
        _respondents("Ours", "W1", 200, 60, 30, 12, 6, promoters=20, detractors=10),
        _respondents("Rival", "W1", 200, 120, 48, 24, 12, promoters=50, detractors=10),
        _respondents("Other", "W1", 200, 80, 48, 20, 10, promoters=20, detractors=20),
    )


def test_stage_shares_conversions_and_wilson_intervals(survey):
    funnel = brand_funnel(survey, BRANDS)
    assert list(funnel.columns) == list(FUNNEL_COLUMNS)
    ours = funnel.loc[funnel["brand"] == "Ours"].set_index("stage")
    assert list(ours.index) == list(FUNNEL_STAGES)
    assert ours.loc["awareness", "share"] == pytest.approx(0.30)
    assert ours.loc["consideration", "conversion"] == pytest.approx(30 / 60)
    assert ours.loc["preference", "conversion"] == pytest.approx(12 / 30)
    assert ours.loc["purchase_intent", "conversion"] == pytest.approx(6 / 12)
    # loyalty: promoters among aware answerers; NPS = 100 * (20 - 10) / 60
    assert ours.loc["loyalty", "conversion"] == pytest.approx(20 / 60)
    assert ours.loc["loyalty", "nps"] == pytest.approx(100 * 10 / 60)
    assert (
        ours.loc["loyalty", "nps_low"]
        < ours.loc["loyalty", "nps"]
        < ours.loc["loyalty", "nps_high"]
    )
    # Wilson 95 % for 60/200
    assert ours.loc["awareness", "share_low"] == pytest.approx(0.2408, abs=1e-3)
    assert ours.loc["awareness", "share_high"] == pytest.approx(0.3668, abs=1e-3)
    assert (ours["warning"] == "").all()


def test_too_few_respondents_gives_a_warning_row_not_a_crash():
    survey = _survey(
        _respondents("Ours", "W1", 12, 6, 3, 1, 1),
        _respondents("Rival", "W1", 200, 100, 50, 20, 10),
    )
    funnel = brand_funnel(survey, ["Ours", "Rival"], min_respondents=30)
    ours = funnel.loc[funnel["brand"] == "Ours"]
    assert len(ours) == len(FUNNEL_STAGES)
    assert ours["share"].notna().all()  # the value is kept
    assert ours["share_low"].isna().all() and ours["conversion_low"].isna().all()
    assert ours["warning"].str.contains("only 12 respondents for Ours in wave W1").all()
    rival = funnel.loc[funnel["brand"] == "Rival"]
    assert rival["share_low"].notna().all()


def test_competitor_missing_from_a_wave_is_a_warning_row():
    survey = _survey(
        _respondents("Ours", "W1", 100, 30, 15, 6, 3),
        _respondents("Rival", "W1", 100, 60, 30, 12, 6),
        _respondents("Ours", "W2", 100, 40, 20, 8, 4, date="2025-02-20"),
    )
    funnel = brand_funnel(survey, ["Ours", "Rival"])
    missing = funnel.loc[(funnel["group"] == "W2") & (funnel["brand"] == "Rival")]
    assert len(missing) == len(FUNNEL_STAGES)
    assert missing["share"].isna().all()
    assert missing["warning"].str.contains("Rival has no respondents in wave W2").all()
    leaks = funnel_leaks(funnel, "Ours")
    w2 = leaks.loc[leaks["group"] == "W2"]
    assert w2["gap_vs_best"].isna().all()
    assert w2["warning"].str.contains("no competitor has a").all()
    assert biggest_leak(leaks, "W2") is None
    assert biggest_leak(leaks, "W1") is not None


def test_small_conversion_base_warns():
    survey = _survey(_respondents("Ours", "W1", 100, 30, 8, 2, 1))
    funnel = brand_funnel(survey, ["Ours"], min_base=10).set_index("stage")
    assert "rests on 8 considering respondents" in funnel.loc["preference", "warning"]
    assert np.isnan(funnel.loc["preference", "conversion_low"])
    assert funnel.loc["consideration", "warning"] == ""


def test_window_and_pooling():
    survey = _survey(
        _respondents("Ours", "W1", 100, 30, 15, 6, 3),
        _respondents("Ours", "W2", 100, 50, 25, 10, 5, date="2025-02-20"),
        _respondents("Ours", "W3", 100, 90, 25, 10, 5, date="2025-06-10"),
    )
    pooled = brand_funnel(survey, ["Ours"], end="2025-03-01", pooled=True)
    assert pooled["group"].unique().tolist() == ["W1+W2"]
    aware = pooled.set_index("stage").loc["awareness"]
    assert aware["share"] == pytest.approx(0.40) and aware["respondents"] == 200


def test_leaks_compare_with_the_best_competitor_and_flag_the_biggest(survey):
    leaks = funnel_leaks(brand_funnel(survey, BRANDS), "Ours").set_index("stage")
    # awareness: Ours 0.30, best Rival 0.60 -> index 0.5 (the biggest leak)
    assert leaks.loc["awareness", "best_competitor"] == "Rival"
    assert leaks.loc["awareness", "gap_vs_best"] == pytest.approx(-0.30)
    assert leaks.loc["awareness", "index_vs_best"] == pytest.approx(0.5)
    assert leaks.loc["awareness", "p_value"] < 1e-6
    # consideration: Ours 30/60 = 0.5, Other 48/80 = 0.6 is best, Rival 0.4
    assert leaks.loc["consideration", "best_competitor"] == "Other"
    assert leaks.loc["consideration", "competitor_mean"] == pytest.approx(0.5)
    assert leaks["biggest_leak"].sum() == 1 and leaks.loc["awareness", "biggest_leak"]


def test_conversion_counts_respondents_at_both_stages_when_flags_are_not_nested():
    # 100 respondents: 10 aware; 20 consider, of whom only 5 are aware. Conversion from
    # awareness to consideration is 5 / 10, not 20 / 10 (a "conversion" above 1).
    rows = []
    for i in range(100):
        aware, consider = int(i < 10), int(5 <= i < 25)
        nps = 8 if aware else pd.NA
        rows.append((f"r{i}", "W1", pd.Timestamp("2025-01-20"), "pre", "Ours", aware, consider,
                     0, 0, nps))  # fmt: skip
    frame = brand_funnel(_survey(rows), ["Ours"]).set_index("stage")
    assert frame.loc["consideration", "share"] == pytest.approx(0.20)
    assert frame.loc["consideration", "conversion"] == pytest.approx(0.5)
    assert frame.loc["consideration", "conversion_high"] <= 1.0
    assert (
        frame.loc["consideration", "conversion_low"]
        <= 0.5
        <= frame.loc["consideration", "conversion_high"]
    )
