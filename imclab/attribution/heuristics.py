"""Rule-based attribution models on unique paths.

First, last, last non-direct, linear, time decay and position-based (U-shaped).

Every function takes the ``paths`` table of :func:`imclab.attribution.build_journeys` (or the
same paths as Arrow list columns or :class:`~imclab.attribution.CodedPaths`) and returns the
tidy frame ``channel, model, conversions, value, share`` (plus a ``(no touch)`` row when some
conversions had no touch). Credits are per touch (a channel touched twice in a
path gets two touches' worth), as in ChannelAttribution's heuristic models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imclab.attribution._common import CodedPaths, code_paths, tidy
from imclab.errors import ParameterError


def _credit(
    cp: CodedPaths, model: str, codes: np.ndarray, conv: np.ndarray, val: np.ndarray
) -> pd.DataFrame:
    """Sum the credited touches' conversions ``conv`` and value ``val`` by channel.

    ``codes`` are the channels of the credited touches, ``conv`` and ``val`` their credit.
    """
    n = len(cp.names)
    names = list(cp.names)
    return tidy(
        pd.Series(np.bincount(codes, weights=conv, minlength=n), index=names),
        pd.Series(np.bincount(codes, weights=val, minlength=n), index=names),
        model,
        cp,
        channels=names,
    )


def _one_touch(cp: CodedPaths, model: str, touch: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
    """Credit each path ``rows[i]``'s whole conversions and value to its touch ``touch[i]``."""
    return _credit(cp, model, cp.codes[touch], cp.conversions[rows], cp.value[rows])


def _per_touch(cp: CodedPaths, model: str, weight: np.ndarray) -> pd.DataFrame:
    """Credit every touch ``weight`` x its path's conversions and value."""
    conv = np.repeat(cp.conversions, cp.lengths)
    val = np.repeat(cp.value, cp.lengths)
    return _credit(cp, model, cp.codes, weight * conv, weight * val)


def _firsts(cp: CodedPaths) -> np.ndarray:
    """Index (in ``codes``) of the first touch of every touched path."""
    return cp.starts[cp.lengths > 0]


def first_touch(paths: pd.DataFrame | CodedPaths) -> pd.DataFrame:
    """Credit every conversion to the first touch of its journey.

    Parameters
    ----------
    paths
        Unique paths with ``channels``, ``conversions``, ``value``.

    Returns
    -------
    pandas.DataFrame
        ``channel, model, conversions, value, share`` with model ``first_touch``.
    """
    cp = code_paths(paths)
    return _one_touch(cp, "first_touch", _firsts(cp), np.flatnonzero(cp.lengths > 0))


def last_touch(paths: pd.DataFrame | CodedPaths) -> pd.DataFrame:
    """Credit every conversion to the last touch before it.

    Parameters
    ----------
    paths
        Unique paths with ``channels``, ``conversions``, ``value``.

    Returns
    -------
    pandas.DataFrame
        Tidy credits with model ``last_touch``.
    """
    cp = code_paths(paths)
    last = np.cumsum(cp.lengths)[cp.lengths > 0] - 1
    return _one_touch(cp, "last_touch", last, np.flatnonzero(cp.lengths > 0))


def last_non_direct(paths: pd.DataFrame | CodedPaths, direct: str = "direct") -> pd.DataFrame:
    """Credit the last touch that is not ``direct`` (all-direct journeys stay with direct).

    Parameters
    ----------
    paths
        Unique paths with ``channels``, ``conversions``, ``value``.
    direct
        The channel (or channel group) that holds typed-in and bookmarked visits.

    Returns
    -------
    pandas.DataFrame
        Tidy credits with model ``last_non_direct``.
    """
    cp = code_paths(paths)
    first = _firsts(cp)
    rows = np.flatnonzero(cp.lengths > 0)
    if len(first) == 0:
        return _one_touch(cp, "last_non_direct", first, rows)
    d = cp.names.index(direct) if direct in cp.names else -1
    # index of each touch, or -1 for direct touches; the maximum per path is its last
    # non-direct touch (touches of a path are contiguous, paths in order)
    idx = np.where(cp.codes != d, np.arange(len(cp.codes)), -1)
    last_nd = np.maximum.reduceat(idx, first)
    last = first + cp.lengths[cp.lengths > 0] - 1
    target = np.where(last_nd >= 0, last_nd, last)
    return _one_touch(cp, "last_non_direct", target, rows)


