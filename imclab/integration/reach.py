"""Overlap, incremental reach, and reach and frequency of channels, from engine-side cells.

Overlap and incremental reach use the exposure-pattern cells of
:func:`imclab.integration.exposure.exposure_cells`; reach and frequency use the per-channel
touch-count cells of :func:`imclab.integration.exposure.frequency_cells`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from imclab.integration.synergy import _wls_hc1
from imclab.kpis import wilson_interval


def channel_overlap(
    cells: pd.DataFrame, channels: list[str] | tuple[str, ...], *, top: int = 15
) -> pd.DataFrame:
    """Count customers reached by each combination of channels (for an UpSet chart).

    Parameters
    ----------
    cells
        Exposure-pattern cells (0/1 per channel, ``customers``).
    channels
        The channels, in display order.
    top
        Combinations kept, largest first; the rest are summed into ``(other)``.

    Returns
    -------
    pandas.DataFrame
        ``combination`` (channels joined by ``+``), ``channels`` (count), ``customers``,
        ``share`` (of the reached customers), plus one 0/1 column per channel.
    """
    channels = list(channels)
    by = cells.groupby(channels, sort=False)["customers"].sum().reset_index()
    by = by[by[channels].sum(axis=1) > 0]
    by["channels"] = by[channels].sum(axis=1).astype(int)
    by["combination"] = [
        " + ".join(c for c in channels if row[c]) for _, row in by[channels].iterrows()
    ]
    by = by.sort_values(["customers", "combination"], ascending=[False, True], kind="mergesort")
    reached = by["customers"].sum()
    keep, rest = by.iloc[:top], by.iloc[top:]
    out = keep.copy()
    if len(rest):
        other = {c: 0 for c in channels}
        other.update(combination="(other)", channels=0, customers=rest["customers"].sum())
        out = pd.concat([out, pd.DataFrame([other])], ignore_index=True)
    out["share"] = out["customers"] / reached if reached else np.nan
    cols = ["combination", "channels", "customers", "share", *channels]
    return out[cols].reset_index(drop=True)


def incremental_reach(cells: pd.DataFrame, channels: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Reach of each channel, what it adds to the others, and its duplication.

    Returns
    -------
    pandas.DataFrame
        Per channel: ``reach`` (customers touched), ``reach_share`` (of all customers),
        ``incremental_reach`` (reached by this channel only: lost if it were dropped),
        ``incremental_share`` (of the channel's reach), ``duplication`` (share of its reach
        also reached by another channel); a final ``(any channel)`` row totals the reach.
    """
    channels = list(channels)
    n = cells["customers"].to_numpy()
    x = cells[channels].to_numpy() > 0
    k = x.sum(axis=1)
    total = n.sum()
    rows = []
    for i, c in enumerate(channels):
        reach = int(n[x[:, i]].sum())
        only = int(n[x[:, i] & (k == 1)].sum())
        rows.append(
            {
                "channel": c,
                "reach": reach,
                "reach_share": reach / total if total else np.nan,
                "incremental_reach": only,
                "incremental_share": only / reach if reach else np.nan,
                "duplication": 1 - only / reach if reach else np.nan,
            }
        )
    anyone = int(n[k > 0].sum())
    dup = int(n[k > 1].sum())
    rows.append(
        {
            "channel": "(any channel)",
            "reach": anyone,
            "reach_share": anyone / total if total else np.nan,
            "incremental_reach": np.nan,
            "incremental_share": np.nan,
            "duplication": dup / anyone if anyone else np.nan,
        }
    )
    return pd.DataFrame(rows)


