"""Additive-hazard attribution: planted worlds where the causes are known, and a simulated one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.attribution import AdditiveHazard, build_panel, heldout_loglik
from imclab.attribution.hazard import touched_window_conversions
from imclab.errors import DataError

START = pd.Timestamp("2025-01-01")


def planted_world(
    effects: dict[str, float], n: int = 3000, days: int = 120, base: float = 0.002, seed: int = 3
):
    """Customers touched at random by channels; orders drawn from an additive hazard in
    which channel ``c`` adds ``effects[c]`` the day after a touch, halving every 3 days."""
    rng = np.random.default_rng(seed)
    ids = [f"K{i:05d}" for i in range(n)]
    rate = {"a": 0.03, "b": 0.05, "nav": 0.02}
    lam = 0.5 ** (1 / 3)
    hazard = np.full((n, days), base)
    parts = {}
    touches = []
    for ch, r in rate.items():
        counts = rng.poisson(r, size=(n, days))
        ci, di = np.nonzero(counts)
        for c, d, k in zip(ci, di, counts[ci, di], strict=True):
            touches += [(ids[c], d, ch)] * int(k)
        ad = np.zeros((n, days))
        for d in range(1, days):
            ad[:, d] = lam * ad[:, d - 1] + counts[:, d - 1]
        parts[ch] = effects.get(ch, 0.0) * ad
        hazard += parts[ch]
    orders = rng.random((n, days)) < -np.expm1(-hazard)
    oc, od = np.nonzero(orders)
    # the truth as the simulator defines it: each order split in the shares of its hazard
    credit = pd.Series({ch: (parts[ch][oc, od] / hazard[oc, od]).sum() for ch in rate})
    tp = pd.DataFrame(touches, columns=["customer_id", "day", "channel"])
    tp["timestamp"] = (START + pd.to_timedelta(tp["day"], "D") + pd.Timedelta(hours=12)).astype(str)
    tp["interaction"] = "click"
    tp["campaign"] = np.where(tp["channel"] == "a", "launch", "always_on")
    cv = pd.DataFrame(
        {
            "customer_id": np.array(ids)[oc],
            "timestamp": (START + pd.to_timedelta(od, "D") + pd.Timedelta(hours=15)).astype(str),
            "revenue": 10.0,
        }
    )
    cu = pd.DataFrame({"customer_id": ids, "region": np.where(np.arange(n) % 5, "n", "w")})
    return tp.drop(columns="day"), cv, cu, credit / credit.sum() if credit.sum() else credit


def _panel(tp, cv, cu, navigational=("nav",), **kw):
    return build_panel(
        tp, cv, cu, interactions=["click"], navigational_channels=list(navigational), **kw
    )


@pytest.fixture(scope="module")
def only_a():
    return planted_world({"a": 0.02})


def test_only_the_causal_channel_gets_credit(only_a):
    tp, cv, cu, _ = only_a
    panel = _panel(tp, cv, cu)
    m = AdditiveHazard(n_boot=20).fit(panel)
    share = m.credit_.set_index("channel")["share"]
    assert set(share.index) == {"a", "b"}  # the navigational channel is no feature
    assert share["a"] > 0.95
    # the baseline explains the orders the touches did not cause: ~ base x customer-days
    assert m.baseline_conversions_ == pytest.approx(0.002 * 3000 * 119, rel=0.15)
    ci = m.intervals_.set_index("channel")
    assert ci.loc["a", "lo"] <= share["a"] <= ci.loc["a", "hi"]
    assert ci.loc["b", "hi"] < 0.1
    # deterministic: the same fit twice gives the same numbers
    again = AdditiveHazard(n_boot=20).fit(panel)
    pd.testing.assert_frame_equal(m.credit_, again.credit_)
    pd.testing.assert_frame_equal(m.intervals_, again.intervals_)


def test_credit_follows_the_planted_effects():
    tp, cv, cu, truth = planted_world({"a": 0.02, "b": 0.004, "nav": 0.0}, seed=20)
    m = AdditiveHazard(n_boot=30).fit(_panel(tp, cv, cu))
    share = m.credit_.set_index("channel")["share"]
    # touches of a: 0.03/day x 0.02; of b: 0.05/day x 0.004 -> a causes about 75 %
    assert truth["a"] == pytest.approx(0.75, abs=0.03)
    assert share["a"] == pytest.approx(truth["a"], abs=0.06)
    ci = m.intervals_.set_index("channel")
    for ch in ("a", "b"):  # the interval covers the truth
        assert ci.loc[ch, "lo"] <= truth[ch] <= ci.loc[ch, "hi"]
    coef = m.coef_.groupby("channel")["beta"].sum()
    assert coef["a"] > coef["b"]


def test_campaign_conversions_of_treated_customers_in_the_window(only_a):
    tp, cv, cu, _ = only_a
    panel = _panel(
        tp, cv, cu, campaign="launch", campaign_window=("2025-02-01", "2025-03-31"),
        holdout_regions=["w"],
    )  # fmt: skip
    m = AdditiveHazard(n_boot=20).fit(panel)
    # expected: treated customers (4/5) x days in window (59) x mean adstocked exposure of a
    # (0.03 / (1 - 0.5**(1/3)), stationary) x 0.02
    expected = 2400 * 59 * 0.03 / (1 - 0.5 ** (1 / 3)) * 0.02
    est, lo, hi = m.campaign_conversions_
    assert est == pytest.approx(expected, rel=0.2)
    assert lo <= est <= hi
    # path models would credit every touched conversion: far more than the lift
    assert touched_window_conversions(panel) > est


def test_heldout_loglik_rewards_exposures_only_when_they_cause_orders(only_a):
    tp, cv, cu, _ = only_a
    gain = heldout_loglik(_panel(tp, cv, cu)).set_index("model")["gain_per_conversion"]
    assert gain["additive_hazard"] > 0.05 and gain["baseline only"] == 0.0
    tp0, cv0, cu0, _ = planted_world({}, seed=5)
    gain0 = heldout_loglik(_panel(tp0, cv0, cu0)).set_index("model")["gain_per_conversion"]
    assert gain0["additive_hazard"] < 0.01


def test_orders_by_unknown_customers_are_an_error(only_a):
    tp, cv, cu, _ = only_a
    with pytest.raises(DataError, match="conversions: .*missing from the customers table"):
        _panel(tp, cv, cu.iloc[10:])


def test_simulated_world_beats_the_path_models(small_world):
    """On a world of another seed and size than the sample: close to the true shares."""
    import imclab.attribution as attr
    from imclab.data.load import load_world
    from imclab.simulate import load_truth

    w = load_world(small_world)
    tables = {k: getattr(w, k) for k in ("touchpoints", "conversions", "customers")}
    nav = ["direct"]
    panel = build_panel(
        *tables.values(), interactions=["impression", "click", "open", "visit"],
        navigational_channels=nav,
    )  # fmt: skip
    hz = AdditiveHazard(n_boot=0).fit(panel)
    j = attr.build_journeys(None, tables["touchpoints"], tables["conversions"])
    paths = attr.drop_navigational(j.paths, nav, collapse_repeats=False).paths
    res = pd.concat([attr.run_models(paths), hz.credit_])
    scores = attr.score_models(res, load_truth(small_world)["channels"], exclude=nav)
    s = scores.set_index("model")
    assert s.loc["additive_hazard", "rank"] == 1
    assert s.loc["additive_hazard", "spearman"] >= 0.7


def test_a_navigational_group_drops_every_channel_in_it(only_a):
    tp, cv, cu, _ = only_a
    panel = build_panel(
        tp, cv, cu, interactions=["click"], navigational_channels=["brand"],
        channel_groups={"nav": "brand", "b": "brand"},
    )  # fmt: skip
    assert set(panel.features["channel"]) == {"a"}


def test_a_grouped_channel_is_named_by_its_group_as_in_the_paths(only_a):
    tp, cv, cu, _ = only_a
    panel = build_panel(
        tp, cv, cu, interactions=["click"], navigational_channels=["nav"],
        channel_groups={"nav": "owned", "b": "owned"},
    )  # fmt: skip
    # "nav" is not a channel of the paths (they say "owned"): nothing is dropped
    assert set(panel.features["channel"]) == {"a", "owned"}


def test_orders_before_sign_up_are_counted_not_used(only_a):
    tp, cv, cu, _ = only_a
    late = cu.assign(signup_date=np.where(np.arange(len(cu)) < 100, "2025-03-01", "2024-01-01"))
    panel = _panel(tp, cv, late)
    rep = panel.report.set_index("item")["count"]
    early = cv["customer_id"].isin(late["customer_id"][:100]) & (cv["timestamp"] < "2025-03-01")
    assert rep["orders before the customer's sign-up date (not used)"] == early.sum() > 0
    assert rep["orders on days at risk"] + early.sum() == len(cv)
    assert rep["customers followed"] == len(cu)
