from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import build_journeys, run_models
from imclab.errors import ParameterError
from imclab.interactive import attribution_explorer, budget_simulator, persona_browser
from imclab.review.budget import ResponseCurves, hill


@pytest.fixture(scope="module")
def events(small_world):
    tp = pd.read_csv(small_world / "touchpoints.csv", parse_dates=["timestamp"])
    conv = pd.read_csv(small_world / "conversions.csv", parse_dates=["timestamp"])
    return tp, conv


def _expected(tp, conv, **kw):
    journeys = build_journeys(
        None,
        tp,
        conv,
        lookback_days=kw.get("lookback_days", 30),
        half_life_days=kw.get("half_life_days", 7.0),
        interactions=kw.get("interactions", ("impression", "click", "open", "visit")),
    )
    res = run_models(
        journeys.paths,
        markov_order=kw.get("markov_order", 1),
        position_weights=kw.get("position_weights", (0.4, 0.2, 0.4)),
    )
    res = res[res["channel"] != "(no touch)"]
    return res.pivot_table(index="channel", columns="model", values="share", aggfunc="sum")


def test_attribution_explorer_recomputes_on_every_control(events):
    tp, conv = events
    ex = attribution_explorer(tp, conv)
    first = ex.table.copy()
    assert {"first_touch", "last_touch", "markov_1", "shapley"} <= set(first.columns)
    expected = _expected(tp, conv).round(3)
    pd.testing.assert_frame_equal(
        first.sort_index(axis=1), expected.sort_index(axis=1), check_names=False
    )
    # every model's shares sum to 1 over the channels
    assert "(no touch)" not in first.index
    np.testing.assert_allclose(first.sum(), 1.0, atol=0.01)

    ex.controls["lookback_days"].value = 3
    short = ex.table
    assert not short.equals(first)
    assert ex.journeys.params["lookback_days"] == 3
    exp = _expected(tp, conv, lookback_days=3).round(3)
    pd.testing.assert_frame_equal(
        short.sort_index(axis=1), exp.sort_index(axis=1), check_names=False
    )

    ex.controls["interactions"].value = ("click", "visit")
    assert set(ex.journeys.params["interactions"]) == {"click", "visit"}
    assert "edm" not in ex.table.index or ex.table.loc["edm"].max() < first.loc["edm"].max()

    before = ex.table["position_based"].copy()
    ex.controls["first_weight"].value = 0.7
    ex.controls["last_weight"].value = 0.3  # all credit to the ends
    assert not ex.table["position_based"].equals(before)
    assert ex.parameters()["position_weights"] == (0.7, 0.0, 0.3)
    ex.controls["markov_order"].value = 2
    assert "markov_2" in ex.table.columns and "markov_1" not in ex.table.columns


def test_attribution_explorer_drops_navigational_channels(events):
    tp, conv = events
    ex = attribution_explorer(tp, conv, navigational_channels=["direct"])
    assert "direct" not in ex.table.index
    np.testing.assert_allclose(ex.table.sum(), 1.0, atol=0.01)
    # last touch then equals last non-direct, as in the notebook
    pd.testing.assert_series_equal(
        ex.table["last_touch"], ex.table["last_non_direct"], check_names=False
    )


def test_attribution_explorer_explains_impossible_settings(events):
    tp, conv = events
    ex = attribution_explorer(tp, conv)
    ex.controls["first_weight"].value = 0.8
    ex.controls["last_weight"].value = 0.5
    assert ex.table["note"].tolist() == ["first + last position weights must not exceed 1"]
    ex.controls["last_weight"].value = 0.2
    assert "position_based" in ex.table.columns
    ex.controls["interactions"].value = ()
    assert ex.table["note"].tolist() == ["select at least one interaction"]


