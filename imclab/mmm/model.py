"""The marketing-mix model: PyMC-Marketing's MMM fitted to daily orders, read back in numpy.

:class:`MarketingMix` fits ``pymc_marketing.mmm.MMM`` (geometric adstock, normalised, then
logistic saturation per channel; intercept, linear trend and weekday controls as the baseline;
Normal likelihood on daily orders) and keeps the posterior draws of each channel's parameters.
Everything read from the fit is computed from those draws with the model's own formula::

    contribution_c,t = T * beta_c * logistic(lam_c * adstock_alpha_c(x_c / S_c)_t)
    logistic(z) = (1 - exp(-z)) / (1 + exp(-z))

(``T`` the target's scale, ``S_c`` the channel's: PyMC-Marketing scales both by their
maximum), so counterfactual spend, response curves and the optimiser use exactly the fitted
model (a test checks the formula against the model's ``channel_contribution``). The adstock
is normalised, so a steady daily spend ``s`` brings ``T * beta * logistic(lam * s / S)``
orders a day: the channel's **response curve**.

Public: :class:`MarketingMix` (``fit``, ``contributions``, ``channel_summary``,
``diagnostics``, ``posterior_predictive``, ``campaign_lift``) and
:func:`hdi`.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
from scipy.signal import lfilter
from sklearn.base import BaseEstimator

from imclab.errors import DataError, ParameterError
from imclab.mmm.data import MMMInput

__all__ = ["Diagnostics", "MarketingMix", "hdi"]

LEVEL = 0.9  # credible level of every interval of the model (highest-density)


def hdi(draws: np.ndarray, prob: float = LEVEL) -> tuple[float, float]:
    """Highest-density interval of 1-D draws (ArviZ)."""
    lo, hi = az.hdi(np.asarray(draws, dtype=float), prob=prob)
    return float(lo), float(hi)


def logistic(z: np.ndarray) -> np.ndarray:
    """PyMC-Marketing's logistic saturation ``(1 - exp(-z)) / (1 + exp(-z))``."""
    return np.tanh(np.asarray(z, dtype=float) / 2.0)


def geometric_adstock(x: np.ndarray, alpha: float, l_max: int) -> np.ndarray:
    """Normalised geometric adstock truncated at ``l_max`` lags (PyMC-Marketing's, mode After)."""
    w = alpha ** np.arange(l_max)
    return lfilter(w / w.sum(), [1.0], np.asarray(x, dtype=float))


@dataclass(frozen=True)
class Diagnostics:
    """Convergence checks of a fit.

    Attributes
    ----------
    r_hat_max, ess_bulk_min, divergences
        Worst split R-hat and smallest bulk effective sample size over the channel parameters,
        the intercept, the controls and the noise; divergent transitions after tuning.
    ok
        All three within :attr:`MarketingMix.r_hat_limit`, :attr:`MarketingMix.ess_limit`
        and no divergence.
    message
        One plain sentence: what failed and what to do (empty when ``ok``).
    """

    r_hat_max: float
    ess_bulk_min: float
    divergences: int
    ok: bool
    message: str


