"""Delivery curves: how many touches a day of spend buys, per channel, fitted from the logs.

The marketing-mix model pins each channel's *average* return (its contribution over the
window, with the attribution's shares and the holdout), but not the *shape* of its response
curve: during a campaign every channel's spend rises together, so the daily orders cannot
say where each channel saturates, and the optimiser works on exactly that (the marginal
return at each spend level). Most of that shape is observable without any model of orders:
the touchpoints log says how many exposures (impressions, clicks, opens) each day's spend
bought. As with an ad platform's delivery (reach) curve, or Meridian's reach and frequency
input, the curve is fitted from the data::

    touches_c,t ~ Poisson(T_c * hill(spend_c,t; K_c, alpha_c))

per channel on the days with spend. Either all streams of the channel summed (always-on and
campaigns; the curve is then a function of the channel's total daily spend and a campaign's
budget is read on top of the always-on spend), or, given ``campaign``, the campaign's own
stream: its daily spend against the touches it bought (the touchpoints' ``campaign``
column). The campaign stream is what a campaign's budget buys, and touches of different
streams add up in the order hazard, so its curve needs no always-on base underneath; it is
what notebook 04 hands over (:attr:`DeliveryCurves.campaign_`). The fit minimises the
Poisson deviance plus a weak prior ``log(alpha) ~ Normal(0, ALPHA_PRIOR_SD)`` that keeps the
shape near a plain saturating curve when the spend range cannot tell; ``K`` and ``alpha`` are
bounded as :class:`imclab.review.budget.ResponseCurves` bounds them. Uncertainty: a bootstrap
over days (touches of a day do not carry over), refitted per replicate.

A channel's response curve in orders is then ``e_c * T_c * hill(s; K_c, alpha_c)``, where
``e_c`` is the orders one touch causes on average: the MMM's contribution over its window
divided by the channel's touches there, per posterior draw
(:meth:`imclab.mmm.PosteriorCurves.from_delivery`). The MMM keeps the level (orders per
touch, calibrated), the log gives the shape; pairing each posterior draw with a bootstrap
replicate carries both uncertainties into the optimiser's gain interval.

Measured against the simulator's true curves on three worlds in ``benchmarks/README.md``
(``bench_mmm``): with the simulator's true orders per touch, delivery curves fitted on the
campaign's own stream let the optimiser capture 96-99 % of the available gain, on all
streams summed (with the always-on base under the budget) 92-96 %.

Public: :func:`daily_delivery`, :class:`DeliveryCurves`, :func:`fit_delivery`,
:data:`ALPHA_PRIOR_SD`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError
from imclab.review.budget import hill

__all__ = ["ALPHA_PRIOR_SD", "DeliveryCurves", "daily_delivery", "fit_delivery"]

#: Standard deviation of the prior on ``log(alpha)`` (the Hill shape) of a delivery curve.
ALPHA_PRIOR_SD = 0.5

_COLUMNS = ["channel", "touches_max", "K", "alpha"]


@quiet
def daily_delivery(
    touchpoints, spend: pd.DataFrame, channels: Sequence[str], campaign: str | None = None
) -> pd.DataFrame:
    """Daily spend and touches per channel, every day of the spend table.

    Parameters
    ----------
    touchpoints
        ``timestamp``, ``channel`` and, with ``campaign``, ``campaign`` (pandas or an Ibis
        table; counted where it lives).
    spend
        The spend table (``date``, ``channel``, ``spend``; with ``campaign``, ``campaign``).
    channels
        Channels to keep (e.g. the MMM's :attr:`~imclab.mmm.MMMInput.channels`).
    campaign
        Keep only this campaign's stream (its spend and the touches logged under it);
        ``None``: all streams summed.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``channel``, ``spend``, ``touches`` (of the stream) and ``all_touches``
        (every stream's touches that day: the orders per touch are counted on them): one row
        per channel and day from the spend table's first to last date of any stream
        (zero-filled), sorted by channel and date. ``attrs["campaign"]`` is ``campaign``.
    """
    channels = list(channels)
    extra = ("campaign",) if campaign is not None else ()
    needed = (("spend", ("date", "channel", "spend", *extra), spend),
              ("touchpoints", ("timestamp", "channel", *extra), touchpoints))  # fmt: skip
    for name, cols, df in needed:
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"{name}: missing column(s) {', '.join(missing)} (needed for the "
                            "delivery curves)")  # fmt: skip
    s = spend.assign(date=pd.to_datetime(spend["date"]).dt.normalize(),
                     channel=spend["channel"].astype(str))  # fmt: skip
    s = s[s["channel"].isin(channels)]
    first, last = s["date"].min(), s["date"].max()  # every stream's days: all_touches counts them
    if campaign is not None:
        s = s[s["campaign"].astype(str) == campaign]
        if s.empty:
            raise DataError(f"spend: no spend of campaign {campaign!r} on the channels "
                            f"{channels} (needed for its delivery curves)")  # fmt: skip
    s = s.groupby(["channel", "date"])["spend"].sum()
    t = to_ibis(touchpoints, "touchpoints", ["timestamp", "channel", *extra])
    t = t.filter(t.channel.cast("string").isin(channels))
    t = t.mutate(mine=(t.campaign.cast("string") == campaign).cast("int64") if campaign else 1)
    counted = (
        t.group_by(channel=t.channel.cast("string"), date=t.timestamp.cast("timestamp").date())
        .agg(touches=t.mine.sum(), all_touches=t.count())
        .execute()
    )
    counted["date"] = pd.to_datetime(counted["date"])
    counted = counted.set_index(["channel", "date"])
    days = pd.date_range(first, last, freq="D")
    grid = pd.MultiIndex.from_product([sorted(channels), days], names=["channel", "date"])
    out = pd.DataFrame(
        {
            "spend": s.reindex(grid, fill_value=0.0).astype(float),
            "touches": counted["touches"].reindex(grid, fill_value=0).astype(float),
            "all_touches": counted["all_touches"].reindex(grid, fill_value=0).astype(float),
        }
    ).reset_index()
    out = out[["date", "channel", "spend", "touches", "all_touches"]]
    out.attrs["campaign"] = campaign
    return out


def _fit_curve(x: np.ndarray, y: np.ndarray, w: np.ndarray, prior_sd: float, starts=None):
    """Poisson-deviance fit of ``T * hill(x; K, alpha)``; returns (log T, log K, log alpha)."""
    top = max(float(y.max()), 1.0)
    lower = np.array([np.log(0.5 * top), np.log(0.05 * x.min()), np.log(0.5)])
    upper = np.array([np.log(1e4 * top), np.log(20.0 * x.max()), np.log(3.0)])
    sw = np.sqrt(w)

    def resid(th):
        m = np.maximum(np.exp(th[0]) * hill(x, np.exp(th[1]), np.exp(th[2])), 1e-12)
        unit = np.where(y > 0, y * np.log(np.maximum(y, 1e-12) / m), 0.0) - (y - m)
        dev = np.sign(y - m) * np.sqrt(2.0 * np.maximum(unit, 0.0))
        return np.concatenate([sw * dev, [th[2] / prior_sd]])

    if starts is None:
        med = float(np.median(x))
        starts = [np.array([np.log(top * m), np.log(med * k), 0.0])
                  for k in (0.5, 1.0, 3.0) for m in (1.5, 3.0)]  # fmt: skip
    best = None
    for th0 in starts:
        res = least_squares(resid, np.clip(th0, lower + 1e-6, upper - 1e-6), bounds=(lower, upper))
        if best is None or res.cost < best.cost - 1e-12:
            best = res
    return best.x


class DeliveryCurves:
    """Per-channel delivery curves (touches a day against daily spend) with a day bootstrap.

    Parameters
    ----------
    n_bootstrap
        Bootstrap replicates over days (0: none).
    alpha_prior_sd
        Standard deviation of the prior on ``log(alpha)``.
    min_days
        Days with spend a channel needs.
    random_state
        Seed of the bootstrap.

    Attributes
    ----------
    params_
        ``channel``, ``touches_max`` (most touches a day), ``K`` (daily spend at half of
        it), ``alpha`` (shape), ``spend_days``, ``min_spend``, ``max_spend``.
    draws_
        ``channel``, ``draw``, ``touches_max``, ``K``, ``alpha`` (one row per replicate).
    daily_
        The fitted :func:`daily_delivery` frame.
    campaign_
        The campaign whose own stream the curves describe (``daily.attrs["campaign"]``), or
        ``None``: all streams summed.
    """

    def __init__(
        self,
        n_bootstrap: int = 100,
        alpha_prior_sd: float = ALPHA_PRIOR_SD,
        min_days: int = 14,
        random_state: int = 0,
    ) -> None:
        self.n_bootstrap = n_bootstrap
        self.alpha_prior_sd = alpha_prior_sd
        self.min_days = min_days
        self.random_state = random_state

    def fit(self, daily: pd.DataFrame) -> DeliveryCurves:
        """Fit every channel of ``daily`` (:func:`daily_delivery`); returns ``self``."""
        if self.alpha_prior_sd <= 0 or self.n_bootstrap < 0:
            raise ParameterError("DeliveryCurves: alpha_prior_sd must be > 0 and n_bootstrap "
                                 ">= 0")  # fmt: skip
        rng = np.random.default_rng(self.random_state)
        rows, draws = [], []
        for channel, g in daily.groupby("channel", sort=True):
            g = g[g["spend"] > 0]
            if len(g) < self.min_days:
                raise DataError(
                    f"delivery curves: channel {channel!r} has spend on {len(g)} days, fewer "
                    f"than the {self.min_days} needed to fit how many touches spend buys"
                )
            if g["touches"].sum() <= 0:
                raise DataError(
                    f"delivery curves: the touchpoints log has no touch of channel {channel!r} "
                    "on its days with spend; check that touchpoints and spend name the channel "
                    "alike"
                )
            x, y = g["spend"].to_numpy(float), g["touches"].to_numpy(float)
            th = _fit_curve(x, y, np.ones_like(x), self.alpha_prior_sd)
            rows.append([channel, *np.exp(th), len(g), x.min(), x.max()])
            for b in range(self.n_bootstrap):
                w = np.bincount(rng.integers(0, len(x), len(x)), minlength=len(x)).astype(float)
                tb = _fit_curve(x, y, w, self.alpha_prior_sd, starts=[th])
                draws.append([channel, b, *np.exp(tb)])
        self.params_ = pd.DataFrame(
            rows, columns=[*_COLUMNS, "spend_days", "min_spend", "max_spend"]
        )
        self.draws_ = pd.DataFrame(draws, columns=["channel", "draw", *_COLUMNS[1:]])
        self.daily_ = daily
        self.campaign_ = daily.attrs.get("campaign")
        return self

    def touches(self, channel: str, daily_spend, draws: bool = False) -> np.ndarray:
        """Touches a day at ``daily_spend``: the fit, or one row per bootstrap replicate."""
        s = np.atleast_1d(np.asarray(daily_spend, dtype=float))
        p = self.draws_ if draws else self.params_
        p = p[p["channel"] == channel]
        if p.empty:
            raise ParameterError(f"delivery curves: unknown channel {channel!r}")
        out = np.vstack(
            [
                t * hill(s, k, a)
                for t, k, a in zip(p["touches_max"], p["K"], p["alpha"], strict=True)
            ]  # fmt: skip
        )
        return out if draws else out[0]


def fit_delivery(
    touchpoints, spend: pd.DataFrame, channels: Sequence[str], campaign: str, random_state: int = 0
) -> tuple[DeliveryCurves, str | None]:
    """Delivery curves for a campaign's budget: its own stream's, else all streams'.

    The campaign's own stream is what its budget buys (module text); when it cannot be
    fitted (a channel with fewer days of the campaign's spend than
    :class:`DeliveryCurves` needs, or no ``campaign`` column in the touchpoints), the curves
    of all streams summed are fitted instead, and the budget then goes on top of the
    always-on spend (:func:`imclab.review.budget.curve_base`).

    Returns
    -------
    tuple
        The fitted :class:`DeliveryCurves` and ``None``, or the all-streams curves and one
        sentence saying why.
    """
    try:
        own = daily_delivery(touchpoints, spend, channels, campaign)
        return DeliveryCurves(random_state=random_state).fit(own), None
    except DataError as err:
        daily = daily_delivery(touchpoints, spend, channels)
        note = (
            f"Delivery curves of all streams (the budget goes on top of always-on): the "
            f"campaign's own stream could not be fitted ({err})."
        )
        return DeliveryCurves(random_state=random_state).fit(daily), note