CARDS = pd.DataFrame(
    {
        "persona": ["deal seekers", "professionals", "planners"],
        "customers": [1200, 800, 500],
        "share": [0.48, 0.32, 0.2],
        "top_channel": ["social", "paid_search", "edm"],
        "mean_age": [24.333333, 38.5, 41.0],
    }
)


def test_persona_browser_shows_the_selected_card():
    pb = persona_browser(CARDS)
    assert pb.selected == "deal seekers"
    assert pb.table["value"].tolist() == [1200, 0.48, "social", 24.333]
    pb.controls["persona"].value = "planners"
    assert pb.table.set_index("field").loc["top_channel", "value"] == "edm"
    assert "planners" in pb.controls["title"].value
    pb.controls["next"].click()  # wraps around
    assert pb.selected == "deal seekers"
    pb.controls["previous"].click()
    assert pb.selected == "planners"
    assert pb.table["field"].tolist() == ["customers", "share", "top_channel", "mean_age"]


def test_persona_browser_rejects_bad_cards():
    with pytest.raises(ParameterError, match="no column 'segment'"):
        persona_browser(CARDS, name_column="segment")
    with pytest.raises(ParameterError, match="listed twice: planners"):
        persona_browser(pd.concat([CARDS, CARDS.tail(1)]))


CURVES = ResponseCurves.from_params(
    pd.DataFrame(
        {
            "channel": ["paid_search", "social", "tv"],
            "beta": [40.0, 30.0, 20.0],
            "K": [200.0, 300.0, 500.0],
            "alpha": [1.0, 1.5, 2.0],
        }
    )
)


def _predicted(channel, spend, n_days=10):
    row = CURVES.params_.set_index("channel").loc[channel]
    return n_days * row["beta"] * float(hill(spend / n_days, row["K"], row["alpha"]))


def test_budget_simulator_predicts_and_keeps_the_total():
    sim = budget_simulator(CURVES, {"paid_search": 2000, "social": 3000, "tv": 5000}, n_days=10)
    t = sim.table.set_index("channel")
    assert t.loc["(total)", "spend"] == 10000
    assert t.loc["social", "conversions"] == pytest.approx(_predicted("social", 3000), abs=0.01)
    assert t.loc["(total)", "change_conversions"] == 0

    sim.controls["paid_search"].value = 4000  # +2,000 taken from social and tv pro rata
    t = sim.table.set_index("channel")
    assert t.loc["social", "spend"] == pytest.approx(3000 - 2000 * 3 / 8, abs=0.01)
    assert t.loc["tv", "spend"] == pytest.approx(5000 - 2000 * 5 / 8, abs=0.01)
    assert t.loc["(total)", "spend"] == pytest.approx(10000, abs=0.005)
    expected = sum(_predicted(c, t.loc[c, "spend"]) for c in ("paid_search", "social", "tv"))
    assert t.loc["(total)", "conversions"] == pytest.approx(expected, abs=0.02)
    assert sim.summary["change_conversions"] == pytest.approx(
        expected - sum(_predicted(c, s) for c, s in zip(
            ("paid_search", "social", "tv"), (2000, 3000, 5000), strict=True)), abs=1e-6
    )  # fmt: skip
    assert "predicted conversions" in sim.controls["total"].value

    sim.controls["reset"].click()
    assert sim.table.set_index("channel").loc["paid_search", "spend"] == 2000


def test_budget_simulator_free_total_and_value():
    sim = budget_simulator(
        CURVES, {"paid_search": 2000, "social": 3000}, n_days=10, value_per_conversion=50.0
    )
    sim.controls["keep_total"].value = False
    sim.controls["social"].value = 0
    t = sim.table.set_index("channel")
    assert t.loc["paid_search", "spend"] == 2000  # untouched
    assert t.loc["social", "conversions"] == 0
    assert np.isnan(t.loc["social", "roi"])
    assert t.loc["(total)", "spend"] == 2000
    roi = _predicted("paid_search", 2000) * 50 / 2000 - 1
    assert t.loc["paid_search", "roi"] == pytest.approx(roi, abs=0.01)