def linear(paths: pd.DataFrame | CodedPaths) -> pd.DataFrame:
    """Split every conversion equally over the touches of its journey.

    Parameters
    ----------
    paths
        Unique paths with ``channels``, ``conversions``, ``value``.

    Returns
    -------
    pandas.DataFrame
        Tidy credits with model ``linear``.
    """
    cp = code_paths(paths)
    share = np.divide(1.0, cp.lengths, out=np.zeros(len(cp.lengths)), where=cp.lengths > 0)
    conv = np.repeat(share * cp.conversions, cp.lengths)  # each touch: 1/n of its path's
    return _credit(cp, "linear", cp.codes, conv, np.repeat(share * cp.value, cp.lengths))


def time_decay(paths: pd.DataFrame | CodedPaths) -> pd.DataFrame:
    """Credit touches in proportion to ``0.5 ** (days before the conversion / half-life)``.

    The weights are computed per journey in the database when the journeys are built
    (``build_journeys(half_life_days=...)``) and stored per path position in the ``decay``
    and ``decay_value`` columns; this function sums them by channel.

    Parameters
    ----------
    paths
        Unique paths with ``channels``, ``decay``, ``decay_value``.

    Returns
    -------
    pandas.DataFrame
        Tidy credits with model ``time_decay``.
    """
    if isinstance(paths, pd.DataFrame) and "decay" not in paths.columns:
        raise ParameterError(
            "paths: no 'decay' column; build the paths with build_journeys(decay=True)"
        )
    cp = code_paths(paths, decay=True)
    if cp.decay is None or cp.decay_value is None:
        raise ParameterError("paths: no decay weights; build the paths with build_journeys()")
    names = list(cp.names)
    n = len(names)
    conv = pd.Series(np.bincount(cp.codes, weights=cp.decay, minlength=n), index=names)
    val = pd.Series(np.bincount(cp.codes, weights=cp.decay_value, minlength=n), index=names)
    return tidy(conv, val, "time_decay", cp, channels=names)


def position_based(
    paths: pd.DataFrame | CodedPaths, weights: tuple[float, float, float] = (0.4, 0.2, 0.4)
) -> pd.DataFrame:
    """U-shaped credit: ``weights`` = (first, middle touches together, last).

    One-touch journeys give everything to that touch; two-touch journeys split
    first:last in proportion to the first and last weights; longer journeys give the
    middle weight in equal parts to the touches between the first and the last.

    Parameters
    ----------
    paths
        Unique paths with ``channels``, ``conversions``, ``value``.
    weights
        Non-negative (first, middle, last) weights summing to 1.

    Returns
    -------
    pandas.DataFrame
        Tidy credits with model ``position_based``.
    """
    w = np.asarray(weights, dtype=float)
    if w.shape != (3,) or (w < 0).any() or not np.isclose(w.sum(), 1.0) or w[0] + w[2] <= 0:
        raise ParameterError(
            f"position weights: expected three non-negative numbers (first, middle, last) "
            f"summing to 1, found {tuple(weights)}"
        )
    cp = code_paths(paths)
    pos = cp.position
    n = cp.lengths[cp.path_of_touch]
    first, last = pos == 0, pos == n - 1
    wt = np.where(
        n == 1,
        1.0,
        np.where(
            n == 2,
            np.where(first, w[0], w[2]) / (w[0] + w[2]),
            np.where(first, w[0], np.where(last, w[2], w[1] / np.maximum(n - 2, 1))),
        ),
    )
    return _per_touch(cp, "position_based", wt)
