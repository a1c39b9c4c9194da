"""The model's posterior response curves, in the form the budget optimiser takes.

:class:`PosteriorCurves` holds posterior draws of each channel's response curve (orders a day
at a steady daily spend ``s``) in one of two forms:

- ``f(s) = ceiling * hill(s; K, alpha)`` (columns ``K``, ``alpha``), built by
  :meth:`PosteriorCurves.from_delivery`: the MMM's orders per touch times the channel's
  delivery curve fitted from the touchpoints log (:mod:`imclab.mmm.delivery`). This is what
  the marketing-mix notebook hands over, fitted on the campaign's own stream (column
  ``campaign``: curves of that campaign's spend, no always-on base under them,
  :func:`imclab.review.budget.curve_base`): measured against the simulator's truth it
  captures 85-92 % of the available gain on four worlds (``benchmarks/README.md``,
  ``bench_mmm``);
- ``f(s) = ceiling * logistic(lam_per_unit * s)`` (column ``lam_per_unit``), the MMM's own
  saturation curve (:meth:`PosteriorCurves.from_model`, :mod:`imclab.mmm.model`), kept as
  the labelled comparison: its shape comes mostly from the priors.

Both forms carry a carry-over, when built from a model: columns ``carryover`` (a geometric
adstock's retention per day, per draw) and ``carryover_days`` (its length): the model's own
adstock, or, for delivery curves built with measured shares, the one the customer-level
attribution measures (:func:`imclab.mmm.priors.hazard_carryover`; the model's is far
shorter than the truth, ``benchmarks/README.md``). A
steady-state curve gives the orders a day of spend causes *in all*; :meth:`in_window_share`
says which part of them falls within a window of days, which the planner's forecast of a
campaign's in-window orders needs (:mod:`imclab.planning.forecast`). Files without these
columns read as curves without carry-over.

It answers what :func:`imclab.review.budget.optimize_budget` asks of
curves: ``response`` (posterior mean, or one row per draw for the gain's interval),
``marginal``, ``params_`` and ``draws_``. The optimiser therefore maximises the posterior
expected outcome and its gain interval is a posterior interval.

It is also the hand-over between notebooks: the marketing-mix notebook writes it with
:meth:`PosteriorCurves.write` into the report folder (``imclab.report.runner.MMM_FILE``,
``mmm_curves.csv``), the runner passes that file to notebooks declaring ``mmm_file``, and the
review's budget section reads it with :meth:`PosteriorCurves.read_csv`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from imclab.errors import DataError, ParameterError
from imclab.mmm.model import LEVEL, MarketingMix, logistic
from imclab.review.budget import hill

__all__ = ["PosteriorCurves"]

_COLUMNS = ["channel", "draw", "ceiling", "mean_daily_spend", "max_daily_spend"]
_SHAPES = {"logistic": ["lam_per_unit"], "hill": ["K", "alpha"]}
_CARRYOVER = ["carryover", "carryover_days"]

#: Length in days of a carry-over measured by the hazard attribution (its slowest kernel's
#: half-life is 21 days; 90 days hold 95 % of it).
MEASURED_CARRYOVER_DAYS = 90


class PosteriorCurves:
    """Posterior draws of each channel's response curve (orders a day against daily spend).

    Parameters
    ----------
    draws
        ``channel``, ``draw``, ``ceiling``, ``mean_daily_spend``, ``max_daily_spend`` and
        the shape: ``lam_per_unit`` (logistic) or ``K`` and ``alpha`` (Hill); one row per
        channel and draw; optionally ``carryover`` (adstock retention per day, in [0, 1))
        and ``carryover_days`` (the adstock's length in days, >= 1), both or neither;
        optionally ``campaign`` (one name): the curves are of that campaign's own daily
        spend, with no always-on base under them.

    Attributes
    ----------
    params_
        One row per channel: ``channel``, ``status`` (``fitted``), ``mean_daily_spend``,
        ``max_daily_spend``, ``ceiling`` and the shape parameters (posterior means) and ``K``
        (the daily spend at half the ceiling, the optimiser's start).
    draws_
        The draws.
    shape_
        ``"hill"`` or ``"logistic"``.
    campaign_
        The campaign whose own spend the curves describe (the draws' ``campaign`` column),
        or ``None``: curves of a channel's total daily spend, read on top of the always-on
        base (:func:`imclab.review.budget.curve_base`).
    """

    def __init__(self, draws: pd.DataFrame) -> None:
        self.shape_ = "hill" if {"K", "alpha"} <= set(draws.columns) else "logistic"
        shape = _SHAPES[self.shape_]
        missing = [c for c in [*_COLUMNS, *shape] if c not in draws.columns]
        if missing:
            raise DataError(f"response-curve draws: missing column(s) {', '.join(missing)}")
        num = ["ceiling", *shape]
        bad = draws[~np.isfinite(draws[num]).all(axis=1)]
        if len(bad) or (draws[num] < 0).any().any():
            raise DataError(f"response-curve draws: {', '.join(num)} must be finite, >= 0")
        carry = [c for c in _CARRYOVER if c in draws.columns]
        if carry and carry != _CARRYOVER:
            raise DataError("response-curve draws: give both carryover and carryover_days, "
                            f"or neither (found only {carry[0]})")  # fmt: skip
        if carry:
            r, n = draws["carryover"], draws["carryover_days"]
            bad = draws[~(np.isfinite(r) & (r >= 0) & (r < 1) & np.isfinite(n) & (n >= 1))]
            if len(bad):
                raise DataError(
                    f"response-curve draws: rows {bad.index[:5].tolist()} need carryover in "
                    "[0, 1) and carryover_days >= 1"
                )
        stream = ["campaign"] if "campaign" in draws.columns else []
        if stream and draws["campaign"].astype(str).nunique() != 1:
            raise DataError("response-curve draws: the campaign column names more than one "
                            "campaign; curves describe one campaign's own spend")  # fmt: skip
        self.campaign_ = str(draws["campaign"].iloc[0]) if stream and len(draws) else None
        self.draws_ = draws[[*_COLUMNS, *shape, *carry, *stream]].sort_values(
            ["channel", "draw"], ignore_index=True
        )
        g = self.draws_.groupby("channel", sort=True)
        p = g[["mean_daily_spend", "max_daily_spend", "ceiling", *shape]].mean()
        p = p.reset_index()
        p.insert(1, "status", "fitted")
        if self.shape_ == "logistic":
            p["K"] = np.log(3.0) / p["lam_per_unit"]  # logistic(z) = 1/2 at z = ln 3
        self.params_ = p

    @classmethod
    def from_model(cls, model: MarketingMix, draws: np.ndarray | None = None) -> PosteriorCurves:
        """Build the curves of a fitted model (``draws``: e.g. the calibrated resample)."""
        p = model.params_
        if draws is not None:
            keep = np.asarray(draws)
            p = pd.concat(
                [
                    g.iloc[keep].assign(draw=np.arange(len(keep)))
                    for _, g in p.groupby("channel", sort=False)
                ],
                ignore_index=True,
            )
        spend = model.data_.spend
        return cls(
            p.assign(
                mean_daily_spend=p["channel"].map(spend.mean()),
                max_daily_spend=p["channel"].map(spend.max()),
                carryover=p["alpha"],
                carryover_days=model.l_max,
            )
        )

    @classmethod
    def from_delivery(
        cls,
        model: MarketingMix,
        delivery,
        draws: np.ndarray | None = None,
        shares: pd.DataFrame | None = None,
        random_state: int = 0,
    ) -> PosteriorCurves:
        """Curves from the model's orders per touch and fitted delivery curves.

        For posterior draw ``i`` (of ``draws``, e.g. the calibrated resample) and channel
        ``c``, the orders one touch causes, ``e_ic``, are the orders the channel caused over
        the model's window (:meth:`MarketingMix.window_orders`: the media's total split by
        ``shares``, or the model's own split without them) divided by its touches there (all
        streams); the curve is ``e_ic * T * hill(s; K, alpha)`` with the delivery parameters
        of bootstrap replicate ``i mod B`` (the fit itself without a bootstrap). See
        :mod:`imclab.mmm.delivery`. The carry-over (for the planner's in-window share) is
        the hazard's (``shares``' ``carryover`` column, :func:`imclab.mmm.priors.
        hazard_carryover`, over :data:`MEASURED_CARRYOVER_DAYS`) when given, else the model's
        adstock. Delivery curves of a campaign's own stream
        (``delivery.campaign_``) give curves of that campaign's spend (:attr:`campaign_`):
        no always-on base goes under them.

        Parameters
        ----------
        model
            A fitted :class:`MarketingMix`.
        delivery
            A fitted :class:`~imclab.mmm.delivery.DeliveryCurves` on the model's channels.
        draws
            Posterior draw indices (default: all, in order).
        shares
            ``channel``, ``share``, ``sd`` (optionally ``carryover``) for every channel of
            the model, or ``None``.
        random_state
            Seed of the share draws.
        """
        idx = np.arange(model.n_draws) if draws is None else np.asarray(draws)
        contrib = model.window_orders(idx, shares, random_state)  # (draws, channels)
        channels = list(model.data_.channels)
        dates = pd.to_datetime(model.data_.frame["date"])
        daily = delivery.daily_[delivery.daily_["date"].isin(dates)]
        col = "all_touches" if "all_touches" in daily.columns else "touches"
        touches = daily.groupby("channel")[col].sum()
        campaign = getattr(delivery, "campaign_", None)
        if campaign is None:
            spend = model.data_.spend
        else:  # the campaign's own daily spend, on its days
            own = delivery.daily_[delivery.daily_["spend"] > 0]
            spend = own.pivot_table(index="date", columns="channel", values="spend")
        frames = []
        for j, c in enumerate(channels):
            if touches.get(c, 0) <= 0:
                raise DataError(
                    f"response curves: no touches of channel {c!r} in the model's window to "
                    "turn its contribution into orders per touch"
                )
            d = delivery.draws_[delivery.draws_["channel"] == c]
            if d.empty:
                d = delivery.params_[delivery.params_["channel"] == c]
            d = d.iloc[np.arange(len(idx)) % len(d)]
            if shares is not None and "carryover" in shares.columns:  # measured at customer level
                r = float(shares.set_index("channel").loc[c, "carryover"])
                retention, lags = np.full(model.n_draws, r), MEASURED_CARRYOVER_DAYS
            else:
                retention = model.params_.loc[model.params_["channel"] == c, "alpha"].to_numpy()
                lags = model.l_max
            frames.append(
                pd.DataFrame(
                    {
                        "channel": c,
                        "draw": np.arange(len(idx)),
                        "ceiling": contrib[:, j] / touches[c] * d["touches_max"].to_numpy(),
                        "mean_daily_spend": float(spend[c].mean()),
                        "max_daily_spend": float(spend[c].max()),
                        "K": d["K"].to_numpy(),
                        "alpha": d["alpha"].to_numpy(),
                        "carryover": retention[idx],
                        "carryover_days": lags,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        if campaign is not None:
            out["campaign"] = campaign
        return cls(out)

    def write(self, report_dir: str | Path) -> Path:
        """Write the draws into ``report_dir`` as the hand-over file; returns its path."""
        from imclab.report.runner import MMM_FILE

        path = Path(report_dir) / MMM_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self.draws_.to_csv(path, index=False, float_format="%.10g")
        return path

    @classmethod
    def read_csv(cls, path: str | Path) -> PosteriorCurves:
        """Read curves written by :meth:`write`."""
        path = Path(path)
        if not path.is_file():
            raise DataError(
                f"{path}: no such file; run the marketing-mix notebook (04_marketing_mix) "
                "first, it writes the response curves there"
            )
        return cls(pd.read_csv(path))

    # ----------------------------------------------------------------------------------
    def fitted_channels(self) -> list[str]:
        """Channels with curves."""
        return list(self.params_["channel"])

    def _draws(self, channel: str) -> pd.DataFrame:
        d = self.draws_[self.draws_["channel"] == channel]
        if d.empty:
            raise ParameterError(
                f"response curves: unknown channel {channel!r} "
                f"(known: {', '.join(self.fitted_channels())})"
            )
        return d

    def response(self, channel: str, daily_spend, draws: bool = False) -> np.ndarray:
        """Orders a day at a steady ``daily_spend``: posterior mean, or ``(draws, n)``."""
        s = np.atleast_1d(np.asarray(daily_spend, dtype=float))
        d = self._draws(channel)
        if self.shape_ == "hill":
            k, a = d["K"].to_numpy()[:, None], d["alpha"].to_numpy()[:, None]
            f = d["ceiling"].to_numpy()[:, None] * hill(s[None, :], k, a)
        else:
            lam = d["lam_per_unit"].to_numpy()[:, None]
            f = d["ceiling"].to_numpy()[:, None] * logistic(lam * s)
        return f if draws else f.mean(axis=0)

    def in_window_share(self, channel: str, n_days: int) -> np.ndarray:
        """Share of a day's effect that falls within a window of ``n_days`` days, per draw.

        The effect of spend on day ``t`` (0-based) of the window is spread over that day and
        the next ``carryover_days - 1`` days by the normalised geometric adstock of
        retention ``carryover``; the share falling on or before day ``n_days - 1`` is
        ``sum_{l <= n_days - 1 - t} w_l / sum_l w_l``. The carry-over is taken as linear in
        the day's response (as in the simulator's and the delivery curves' hazard; the
        model's own logistic form saturates after the adstock, which this ignores).

        Returns
        -------
        numpy.ndarray
            ``(draws, n_days)``; all ones for curves without carry-over columns.
        """
        d = self._draws(channel)
        if "carryover" not in d.columns:
            return np.ones((len(d), n_days))
        lags = int(d["carryover_days"].max())
        r = d["carryover"].to_numpy()[:, None]
        w = r ** np.arange(lags)[None, :] * (
            np.arange(lags) < d["carryover_days"].to_numpy()[:, None]
        )
        cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)  # share within lag <= l
        left = np.minimum(n_days - 1 - np.arange(n_days), lags - 1)  # lags left in the window
        return cum[:, left]

    def marginal(self, channel: str, daily_spend) -> np.ndarray:
        """Extra orders per extra unit of daily spend (posterior mean of the derivative)."""
        s = np.atleast_1d(np.asarray(daily_spend, dtype=float))
        d = self._draws(channel)
        if self.shape_ == "hill":
            k, a = d["K"].to_numpy()[:, None], d["alpha"].to_numpy()[:, None]
            h = hill(s[None, :], k, a)
            s_pos = np.clip(s[None, :], 1e-9, None)
            return (d["ceiling"].to_numpy()[:, None] * a * h * (1.0 - h) / s_pos).mean(axis=0)
        lam = d["lam_per_unit"].to_numpy()[:, None]
        t = logistic(lam * s)
        return (d["ceiling"].to_numpy()[:, None] * lam * (1.0 - t**2) / 2.0).mean(axis=0)

    def curve_frame(self, n_points: int = 60, level: float = LEVEL) -> pd.DataFrame:
        """Curves on a grid, 0 to 2x the largest observed daily spend, with a posterior band.

        Returns
        -------
        pandas.DataFrame
            ``channel``, ``spend``, ``conversions`` (posterior mean), ``lower``, ``upper``.
        """
        frames, q = [], (1 - level) / 2
        for _, r in self.params_.iterrows():
            s = np.linspace(0.0, 2.0 * r["max_daily_spend"], n_points)
            f = self.response(r["channel"], s, draws=True)
            frames.append(
                pd.DataFrame(
                    {
                        "channel": r["channel"],
                        "spend": s,
                        "conversions": f.mean(axis=0),
                        "lower": np.quantile(f, q, axis=0),
                        "upper": np.quantile(f, 1 - q, axis=0),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)
