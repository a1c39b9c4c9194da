"""Channel shares measured at customer level, added to the marketing-mix model's likelihood.

The daily series cannot split the media's total between channels whose spend rises and falls
together (every channel follows the campaign's phases). The customer-level additive-hazard
attribution (:class:`imclab.attribution.hazard.AdditiveHazard`) measures exactly that split:
each channel's share of the orders the channels caused, with a customer bootstrap. Here it
enters the MMM as one more likelihood term per channel, the way Meridian or PyMC-Marketing
users set ROI priors from experiments and attribution::

    measured_share_c ~ Normal(model_share_c, sd_c)
    model_share_c = sum_t contribution_c,t / sum_t,k contribution_k,t

(``contribution`` the model's own ``channel_contribution``, so the term constrains only the
*split*: the media's total stays with the daily data and the holdout calibration,
:mod:`imclab.mmm.calibrate`). The measured shares are the hazard model's channel credit
renormalised over the MMM's paid channels (channels without spend, such as SEO, sit in the
MMM's baseline); ``sd_c`` is the bootstrap standard deviation of that renormalised share,
widened in quadrature by :data:`SHARE_RELATIVE_ERROR` times the share for the hazard model's
own bias, which the bootstrap cannot see: renormalised over the paid channels, its shares
missed the simulator's truth by up to 14 % (sample) and 20 % (seed 7) of the share, TV
under- and social over-credited on both, ``benchmarks/README.md``; with a bootstrap error
alone, or a 0.02 floor, the model became surer than that evidence and its ROAS intervals
missed the truth for 2 of 6 channels.

The attribution also knows *which* orders each channel caused, so their mean value: a
channel's ROAS then values its orders at that value instead of the window's mean order
(order values differ by channel: 63 to 111 per order on the sample).

PyMC-Marketing's ``add_lift_test_measurements`` is the library's way in for a per-channel
lift, but it takes a lift at one steady spend level on the saturation curve; a channel's
share of the window's contribution is a sum over days of varying spend, so it enters here as
a plain likelihood term on the model's own contribution instead.

Public: :func:`hazard_shares`, :func:`hazard_carryover`, :func:`measure_shares`,
:func:`add_share_likelihood`, :data:`SHARE_RELATIVE_ERROR`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from imclab.errors import DataError

__all__ = [
    "SHARE_RELATIVE_ERROR",
    "add_share_likelihood",
    "hazard_carryover",
    "hazard_shares",
    "measure_shares",
]

#: Extra standard deviation, as a fraction of the share, for the hazard model's own bias.
SHARE_RELATIVE_ERROR = 0.25


def hazard_carryover(hazard, panel, channels: Sequence[str]) -> np.ndarray:
    """Each channel's carry-over as the hazard measures it: a geometric retention per day.

    The hazard model spreads each touch's effect over decay kernels of several half-lives
    (:data:`imclab.attribution.hazard.HALF_LIVES`) with non-negative weights ``beta_j``; the
    orders a kernel ``j`` brings are about ``beta_j`` times its exposure summed over the
    panel's at-risk days, and its mean lag after the day of the touch is
    ``1 + lam_j / (1 - lam_j)`` days (``lam_j = 0.5 ** (1 / half_life)``; the effect starts
    the next day). The channel's mean lag ``m`` (kernels weighted by their orders) is
    matched by a geometric adstock from the day of the spend: retention ``m / (1 + m)``.
    On the sample this gives 0.80-0.95 a day where the simulator's half-lives of 2 to 10
    days, matched the same way, give 0.77-0.94 (``benchmarks/README.md``,
    ``bench_plan_truth``), and the model's adstock 0.30-0.65: the planner's in-window
    share (:meth:`PosteriorCurves.in_window_share
    <imclab.mmm.PosteriorCurves.in_window_share>`) reads it.

    Returns
    -------
    numpy.ndarray
        Retention per day in ``[0, 1)``, in ``channels`` order (0 where the hazard credits
        nothing to the channel).
    """
    coef = hazard.coef_.reset_index(drop=True)
    lam = 0.5 ** (1.0 / coef["half_life"].to_numpy(float))
    weight = coef["beta"].to_numpy(float) * panel.exposure.reshape(len(coef), -1).sum(axis=1)
    lag = 1.0 + lam / (1.0 - lam)
    frame = pd.DataFrame({"channel": coef["channel"], "w": weight, "wl": weight * lag})
    g = frame.groupby("channel")[["w", "wl"]].sum().reindex(list(channels)).fillna(0.0)
    mean_lag = np.where(g["w"] > 0, g["wl"] / np.where(g["w"] > 0, g["w"], 1.0), 0.0)
    return mean_lag / (1.0 + mean_lag)


def hazard_shares(
    hazard, channels: Sequence[str], relative_error: float = SHARE_RELATIVE_ERROR
) -> pd.DataFrame:
    """Turn the hazard model's channel credit into shares of the MMM's channels, with errors.

    Parameters
    ----------
    hazard
        A fitted :class:`~imclab.attribution.hazard.AdditiveHazard` (with ``n_boot > 0``).
    channels
        The MMM's channels (:attr:`MMMInput.channels`); all must be credited by the hazard.
    relative_error
        Standard deviation, as a fraction of the share, added in quadrature to the
        bootstrap's.

    Returns
    -------
    pandas.DataFrame
        ``channel`` (in ``channels`` order), ``share`` (sums to 1), ``sd``,
        ``hazard_share`` (share of all channels the hazard credits, before renormalising),
        ``value_per_order`` (mean revenue of the orders credited to the channel: the MMM
        values each channel's orders at it, :meth:`MarketingMix.channel_summary`).
    """
    channels = list(channels)
    credit = hazard.credit_.set_index("channel")["conversions"]
    missing = [c for c in channels if c not in credit.index]
    if missing:
        raise DataError(
            f"hazard_shares: the attribution credits no touches to {missing}, which the "
            "marketing-mix model has spend for; check that the touchpoints table logs those "
            "channels under the same names as the spend table."
        )
    point = credit.reindex(channels).to_numpy(float)
    if not (point > 0).all():  # no order credited (e.g. a campaign without orders): no share
        zero = [c for c, v in zip(channels, point, strict=True) if not v > 0]
        raise DataError(
            f"hazard_shares: the attribution credits no order to {zero}, so their share of the "
            "media's orders cannot be measured (a zero share with no spread rules out any effect)"
        )
    credit_share = hazard.credit_.set_index("channel")["share"]
    value = hazard.credit_.set_index("channel")["value"].reindex(channels).to_numpy(float)
    boot = getattr(hazard, "boot_shares_", None)
    if boot is None or len(boot) < 2:
        raise DataError("hazard_shares: the hazard model was fitted without a bootstrap "
                        "(n_boot=0); refit it with n_boot of 30 or more.")  # fmt: skip
    b = boot[channels].to_numpy(float)
    b = b / b.sum(axis=1, keepdims=True)
    share = point / point.sum()
    return pd.DataFrame(
        {
            "channel": channels,
            "share": share,
            "sd": np.sqrt(b.std(axis=0, ddof=1) ** 2 + (relative_error * share) ** 2),
            "hazard_share": credit_share.reindex(channels).to_numpy(float),
            "value_per_order": value / point,
        }
    )


def measure_shares(
    tables: dict,
    plan,
    channels: Sequence[str],
    *,
    interactions: Sequence[str] = ("impression", "click", "open", "visit"),
    n_boot: int = 30,
    random_state: int = 20250301,
) -> pd.DataFrame:
    """Fit the additive-hazard attribution on the world and return :func:`hazard_shares`.

    With one more column, ``carryover``: :func:`hazard_carryover`.

    The same panel as notebook 03 (navigational channels from the plan, its channel groups,
    the campaign window and holdout regions); ``n_boot`` customer-bootstrap replicates give
    the shares' errors. About 20 s on the 5,000-customer sample.
    """
    from imclab.attribution.hazard import AdditiveHazard, build_panel

    panel = build_panel(
        tables["touchpoints"],
        tables["conversions"],
        tables["customers"],
        interactions=list(interactions),
        navigational_channels=list(getattr(plan, "navigational_channels", ["direct"])),
        channel_groups=dict(plan.channel_groups),
        campaign=plan.name,
        campaign_window=(plan.start, plan.end),
        holdout_regions=plan.holdout_regions,
    )
    hazard = AdditiveHazard(n_boot=n_boot, random_state=random_state).fit(panel)
    return hazard_shares(hazard, channels).assign(
        carryover=hazard_carryover(hazard, panel, channels)
    )


def add_share_likelihood(model, shares: pd.DataFrame) -> None:
    """Add ``shares`` (from :func:`hazard_shares`) to a built PyMC-Marketing MMM's model.

    The term is named ``channel_share_measured``; the model must have been built
    (``MMM.build_model``) and not yet sampled.
    """
    import pymc.dims as pmd

    coords = list(model.model.coords["channel"])
    s = shares.set_index("channel").reindex(coords)
    if s["share"].isna().any():
        raise DataError(f"add_share_likelihood: no measured share for "
                        f"{s.index[s['share'].isna()].tolist()}")  # fmt: skip
    with model.model:
        # PyMC-Marketing 1.3 builds its MMM with named dimensions (pymc.dims)
        total = model.model["channel_contribution"].sum("date")
        pmd.Normal(
            "channel_share_measured",
            mu=total / total.sum(),
            sigma=pmd.as_xtensor(s["sd"].to_numpy(float), dims=("channel",)),
            observed=pmd.as_xtensor(s["share"].to_numpy(float), dims=("channel",)),
            dims="channel",
        )
