"""Calibrate the marketing-mix model with the geo holdout's measured campaign lift.

The holdout (:func:`imclab.review.experiments.holdout_did`) measures the lift of the whole
campaign, all channels at once, in the treated regions. PyMC-Marketing's
``add_lift_test_measurements`` takes one channel's lift on its saturation curve, so it cannot
hold a joint, multi-channel measurement. The measurement enters instead as what it is, one
more likelihood term: ``measured ~ Normal(model_lift, std_error)``, where ``model_lift`` is
the model's own counterfactual (:meth:`MarketingMix.campaign_lift`: orders with the campaign's
spend minus orders without it, over the campaign window). Multiplying the posterior by this
likelihood is done by importance weighting the posterior draws, then resampling them (fixed
seed): the result is the posterior of the model with the holdout added, as long as enough
draws keep weight (``effective_draws``; below :data:`MIN_EFFECTIVE_DRAWS` the result says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from imclab.mmm.model import MarketingMix, hdi

__all__ = ["MIN_EFFECTIVE_DRAWS", "Calibration", "calibrate"]

MIN_EFFECTIVE_DRAWS = 50


@dataclass(frozen=True)
class Calibration:
    """The calibrated posterior and the two lifts side by side.

    Attributes
    ----------
    draws
        Posterior draw indices after calibration (a resample of all draws; all draws, in
        order, when uncalibrated).
    calibrated
        Whether a holdout measurement was used.
    lift
        One row per source: ``source`` (``holdout (measured)``, ``model before calibration``,
        ``model after calibration``), ``lift`` (incremental orders in the window),
        ``low``/``high`` (the holdout's confidence interval; the model's 90 % HDI).
    effective_draws
        Effective number of draws of the importance weights (all draws when uncalibrated).
    message
        One sentence for the notebook: what was calibrated, or why not.
    """

    draws: np.ndarray
    calibrated: bool
    lift: pd.DataFrame
    effective_draws: float
    message: str


def calibrate(
    model: MarketingMix,
    start,
    end,
    measured: tuple[float, float, float] | None,
    std_error: float | None = None,
    random_state: int = 0,
) -> Calibration:
    """Weight the posterior by the holdout's measured campaign lift.

    Parameters
    ----------
    model
        A fitted :class:`MarketingMix` whose input names the campaign.
    start, end
        The campaign window the holdout measured (inclusive).
    measured
        ``(estimate, low, high)`` incremental orders of the treated customers in the window
        (``DidResult.incremental_conversions``); ``None`` when the plan has no holdout.
    std_error
        Standard error of the estimate in orders (default: the interval's width / (2 x 1.96)).
    random_state
        Seed of the resampling.

    Returns
    -------
    Calibration
    """
    model_lift = model.campaign_lift(start, end)
    n = model_lift.size
    rows = []
    if measured is not None:
        rows.append(("holdout (measured)", *map(float, measured)))
    rows.append(("model before calibration", float(model_lift.mean()), *hdi(model_lift)))
    if measured is None or not np.all(np.isfinite(measured)):
        message = (
            "Uncalibrated: the plan keeps no holdout region dark, so no experiment measured "
            "the campaign's lift; the ROAS below rest on the model and its priors alone."
        )
        return Calibration(np.arange(n), False, _lift_frame(rows), float(n), message)
    est, lo, hi = map(float, measured)
    se = float(std_error) if std_error is not None else (hi - lo) / (2 * norm.ppf(0.975))
    logw = norm.logpdf(est, loc=model_lift, scale=max(se, 1e-9))
    w = np.exp(logw - logw.max())
    w /= w.sum()
    ess = float(1.0 / np.sum(w**2))
    rng = np.random.default_rng(random_state)
    # systematic resampling: low variance and deterministic for a seed
    positions = (rng.random() + np.arange(n)) / n
    draws = np.minimum(np.searchsorted(np.cumsum(w), positions), n - 1)
    after = model_lift[draws]
    rows.append(("model after calibration", float(after.mean()), *hdi(after)))
    message = (
        f"Calibrated by the holdout: the measured lift of {est:,.0f} orders "
        f"(interval {lo:,.0f} to {hi:,.0f}) weighs the model's draws; {ess:,.0f} of {n:,} "
        "draws carry the weight."
    )
    if ess < MIN_EFFECTIVE_DRAWS:
        message += (
            f" Fewer than {MIN_EFFECTIVE_DRAWS} effective draws: the model and the holdout "
            "disagree, so the calibrated figures are rough; refit with more draws."
        )
    return Calibration(draws, True, _lift_frame(rows), ess, message)


def _lift_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source", "lift", "low", "high"])
