"""One planted world and one fitted marketing-mix model per test session.

The planted world is made by hand from the model's own formula, so every channel's true
contribution and ROAS is known: three channels with clearly different returns (paid search
high, social middle, TV low), a weekday pattern, a campaign burst on top of always-on spend,
and Poisson orders. It goes through the same entry point as real data (``build_input`` on
spend and conversions tables).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from imclab.mmm.model import geometric_adstock, logistic

CHANNELS = ["paid_search", "social", "tv"]
CEILING = {"paid_search": 30.0, "social": 12.0, "tv": 4.0}  # most orders a day
HALF = {"paid_search": 150.0, "social": 150.0, "tv": 150.0}  # daily spend at half the ceiling
ALPHA = {"paid_search": 0.3, "social": 0.5, "tv": 0.7}  # adstock retention
L_MAX = 7
REVENUE = 50.0  # every order


@dataclass
class Planted:
    spend: pd.DataFrame
    conversions: pd.DataFrame
    contribution: pd.DataFrame  # true orders caused per day and channel
    start: pd.Timestamp
    end: pd.Timestamp  # the campaign

    channels = CHANNELS
    revenue = REVENUE

    def caused_without_campaign(self) -> pd.DataFrame:
        """True orders each channel would have caused per day with always-on spend only."""
        sp = self.spend[self.spend["campaign"] == "always_on"]
        out = {}
        for c in CHANNELS:
            x = sp[sp["channel"] == c].set_index("date")["spend"]
            x.index = pd.to_datetime(x.index)
            x = x.reindex(self.contribution.index, fill_value=0.0).to_numpy()
            lam = np.log(3.0) / HALF[c]
            out[c] = CEILING[c] * logistic(lam * geometric_adstock(x, ALPHA[c], L_MAX))
        return pd.DataFrame(out, index=self.contribution.index)

    @property
    def true_roas(self) -> pd.Series:
        total = self.spend.groupby("channel")["spend"].sum()
        return (self.contribution.sum() * REVENUE / total).reindex(CHANNELS)


def _planted(seed: int = 11) -> Planted:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2025-01-01", periods=182, freq="D")
    start, end = days[70], days[139]
    rows, contrib = [], {}
    for i, c in enumerate(CHANNELS):
        always = 60.0 * rng.lognormal(0.0, 0.5, len(days))
        camp = np.where(
            (days >= start) & (days <= end), 120.0 * rng.lognormal(0, 0.6, len(days)), 0
        )
        camp = np.where(rng.random(len(days)) < 0.3 + 0.1 * i, 0.0, camp)  # channels differ
        rows.append(pd.DataFrame({"date": days, "channel": c, "campaign": "always_on",
                                  "spend": always.round(2)}))  # fmt: skip
        rows.append(pd.DataFrame({"date": days, "channel": c, "campaign": "launch",
                                  "spend": camp.round(2)}))  # fmt: skip
        x = always.round(2) + camp.round(2)
        lam = np.log(3.0) / HALF[c]
        contrib[c] = CEILING[c] * logistic(lam * geometric_adstock(x, ALPHA[c], L_MAX))
    spend = pd.concat(rows, ignore_index=True)
    spend = spend[spend["spend"] > 0].reset_index(drop=True)
    spend["date"] = spend["date"].dt.strftime("%Y-%m-%d")
    contribution = pd.DataFrame(contrib, index=days)
    weekday = np.array([0.0, 0.0, 1.0, 2.0, 4.0, 6.0, 3.0])[days.dayofweek]
    orders = rng.poisson(25.0 + weekday + contribution.sum(axis=1).to_numpy())
    stamp = np.repeat(days, orders) + pd.Timedelta(hours=12)
    conversions = pd.DataFrame(
        {"order_id": [f"O{i:06d}" for i in range(orders.sum())], "timestamp": stamp,
         "revenue": REVENUE}
    )  # fmt: skip
    return Planted(spend, conversions, contribution, start, end)


@pytest.fixture(scope="session")
def planted() -> Planted:
    """The planted world (tables and truth)."""
    return _planted()


@pytest.fixture(scope="session")
def fitted(planted):
    """The marketing-mix model fitted once on the planted world (short chains)."""
    from imclab.mmm import MarketingMix, build_input

    data = build_input(planted.spend, planted.conversions, campaign="launch", channels=CHANNELS)
    return MarketingMix(l_max=L_MAX, draws=250, tune=300, chains=2, random_state=3).fit(data)


#: Measured shares planted for the share-likelihood test: the true split, but TV credited
#: 1.6x its true share (the others scaled down), with a tight error.
TV_FACTOR = 1.6
SHARE_SD = 0.01


@pytest.fixture(scope="session")
def planted_shares(planted) -> pd.DataFrame:
    """Channel shares as a customer-level attribution would hand them, TV overstated."""
    caused = planted.contribution.sum()
    caused["tv"] *= TV_FACTOR
    share = caused / caused.sum()
    return pd.DataFrame({"channel": CHANNELS, "share": share.reindex(CHANNELS).to_numpy(),
                         "sd": SHARE_SD})  # fmt: skip


@pytest.fixture(scope="session")
def fitted_shares(planted, planted_shares):
    """The same model and sampler settings as ``fitted``, with the planted shares added."""
    from imclab.mmm import MarketingMix, build_input

    data = build_input(planted.spend, planted.conversions, campaign="launch", channels=CHANNELS)
    return MarketingMix(l_max=L_MAX, draws=250, tune=300, chains=2, random_state=3).fit(
        data, shares=planted_shares
    )