def reach_frequency(
    freq: pd.DataFrame, channels: list[str] | tuple[str, ...], *, alpha: float = 0.05
) -> pd.DataFrame:
    """Per channel and touch count: customers, conversion rate and incremental orders.

    The incremental orders at ``k`` touches are the coefficients of a customer-level linear
    model of orders in the window on dummies of the channel's touch count, with the other
    channels' exposure indicators and the strata as controls (HC1 intervals; fitted from
    cells, see :mod:`imclab.integration.synergy`): without the controls, a channel's heavy
    viewers are also the other channels' heavy viewers and its curve takes their effect.

    Parameters
    ----------
    freq
        :func:`imclab.integration.exposure.frequency_cells`.
    channels
        All the analysed channels (the controls).
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``channel, touches`` (the last count is "that many or more"), ``customers``,
        ``share`` (of all customers), ``conversion_rate`` (share with an order in the
        window) with Wilson ``conversion_low/high``, ``orders_per_customer``,
        ``incremental_orders`` (orders per customer caused at this count, relative to no
        touch) with ``incremental_low/high``, and ``marginal_orders`` (the change from one
        touch fewer: where it falls to zero, extra touches stop paying).
    """
    channels = list(channels)
    rows = []
    z = stats.norm.ppf(1 - alpha / 2)
    for channel, part in freq.groupby("channel", sort=False):
        others = [c for c in channels if c != channel and part[c].nunique() > 1]
        counts = sorted(part["touches"].unique())
        n = part["customers"].to_numpy(float)
        dummies = [(part["touches"] == k).to_numpy(float) for k in counts if k]
        strata = pd.get_dummies(part["stratum"], drop_first=True, dtype=float).to_numpy()
        design = np.column_stack(
            [np.ones(len(part)), strata, part[others].to_numpy(float), *dummies]
        )
        beta, cov = _wls_hc1(
            design, n, part["orders"].to_numpy(float), part["orders_sq"].to_numpy(float)
        )
        first = design.shape[1] - len(dummies)
        total = n.sum()
        prev = 0.0
        for k in counts:
            cell = part[part["touches"] == k]
            m = cell["customers"].sum()
            conv = cell["converters"].sum()
            lo, hi = wilson_interval(conv, m, alpha)
            if k:
                j = first + counts.index(k) - (1 if 0 in counts else 0)
                inc, se = float(beta[j]), float(np.sqrt(cov[j, j]))
            else:
                inc, se = 0.0, 0.0
            rows.append(
                {
                    "channel": channel,
                    "touches": int(k),
                    "customers": int(m),
                    "share": m / total,
                    "conversion_rate": conv / m,
                    "conversion_low": float(lo[0]),
                    "conversion_high": float(hi[0]),
                    "orders_per_customer": cell["orders"].sum() / m,
                    "incremental_orders": inc,
                    "incremental_low": inc - z * se,
                    "incremental_high": inc + z * se,
                    "marginal_orders": inc - prev if k else np.nan,
                }
            )
            prev = inc
    return pd.DataFrame(rows)


def frequency_summary(freq: pd.DataFrame) -> pd.DataFrame:
    """Per channel: reach, average frequency among the reached, and share reached 3+ times."""
    rows = []
    freq = freq.groupby(["channel", "touches"], sort=False, as_index=False)[
        ["customers", "touches_sum"]
    ].sum()
    for channel, part in freq.groupby("channel", sort=False):
        total = part["customers"].sum()
        hit = part[part["touches"] > 0]
        reach = hit["customers"].sum()
        rows.append(
            {
                "channel": channel,
                "reach": int(reach),
                "reach_share": reach / total if total else np.nan,
                "average_frequency": hit["touches_sum"].sum() / reach if reach else np.nan,
                "share_3_plus": hit.loc[hit["touches"] >= 3, "customers"].sum() / reach
                if reach
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def check_against_truth(rf: pd.DataFrame, exposure_truth: pd.DataFrame, cap: int) -> pd.DataFrame:
    """Join the simulator's true orders caused per customer by touch count (capped at ``cap``).

    Returns ``rf`` with ``true_incremental`` (customer-weighted mean of the truth's caused
    orders per customer at that count, minus that at zero touches) and ``covered``.
    """
    t = exposure_truth.assign(touches=exposure_truth["touches"].clip(upper=cap))
    agg = t.groupby(["channel", "touches"], as_index=False)[["customers", "caused_orders"]].sum()
    agg["true"] = agg["caused_orders"] / agg["customers"]
    zero = agg[agg["touches"] == 0].set_index("channel")["true"]
    agg["true_incremental"] = agg["true"] - agg["channel"].map(zero).fillna(0.0)
    out = rf.merge(agg[["channel", "touches", "true_incremental"]], on=["channel", "touches"],
                   how="left")  # fmt: skip
    out["covered"] = (out["incremental_low"] <= out["true_incremental"]) & (
        out["true_incremental"] <= out["incremental_high"]
    )
    return out
