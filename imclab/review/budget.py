"""Where next campaign's money should go: per-channel response curves and a budget optimiser.

Each paid channel's daily attributed conversions are modelled as a Hill saturation curve of the
day's spend, carried over to later days by a geometric adstock; the optimiser then splits a
total budget across channels to maximise expected conversions (or conversion value).

Public functions
----------------
- :func:`daily_spend` (spend table -> ``date, channel, spend``, campaigns summed, zero-filled)
- :func:`daily_credit` (touchpoints + conversions -> ``date, channel, conversions``: a simple
  documented daily attribution run where the event tables live (pandas through DuckDB, or
  Ibis tables on DuckDB or Spark); any ``date, channel, conversions`` frame works)
- :func:`response_data` (daily spend + daily credit -> the table :class:`ResponseCurves` fits)
- :class:`ResponseCurves` (sklearn-style: ``fit(data)``, ``params_``, ``draws_``,
  ``response()``, ``marginal()``, ``curve_frame()``; ``ResponseCurves.from_params(frame)``)
- :func:`true_response_curves` (simulator truth -> curve parameters in the same form)
- :func:`actual_allocation` (spend per channel in a date window)
- :func:`base_daily_spend` (mean daily spend of the other, e.g. always-on, streams in a window:
  the point on each curve a campaign's budget is added to)
- :func:`curve_base` (that base where the curves are of total spend; zero under curves of a
  campaign's own spend)
- :func:`optimize_budget` (curves + total + bounds -> :class:`BudgetPlan`: recommended vs
  actual allocation, expected conversions, gain with an interval, marginal ROI)
- :func:`budget_bounds` (the bounds policy: actual mix scaled to the next budget, then
  ``settings.bound_multiples`` of it; always feasible; also for the marketing-mix optimiser)
- :func:`budget_inputs` (world + plan settings -> :class:`BudgetInputs`: the campaign's
  actual split, the total, the bounds, the days and the always-on base of one budget split)
- :func:`hill`, :func:`adstock`

The model
---------
For channel c and day t with spend ``x_t``::

    h_t = x_t**alpha / (x_t**alpha + K**alpha)          (Hill saturation, 0..1)
    A_t = carryover * A_{t-1} + (1 - carryover) * h_t  (normalised geometric adstock, A_-1 = 0)
    E[conversions_t] = beta * A_t

``beta`` is the most conversions a day of spend can bring, ``K`` the daily spend that brings
half of it, ``alpha`` the shape (> 1: S-shaped) and ``carryover`` the share of the effect that
spills into the next day. The adstock is normalised, so a day's spend brings ``beta * h`` in
total over the following days: **the response curve** ``f(s) = beta * hill(s)`` is the total
conversions caused by spending ``s`` per day, and carry-over matters for fitting, not for
allocation. A budget ``B`` over ``n_days`` days spent evenly brings ``n_days * f(B / n_days)``.
The curves are fitted on a channel's TOTAL daily spend (always-on and campaign streams), so
when always-on media keeps running at ``b`` per day the campaign budget brings only what it
adds on top: ``n_days * (f(b + B / n_days) - f(b))``, and its marginal return is read at
``f'(b + B / n_days)`` (``base_daily_spend`` of :func:`optimize_budget`).
Fitting: bounded least squares (``scipy.optimize.least_squares``) from a fixed grid of starts;
uncertainty: moving-block bootstrap over days (7-day blocks, fixed seed), refitting each draw.

Caveat: attributed credit is not incrementality (it also credits orders that would have happened
anyway), so curves fitted to it over-state levels and can mis-rank channels. Keep the optimiser
inside the spend range the curves have seen with ``bounds`` (:func:`budget_bounds`): on
the sample world, with such bounds, the recommendation beats the actual mix in true outcome for
time-decay and linear credit (a test checks it); unbounded it may not.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize
from scipy.signal import lfilter
from sklearn.base import BaseEstimator

from imclab.config import BOUND_MULTIPLES, LOOKBACK_DAYS, PAID_CHANNELS
from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError
from imclab.review.experiments import ReviewWarning

__all__ = [
    "CREDIT_MODELS",
    "BudgetInputs",
    "BudgetPlan",
    "ResponseCurves",
    "actual_allocation",
    "adstock",
    "base_daily_spend",
    "budget_bounds",
    "budget_inputs",
    "curve_base",
    "daily_credit",
    "daily_spend",
    "hill",
    "optimize_budget",
    "response_data",
    "true_response_curves",
]

CREDIT_MODELS = ("linear", "last_touch", "first_touch", "time_decay")
"""Daily credit rules of :func:`daily_credit`."""

_PARAMS = ["beta", "K", "alpha", "carryover"]


def _warn(message: str) -> None:
    warnings.warn(message, ReviewWarning, stacklevel=3)


def _require(df: pd.DataFrame | ir.Table, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{table}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, df.columns))})"
        )


# --------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------
def hill(s: np.ndarray | float, K: float, alpha: float) -> np.ndarray:  # noqa: N803
    """Hill saturation ``s**alpha / (s**alpha + K**alpha)`` (0 at zero spend, 1/2 at ``K``)."""
    s = np.clip(np.asarray(s, dtype=float), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s > 0, (K / np.where(s > 0, s, 1.0)) ** alpha, np.inf)
    return 1.0 / (1.0 + ratio)


def _hill_prime(s: np.ndarray, K: float, alpha: float) -> np.ndarray:  # noqa: N803
    s = np.clip(np.asarray(s, dtype=float), 1e-9, None)
    h = hill(s, K, alpha)
    return alpha * h * (1.0 - h) / s


def adstock(x: np.ndarray, carryover: float) -> np.ndarray:
    """Normalised geometric adstock: ``A_t = c A_{t-1} + (1 - c) x_t`` with ``A_-1 = 0``."""
    return lfilter([1.0 - carryover], [1.0, -carryover], np.asarray(x, dtype=float))


# --------------------------------------------------------------------------------------
# Daily inputs
# --------------------------------------------------------------------------------------
def _calendar(start, end) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D")


def daily_spend(
    spend: pd.DataFrame,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    campaigns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Total spend per channel and day (campaign streams summed), every day of the window.

    Parameters
    ----------
    spend
        The spend table (``date``, ``channel``, ``campaign``, ``spend``).
    start, end
        Window (inclusive); default: the table's first and last date.
    campaigns
        Keep only these campaigns (default: all).

    Returns
    -------
    pandas.DataFrame
        ``date``, ``channel``, ``spend``; days without a row are 0; sorted by channel, date.
    """
    _require(spend, "spend", ("date", "channel", "campaign", "spend"))
    df = spend.assign(channel=spend["channel"].astype(str))
    if campaigns is not None:
        df = df[df["campaign"].isin(list(campaigns))]
    if df.empty:
        raise DataError(
            "spend: no rows" + (f" for campaigns {list(campaigns)}" if campaigns else "")
        )
    dates = pd.to_datetime(df["date"]).dt.normalize()
    days = _calendar(start or dates.min(), end or dates.max())
    grid = pd.MultiIndex.from_product(
        [sorted(df["channel"].unique()), days], names=["channel", "date"]
    )
    out = (
        df.assign(date=dates)
        .groupby(["channel", "date"], observed=True)["spend"]
        .sum()
        .reindex(grid, fill_value=0.0)
        .reset_index()
    )
    return out[["date", "channel", "spend"]]


