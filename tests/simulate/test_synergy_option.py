"""The simulator's optional planted synergy and integration truth."""

from __future__ import annotations

import filecmp

import pandas as pd
import pytest

from imclab.cli import main
from imclab.errors import ParameterError
from imclab.simulate import load_truth, simulate_world

PAIR = ("edm", "paid_search")  # any order: stored in channel order


def test_zero_synergy_changes_nothing_but_writes_the_truth(tmp_path):
    plain = simulate_world(tmp_path / "plain", seed=5, n_customers=300)
    zero = simulate_world(tmp_path / "zero", seed=5, n_customers=300, synergy={PAIR: 0.0})
    for name in ("touchpoints.csv", "conversions.csv", "truth/channels.csv"):
        assert filecmp.cmp(plain / name, zero / name, shallow=False), name
    assert load_truth(plain).get("synergy") is None
    truth = load_truth(zero)["synergy"]
    assert len(truth) == 36 and (truth["extra_orders"] == 0).all()
    exposure = load_truth(zero)["exposure"]
    assert exposure.groupby("channel")["customers"].sum().eq(300).all()


def test_planted_synergy_adds_orders_with_the_same_touches(tmp_path):
    plain = simulate_world(tmp_path / "plain", seed=5, n_customers=300)
    planted = simulate_world(tmp_path / "planted", seed=5, n_customers=300,
                             synergy={PAIR: 20.0})  # fmt: skip
    # the same touches (but the navigational direct visits, which follow the orders)
    kept = "campaign != 'organic' or channel != 'direct'"
    touches = [pd.read_csv(w / "touchpoints.csv").query(kept).drop(columns="event_id")
               for w in (plain, planted)]  # fmt: skip
    pd.testing.assert_frame_equal(touches[0].reset_index(drop=True),
                                  touches[1].reset_index(drop=True))  # fmt: skip
    more = len(pd.read_csv(planted / "conversions.csv"))
    assert more > len(pd.read_csv(plain / "conversions.csv"))
    row = (
        load_truth(planted)["synergy"]
        .set_index(["channel_a", "channel_b"])
        .loc[("paid_search", "edm")]
    )
    assert row["factor"] == 20.0 and row["extra_orders"] > 0 and row["customers_both"] > 0
    assert row["extra_orders_per_customer"] == pytest.approx(
        row["extra_orders"] / row["customers_both"], rel=1e-4
    )


@pytest.mark.parametrize(
    "synergy, words",
    [({("edm", "tiktok"): 1.0}, "two different channels"),
     ({("edm", "edm"): 1.0}, "two different channels"),
     ({("edm", "tv"): -1.0}, ">= 0")],
)  # fmt: skip
def test_bad_synergy_is_refused(tmp_path, synergy, words):
    with pytest.raises(ParameterError, match=words):
        simulate_world(tmp_path, n_customers=100, synergy=synergy)


def test_cli_synergy_option(tmp_path, capsys):
    assert main(["simulate", "--customers", "100", "--seed", "3", "--out", str(tmp_path / "w"),
                 "--synergy", "social:edm=1.5"]) == 0  # fmt: skip
    truth = load_truth(tmp_path / "w")["synergy"]
    assert truth.loc[truth["factor"] > 0, ["channel_a", "channel_b"]].values.tolist() == [
        ["social", "edm"]
    ]
    assert main(["simulate", "--out", str(tmp_path / "x"), "--synergy", "social-edm"]) != 0
    assert "CHANNEL_A:CHANNEL_B=FACTOR" in capsys.readouterr().err
