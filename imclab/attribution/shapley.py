"""Shapley-value attribution (Zhao, Mahboobi & Bagheri 2018) and its ordered variant.

The players are channels; a coalition's worth ``v(S)`` is the conversions (or value) of the
journeys whose set of channels is a subset of ``S`` (the paper's characteristic function).
The Shapley value is computed exactly by enumerating every coalition as a bitmask (up to 15
channels: 32,768 coalitions); the paper's simplified formula, ``phi_j = sum over channel sets
T containing j of R(T) / |T|`` (``R(T)`` the conversions of journeys whose channel set is
exactly ``T``), gives the same numbers and is what the ordered variant extends: it keeps the
position at which each channel first entered the journey (1 = first), so the credit shows
the journey stage each channel works at. Non-converting journeys carry no worth here.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd

from imclab.attribution._common import check_paths, tidy
from imclab.errors import ParameterError

#: Exact enumeration limit (2**15 coalitions); group channels above it.
MAX_CHANNELS = 15


def _channel_sets(paths: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Channels, and per converting touched path its bitmask, conversions and value."""
    check_paths(paths)
    p = paths[(paths["channels"].map(len) > 0) & (paths["conversions"] > 0)]
    channels = sorted({c for ch in p["channels"] for c in ch})
    if len(channels) > MAX_CHANNELS:
        raise ParameterError(
            f"shapley: {len(channels)} channels ({', '.join(channels)}) exceed the exact limit of "
            f"{MAX_CHANNELS}; group channels with channel_groups (plan key 'channel_groups') "
            "so that at most 15 remain"
        )
    bit = {c: 1 << i for i, c in enumerate(channels)}
    masks = np.array([sum(bit[c] for c in set(ch)) for ch in p["channels"]], dtype=np.int64)
    return channels, masks, p["conversions"].to_numpy(float), p["value"].to_numpy(float)


def _shapley_exact(n: int, masks: np.ndarray, worth: np.ndarray) -> np.ndarray:
    """Exact Shapley values by subset enumeration: v(S) = sum of R(T) for T subset of S."""
    size = 1 << n
    v = np.bincount(masks, weights=worth, minlength=size).astype(float)
    # Zeta transform over subsets: after it, v[S] = sum_{T subset of S} R(T).
    for i in range(n):
        b = 1 << i
        idx = np.arange(size)
        has = (idx & b) != 0
        v[has] += v[idx[has] ^ b]
    all_masks = np.arange(size)
    pop = np.array([bin(m).count("1") for m in range(size)]) if n <= 15 else None
    weights = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi = np.zeros(n)
    for j in range(n):
        b = 1 << j
        without = all_masks[(all_masks & b) == 0]
        phi[j] = np.sum(weights[pop[without]] * (v[without | b] - v[without]))
    return phi


def shapley(paths: pd.DataFrame) -> pd.DataFrame:
    """Shapley-value attribution of conversions and value over channel coalitions.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``value``).

    Returns
    -------
    pandas.DataFrame
        ``channel, model, conversions, value, share`` with model ``shapley``.

    Raises
    ------
    ParameterError
        More than 15 channels (suggesting channel grouping).
    """
    channels, masks, conv, value = _channel_sets(paths)
    n = len(channels)
    if n == 0:
        return tidy(pd.Series(dtype=float), pd.Series(dtype=float), "shapley", paths)
    phi_c = _shapley_exact(n, masks, conv)
    phi_v = _shapley_exact(n, masks, value)
    return tidy(pd.Series(phi_c, index=channels), pd.Series(phi_v, index=channels), "shapley",
                paths, channels=channels)  # fmt: skip


def ordered_shapley(paths: pd.DataFrame) -> pd.DataFrame:
    """Ordered Shapley values: each channel's credit by the position it entered the journey.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``value``).

    Returns
    -------
    pandas.DataFrame
        ``channel, model, position, conversions, value, share`` (model ``ordered_shapley``;
        ``position`` 1 = the channel opened the journey; ``share`` of all touch-attributed
        conversions). Summed over positions, a channel's credit equals :func:`shapley`.
    """
    channels, _, _, _ = _channel_sets(paths)
    p = paths[(paths["channels"].map(len) > 0) & (paths["conversions"] > 0)]
    rows: dict[tuple[str, int], list[float]] = {}
    for ch, c, v in zip(p["channels"], p["conversions"], p["value"], strict=True):
        distinct = list(dict.fromkeys(ch))
        k = len(distinct)
        for pos, x in enumerate(distinct, start=1):
            acc = rows.setdefault((x, pos), [0.0, 0.0])
            acc[0] += c / k
            acc[1] += v / k
    out = pd.DataFrame(
        [(x, "ordered_shapley", pos, a[0], a[1]) for (x, pos), a in rows.items()],
        columns=["channel", "model", "position", "conversions", "value"],
    )
    total = out["conversions"].sum()
    out["share"] = out["conversions"] / total if total > 0 else 0.0
    return out.sort_values(["channel", "position"], kind="mergesort").reset_index(drop=True)