def _timestamp(col: ir.Value) -> ir.TimestampValue:
    return col if col.type().is_timestamp() else col.cast("timestamp")


def _credited_touches(tp: ir.Table, cv: ir.Table, lookback_days: float) -> ir.Table:
    """Assign each touch to the conversion it credits (the rule of the attribution journeys).

    The rule and the computation are those of :mod:`imclab.attribution.journeys` (one sort of
    each customer's events). ``tp`` has ``customer_id, ts, event_id, channel``; ``cv`` has
    ``customer_id, ts, order_id`` (rows without customer or timestamp are left out). A touch
    belongs to the customer's first conversion at or after it (ties: the touch first, then
    the lowest order id), so it credits at most one conversion and never one before the
    previous order; it counts when it lies within ``lookback_days`` of that conversion.
    Returns the touches that count: ``customer_id, conv_no`` (the journey), ``conv_ts``,
    ``ts``, ``event_id``, ``channel`` and ``lag_s`` (seconds before the conversion).
    """
    from imclab.attribution.journeys import event_stream

    ev = event_stream(tp, cv).rename(conv_ts="next_conv")
    t = ev.filter((ev.kind == 0) & ev.conv_ts.notnull())
    t = t.select(
        "customer_id", "conv_no", "conv_ts", "ts", "event_id", "channel",
        lag_s=t.conv_ts.epoch_seconds() - t.ts.epoch_seconds(),
    )  # fmt: skip
    return t.filter(t.lag_s <= lookback_days * 86_400.0)


