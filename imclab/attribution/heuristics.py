"""Rule-based attribution models on unique paths.

First, last, last non-direct, linear, time decay and position-based (U-shaped).

Every function takes the ``paths`` table of :func:`imclab.attribution.build_journeys` and
returns the tidy frame ``channel, model, conversions, value, share`` (plus a ``(no touch)``
row when some conversions had no touch). Credits are per touch (a channel touched twice in a
path gets two touches' worth), as in ChannelAttribution's heuristic models.
"""

from __future__ import annotations

import weakref
from itertools import chain

import numpy as np
import pandas as pd

from imclab.attribution._common import check_paths, sum_by_channel, tidy, touches
from imclab.errors import ParameterError

_SHARED: dict = {"ref": None, "key": None, "touches": None}


def _fingerprint(paths: pd.DataFrame) -> tuple:
    ch = paths["channels"]
    ends = (ch.iloc[0], ch.iloc[-1]) if len(ch) else ()
    return (len(paths), ends, *(float(paths[c].sum()) for c in ("conversions", "nulls", "value")))


def _touches(paths: pd.DataFrame) -> pd.DataFrame:
    """Return the per-touch table of ``paths``, built once and shared by the heuristics.

    The six heuristics usually run one after the other on the same paths table (e.g.
    ``run_models``): the table is rebuilt only when another paths table (or a changed one:
    length, end paths or sums differ) comes in.
    """
    check_paths(paths)
    key = _fingerprint(paths)
    ref = _SHARED["ref"]
    if ref is not None and ref() is paths and _SHARED["key"] == key:
        return _SHARED["touches"]
    t = touches(paths)
    try:
        _SHARED.update(ref=weakref.ref(paths), key=key, touches=t)
    except TypeError:  # pragma: no cover - DataFrames accept weak references
        pass
    return t


def _credit(t: pd.DataFrame, weight: np.ndarray, model: str, paths: pd.DataFrame) -> pd.DataFrame:
    conv = sum_by_channel(t, weight * t["conversions"].to_numpy())
    val = sum_by_channel(t, weight * t["value"].to_numpy())
    return tidy(conv, val, model, paths, channels=list(t["channel"].cat.categories))


def first_touch(paths: pd.DataFrame) -> pd.DataFrame:
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
    t = _touches(paths)
    return _credit(t, (t["position"] == 0).to_numpy(float), "first_touch", paths)


def last_touch(paths: pd.DataFrame) -> pd.DataFrame:
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
    t = _touches(paths)
    return _credit(t, (t["position"] == t["length"] - 1).to_numpy(float), "last_touch", paths)


def last_non_direct(paths: pd.DataFrame, direct: str = "direct") -> pd.DataFrame:
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
    t = _touches(paths)
    non_direct = (t["channel"] != direct).to_numpy()
    pos = np.where(non_direct, t["position"].to_numpy(), -1)
    starts = np.flatnonzero(t["position"].to_numpy() == 0)
    lengths = t["length"].to_numpy()[starts] if len(starts) else np.zeros(0, dtype=int)
    last_nd = (
        np.repeat(np.maximum.reduceat(pos, starts), lengths) if len(starts) else pos
    )  # rows of a path are contiguous
    target = np.where(last_nd >= 0, last_nd, t["length"].to_numpy() - 1)
    return _credit(t, (t["position"].to_numpy() == target).astype(float), "last_non_direct", paths)


def linear(paths: pd.DataFrame) -> pd.DataFrame:
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
    t = _touches(paths)
    return _credit(t, 1.0 / t["length"].to_numpy(float), "linear", paths)


def time_decay(paths: pd.DataFrame) -> pd.DataFrame:
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
    check_paths(paths)
    if "decay" not in paths.columns:
        raise ParameterError("paths: no 'decay' column; build the paths with build_journeys()")
    t = _touches(paths)
    p = paths[paths["channels"].map(len) > 0]
    dconv = np.fromiter(chain.from_iterable(p["decay"].tolist()), dtype=float)
    dval = np.fromiter(chain.from_iterable(p["decay_value"].tolist()), dtype=float)
    # Non-converting paths have no decay weights: their touches get zero credit.
    lengths = p["channels"].map(len).to_numpy()
    has = p["decay"].map(len).to_numpy() == lengths
    wc = np.zeros(len(t))
    wv = np.zeros(len(t))
    mask = np.repeat(has, lengths)
    wc[mask] = dconv
    wv[mask] = dval
    conv, val = sum_by_channel(t, wc), sum_by_channel(t, wv)
    return tidy(conv, val, "time_decay", paths, channels=list(t["channel"].cat.categories))


def position_based(
    paths: pd.DataFrame, weights: tuple[float, float, float] = (0.4, 0.2, 0.4)
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
    t = _touches(paths)
    pos = t["position"].to_numpy()
    n = t["length"].to_numpy()
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
    return _credit(t, wt, "position_based", paths)