def test_budget_simulator_caps_a_channel_at_the_total():
    sim = budget_simulator(CURVES, {"paid_search": 2000, "social": 3000}, n_days=10)
    sim.controls["social"].value = 9000
    t = sim.table.set_index("channel")
    assert t.loc["social", "spend"] == 5000 and t.loc["paid_search", "spend"] == 0


def test_budget_simulator_counts_conversions_on_top_of_always_on_spend():
    base = {"paid_search": 150.0, "social": 0.0}
    sim = budget_simulator(
        CURVES, {"paid_search": 2000, "social": 3000}, n_days=10, value_per_conversion=50.0,
        base_daily_spend=base,
    )  # fmt: skip
    t = sim.table.set_index("channel")
    # paid search already runs at 150 a day: the budget adds f(150 + 200) - f(150) a day
    on_top = 10 * 40.0 * (float(hill(350.0, 200.0, 1.0)) - float(hill(150.0, 200.0, 1.0)))
    assert t.loc["paid_search", "conversions"] == pytest.approx(on_top, abs=0.01)
    assert t.loc["paid_search", "conversions"] < _predicted("paid_search", 2000) - 10
    assert t.loc["social", "conversions"] == pytest.approx(_predicted("social", 3000), abs=0.01)
    assert t.loc["paid_search", "base_daily_spend"] == 150.0
    assert t.loc["paid_search", "roi"] == pytest.approx(on_top * 50 / 2000 - 1, abs=0.01)
    assert "incremental to always-on" in sim.controls["total"].value
    with pytest.raises(ParameterError, match=r"channel\(s\) display have no response curve"):
        budget_simulator(CURVES, {"tv": 10}, n_days=5, base_daily_spend={"display": 1.0})
    with pytest.raises(ParameterError, match="base_daily_spend: amounts must be"):
        budget_simulator(CURVES, {"tv": 10}, n_days=5, base_daily_spend={"tv": -1.0})


def test_budget_simulator_puts_no_base_under_a_campaigns_own_curves():
    campaign = copy.copy(CURVES)
    campaign.campaign_ = "spring_launch"  # curves of the campaign's own spend (imclab.mmm)
    sim = budget_simulator(
        campaign, {"paid_search": 2000, "social": 3000}, n_days=10,
        base_daily_spend={"paid_search": 150.0},
    )  # fmt: skip
    t = sim.table.set_index("channel")
    assert t.loc["paid_search", "conversions"] == pytest.approx(
        _predicted("paid_search", 2000), abs=0.01
    )
    assert t.loc["paid_search", "base_daily_spend"] == 0.0


def test_budget_simulator_rejects_bad_input():
    with pytest.raises(ParameterError, match="no response curve for display"):
        budget_simulator(CURVES, {"display": 10}, n_days=5)
    with pytest.raises(ParameterError, match="n_days"):
        budget_simulator(CURVES, {"tv": 10}, n_days=0)
    with pytest.raises(ParameterError, match=">= 0"):
        budget_simulator(CURVES, {"tv": -10}, n_days=5)


def test_explore_is_a_fixed_note_in_headless_runs(monkeypatch):
    from imclab.interactive import HEADLESS_NOTE, explore

    calls = []

    def builder(*args, **kwargs):
        calls.append((args, kwargs))
        return "widget"

    monkeypatch.delenv("IMCLAB_INTERACTIVE", raising=False)
    assert explore(builder, 1, x=2) == HEADLESS_NOTE
    assert calls == []  # nothing is computed headless
    monkeypatch.setenv("IMCLAB_INTERACTIVE", "0")
    assert explore(builder, 1, x=2) == HEADLESS_NOTE
    monkeypatch.setenv("IMCLAB_INTERACTIVE", "1")
    assert explore(builder, 1, x=2) == "widget"
    assert calls == [((1,), {"x": 2})]
