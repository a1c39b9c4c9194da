"""Run every attribution model side by side, score them against ground truth, bootstrap CIs.

Scoring compares channel shares (of touch-attributed conversions) with the simulator's true
shares of touch-caused conversions (``truth/channels.csv``, ``true_share``); the organic
``(baseline)`` row and the ``(no touch)`` row are outside both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from imclab.attribution import heuristics as _h
from imclab.attribution._common import check_paths
from imclab.attribution.journeys import NO_TOUCH
from imclab.attribution.markov import _chain_from, _check_order, _incidence, _removal, markov
from imclab.attribution.shapley import _channel_sets, shapley
from imclab.errors import DataError, ParameterError

#: Model names in display order (Markov appears as ``markov_<order>``).
HEURISTICS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
)


def run_models(
    paths: pd.DataFrame,
    *,
    markov_order: int | Sequence[int] = 1,
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4),
    direct: str = "direct",
) -> pd.DataFrame:
    """Run every model on the same paths and stack their tidy results.

    Parameters
    ----------
    paths
        Unique paths from :func:`imclab.attribution.build_journeys` (the time-decay half-life
        is set there).
    markov_order
        One Markov order or several (each gives a ``markov_<k>`` model).
    position_weights
        (first, middle, last) weights of the position-based model.
    direct
        The channel treated as direct by the last non-direct model.

    Returns
    -------
    pandas.DataFrame
        ``channel, model, conversions, value, share`` for every model, heuristics first.
    """
    orders = [markov_order] if isinstance(markov_order, int) else list(markov_order)
    for k in orders:
        _check_order(k)
    parts = [
        _h.first_touch(paths),
        _h.last_touch(paths),
        _h.last_non_direct(paths, direct=direct),
        _h.linear(paths),
        _h.time_decay(paths),
        _h.position_based(paths, weights=position_weights),
        *[markov(paths, k) for k in orders],
        shapley(paths),
    ]
    return pd.concat(parts, ignore_index=True)


def by_segment(paths: pd.DataFrame, model: Callable[..., pd.DataFrame], **kwargs) -> pd.DataFrame:
    """Run a model (or :func:`run_models`) separately for each ``segment`` of the paths.

    Parameters
    ----------
    paths
        Paths built with ``segments=`` (a ``segment`` column).
    model
        A function of ``paths`` returning a tidy frame.
    **kwargs
        Passed to ``model``.

    Returns
    -------
    pandas.DataFrame
        The model's tidy frames stacked, with a leading ``segment`` column.
    """
    if "segment" not in paths.columns:
        raise ParameterError("paths: no 'segment' column; build the journeys with segments=")
    out = []
    for seg, part in paths.groupby("segment", sort=True):
        res = model(part.reset_index(drop=True), **kwargs)
        res.insert(0, "segment", seg)
        out.append(res)
    return pd.concat(out, ignore_index=True)


def true_shares(
    truth_channels: pd.DataFrame,
    channel_groups: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
) -> pd.Series:
    """Return the true share of touch-caused conversions per channel (or channel group).

    Parameters
    ----------
    truth_channels
        ``load_truth(data_dir)["channels"]`` (``channel``, ``true_conversions``).
    channel_groups
        The same grouping the journeys used.
    exclude
        Channels (or groups) the models treat as non-channels (the plan's navigational
        channels): left out of the truth too, and the other shares renormalised, so a model
        is not charged for a channel it was told to ignore.

    Returns
    -------
    pandas.Series
        Shares indexed by channel, summing to 1 (the ``(baseline)`` row is left out).
    """
    t = truth_channels[truth_channels["channel"] != "(baseline)"].copy()
    groups = dict(channel_groups or {})
    t["channel"] = t["channel"].map(lambda c: groups.get(c, c))
    t = t[~t["channel"].isin(list(exclude))]
    conv = t.groupby("channel")["true_conversions"].sum()
    return (conv / conv.sum()).rename("true_share")


def compare_with_truth(
    results: pd.DataFrame,
    truth_channels: pd.DataFrame,
    channel_groups: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
) -> pd.DataFrame:
    """Put every model's channel shares next to the true shares.

    Parameters
    ----------
    results
        Stacked tidy results (:func:`run_models`).
    truth_channels
        ``load_truth(data_dir)["channels"]``.
    channel_groups
        The grouping the journeys used.
    exclude
        Navigational channels, left out of the truth and of the models' shares.

    Returns
    -------
    pandas.DataFrame
        ``model, channel, share, true_share, error`` for the union of channels (a channel a
        model never credits has share 0).
    """
    truth = true_shares(truth_channels, channel_groups, exclude)
    res = results[(results["channel"] != NO_TOUCH) & ~results["channel"].isin(list(exclude))]
    channels = sorted(set(truth.index) | set(res["channel"]))
    rows = []
    for model, part in res.groupby("model", sort=False):
        share = part.set_index("channel")["share"].reindex(channels, fill_value=0.0)
        ts = truth.reindex(channels, fill_value=0.0)
        frame = {"model": model, "channel": channels, "share": share.to_numpy()}
        rows.append(pd.DataFrame({**frame, "true_share": ts.to_numpy()}))
    out = pd.concat(rows, ignore_index=True)
    out["error"] = out["share"] - out["true_share"]
    return out


def score_models(
    results: pd.DataFrame,
    truth_channels: pd.DataFrame,
    channel_groups: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
) -> pd.DataFrame:
    """Score each model's channel shares against the true shares.

    Parameters
    ----------
    results
        Stacked tidy results (:func:`run_models`).
    truth_channels
        ``load_truth(data_dir)["channels"]``.
    channel_groups
        The grouping the journeys used.
    exclude
        Navigational channels, left out of the truth and of the models' shares.

    Returns
    -------
    pandas.DataFrame
        ``model, mae`` (mean absolute share error, in share points 0-1), ``max_error``,
        ``spearman`` (rank correlation of shares with the true shares), ``rank`` (1 = lowest
        MAE); sorted by MAE then model.
    """
    cmp = compare_with_truth(results, truth_channels, channel_groups, exclude)
    rows = []
    for model, part in cmp.groupby("model", sort=False):
        rho = spearmanr(part["share"], part["true_share"]).statistic
        rows.append((model, part["error"].abs().mean(), part["error"].abs().max(), float(rho)))
    out = pd.DataFrame(rows, columns=["model", "mae", "max_error", "spearman"])
    out = out.sort_values(["mae", "model"], kind="mergesort").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def bootstrap_shares(
    paths: pd.DataFrame,
    *,
    n_boot: int = 200,
    seed: int = 20250301,
    markov_order: int = 1,
    level: float = 0.9,
) -> pd.DataFrame:
    """Bootstrap confidence intervals of the Markov and Shapley channel shares.

    Journeys are resampled with replacement (a multinomial draw over every path's
    converting and non-converting journeys, keeping the total); each replicate recomputes
    the exact Markov removal effects and the Shapley values on the resampled counts.

    Parameters
    ----------
    paths
        Unique paths (``(no touch)`` paths do not affect shares and are left out).
    n_boot
        Number of bootstrap replicates.
    seed
        Random seed (results are identical for the same seed).
    markov_order
        Order of the Markov model bootstrapped.
    level
        Confidence level of the percentile interval.

    Returns
    -------
    pandas.DataFrame
        ``model, channel, share`` (on the original paths), ``lo``, ``hi`` (percentile
        interval) and ``se`` (bootstrap standard deviation).
    """
    if n_boot < 10:
        raise ParameterError(f"n_boot: expected at least 10 bootstrap samples, found {n_boot}")
    if not 0 < level < 1:
        raise ParameterError(f"level: expected a confidence level between 0 and 1, found {level}")
    _check_order(markov_order)
    check_paths(paths)
    p = paths[paths["channels"].map(len) > 0].reset_index(drop=True)
    if p["conversions"].sum() <= 0:
        raise DataError("paths: no converting journey with a touch; nothing to bootstrap")
    conv = p["conversions"].to_numpy(float)
    nulls = p["nulls"].to_numpy(float)
    value = p["value"].to_numpy(float)
    aov = np.divide(value, conv, out=np.zeros_like(value), where=conv > 0)
    inc = _incidence(p, markov_order)
    channels, _, _, _ = _channel_sets(p)
    # Shapley (simplified formula): each converting path's credit split over its channel set.
    member = np.zeros((len(p), len(channels)))
    col = {c: i for i, c in enumerate(channels)}
    for i, ch in enumerate(p["channels"]):
        s = set(ch)
        for c in s & col.keys():  # a channel only on journeys that never converted gets none
            member[i, col[c]] = 1.0 / len(s)

    def _markov_share(cv, nl, vl) -> pd.Series:
        chain = _chain_from(*inc, p, markov_order, conv=cv, nulls=nl, value=vl)
        re = _removal(chain).set_index("channel")["removal_effect"]
        return re / re.sum() if re.sum() > 0 else re * 0.0

    def _shapley_share(cv) -> pd.Series:
        s = pd.Series(member.T @ cv, index=channels)
        return s / s.sum() if s.sum() > 0 else s * 0.0

    point_m = _markov_share(conv, nulls, value)
    point_s = _shapley_share(conv)
    probs = np.concatenate([conv, nulls])
    total = int(round(probs.sum()))
    probs = probs / probs.sum()
    rng = np.random.default_rng(seed)
    draws_m, draws_s = [], []
    for _ in range(n_boot):
        k = rng.multinomial(total, probs).astype(float)
        cv, nl = k[: len(p)], k[len(p) :]
        draws_m.append(_markov_share(cv, nl, cv * aov).reindex(point_m.index, fill_value=0.0))
        draws_s.append(_shapley_share(cv))
    a = (1 - level) / 2
    out = []
    for model, point, draws in (
        (f"markov_{markov_order}", point_m, draws_m),
        ("shapley", point_s, draws_s),
    ):
        d = pd.DataFrame(draws)
        out.append(
            pd.DataFrame(
                {
                    "model": model,
                    "channel": point.index,
                    "share": point.to_numpy(),
                    "lo": d.quantile(a).reindex(point.index).to_numpy(),
                    "hi": d.quantile(1 - a).reindex(point.index).to_numpy(),
                    "se": d.std(ddof=1).reindex(point.index).to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True)