class MarketingMix(BaseEstimator):
    """Bayesian marketing-mix model of daily orders (PyMC-Marketing ``MMM``).

    Parameters
    ----------
    l_max
        Longest carry-over in days of the geometric adstock.
    draws, tune, chains
        NUTS draws kept and tuning steps per chain, and chains (run in parallel).
    target_accept
        NUTS target acceptance (higher: smaller steps, fewer divergences).
    random_state
        Seed of the sampler and of the posterior predictive noise.
    r_hat_limit, ess_limit
        Convergence thresholds for the warning of :meth:`diagnostics`.

    Attributes
    ----------
    mmm_
        The fitted ``pymc_marketing.mmm.MMM``.
    params_
        Posterior draws per channel: ``channel``, ``draw``, ``alpha`` (adstock retention),
        ``lam``, ``beta`` (model scale), ``ceiling`` (``T * beta``: most orders a day the
        channel can bring) and ``lam_per_unit`` (``lam / S_c``: per unit of daily spend).
    baseline_
        Posterior draws of the daily baseline (intercept + controls) in orders: ``(draws,
        days)``.
    sigma_
        Posterior draws of the noise standard deviation in orders.
    data_
        The :class:`~imclab.mmm.data.MMMInput` fitted.
    """

    def __init__(
        self,
        l_max: int = 14,
        draws: int = 500,
        tune: int = 1000,
        chains: int = 2,
        target_accept: float = 0.9,
        random_state: int = 0,
        r_hat_limit: float = 1.01,
        ess_limit: float = 200.0,
    ) -> None:
        self.l_max = l_max
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.target_accept = target_accept
        self.random_state = random_state
        self.r_hat_limit = r_hat_limit
        self.ess_limit = ess_limit

    # ----------------------------------------------------------------------------------
    def fit(self, data: MMMInput, shares: pd.DataFrame | None = None) -> MarketingMix:
        """Sample the posterior of the model on ``data``; returns ``self``.

        Parameters
        ----------
        data
            The model input.
        shares
            Measured channel shares (``channel, share, sd``, from
            :func:`imclab.mmm.priors.hazard_shares`) added to the likelihood to split the
            media's total between channels; ``None``: the daily data alone.
        """
        from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

        if self.l_max < 1 or self.draws < 10 or self.chains < 1:
            raise ParameterError(
                f"MarketingMix: need l_max >= 1, draws >= 10 and chains >= 1, got "
                f"l_max={self.l_max}, draws={self.draws}, chains={self.chains}"
            )
        mmm = MMM(
            date_column="date",
            channel_columns=list(data.channels),
            target_column="orders",
            adstock=GeometricAdstock(l_max=self.l_max, normalize=True),
            saturation=LogisticSaturation(),
            control_columns=list(data.controls),
        )
        # deterministics computed inside the sampling loop: no separate progress bar in notebooks
        mmm._recompute_deterministics = False
        X = data.frame[["date", *data.channels, *data.controls]]  # noqa: N806
        if shares is not None:
            from imclab.mmm.priors import add_share_likelihood

            mmm.build_model(X, data.frame["orders"])
            add_share_likelihood(mmm, shares)
        pymc_log = logging.getLogger("pymc")
        level = pymc_log.level
        pymc_log.setLevel(logging.ERROR)  # the sampler's log has timings: not for reports
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                mmm.fit(
                    X,
                    data.frame["orders"],
                    chains=self.chains,
                    cores=self.chains,
                    draws=self.draws,
                    tune=self.tune,
                    target_accept=self.target_accept,
                    random_seed=self.random_state,
                    progressbar=False,
                    compute_convergence_checks=False,
                )
            finally:
                pymc_log.setLevel(level)
        self.mmm_ = mmm
        self.data_ = data
        self.shares_ = shares
        self._read_posterior()
        return self

    def _read_posterior(self) -> None:
        post = self.mmm_.idata.posterior
        scales = self.mmm_.get_scales_as_xarray()
        t_scale = float(scales["target_scale"])
        c_scale = scales["channel_scale"].sel(channel=self.data_.channels).to_numpy()

        def flat(name: str) -> np.ndarray:
            v = post[name]
            return v.stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()

        alpha, lam, beta = flat("adstock_alpha"), flat("saturation_lam"), flat("saturation_beta")
        n = alpha.shape[0]
        rows = []
        for j, c in enumerate(self.data_.channels):
            rows.append(
                pd.DataFrame(
                    {
                        "channel": c,
                        "draw": np.arange(n),
                        "alpha": alpha[:, j],
                        "lam": lam[:, j],
                        "beta": beta[:, j],
                        "ceiling": t_scale * beta[:, j],
                        "lam_per_unit": lam[:, j] / c_scale[j],
                    }
                )
            )
        self.params_ = pd.concat(rows, ignore_index=True)
        base = flat("intercept_contribution").reshape(n, -1)
        control = flat("control_contribution").sum(axis=-1)
        self.baseline_ = t_scale * (base + control)
        self.sigma_ = t_scale * flat("y_sigma").reshape(n)

    # ----------------------------------------------------------------------------------
    @property
    def n_draws(self) -> int:
        """Posterior draws kept (all chains)."""
        return int(self.params_["draw"].max()) + 1

    def contributions(self, spend: pd.DataFrame | None = None) -> np.ndarray:
        """Orders caused by each channel each day, per posterior draw.

        Parameters
        ----------
        spend
            Daily spend per channel (columns: the model's channels, rows: days); default: the
            fitted data. Give another to ask "what if" (e.g. without the campaign).

        Returns
        -------
        numpy.ndarray
            Shape ``(draws, days, channels)``, in orders.
        """
        x = (self.data_.spend if spend is None else spend)[self.data_.channels].to_numpy(float)
        out = np.empty((self.n_draws, x.shape[0], x.shape[1]))
        for j, c in enumerate(self.data_.channels):
            p = self.params_[self.params_["channel"] == c]
            for i, (a, lam_u, ceil) in enumerate(
                zip(p["alpha"], p["lam_per_unit"], p["ceiling"], strict=True)
            ):
                out[i, :, j] = ceil * logistic(lam_u * geometric_adstock(x[:, j], a, self.l_max))
        return out

    def window_orders(
        self,
        draws: np.ndarray | None = None,
        shares: pd.DataFrame | None = None,
        random_state: int = 0,
    ) -> np.ndarray:
        """Orders each channel caused over the model's window, per posterior draw.

        With ``shares`` (``channel``, ``share``, ``sd``; the customer-level attribution's,
        :func:`imclab.mmm.priors.hazard_shares`): the media's total of each draw split by a
        draw of the shares from ``Normal(share, sd)`` (clipped at 0, renormalised), with
        the seed ``random_state``. The daily orders and the holdout set the total, the
        attribution the split, with the error the model's likelihood gives it: measured
        against the truth this beats the model's own split, which the daily series pulls
        away from the shares (TV's contribution 41 % under the truth on the sample;
        ``benchmarks/README.md``). Without ``shares``: the model's own split. The ROAS table
        (:meth:`channel_summary`) and the budget's curves
        (:meth:`imclab.mmm.PosteriorCurves.from_delivery`) both read it, so they rest on one
        split.

        Returns
        -------
        numpy.ndarray
            ``(len(draws), channels)`` (default: all draws, in order).
        """
        idx = np.arange(self.n_draws) if draws is None else np.asarray(draws)
        orders = self.contributions().sum(axis=1)[idx]
        if shares is None:
            return orders
        channels = list(self.data_.channels)
        s = shares.set_index("channel").reindex(channels)
        if s["share"].isna().any():
            raise DataError(f"channel split: no measured share for "
                            f"{s.index[s['share'].isna()].tolist()}")  # fmt: skip
        rng = np.random.default_rng(random_state)
        split = rng.normal(s["share"].to_numpy(float), s["sd"].to_numpy(float),
                           size=(len(idx), len(channels)))  # fmt: skip
        split = np.clip(split, 1e-9, None)
        return orders.sum(axis=1, keepdims=True) * split / split.sum(axis=1, keepdims=True)

    def channel_summary(
        self,
        revenue_per_order: float | None = None,
        draws: np.ndarray | None = None,
        split: str = "shares",
        random_state: int = 0,
    ) -> pd.DataFrame:
        """Per-channel contribution, ROAS and marginal ROAS with 90 % HDIs.

        ROAS is the revenue of the orders a channel caused in the window (contribution x
        ``revenue_per_order``) per unit of its spend; marginal ROAS the revenue of 1 % more
        spend every day per unit of that extra spend (the model's own curve's relative
        increase, applied to the channel's contribution).

        Parameters
        ----------
        revenue_per_order
            Money per order (default: per channel, the mean value of the orders the
            customer-level attribution credits to it when the fit was given ``shares`` with a
            ``value_per_order`` column; otherwise the window's mean order value).
        draws
            Posterior draw indices to use (e.g. the calibrated resample); default: all.
        split
            ``"shares"``: the contributions of :meth:`window_orders` with the fit's shares
            (the media's total split by the attribution; the model's own split when the fit
            had none), the split the budget's curves use; ``"model"``: the model's own split.
        random_state
            Seed of the share draws (as given to :meth:`window_orders`).

        Returns
        -------
        pandas.DataFrame
            ``channel``, ``spend``, ``contribution`` (orders, posterior mean) with
            ``contribution_low``/``_high``, ``share`` (of all media orders), ``roas``,
            ``roas_low``/``_high``, ``mroas``, ``mroas_low``/``_high``.
        """
        if split not in ("shares", "model"):
            raise ParameterError(f"channel_summary: split must be 'shares' or 'model', got "
                                 f"{split!r}")  # fmt: skip
        aov = np.full(len(self.data_.channels), float(self.data_.revenue_per_order))
        shares = getattr(self, "shares_", None)
        if revenue_per_order is not None:
            aov[:] = float(revenue_per_order)
        elif shares is not None and "value_per_order" in shares:
            aov = shares.set_index("channel")["value_per_order"].reindex(self.data_.channels)
            aov = aov.to_numpy(float)
        spend = self.data_.spend
        idx = np.arange(self.n_draws) if draws is None else np.asarray(draws)
        own = self.contributions().sum(axis=1)[idx]
        more = self.contributions(spend * 1.01).sum(axis=1)[idx]
        now = self.window_orders(idx, shares if split == "shares" else None, random_state)
        extra = now * (more / np.where(own > 0, own, 1.0) - 1.0)
        total = spend.sum().to_numpy()
        rows = []
        media = now.sum(axis=1)
        for j, c in enumerate(self.data_.channels):
            roas = now[:, j] * aov[j] / total[j]
            mroas = extra[:, j] * aov[j] / (0.01 * total[j])
            share = now[:, j] / np.where(media > 0, media, 1.0)
            rows.append(
                {
                    "channel": c,
                    "spend": total[j],
                    "contribution": now[:, j].mean(),
                    "contribution_low": hdi(now[:, j])[0],
                    "contribution_high": hdi(now[:, j])[1],
                    "share": share.mean(),
                    "roas": roas.mean(),
                    "roas_low": hdi(roas)[0],
                    "roas_high": hdi(roas)[1],
                    "mroas": mroas.mean(),
                    "mroas_low": hdi(mroas)[0],
                    "mroas_high": hdi(mroas)[1],
                }
            )
        return pd.DataFrame(rows)

    def campaign_lift(self, start, end) -> np.ndarray:
        """Orders the campaign's own spend caused between ``start`` and ``end``, per draw.

        The model's counterfactual: contributions with all spend minus contributions with the
        campaign's spend removed (always-on kept), summed over the window's days.
        """
        camp = self.data_.campaign_spend.set_index("date")[self.data_.channels]
        without = (self.data_.spend - camp).clip(lower=0.0)
        diff = (self.contributions() - self.contributions(without)).sum(axis=2)
        dates = self.data_.frame["date"]
        mask = ((dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end))).to_numpy()
        return diff[:, mask].sum(axis=1)

    # ----------------------------------------------------------------------------------
    def diagnostics(self) -> Diagnostics:
        """R-hat, bulk ESS and divergences, with one plain warning sentence when they fail."""
        idata = self.mmm_.idata
        names = [
            "adstock_alpha", "saturation_lam", "saturation_beta", "intercept_contribution",
            "gamma_control", "y_sigma",
        ]  # fmt: skip
        summary = az.summary(idata, var_names=names, kind="diagnostics")
        r_hat = float(pd.to_numeric(summary["r_hat"], errors="coerce").max())
        ess = float(pd.to_numeric(summary["ess_bulk"], errors="coerce").min())
        div = int(idata.sample_stats["diverging"].sum())
        problems = []
        if not r_hat <= self.r_hat_limit:
            problems.append(f"R-hat reaches {r_hat:.3f} (above {self.r_hat_limit})")
        if not ess >= self.ess_limit:
            problems.append(f"the smallest effective sample size is {ess:.0f} (below "
                            f"{self.ess_limit:.0f})")  # fmt: skip
        if div:
            problems.append(f"{div} divergent transition{'s' if div > 1 else ''}")
        message = ""
        if problems:
            message = (
                "Warning: the sampler did not converge well ("
                + "; ".join(problems)
                + "): treat the intervals below as rough and refit with more tuning steps "
                "and draws (parameters `tune`, `draws`) or a higher `target_accept`."
            )
        return Diagnostics(r_hat, ess, div, not problems, message)

    def posterior_predictive(self, seed: int | None = None) -> pd.DataFrame:
        """Posterior predictive check of daily orders (the model's Normal likelihood).

        Returns
        -------
        pandas.DataFrame
            ``date``, ``orders`` (observed), ``predicted`` (posterior predictive mean),
            ``low``/``high`` (90 % interval) and ``inside`` (observed within it);
            ``attrs["coverage"]`` is the share of days inside, ``attrs["r2"]`` the R-squared
            of the mean.
        """
        rng = np.random.default_rng(self.random_state if seed is None else seed)
        mu = self.baseline_ + self.contributions().sum(axis=2)
        y = mu + rng.normal(size=mu.shape) * self.sigma_[:, None]
        q = (1 - LEVEL) / 2
        obs = self.data_.frame["orders"].to_numpy(float)
        out = pd.DataFrame(
            {
                "date": self.data_.frame["date"],
                "orders": obs,
                "predicted": mu.mean(axis=0),
                "low": np.quantile(y, q, axis=0),
                "high": np.quantile(y, 1 - q, axis=0),
            }
        )
        out["inside"] = (out["orders"] >= out["low"]) & (out["orders"] <= out["high"])
        out.attrs["coverage"] = float(out["inside"].mean())
        ss = float(((obs - obs.mean()) ** 2).sum())
        out.attrs["r2"] = 1.0 - float(((obs - out["predicted"]) ** 2).sum()) / ss
        return out
