"""Channel synergy: joint exposure to two channels beyond the sum of each alone.

A customer-level linear model of orders in the window on channel exposure indicators, their
pairwise products and stratum fixed effects (persona when given, orders before the window),
with heteroskedasticity-robust (HC1) standard errors. The interaction coefficient of a pair
is the extra orders per customer reached by both channels beyond the sum of their single
effects, on the additive scale on which the order hazard (and the simulator's truth) adds
up. The model is fitted from cells of sufficient statistics (customers, sum and sum of
squares of orders per exposure pattern and stratum), so only those leave the engine; the
estimates and the sandwich are exactly those of the per-customer regression.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from imclab.errors import DataError

SYNERGY_COLUMNS = [
    "channel_a", "channel_b", "customers_both", "estimate", "ci_low", "ci_high", "p_value",
    "warning",
]  # fmt: skip


def channel_synergy(
    cells: pd.DataFrame,
    channels: list[str] | tuple[str, ...],
    *,
    min_customers: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Estimate the pairwise interaction (synergy) of channels on orders per customer.

    Parameters
    ----------
    cells
        :func:`imclab.integration.exposure.exposure_cells`: one row per exposure pattern and
        stratum with ``customers``, ``orders`` and ``orders_sq``.
    channels
        The channels (0/1 columns of ``cells``), in display order.
    min_customers
        Fewest customers reached by both channels (and by each alone) for a pair to enter
        the model; smaller pairs are listed with a warning and no estimate.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per channel pair (``channel_a`` before ``channel_b`` in ``channels``):
        ``customers_both``, ``estimate`` (extra orders per customer reached by both),
        ``ci_low``, ``ci_high``, ``p_value``, ``warning``.

    Raises
    ------
    DataError
        Fewer customers than model terms (nothing to estimate).
    """
    n = cells["customers"].to_numpy(dtype=float)
    x = cells[list(channels)].to_numpy(dtype=float)
    channels = list(channels)
    kept = [c for i, c in enumerate(channels) if _varies(n, x[:, i], min_customers)]
    terms = [x[:, channels.index(c)] for c in kept]
    rows, pairs = [], []
    for a, b in itertools.combinations(channels, 2):
        both = x[:, channels.index(a)] * x[:, channels.index(b)]
        n_both = int(n[both > 0].sum())
        row = {"channel_a": a, "channel_b": b, "customers_both": n_both}
        if a in kept and b in kept and _varies(n, both, min_customers):
            pairs.append((a, b))
            terms.append(both)
        else:
            row["warning"] = (
                f"{a} x {b}: {n_both} customers reached by both (or a channel reaches too few "
                f"or too many; need {min_customers} each way): no estimate"
            )
        rows.append(row)
    strata = pd.get_dummies(cells["stratum"], drop_first=True, dtype=float).to_numpy()
    design = np.column_stack([np.ones(len(cells)), strata, *terms])
    k = design.shape[1]
    if n.sum() <= k:
        raise DataError(
            f"channel synergy: {int(n.sum())} customers for {k} model terms; use a longer "
            "window or fewer channels"
        )
    y, y_sq = cells["orders"].to_numpy(float), cells["orders_sq"].to_numpy(float)
    beta, cov = _wls_hc1(design, n, y, y_sq)
    first = k - len(pairs)
    z = stats.norm.ppf(1 - alpha / 2)
    fitted = dict(zip(pairs, range(first, k), strict=True))
    for row in rows:
        j = fitted.get((row["channel_a"], row["channel_b"]))
        if j is None:
            continue
        est, se = float(beta[j]), float(np.sqrt(cov[j, j]))
        row.update(
            estimate=est,
            ci_low=est - z * se,
            ci_high=est + z * se,
            p_value=float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else np.nan,
        )
    out = pd.DataFrame(rows, columns=SYNERGY_COLUMNS)
    out["warning"] = out["warning"].fillna("")
    return out


def _varies(n: np.ndarray, flag: np.ndarray, min_customers: int) -> bool:
    on = n[flag > 0].sum()
    return bool(on >= min_customers and n.sum() - on >= min_customers)


def _wls_hc1(
    design: np.ndarray, n: np.ndarray, total: np.ndarray, total_sq: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """OLS of per-customer ``y`` on ``design`` from per-cell counts, sums and sums of squares.

    Equals the per-customer OLS (every customer of a cell shares its design row) with the
    HC1 sandwich: each cell's squared residuals sum to ``S2 - 2 yhat S1 + n yhat**2``.
    """
    xtx = design.T @ (design * n[:, None])
    xty = design.T @ total
    bread = np.linalg.pinv(xtx)
    beta = bread @ xty
    yhat = design @ beta
    rss = np.clip(total_sq - 2 * yhat * total + n * yhat**2, 0.0, None)
    meat = design.T @ (design * rss[:, None])
    n_obs, k = n.sum(), design.shape[1]
    cov = bread @ meat @ bread * n_obs / (n_obs - k)
    return beta, cov
