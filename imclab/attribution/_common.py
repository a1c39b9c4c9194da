"""Shared helpers of the attribution models: the long touch table and the tidy result frame."""

from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd

from imclab.attribution.journeys import NO_TOUCH
from imclab.errors import DataError

RESULT_COLUMNS = ["channel", "model", "conversions", "value", "share"]


def check_paths(paths: pd.DataFrame) -> pd.DataFrame:
    """Validate a paths table (as :func:`build_journeys` returns) and return it."""
    need = ["channels", "conversions", "nulls", "value"]
    missing = [c for c in need if c not in paths.columns]
    if missing:
        raise DataError(
            f"paths: missing column(s) {', '.join(missing)}; build them with build_journeys()"
        )
    for col in ("conversions", "nulls", "value"):
        neg = paths.index[paths[col] < 0]
        if len(neg):
            raise DataError(f"paths: column '{col}' is negative in rows {list(neg[:10])}")
    return paths


def touches(paths: pd.DataFrame) -> pd.DataFrame:
    """One row per touch of every touched path: path index, position, length, channel, counts.

    Rows of one path are contiguous and in path order; ``channel`` is categorical (sorted
    categories) so credits can be summed with ``np.bincount`` on its codes.
    """
    p = paths[paths["channels"].map(len) > 0]
    lengths = p["channels"].map(len).to_numpy()
    idx = np.repeat(np.arange(len(p)), lengths)
    pos = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = np.fromiter(chain.from_iterable(p["channels"].tolist()), dtype=object, count=len(idx))
    codes, cats = pd.factorize(flat, sort=True)
    return pd.DataFrame(
        {
            "path": p.index.to_numpy()[idx],
            "position": pos,
            "length": lengths[idx],
            "channel": pd.Categorical.from_codes(codes, categories=cats),
            "conversions": p["conversions"].to_numpy(dtype=float)[idx],
            "value": p["value"].to_numpy(dtype=float)[idx],
        }
    )


def sum_by_channel(t: pd.DataFrame, weights: np.ndarray) -> pd.Series:
    """Sum per-touch ``weights`` by the touch table's (categorical) channel."""
    cats = t["channel"].cat.categories
    sums = np.bincount(t["channel"].cat.codes.to_numpy(), weights=weights, minlength=len(cats))
    return pd.Series(sums, index=list(cats), dtype=float)


def no_touch(paths: pd.DataFrame) -> tuple[float, float]:
    """Conversions and value of the ``(no touch)`` paths."""
    m = paths["channels"].map(len) == 0
    return float(paths.loc[m, "conversions"].sum()), float(paths.loc[m, "value"].sum())


def tidy(
    conversions: pd.Series,
    value: pd.Series,
    model: str,
    paths: pd.DataFrame,
    channels: list[str] | None = None,
) -> pd.DataFrame:
    """Assemble a model's credits into the tidy result frame.

    Channel rows first (sorted by channel id), then the ``(no touch)`` row. ``share`` is a
    channel's part of the touch-attributed conversions (channel shares sum to 1); the
    ``(no touch)`` row carries its conversions and value and no share (NaN): those
    conversions had no touch to credit and are never spread over channels.
    """
    names = sorted(set(conversions.index) | set(value.index) | set(channels or []))
    conv = conversions.reindex(names, fill_value=0.0).astype(float).clip(lower=0.0)
    val = value.reindex(names, fill_value=0.0).astype(float).clip(lower=0.0)
    total = conv.sum()
    share = conv / total if total > 0 else conv * 0.0
    out = pd.DataFrame(
        {"channel": names, "model": model, "conversions": conv.to_numpy(),
         "value": val.to_numpy(), "share": share.to_numpy()}
    )  # fmt: skip
    nt_conv, nt_val = no_touch(paths)
    if nt_conv > 0:
        out.loc[len(out)] = [NO_TOUCH, model, nt_conv, nt_val, np.nan]
    return out.reset_index(drop=True)
