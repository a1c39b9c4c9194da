"""The model's posterior response curves, in the form the budget optimiser takes.

:class:`PosteriorCurves` holds posterior draws of each channel's response curve
``f(s) = ceiling * logistic(lam_per_unit * s)`` (orders a day at a steady daily spend ``s``,
:mod:`imclab.mmm.model`) and answers what :func:`imclab.review.budget.optimize_budget` asks of
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

__all__ = ["PosteriorCurves"]

_COLUMNS = ["channel", "draw", "ceiling", "lam_per_unit", "mean_daily_spend", "max_daily_spend"]


class PosteriorCurves:
    """Posterior draws of each channel's response curve (orders a day against daily spend).

    Parameters
    ----------
    draws
        ``channel``, ``draw``, ``ceiling``, ``lam_per_unit``, ``mean_daily_spend``,
        ``max_daily_spend`` (one row per channel and draw).

    Attributes
    ----------
    params_
        One row per channel: ``channel``, ``status`` (``fitted``), ``mean_daily_spend``,
        ``max_daily_spend``, ``ceiling`` and ``lam_per_unit`` (posterior means) and ``K``
        (the daily spend at half the posterior-mean ceiling, the optimiser's start).
    draws_
        The draws.
    """

    def __init__(self, draws: pd.DataFrame) -> None:
        missing = [c for c in _COLUMNS if c not in draws.columns]
        if missing:
            raise DataError(f"response-curve draws: missing column(s) {', '.join(missing)}")
        bad = draws[~np.isfinite(draws[["ceiling", "lam_per_unit"]]).all(axis=1)]
        if len(bad) or (draws[["ceiling", "lam_per_unit"]] < 0).any().any():
            raise DataError("response-curve draws: ceiling and lam_per_unit must be finite, >= 0")
        self.draws_ = draws[_COLUMNS].sort_values(["channel", "draw"], ignore_index=True)
        g = self.draws_.groupby("channel", sort=True)
        p = g[["mean_daily_spend", "max_daily_spend", "ceiling", "lam_per_unit"]].mean()
        p = p.reset_index()
        p.insert(1, "status", "fitted")
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
            )
        )

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
        f = d["ceiling"].to_numpy()[:, None] * logistic(d["lam_per_unit"].to_numpy()[:, None] * s)
        return f if draws else f.mean(axis=0)

    def marginal(self, channel: str, daily_spend) -> np.ndarray:
        """Extra orders per extra unit of daily spend (posterior mean of the derivative)."""
        s = np.atleast_1d(np.asarray(daily_spend, dtype=float))
        d = self._draws(channel)
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
