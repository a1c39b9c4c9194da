"""Recommend an attribution model from evidence available on real data, then check it.

The evidence (no ground truth needed):

- **Counterfactual**: whether the model separates conversions that would have happened
  anyway (a baseline) from those the touches caused. Path models share out every touched
  conversion, so they have no view on incrementality.
- **Holdout agreement**: the model's campaign-attributable conversions of treated customers
  in the campaign window against the geo-holdout difference in differences
  (:func:`imclab.review.experiments.holdout_did`): the model's interval must overlap the
  holdout's.
- **Held-out prediction**: log-likelihood of conversion gained over a baseline-only model on
  customers the fit has not seen (:func:`imclab.attribution.hazard.heldout_loglik`).
- **Stability**: mean width of the bootstrap share intervals.
- **MMM agreement** (optional): Spearman correlation with the marketing-mix model's channel
  contributions.

Where the simulator's truth exists, :func:`check_recommendation` scores the recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from imclab.attribution.hazard import (
    MODEL,
    AdditiveHazard,
    Panel,
    heldout_loglik,
    touched_window_conversions,
)
from imclab.errors import DataError

#: Mean bootstrap interval width (share points) above which a model is called unstable.
MAX_MEAN_INTERVAL = 0.10
#: Model recommended when no model earns the evidence (skips navigational touches).
FALLBACK = "last_non_direct"


@dataclass
class Recommendation:
    """The recommended model and why.

    Attributes
    ----------
    model
        Name of the recommended model (as in the results table).
    reasons
        One sentence per piece of evidence used.
    evidence
        One row per model: ``model, counterfactual, implied_campaign_conversions, holdout_ok,
        heldout_gain, mean_interval, mmm_spearman``.
    """

    model: str
    reasons: list[str] = field(default_factory=list)
    evidence: pd.DataFrame | None = None


def read_mmm(contributions_file: str | Path) -> pd.Series | None:
    """Read a marketing-mix model's channel contributions (None when no file is given).

    Parameters
    ----------
    contributions_file
        CSV with ``channel`` and ``contribution`` (orders the model credits to each channel,
        e.g. the ``contribution`` column of notebook 04's ROAS table); empty: None. This is
        not ``mmm_curves.csv`` (the posterior response curves ``imclab run`` hands to the
        notebooks declaring ``mmm_file``).

    Returns
    -------
    pandas.Series or None
        Contribution shares indexed by channel.
    """
    if not contributions_file:
        return None
    if not Path(contributions_file).is_file():
        raise DataError(
            f"{contributions_file}: no such file (mmm_contributions_file: a channel,contribution "
            "CSV; leave it empty to skip the comparison with a marketing-mix model)"
        )
    frame = pd.read_csv(contributions_file)
    missing = [c for c in ("channel", "contribution") if c not in frame.columns]
    if missing:
        curves = {"ceiling", "lam_per_unit"} <= set(frame.columns)
        raise DataError(
            f"{contributions_file}: missing column(s) {', '.join(missing)} (found "
            f"{', '.join(frame.columns)}); expected channel,contribution: orders the "
            "marketing-mix model credits to each channel"
            + (
                " (this file holds posterior response curves, mmm_curves.csv, not contributions)"
                if curves
                else ""
            )
        )
    contrib = frame.groupby("channel")["contribution"].sum().clip(lower=0)
    if contrib.sum() <= 0:
        raise DataError(f"{contributions_file}: column 'contribution' has no positive value")
    return contrib / contrib.sum()


def mmm_comparison(results: pd.DataFrame, mmm: pd.Series) -> pd.DataFrame:
    """Every model's channel shares beside the marketing-mix model's contribution shares.

    Parameters
    ----------
    results
        Stacked tidy results (``channel, model, share``).
    mmm
        :func:`read_mmm` shares by channel.

    Returns
    -------
    pandas.DataFrame
        Index ``channel`` (the union), one column per model and ``mmm`` (0 where absent).
    """
    table = results.pivot_table(index="channel", columns="model", values="share", sort=False)
    table = table[list(pd.unique(results["model"]))]
    table = table.reindex(sorted(set(table.index) | set(mmm.index))).fillna(0.0)
    table["mmm"] = mmm.reindex(table.index).fillna(0.0)
    table.columns.name = None
    return table


def evidence_table(
    results: pd.DataFrame,
    *,
    counterfactual: dict[str, tuple[float, float, float]],
    touched_campaign_conversions: float | None,
    holdout: tuple[float, float, float] | None,
    heldout_gain: dict[str, float],
    intervals: pd.DataFrame | None,
    mmm: pd.Series | None,
) -> pd.DataFrame:
    """Collect every model's evidence in one table.

    Parameters
    ----------
    results
        Stacked tidy results of every model (``channel, model, share``).
    counterfactual
        Model -> (estimate, lo, hi) of its campaign-attributable conversions (models with
        a baseline only).
    touched_campaign_conversions
        What a path model implies instead: the treated customers' conversions in the window
        that had a touch before them (every one of them is credited to channels).
    holdout
        (estimate, lo, hi) of the holdout's incremental conversions; None: no holdout.
    heldout_gain
        Model -> held-out log-likelihood gain per conversion over the baseline-only model.
    intervals
        Bootstrap intervals (``model, channel, lo, hi``) of the models bootstrapped.
    mmm
        MMM contribution shares by channel (None: no MMM).

    Returns
    -------
    pandas.DataFrame
        One row per model, in the order of ``results``.
    """
    rows = []
    for model in pd.unique(results["model"]):
        cf = counterfactual.get(model)
        implied = cf[0] if cf else touched_campaign_conversions
        lo, hi = (cf[1], cf[2]) if cf else (implied, implied)
        ok = None
        if holdout is not None and implied is not None and np.isfinite(implied):
            lo = implied if not np.isfinite(lo) else lo
            hi = implied if not np.isfinite(hi) else hi
            ok = bool(lo <= holdout[2] and hi >= holdout[1])
        width = np.nan
        if intervals is not None and model in set(intervals["model"]):
            part = intervals[intervals["model"] == model]
            width = float((part["hi"] - part["lo"]).mean())
        rho = np.nan
        if mmm is not None:
            share = results[results["model"] == model].set_index("channel")["share"]
            common = sorted(set(share.index) & set(mmm.index))
            if len(common) >= 3:
                rho = float(spearmanr(share[common], mmm[common]).statistic)
        rows.append(
            {
                "model": model,
                "counterfactual": cf is not None,
                "implied_campaign_conversions": implied,
                "holdout_ok": ok,
                "heldout_gain": heldout_gain.get(model, np.nan),
                "mean_interval": width,
                "mmm_spearman": rho,
            }
        )
    return pd.DataFrame(rows)


def recommend(evidence: pd.DataFrame) -> Recommendation:
    """Pick the model the evidence supports.

    A model with a counterfactual is recommended when it predicts conversion on unseen
    customers better than its baseline alone, agrees with the holdout (when there is one)
    and is stable; among several, the best held-out gain wins. Otherwise the path model
    agreeing best with the MMM is taken, and without an MMM the fallback rule
    (:data:`FALLBACK`, which skips navigational touches).

    Parameters
    ----------
    evidence
        From :func:`evidence_table`.

    Returns
    -------
    Recommendation
    """
    reasons: list[str] = []
    ok = evidence[evidence["counterfactual"]].copy()
    for row in ok.itertuples():
        if not row.heldout_gain > 0:
            reasons.append(
                f"{row.model}: exposures do not improve the prediction of conversion on "
                "unseen customers over the baseline alone"
            )
            ok = ok[ok["model"] != row.model]
        elif row.holdout_ok is not None and not bool(row.holdout_ok):
            reasons.append(
                f"{row.model}: its campaign-attributable conversions "
                f"({row.implied_campaign_conversions:,.0f}) disagree with the holdout"
            )
            ok = ok[ok["model"] != row.model]
        elif not row.mean_interval <= MAX_MEAN_INTERVAL:
            reasons.append(f"{row.model}: bootstrap intervals too wide ({row.mean_interval:.3f})")
            ok = ok[ok["model"] != row.model]
    if len(ok):
        best = ok.sort_values(["heldout_gain", "model"], ascending=[False, True]).iloc[0]
        reasons.append(
            f"{best['model']}: gains {best['heldout_gain']:.3f} nats of log-likelihood per "
            "conversion on unseen customers over the baseline alone"
        )
        if best["holdout_ok"] is not None and bool(best["holdout_ok"]):
            reasons.append(
                f"{best['model']}: its {best['implied_campaign_conversions']:,.0f} "
                "campaign-attributable conversions agree with the holdout"
            )
        else:
            reasons.append("no holdout to check the campaign-attributable conversions against")
        reasons.append(
            f"{best['model']}: stable (mean bootstrap interval {best['mean_interval']:.3f})"
        )
        return Recommendation(str(best["model"]), reasons, evidence)
    paths = evidence[~evidence["counterfactual"]]
    if paths["holdout_ok"].notna().any() and not paths["holdout_ok"].dropna().astype(bool).any():
        reasons.append(
            "path models credit every touched conversion "
            f"({paths['implied_campaign_conversions'].iloc[0]:,.0f}), more than the holdout's "
            "lift: none measures incrementality"
        )
    if paths["mmm_spearman"].notna().any():
        best = paths.sort_values(["mmm_spearman", "model"], ascending=[False, True]).iloc[0]
        reasons.append(
            f"{best['model']}: closest ranking to the marketing-mix model "
            f"(Spearman {best['mmm_spearman']:.2f})"
        )
        return Recommendation(str(best["model"]), reasons, evidence)
    reasons.append(f"no model earned the evidence: {FALLBACK}, the rule that skips navigational")
    return Recommendation(FALLBACK, reasons, evidence)


def check_recommendation(rec: Recommendation, scores: pd.DataFrame) -> pd.DataFrame:
    """Score the recommendation against the truth (simulated worlds only).

    Parameters
    ----------
    rec
        From :func:`recommend`.
    scores
        :func:`imclab.attribution.score_models` of every model.

    Returns
    -------
    pandas.DataFrame
        One row: ``recommended, mae, spearman, truth_best, truth_best_mae, right`` (right:
        the recommended model has the lowest MAE, or is within 0.005 of it).
    """
    s = scores.set_index("model")
    best = scores.sort_values(["mae", "model"]).iloc[0]
    mine = s.loc[rec.model]
    return pd.DataFrame(
        [
            {
                "recommended": rec.model,
                "mae": float(mine["mae"]),
                "spearman": float(mine["spearman"]),
                "truth_best": best["model"],
                "truth_best_mae": float(best["mae"]),
                "right": bool(mine["mae"] <= best["mae"] + 0.005),
            }
        ]
    )


@dataclass
class Assessment:
    """Everything :func:`assess` fitted and concluded (see its return value)."""

    hazard: AdditiveHazard
    heldout: pd.DataFrame
    holdout: object | None
    results: pd.DataFrame
    intervals: pd.DataFrame
    evidence: pd.DataFrame
    recommendation: Recommendation


def assess(
    results: pd.DataFrame,
    intervals: pd.DataFrame,
    panel: Panel,
    *,
    customers,
    conversions,
    holdout_regions,
    campaign_window: tuple[object, object],
    mmm: pd.Series | None,
    n_boot: int,
) -> Assessment:
    """Fit the hazard model, gather the evidence for every model and recommend one.

    Parameters
    ----------
    results
        Stacked tidy results of the path models (on the navigational-free paths).
    intervals
        Their bootstrap intervals (:func:`imclab.attribution.bootstrap_shares`).
    panel
        :func:`imclab.attribution.build_panel` of the same world.
    customers, conversions
        Tables for the holdout difference in differences.
    holdout_regions
        The plan's holdout regions (empty: no holdout evidence).
    campaign_window
        The plan's (start, end).
    mmm
        :func:`read_mmm` shares, or None.
    n_boot
        Bootstrap replicates of the hazard model.

    Returns
    -------
    Assessment
        ``hazard`` (fitted :class:`~imclab.attribution.hazard.AdditiveHazard`), ``heldout``
        (cross-validated log-likelihoods), ``holdout`` (``DidResult`` or None), ``results``
        and ``intervals`` with the hazard model added, ``evidence``, ``recommendation``.
    """
    # imported here: imclab.review imports the attribution package (journeys) itself
    from imclab.review.experiments import holdout_did

    hz = AdditiveHazard(n_boot=n_boot).fit(panel)
    cv = heldout_loglik(panel)
    did = None
    if holdout_regions:
        did = holdout_did(customers, conversions, holdout_regions, *campaign_window)
    all_results = pd.concat([results, hz.credit_], ignore_index=True)
    all_intervals = pd.concat([intervals, hz.intervals_], ignore_index=True)
    gain = cv.set_index("model")["gain_per_conversion"].to_dict()
    ev = evidence_table(
        all_results,
        counterfactual={MODEL: hz.campaign_conversions_},
        touched_campaign_conversions=touched_window_conversions(panel),
        holdout=None if did is None else did.incremental_conversions,
        heldout_gain={MODEL: gain[MODEL]},
        intervals=all_intervals,
        mmm=mmm,
    )
    return Assessment(hz, cv, did, all_results, all_intervals, ev, recommend(ev))