@quiet
def daily_credit(
    touchpoints: pd.DataFrame | ir.Table,
    conversions: pd.DataFrame | ir.Table,
    model: str = "linear",
    lookback_days: int = LOOKBACK_DAYS,
    half_life_days: float = 7.0,
    interactions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Credit each order to the channels that touched the buyer before it; sum per day.

    A conversion's touches are the buyer's touches in the ``lookback_days`` before it (a touch
    at the order's timestamp counts) and after the buyer's previous order, as in
    :mod:`imclab.attribution.journeys`. ``model`` splits one conversion among them:
    ``linear`` (equally per touch), ``last_touch``, ``first_touch`` or ``time_decay`` (weight
    halving every ``half_life_days`` before the order). Credit is dated on the order's day.

    Parameters
    ----------
    touchpoints
        ``event_id, customer_id, timestamp, channel`` (and ``interaction`` when
        ``interactions`` is given): a pandas DataFrame or an Ibis table (DuckDB, Spark).
    conversions
        ``order_id, customer_id, timestamp``: pandas or Ibis. Both are reduced where they
        live; only the daily credit per channel comes back.
    model
        One of :data:`CREDIT_MODELS`.
    lookback_days
        Length of a conversion's lookback window in days.
    half_life_days
        Half-life of the ``time_decay`` weights.
    interactions
        Interaction types that count (default: every touch).

    Returns
    -------
    pandas.DataFrame
        ``date``, ``channel``, ``conversions`` (fractional credit, rounded to 9 decimals),
        sorted by date and channel; orders without a touch are counted in
        ``df.attrs["orders_without_touch"]`` (they credit no channel).
    """
    if model not in CREDIT_MODELS:
        raise ParameterError(f"daily_credit: model must be one of {CREDIT_MODELS}, got {model!r}")
    if lookback_days < 1:
        raise ParameterError(f"daily_credit: lookback_days must be >= 1, got {lookback_days}")
    tp_cols = ["event_id", "customer_id", "timestamp", "channel"]
    if interactions is not None:
        tp_cols.append("interaction")
    _require(touchpoints, "touchpoints", tp_cols)
    _require(conversions, "conversions", ("order_id", "customer_id", "timestamp"))
    raw_tp = to_ibis(touchpoints, "touchpoints", tp_cols)
    raw_cv = to_ibis(conversions, "conversions", ["order_id", "customer_id", "timestamp"])
    if interactions is not None:
        raw_tp = raw_tp.filter(raw_tp.interaction.cast("string").isin(list(interactions)))
    tp = raw_tp.select(
        customer_id=raw_tp.customer_id.cast("string"),
        ts=_timestamp(raw_tp.timestamp),
        event_id=raw_tp.event_id.cast("string"),
        channel=raw_tp.channel.cast("string"),
    )
    cv = raw_cv.select(
        customer_id=raw_cv.customer_id.cast("string"),
        ts=_timestamp(raw_cv.timestamp),
        order_id=raw_cv.order_id.cast("string"),
    )
    tp = tp.filter(tp.customer_id.notnull() & tp.ts.notnull())
    cv = cv.filter(cv.customer_id.notnull() & cv.ts.notnull())
    t = _credited_touches(tp, cv, float(lookback_days))
    journey = ["customer_id", "conv_no"]
    t = t.mutate(
        k_first=ibis.row_number().over(group_by=journey, order_by=["ts", "event_id"]),
        k_last=ibis.row_number().over(
            group_by=journey, order_by=[ibis.desc("ts"), ibis.desc("event_id")]
        ),
    )
    one, zero = ibis.literal(1.0, type="float64"), ibis.literal(0.0, type="float64")
    weight = {
        "linear": lambda: one,
        "last_touch": lambda: ibis.ifelse(t.k_last == 0, one, zero),
        "first_touch": lambda: ibis.ifelse(t.k_first == 0, one, zero),
        "time_decay": lambda: ibis.literal(0.5, type="float64").pow(
            t.lag_s.cast("float64") / 86_400.0 / float(half_life_days)
        ),
    }[model]()
    t = t.mutate(w=weight)
    t = t.mutate(share=t.w / t.w.sum().over(group_by=journey))
    # one row per touched order has k_first == 0: their sum counts the orders with a touch
    per_day = t.group_by(date=t.conv_ts.date(), channel=t.channel).agg(
        credit=t.share.sum(), orders=(t.k_first == 0).cast("int64").sum()
    )
    frame = per_day.execute()
    touched = int(frame["orders"].sum())
    n_orders = int(raw_cv.count().execute())
    frame = frame[frame["credit"] > 0]
    credit = pd.DataFrame(
        {
            "date": pd.to_datetime(frame["date"]).astype("datetime64[us]").to_numpy(),
            "channel": frame["channel"].astype(str).to_numpy(dtype=object),
            # rounded: engines sum in parallel, so the last bits would vary between runs
            "conversions": frame["credit"].astype(float).round(9).to_numpy(),
        }
    )
    credit = credit.sort_values(["date", "channel"], kind="mergesort", ignore_index=True)
    credit.attrs["orders_without_touch"] = n_orders - touched
    credit.attrs["model"] = model
    return credit


def response_data(
    spend: pd.DataFrame,
    credit: pd.DataFrame,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    channels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Join daily spend and daily credited conversions per channel over a common calendar.

    Parameters
    ----------
    spend
        The spend table (or the output of :func:`daily_spend`, columns ``date, channel,
        spend``).
    credit
        ``date``, ``channel``, ``conversions`` (e.g. :func:`daily_credit`).
    start, end
        Window (inclusive); default: the span of both inputs.
    channels
        Channels to keep (default: the paid channels of ``imclab.config.PAID_CHANNELS``
        found in either input). Channels with no spend row get zero spend.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``channel``, ``spend``, ``conversions``: every channel x day, zero-filled.
    """
    _require(credit, "daily credit", ("date", "channel", "conversions"))
    if "campaign" in spend.columns:
        spend = daily_spend(spend)
    _require(spend, "spend", ("date", "channel", "spend"))
    s_dates = pd.to_datetime(spend["date"]).dt.normalize()
    c_dates = pd.to_datetime(credit["date"]).dt.normalize()
    lo = pd.Timestamp(start) if start is not None else min(s_dates.min(), c_dates.min())
    hi = pd.Timestamp(end) if end is not None else max(s_dates.max(), c_dates.max())
    if channels is None:
        seen = set(spend["channel"]) | set(credit["channel"])
        channels = [c for c in PAID_CHANNELS if c in seen]
    grid = pd.MultiIndex.from_product(
        [list(channels), _calendar(lo, hi)], names=["channel", "date"]
    )
    s = spend.assign(date=s_dates, channel=spend["channel"].astype(str))
    s = s.groupby(["channel", "date"])["spend"].sum()
    c = credit.assign(date=c_dates, channel=credit["channel"].astype(str))
    c = c.groupby(["channel", "date"])["conversions"].sum()
    out = pd.DataFrame(
        {
            "spend": s.reindex(grid, fill_value=0.0),
            "conversions": c.reindex(grid, fill_value=0.0),
        }
    ).reset_index()
    return out[["date", "channel", "spend", "conversions"]]


# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------
def _predict(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    log_beta, log_k, alpha, carry = theta
    return np.exp(log_beta) * adstock(hill(x, np.exp(log_k), alpha), carry)


def _fit_one(x, y, weights, starts, lower, upper, tol=1e-8) -> tuple[np.ndarray, float]:
    sw = np.sqrt(weights)
    best, best_cost = None, np.inf
    for x0 in starts:
        res = least_squares(
            lambda th: sw * (_predict(th, x) - y),
            np.clip(x0, lower + 1e-9, upper - 1e-9),
            bounds=(lower, upper),
            method="trf",
            x_scale="jac",
            max_nfev=400,
            ftol=tol,
            xtol=tol,
        )
        if res.cost < best_cost - 1e-12:
            best, best_cost = res.x, res.cost
    return best, best_cost


class ResponseCurves(BaseEstimator):
    """Per-channel adstock + Hill response curves fitted to daily spend and credited conversions.

    Parameters
    ----------
    min_days
        Days with spend a channel needs for a curve; channels with fewer (or none) are left
        unfitted (``status`` ``too_few_days`` / ``no_spend``) with a :class:`ReviewWarning`.
    max_carryover
        Upper bound of the daily carry-over rate. Attributed credit of a touch lands on the
        day of the order it is credited to, up to the attribution lookback later, so credit
        curves carry over for weeks (fitted rates of 0.85-0.93 on the sample world).
    alpha_bounds
        Bounds of the Hill shape parameter.
    n_bootstrap
        Bootstrap refits (moving blocks of ``block_days`` days); 0 = no uncertainty.
    block_days
        Length of the bootstrap blocks (keeps the day-to-day carry-over inside a block).
    random_state
        Seed of the bootstrap.

    Attributes
    ----------
    params_
        One row per channel: ``channel``, ``status`` (``fitted``, ``no_spend``,
        ``too_few_days``), ``days``, ``spend_days``, ``mean_daily_spend``, ``max_daily_spend``,
        ``beta``, ``K``, ``alpha``, ``carryover``, ``r2``.
    draws_
        Bootstrap parameter draws: ``channel``, ``draw``, ``beta``, ``K``, ``alpha``,
        ``carryover``.
    """

    def __init__(
        self,
        min_days: int = 28,
        max_carryover: float = 0.95,
        alpha_bounds: tuple[float, float] = (0.5, 3.0),
        n_bootstrap: int = 50,
        block_days: int = 7,
        random_state: int = 0,
    ) -> None:
        self.min_days = min_days
        self.max_carryover = max_carryover
        self.alpha_bounds = alpha_bounds
        self.n_bootstrap = n_bootstrap
        self.block_days = block_days
        self.random_state = random_state

    def fit(self, data: pd.DataFrame) -> ResponseCurves:
        """Fit every channel of ``data`` (``date``, ``channel``, ``spend``, ``conversions``).

        Raises
        ------
        DataError
            When no channel has enough days with spend to fit a curve.
        """
        _require(data, "response data", ("date", "channel", "spend", "conversions"))
        if not 0 <= self.max_carryover < 1:
            raise ParameterError(f"max_carryover must be in [0, 1), got {self.max_carryover}")
        if self.min_days < 7:
            raise ParameterError(f"min_days must be at least 7, got {self.min_days}")
        neg = data[(data["spend"] < 0) | (data["conversions"] < 0)]
        if len(neg):
            raise DataError(
                f"response data: {len(neg)} rows with negative spend or conversions, e.g. "
                f"{neg.iloc[0]['channel']} on {pd.Timestamp(neg.iloc[0]['date']).date()}"
            )
        rng = np.random.default_rng(self.random_state)
        rows, draws = [], []
        for channel, g in data.sort_values(["channel", "date"]).groupby("channel", sort=True):
            x = g["spend"].to_numpy(float)
            y = g["conversions"].to_numpy(float)
            spend_days = int((x > 0).sum())
            row = {
                "channel": channel,
                "status": "fitted",
                "days": len(g),
                "spend_days": spend_days,
                "mean_daily_spend": float(x.mean()),
                "max_daily_spend": float(x.max()),
                **dict.fromkeys([*_PARAMS, "r2"], np.nan),
            }
            if spend_days == 0:
                row["status"] = "no_spend"
                _warn(
                    f"response curves: channel {channel!r} has no spend in the {len(g)} days; "
                    "its curve is unknown (the optimiser keeps it at its lower bound)"
                )
            elif spend_days < self.min_days:
                row["status"] = "too_few_days"
                _warn(
                    f"response curves: channel {channel!r} has spend on {spend_days} days, "
                    f"fewer than the {self.min_days} needed to fit a response curve (the "
                    "optimiser keeps it at its lower bound)"
                )
            else:
                theta, draw = self._fit_channel(x, y, rng)
                pred = _predict(theta, x)
                ss = float(((y - y.mean()) ** 2).sum())
                row.update(
                    beta=float(np.exp(theta[0])),
                    K=float(np.exp(theta[1])),
                    alpha=float(theta[2]),
                    carryover=float(theta[3]),
                    r2=1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else np.nan,
                )
                draws.append(draw.assign(channel=channel))
            rows.append(row)
        self.params_ = pd.DataFrame(rows)
        if not (self.params_["status"] == "fitted").any():
            counts = ", ".join(
                f"{c}: {d}"
                for c, d in zip(self.params_["channel"], self.params_["spend_days"], strict=True)
            )
            raise DataError(
                f"response curves: no channel has the {self.min_days} days with spend needed "
                f"to fit a curve (days with spend: {counts})"
            )
        cols = ["channel", "draw", *_PARAMS]
        self.draws_ = (
            pd.concat(draws, ignore_index=True)[cols] if draws else pd.DataFrame(columns=cols)
        )
        return self

    def _fit_channel(self, x, y, rng) -> tuple[np.ndarray, pd.DataFrame]:
        pos = x[x > 0]
        k_lo, k_hi = np.log(pos.min() * 0.05), np.log(pos.max() * 20.0)
        y_top = max(float(y.max()), 1e-6)
        lower = np.array([np.log(1e-6 * y_top), k_lo, self.alpha_bounds[0], 0.0])
        upper = np.array([np.log(1e4 * y_top), k_hi, self.alpha_bounds[1], self.max_carryover])
        med = float(np.median(pos))
        starts = [
            np.array([np.log(y_top * m), np.log(med * k), a, c])
            for k, m in ((0.5, 1.5), (1.0, 2.0), (3.0, 4.0))
            for a, c in ((1.0, 0.3), (2.0, 0.7))
        ]
        weights = np.ones_like(x)
        theta, _ = _fit_one(x, y, weights, starts, lower, upper)
        n = len(x)
        n_blocks = -(-n // self.block_days)
        rows = []
        for b in range(self.n_bootstrap):
            first = rng.integers(0, n, size=n_blocks)
            idx = ((first[:, None] + np.arange(self.block_days)[None, :]) % n).ravel()[:n]
            w = np.bincount(idx, minlength=n).astype(float)
            th, _ = _fit_one(x, y, w, [theta], lower, upper, tol=1e-6)
            rows.append([b, float(np.exp(th[0])), float(np.exp(th[1])), float(th[2]), float(th[3])])
        return theta, pd.DataFrame(rows, columns=["draw", *_PARAMS])

    @classmethod
    def from_params(cls, params: pd.DataFrame) -> ResponseCurves:
        """Build curves from given parameters, e.g. the true curves (no bootstrap draws).

        ``params`` has ``channel``, ``beta``, ``K``, ``alpha`` and optionally ``carryover``
        and ``status``.
        """
        _require(params, "curve parameters", ("channel", "beta", "K", "alpha"))
        self = cls(n_bootstrap=0)
        p = params.copy()
        p["carryover"] = p["carryover"] if "carryover" in p else 0.0
        p["status"] = p["status"] if "status" in p else "fitted"
        self.params_ = p
        self.draws_ = pd.DataFrame(columns=["channel", "draw", *_PARAMS])
        return self

    def _row(self, channel: str) -> pd.Series:
        hit = self.params_[self.params_["channel"] == channel]
        if hit.empty:
            raise ParameterError(
                f"response curves: unknown channel {channel!r} "
                f"(known: {', '.join(self.params_['channel'])})"
            )
        return hit.iloc[0]

    def fitted_channels(self) -> list[str]:
        """Channels with a fitted curve."""
        return list(self.params_.loc[self.params_["status"] == "fitted", "channel"])

    def response(self, channel: str, daily_spend, draws: bool = False) -> np.ndarray:
        """Total conversions caused by spending ``daily_spend`` per day (``beta * hill``).

        With ``draws=True`` returns one row per bootstrap draw (shape ``(draws, len(s))``).
        """
        s = np.atleast_1d(np.asarray(daily_spend, dtype=float))
        if draws:
            d = self.draws_[self.draws_["channel"] == channel]
            if d.empty:
                return np.empty((0, len(s)))
            return d["beta"].to_numpy()[:, None] * np.vstack(
                [hill(s, k, a) for k, a in zip(d["K"], d["alpha"], strict=True)]
            ).reshape(len(d), len(s))
        r = self._row(channel)
        if r["status"] != "fitted":
            return np.zeros_like(s)
        return r["beta"] * hill(s, r["K"], r["alpha"])

    def marginal(self, channel: str, daily_spend) -> np.ndarray:
        """Extra conversions per extra unit of daily spend (the curve's derivative)."""
        s = np.atleast_1d(np.asarray(daily_spend, dtype=float))
        r = self._row(channel)
        if r["status"] != "fitted":
            return np.zeros_like(s)
        return r["beta"] * _hill_prime(s, r["K"], r["alpha"])

    def curve_frame(
        self, n_points: int = 60, max_spend: Mapping[str, float] | None = None, level: float = 0.9
    ) -> pd.DataFrame:
        """Tabulate the fitted curves on a spend grid with a bootstrap band (for plotting).

        Returns
        -------
        pandas.DataFrame
            ``channel``, ``spend`` (per day, 0 .. 2 x the largest observed daily spend or
            ``max_spend[channel]``), ``conversions`` and ``lower``/``upper`` (the ``level``
            bootstrap interval; equal to ``conversions`` without draws).
        """
        frames = []
        for channel in self.fitted_channels():
            r = self._row(channel)
            top = (max_spend or {}).get(channel) or 2.0 * r.get("max_daily_spend", 2 * r["K"])
            if not np.isfinite(top) or top <= 0:
                top = 4.0 * r["K"]
            s = np.linspace(0.0, top, n_points)
            mid = self.response(channel, s)
            lo = hi = mid
            d = self.response(channel, s, draws=True)
            if len(d):
                q = (1 - level) / 2
                lo, hi = np.quantile(d, q, axis=0), np.quantile(d, 1 - q, axis=0)
            frames.append(
                pd.DataFrame(
                    {"channel": channel, "spend": s, "conversions": mid, "lower": lo, "upper": hi}
                )
            )
        return pd.concat(frames, ignore_index=True)


def true_response_curves(truth: dict, n_customers: float | None = None) -> pd.DataFrame:
    """Return the simulator's true curves in :class:`ResponseCurves` form (``from_params``).

    ``imclab.simulate.true_response(truth, c, s, n)`` equals ``beta * hill(s, K, alpha)`` with
    ``beta = n * rmax * conversions_per_touch`` and ``K = K_world * n / 1000`` (the world's
    ``K`` is per 1,000 reachable customers). ``n_customers`` defaults to the world's size.
    """
    n = float(n_customers if n_customers is not None else truth["n_customers"])
    rows = [
        {
            "channel": ch,
            "beta": n * c["rmax"] * c["conversions_per_touch"],
            "K": c["K"] * n / 1000.0,
            "alpha": c["alpha"],
            "carryover": 0.0,
            "status": "fitted",
        }
        for ch, c in sorted(truth["response_curves"].items())
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Optimising
# --------------------------------------------------------------------------------------
def actual_allocation(
    spend: pd.DataFrame,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    campaigns: Sequence[str] | None = None,
) -> pd.Series:
    """Spend per channel in a window (inclusive), e.g. the campaign's actual allocation."""
    daily = daily_spend(spend, start, end, campaigns)
    in_window = daily
    if start is not None:
        in_window = in_window[in_window["date"] >= pd.Timestamp(start)]
    if end is not None:
        in_window = in_window[in_window["date"] <= pd.Timestamp(end)]
    return in_window.groupby("channel")["spend"].sum().rename("spend")


def budget_bounds(
    actual: pd.Series,
    total: float,
    multiples: Sequence[float] = BOUND_MULTIPLES,
) -> dict[str, tuple[float, float]]:
    """Per-channel spend bounds for the next budget: the bounds policy of the optimisers.

    Response curves are only trusted near the spend levels they were fitted on, so each
    channel is kept near its actual spend. The rule (the plan's ``settings.bound_multiples``,
    ``campaigns/README.md``): the actual mix is first scaled so that it adds up to ``total``,
    then each channel may move between ``low`` and ``high`` times its scaled spend. With
    ``low <= 1 <= high`` the lower bounds add up to at most ``total`` and the upper bounds to
    at least it, so the bounds are feasible whatever the actual spend against the plan (a
    world spending 10x or 0.1x the budget). Lower bounds are rounded down and upper bounds up
    to the cent, which keeps that true after rounding. Without any actual spend every channel
    may take 0 .. ``total``.

    Parameters
    ----------
    actual
        Spend per channel (e.g. :func:`actual_allocation`).
    total
        The budget to allocate (the plan's ``settings.next_budget``), > 0.
    multiples
        ``(low, high)`` with ``0 <= low <= 1 <= high``.

    Returns
    -------
    dict
        ``{channel: (lower, upper)}`` for :func:`optimize_budget`'s ``bounds``.
    """
    low, high = (float(v) for v in multiples)
    if not 0 <= low <= 1 <= high:
        raise ParameterError(
            f"budget bounds: expected multiples [low, high] with 0 <= low <= 1 <= high, "
            f"got [{low:g}, {high:g}]"
        )
    if not total > 0:
        raise ParameterError(f"budget bounds: the budget must be more than 0, got {total!r}")
    spent = actual.clip(lower=0).astype(float)
    if spent.sum() <= 0:
        return {str(channel): (0.0, round(float(total), 2)) for channel in spent.index}
    scaled = spent * (float(total) / spent.sum())
    return {
        str(channel): (math.floor(v * low * 100) / 100, math.ceil(v * high * 100) / 100)
        for channel, v in scaled.items()
    }


def base_daily_spend(
    spend: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    campaigns: str | Sequence[str],
) -> pd.Series:
    """Mean daily spend per channel of every stream except ``campaigns`` in a window.

    The response curves are fitted on a channel's total daily spend, so a campaign's budget
    is added on top of what the other streams (always-on media) spend at the same time. This
    is that base: the spend of all other campaigns in ``start..end`` (inclusive) divided by
    the number of days in the window (days without spend count as 0), for
    ``optimize_budget(..., base_daily_spend=)`` and
    ``imclab.interactive.budget_simulator(..., base_daily_spend=)``.

    Parameters
    ----------
    spend
        The spend table (``date``, ``channel``, ``campaign``, ``spend``).
    start, end
        The window (inclusive), e.g. the campaign's dates.
    campaigns
        The campaign(s) whose spend is planned (left out of the base).

    Returns
    -------
    pandas.Series
        Daily base spend per channel (every channel of the spend table; 0 where only the
        campaign spends), sorted by channel.

    Raises
    ------
    ParameterError
        ``start`` after ``end``.
    """
    _require(spend, "spend", ("date", "channel", "campaign", "spend"))
    lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if lo > hi:
        raise ParameterError(f"base_daily_spend: start {lo.date()} is after end {hi.date()}")
    planned = [campaigns] if isinstance(campaigns, str) else list(campaigns)
    channels = sorted(spend["channel"].astype(str).unique())
    dates = pd.to_datetime(spend["date"]).dt.normalize()
    keep = (dates >= lo) & (dates <= hi) & ~spend["campaign"].astype(str).isin(planned)
    n_days = (hi - lo).days + 1
    total = spend.loc[keep].groupby(spend.loc[keep, "channel"].astype(str))["spend"].sum()
    return (
        (total.reindex(channels, fill_value=0.0) / n_days).astype(float).rename("base_daily_spend")
    )


@dataclass(frozen=True)
class BudgetInputs:
    """What :func:`optimize_budget` needs to split a campaign's next budget.

    Attributes
    ----------
    actual
        The campaign's own spend per channel in its window (:func:`actual_allocation`).
    total
        The budget to split (the plan's ``settings.next_budget``, or what the campaign spent).
    bounds
        ``{channel: (lower, upper)}`` by the plan's bounds policy (:func:`budget_bounds`
        with ``settings.bound_multiples``).
    n_days
        The campaign's length in days (both ends included).
    base_daily_spend
        The always-on spend per channel and day during the campaign
        (:func:`base_daily_spend`).
    """

    actual: pd.Series
    total: float
    bounds: dict[str, tuple[float, float]]
    n_days: int
    base_daily_spend: pd.Series


def budget_inputs(
    spend: pd.DataFrame,
    plan,
    settings=None,
    channels: Sequence[str] | None = None,
    total: float | str | None = None,
) -> BudgetInputs:
    """Return the inputs of the budget split of ``plan``'s campaign on a world's spend table.

    The one home of the budget inputs of notebooks 04 and 05 and the budget benchmarks: the
    campaign's actual split in its window, the total to split, the bounds (the plan's
    ``settings.bound_multiples`` of the actual mix scaled to that total), the campaign's days
    and the always-on spend per day on top of which the budget is spent.

    Parameters
    ----------
    spend
        The world's spend table (``date``, ``channel``, ``campaign``, ``spend``).
    plan
        The campaign's :class:`imclab.plan.CampaignPlan` (its name and dates).
    settings
        The run's :class:`imclab.plan.ResolvedSettings` (``next_budget``,
        ``bound_multiples``); None: ``plan.resolved_settings()``.
    channels
        The channels to split across (e.g. the response curves'): the actual split and the
        always-on base are given for exactly these, 0 where nothing was spent. None: the
        channels of the spend table.
    total
        The budget to split: None for ``settings.next_budget``; ``"spent"`` for what the
        campaign spent in its window (re-splitting the same money, as the truth checks do);
        or an amount.

    Returns
    -------
    BudgetInputs

    Raises
    ------
    ParameterError
        A total that is not more than 0 or an unknown ``total`` word.
    """
    if settings is None:
        settings = plan.resolved_settings()
    actual = actual_allocation(spend, plan.start, plan.end, [plan.name])
    base = base_daily_spend(spend, plan.start, plan.end, plan.name)
    if channels is not None:
        actual = actual.reindex(channels, fill_value=0.0)
        base = base.reindex(channels, fill_value=0.0)
    if total is None:
        amount = float(settings.next_budget)
    elif isinstance(total, str):
        if total != "spent":
            raise ParameterError(
                f"budget inputs: total must be an amount, None (the plan's next_budget) or "
                f"'spent', got {total!r}"
            )
        amount = float(actual.sum())
    else:
        amount = float(total)
    return BudgetInputs(
        actual=actual,
        total=amount,
        bounds=budget_bounds(actual, amount, settings.bound_multiples),
        n_days=int(plan.days),
        base_daily_spend=base,
    )


@dataclass
class BudgetPlan:
    """The optimiser's recommendation and how it compares with the actual allocation.

    Attributes
    ----------
    allocation
        One row per channel: ``channel``, ``status``, ``lower``, ``upper``, ``actual_spend``,
        ``actual_at_budget`` (the actual mix scaled to the total budget), ``recommended_spend``,
        ``change``, ``base_daily_spend`` (other streams' spend per day, e.g. always-on),
        ``actual_conversions``, ``recommended_conversions`` (expected under the fitted
        curves, incremental to the base), ``actual_daily_spend``, ``recommended_daily_spend``
        (the planned budget per day, on top of the base),
        ``marginal_conversions_per_1000`` (at base + actual daily spend),
        ``marginal_roas`` (extra conversion value per extra unit of spend) and
        ``marginal_roi`` (``marginal_roas - 1``).
    summary
        ``total_budget``, ``n_days``, ``actual_conversions``, ``recommended_conversions``,
        ``expected_gain``, ``gain_lower``/``gain_upper`` (bootstrap interval),
        ``base_daily_spend_total`` (the base per day, all channels),
        ``recommended_value``, ``recommended_profit`` (value - budget) when values are given.
    warnings
        Channels kept at their lower bound and why.
    """

    allocation: pd.DataFrame
    summary: dict[str, float]
    warnings: list[str] = field(default_factory=list)


def _bounds_frame(channels, bounds, total) -> pd.DataFrame:
    bounds = dict(bounds or {})
    unknown = sorted(set(bounds) - set(channels))
    if unknown:
        raise ParameterError(
            f"budget bounds: unknown channel(s) {', '.join(unknown)} "
            f"(channels: {', '.join(channels)})"
        )
    rows = []
    for ch in channels:
        lo, hi = bounds.get(ch, (None, None))
        lo = 0.0 if lo is None else float(lo)
        hi = float(total) if hi is None else float(hi)
        if lo < 0 or hi < lo:
            raise ParameterError(
                f"budget bounds: channel {ch!r} has lower {lo:,.2f} and upper {hi:,.2f} "
                "(need 0 <= lower <= upper)"
            )
        rows.append((ch, lo, hi))
    return pd.DataFrame(rows, columns=["channel", "lower", "upper"])


def _to_cents(x: np.ndarray, total_cents: int, lo_c, hi_c, marginal: np.ndarray) -> np.ndarray:
    """Round to whole cents and hand the rounding residue to the best channels with room."""
    cents = np.clip(np.floor(x * 100 + 0.5).astype(np.int64), lo_c, hi_c)
    order = np.argsort(-marginal, kind="stable")
    residue = total_cents - int(cents.sum())
    while residue != 0:
        moved = False
        for i in order if residue > 0 else order[::-1]:
            step = (
                min(residue, hi_c[i] - cents[i])
                if residue > 0
                else max(residue, lo_c[i] - cents[i])
            )
            if step:
                cents[i] += step
                residue -= step
                moved = True
            if residue == 0:
                break
        if not moved:
            break
    return cents


def optimize_budget(
    curves: ResponseCurves,
    total_budget: float,
    n_days: int,
    actual: Mapping[str, float] | pd.Series | None = None,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    value_per_conversion: float | Mapping[str, float] | None = None,
    level: float = 0.9,
    base_daily_spend: Mapping[str, float] | pd.Series | None = None,
) -> BudgetPlan:
    """Split ``total_budget`` across channels to maximise expected conversions (or value).

    Each channel's budget is spent evenly over ``n_days`` days on top of the channel's
    ``base_daily_spend`` ``b_c`` (always-on media running at the same time), so channel c
    brings ``n_days * (f_c(b_c + B_c / n_days) - f_c(b_c))`` conversions incremental to the
    base (:class:`ResponseCurves`; with no base, ``n_days * f_c(B_c / n_days)``). At the
    optimum the marginal returns ``f_c'(b_c + B_c / n_days)`` of the channels between their
    bounds are equal. SLSQP maximises the
    sum (weighted by ``value_per_conversion`` when given) subject to ``sum B_c = total`` and
    ``lower_c <= B_c <= upper_c``, from several fixed starts; the result is rounded to cents
    and the whole budget is allocated (the sum equals the total to the cent). Channels without
    a fitted curve are kept at their lower bound with a :class:`ReviewWarning`.

    Parameters
    ----------
    curves
        Fitted (or ``from_params``) response curves.
    total_budget
        Money to allocate over the period.
    n_days
        Length of the period in days.
    actual
        Actual spend per channel over a comparable period (default: the fitted mean daily
        spend x ``n_days``). It is scaled to ``total_budget`` for the like-for-like
        comparison (``actual_at_budget``); marginal ROI is taken at the actual daily spend.
    bounds
        ``{channel: (lower, upper)}`` over the period; missing = (0, total). ``None`` in a
        pair means no bound on that side.
    value_per_conversion
        Value of a conversion (one number or per channel); the optimiser then maximises value
        (= profit, since the cost is fixed) and marginal ROI is reported. ``None``: maximise
        conversions; ``marginal_roas``/``marginal_roi`` are NaN.
    level
        Coverage of the gain's bootstrap interval.
    base_daily_spend
        Spend per day per channel that runs anyway during the period (e.g. always-on media:
        :func:`base_daily_spend`); curves fitted on total spend evaluate the budget on top
        of it, curves of a campaign's own spend start at zero (:func:`curve_base`; the
        allocation's ``base_daily_spend`` column shows it either way). Missing channels (and
        the default ``None``) have no base.

    Raises
    ------
    ParameterError
        Infeasible bounds (lower bounds above the total, or upper bounds below it), bad
        ``total_budget``/``n_days``, unknown channels.
    """
    if not np.isfinite(total_budget) or total_budget <= 0:
        raise ParameterError(f"total_budget must be a positive amount, got {total_budget}")
    if n_days < 1:
        raise ParameterError(f"n_days must be >= 1, got {n_days}")
    channels = list(curves.params_["channel"])
    b = _bounds_frame(channels, bounds, total_budget)
    status = curves.params_.set_index("channel")["status"].reindex(channels)
    free = (status == "fitted").to_numpy()
    notes = []
    for ch in [c for c, f in zip(channels, free, strict=True) if not f]:
        msg = (
            f"budget: channel {ch!r} has no fitted response curve ({status[ch]}); kept at its "
            f"lower bound {b.set_index('channel').loc[ch, 'lower']:,.2f}"
        )
        notes.append(msg)
        _warn(msg)
    lo = b["lower"].to_numpy()
    hi = np.where(free, b["upper"].to_numpy(), lo)
    total_cents = int(round(total_budget * 100))
    if lo.sum() > total_budget + 1e-9:
        raise ParameterError(
            f"budget bounds are infeasible: the lower bounds add up to {lo.sum():,.2f}, more "
            f"than the total budget {total_budget:,.2f}"
        )
    if hi.sum() < total_budget - 1e-9:
        pinned = [c for c, f in zip(channels, free, strict=True) if not f]
        extra = (
            f" (channels without a curve are held at their lower bound: {pinned})" if pinned else ""
        )
        raise ParameterError(
            f"budget bounds are infeasible: the upper bounds add up to {hi.sum():,.2f}, less "
            f"than the total budget {total_budget:,.2f}{extra}"
        )
    if isinstance(value_per_conversion, Mapping):
        missing = [c for c in channels if c not in value_per_conversion]
        if missing:
            raise ParameterError(f"value_per_conversion: no value for channel(s) {missing}")
        value = np.array([float(value_per_conversion[c]) for c in channels])
    else:
        value = np.full(
            len(channels), 1.0 if value_per_conversion is None else float(value_per_conversion)
        )
    shown = _base_series(base_daily_spend, channels).to_numpy()
    base = curve_base(curves, base_daily_spend, channels).to_numpy()
    at_base = np.array([curves.response(c, b)[0] for c, b in zip(channels, base, strict=True)])

    def conv(alloc: np.ndarray) -> np.ndarray:
        return np.array(
            [
                n_days * (curves.response(c, b + a / n_days)[0] - f0)
                for c, a, b, f0 in zip(channels, alloc, base, at_base, strict=True)
            ]
        )

    def marg(alloc: np.ndarray) -> np.ndarray:
        return np.array(
            [
                curves.marginal(c, b + a / n_days)[0]
                for c, a, b in zip(channels, alloc, base, strict=True)
            ]
        )

    scale = float(total_budget)
    ref = max(float((value * conv(np.full(len(channels), scale / len(channels)))).sum()), 1e-9)

    def objective(z):
        return -float((value * conv(z * scale)).sum()) / ref

    def gradient(z):
        return -(value * marg(z * scale)) * scale / ref

    zlo, zhi = lo / scale, hi / scale

    def feasible_start(w: np.ndarray) -> np.ndarray:
        # put the lower bounds in, share the rest by w within the room each channel has
        z = zlo.copy()
        rest = 1.0 - z.sum()
        room = zhi - zlo
        w = np.where(room > 0, np.maximum(w, 1e-12), 0.0)
        for _ in range(len(z) + 1):
            if rest <= 1e-15 or w.sum() == 0:
                break
            add = np.minimum(rest * w / w.sum(), room - (z - zlo))
            z += add
            rest -= add.sum()
            w = np.where(zhi - z > 1e-15, w, 0.0)
        return z

    act = _actual_series(actual, curves, channels, n_days)
    starts = [feasible_start(np.ones(len(channels)))]
    if act.sum() > 0:
        starts.append(feasible_start(act.to_numpy()))
    kk = curves.params_.set_index("channel").reindex(channels)["K"].fillna(0).to_numpy()
    starts.append(feasible_start(np.nan_to_num(kk)))
    if base.any():  # room left below each curve's half-saturation point
        starts.append(feasible_start(np.maximum(np.nan_to_num(kk) - base, 0.0)))
    best = None
    for z0 in starts:
        res = minimize(
            objective, z0, jac=gradient, method="SLSQP",
            bounds=list(zip(zlo, zhi, strict=True)),
            constraints=[{"type": "eq", "fun": _sum_gap, "jac": np.ones_like}],
            options={"maxiter": 500, "ftol": 1e-12},
        )  # fmt: skip
        z = np.clip(res.x, zlo, zhi)
        if best is None or objective(z) < objective(best) - 1e-12:
            best = z
    lo_c = np.ceil(lo * 100 - 1e-6).astype(np.int64)
    hi_c = np.floor(hi * 100 + 1e-6).astype(np.int64)
    cents = _to_cents(best * scale, total_cents, lo_c, hi_c, value * marg(best * scale))
    rec = cents / 100.0

    at_budget = (
        act.to_numpy() * (total_budget / act.sum()) if act.sum() > 0 else np.zeros(len(channels))
    )
    s_now = act.to_numpy() / n_days
    m_now = marg(act.to_numpy())
    alloc = b.assign(
        status=status.to_numpy(),
        upper=hi,
        actual_spend=act.to_numpy(),
        actual_at_budget=at_budget,
        recommended_spend=rec,
        change=rec - at_budget,
        base_daily_spend=shown,
        actual_conversions=conv(at_budget),
        recommended_conversions=conv(rec),
        actual_daily_spend=s_now,
        recommended_daily_spend=rec / n_days,
        marginal_conversions_per_1000=1000.0 * m_now,
        marginal_roas=m_now * value if value_per_conversion is not None else np.nan,
    )
    alloc["marginal_roi"] = alloc["marginal_roas"] - 1.0
    alloc = alloc[
        ["channel", "status", "lower", "upper", "actual_spend", "actual_at_budget",
         "recommended_spend", "change", "base_daily_spend", "actual_conversions",
         "recommended_conversions",
         "actual_daily_spend", "recommended_daily_spend", "marginal_conversions_per_1000",
         "marginal_roas", "marginal_roi"]
    ]  # fmt: skip
    gain = float(alloc["recommended_conversions"].sum() - alloc["actual_conversions"].sum())
    summary: dict[str, float] = {
        "total_budget": float(total_budget),
        "n_days": float(n_days),
        "allocated": float(cents.sum() / 100.0),
        "actual_conversions": float(alloc["actual_conversions"].sum()),
        "recommended_conversions": float(alloc["recommended_conversions"].sum()),
        "expected_gain": gain,
        "gain_lower": np.nan,
        "gain_upper": np.nan,
    }
    summary["base_daily_spend_total"] = float(shown.sum())
    gains = _bootstrap_gain(curves, channels, at_budget, rec, n_days, base)
    if gains.size:
        q = (1 - level) / 2
        summary["gain_lower"] = float(np.quantile(gains, q))
        summary["gain_upper"] = float(np.quantile(gains, 1 - q))
    if value_per_conversion is not None:
        summary["recommended_value"] = float((value * alloc["recommended_conversions"]).sum())
        summary["actual_value"] = float((value * alloc["actual_conversions"]).sum())
        summary["recommended_profit"] = summary["recommended_value"] - total_budget
        summary["actual_profit"] = summary["actual_value"] - total_budget
    return BudgetPlan(alloc, summary, notes)


def _sum_gap(z: np.ndarray) -> float:
    return float(z.sum() - 1.0)


def _actual_series(actual, curves: ResponseCurves, channels, n_days) -> pd.Series:
    if actual is None:
        mean = (
            curves.params_.set_index("channel")["mean_daily_spend"]
            if ("mean_daily_spend" in curves.params_)
            else pd.Series(0.0, index=channels)
        )
        return (mean.reindex(channels).fillna(0.0) * n_days).astype(float)
    act = pd.Series(actual, dtype=float)
    unknown = sorted(set(act.index) - set(channels))
    if unknown:
        raise ParameterError(
            f"actual allocation: channel(s) {', '.join(unknown)} have no response curve "
            f"(channels: {', '.join(channels)})"
        )
    if (act < 0).any():
        raise ParameterError(f"actual allocation: negative spend for {list(act[act < 0].index)}")
    return act.reindex(channels).fillna(0.0)


def curve_base(
    curves, base_daily_spend: Mapping[str, float] | pd.Series | None, channels: Sequence[str]
) -> pd.Series:
    """Return the spend per day under each channel's curve before a campaign's budget.

    Curves of a channel's total daily spend (:class:`ResponseCurves`, the model's own
    curves) take the campaign's budget on top of ``base_daily_spend`` (the always-on media
    running anyway, :func:`base_daily_spend`). Curves of a campaign's own spend
    (``curves.campaign_`` set: :class:`imclab.mmm.PosteriorCurves` from delivery curves of
    the campaign's stream) start at zero: the always-on spend keeps running but buys its own
    touches, which add to the campaign's in the order hazard, so nothing goes under them.
    The one rule for the optimiser, the planner's forecast and the budget simulator.

    Returns
    -------
    pandas.Series
        Per channel of ``channels`` (validated: finite, >= 0, known channels).
    """
    base = _base_series(base_daily_spend, list(channels))
    return base * 0.0 if getattr(curves, "campaign_", None) is not None else base


def _base_series(base, channels) -> pd.Series:
    if base is None:
        return pd.Series(0.0, index=channels)
    ser = pd.Series(base, dtype=float)
    unknown = sorted(set(ser.index) - set(channels))
    if unknown:
        raise ParameterError(
            f"base_daily_spend: channel(s) {', '.join(map(str, unknown))} have no response "
            f"curve (channels: {', '.join(channels)})"
        )
    bad = ser[~np.isfinite(ser) | (ser < 0)]
    if len(bad):
        raise ParameterError(
            f"base_daily_spend: amounts must be finite and >= 0, got {bad.to_dict()}"
        )
    return ser.reindex(channels).fillna(0.0)


def _bootstrap_gain(curves, channels, before, after, n_days, base=None) -> np.ndarray:
    if curves.draws_.empty:
        return np.array([])
    fitted = [c for c in channels if c in set(curves.draws_["channel"])]
    n_draws = curves.draws_.groupby("channel").size().min()
    total = np.zeros(n_draws)
    for c in fitted:
        i = channels.index(c)
        b = 0.0 if base is None else base[i]
        r = curves.response(c, b + np.array([before[i], after[i]]) / n_days, draws=True)
        r = r[:n_draws]
        total += n_days * (r[:, 1] - r[:, 0])
    return total
